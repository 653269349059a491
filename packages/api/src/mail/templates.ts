// The mails' words, in English and Chinese, each rendered as plain text and as HTML from the same parts.
import type { MailLanguage } from "./language.ts";
import type { MailMessage } from "./mailer.ts";

/** What a mail says: a subject, paragraphs, and at most one button-like link. */
interface MailParts {
  subject: string;
  paragraphs: string[];
  action?: { label: string; url: string };
  /** Below the action: how long the link works, and what to do when the mail was not expected. */
  footer: string[];
}

export type MailContent =
  | { kind: "passwordReset"; url: string; validMinutes: number }
  | { kind: "verifyEmail"; url: string; validHours: number }
  | { kind: "emailChangeVerify"; url: string; validHours: number; newEmail: string }
  | { kind: "emailChangeNotice"; newEmail: string }
  | { kind: "oauthLink"; url: string; validMinutes: number; providerName: string };

const APP_NAME = "Prompt Booster";

const words: Record<MailLanguage, (content: MailContent) => MailParts> = {
  en(content) {
    switch (content.kind) {
      case "passwordReset":
        return {
          subject: `Reset your ${APP_NAME} password`,
          paragraphs: [`Someone asked to reset the password of your ${APP_NAME} account.`],
          action: { label: "Choose a new password", url: content.url },
          footer: [
            `The link works once, for ${content.validMinutes} minutes. Resetting signs out every device.`,
            "If you did not ask for this, ignore this mail: your password stays as it is.",
          ],
        };
      case "verifyEmail":
        return {
          subject: `Confirm your email address for ${APP_NAME}`,
          paragraphs: [`Confirm that this is the address of your ${APP_NAME} account.`],
          action: { label: "Confirm my email address", url: content.url },
          footer: [
            `The link works once, for ${content.validHours} hours.`,
            "If you did not create an account, ignore this mail.",
          ],
        };
      case "emailChangeVerify":
        return {
          subject: `Confirm your new email address for ${APP_NAME}`,
          paragraphs: [`Your ${APP_NAME} account asked to move to this address, ${content.newEmail}.`],
          action: { label: "Confirm the new address", url: content.url },
          footer: [
            `The link works once, for ${content.validHours} hours. The change applies only once you confirm.`,
            "If you did not ask for this, ignore this mail.",
          ],
        };
      case "emailChangeNotice":
        return {
          subject: `Your ${APP_NAME} email address is being changed`,
          paragraphs: [
            `Someone signed in to your ${APP_NAME} account asked to change its email address to ${content.newEmail}.`,
            "The change applies once the new address is confirmed from the mail sent there.",
          ],
          footer: ["If this was not you, change your password now and sign out of every device."],
        };
      case "oauthLink":
        return {
          subject: `Link your ${content.providerName} account to ${APP_NAME}`,
          paragraphs: [
            `Someone signed in with ${content.providerName} using this address and asked to link that account to your ${APP_NAME} account.`,
            `Once linked, signing in with ${content.providerName} signs in to your account.`,
          ],
          action: { label: `Link ${content.providerName}`, url: content.url },
          footer: [
            `The link works once, for ${content.validMinutes} minutes.`,
            "If this was not you, ignore this mail: nothing is linked unless you open the link.",
          ],
        };
    }
  },
  zh(content) {
    switch (content.kind) {
      case "passwordReset":
        return {
          subject: `重置您的 ${APP_NAME} 密码`,
          paragraphs: [`有人请求重置您的 ${APP_NAME} 账户密码。`],
          action: { label: "设置新密码", url: content.url },
          footer: [
            `该链接仅可使用一次，${content.validMinutes} 分钟内有效。重置后所有设备都将退出登录。`,
            "如果这不是您本人的操作，请忽略此邮件，您的密码不会改变。",
          ],
        };
      case "verifyEmail":
        return {
          subject: `确认您的 ${APP_NAME} 邮箱地址`,
          paragraphs: [`请确认这是您 ${APP_NAME} 账户的邮箱地址。`],
          action: { label: "确认邮箱地址", url: content.url },
          footer: [`该链接仅可使用一次，${content.validHours} 小时内有效。`, "如果您没有注册账户，请忽略此邮件。"],
        };
      case "emailChangeVerify":
        return {
          subject: `确认您的 ${APP_NAME} 新邮箱地址`,
          paragraphs: [`您的 ${APP_NAME} 账户请求将邮箱地址更改为 ${content.newEmail}。`],
          action: { label: "确认新邮箱地址", url: content.url },
          footer: [
            `该链接仅可使用一次，${content.validHours} 小时内有效。确认后更改才会生效。`,
            "如果这不是您本人的操作，请忽略此邮件。",
          ],
        };
      case "emailChangeNotice":
        return {
          subject: `您的 ${APP_NAME} 邮箱地址正在被更改`,
          paragraphs: [
            `有人登录您的 ${APP_NAME} 账户并请求将邮箱地址更改为 ${content.newEmail}。`,
            "新地址确认后，更改才会生效。",
          ],
          footer: ["如果这不是您本人的操作，请立即修改密码并退出所有设备。"],
        };
      case "oauthLink":
        return {
          subject: `将您的 ${content.providerName} 账户关联到 ${APP_NAME}`,
          paragraphs: [
            `有人使用此邮箱地址通过 ${content.providerName} 登录，并请求将该账户关联到您的 ${APP_NAME} 账户。`,
            `关联后，通过 ${content.providerName} 登录即可登录您的账户。`,
          ],
          action: { label: `关联 ${content.providerName}`, url: content.url },
          footer: [
            `该链接仅可使用一次，${content.validMinutes} 分钟内有效。`,
            "如果这不是您本人的操作，请忽略此邮件：除非您打开链接，否则不会关联任何账户。",
          ],
        };
    }
  },
};

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function toText(parts: MailParts): string {
  const action = parts.action ? [`${parts.action.label}:\n${parts.action.url}`] : [];
  return [...parts.paragraphs, ...action, ...parts.footer, `— ${APP_NAME}`].join("\n\n") + "\n";
}

function toHtml(parts: MailParts, language: MailLanguage): string {
  const paragraph = (text: string) => `<p>${escapeHtml(text)}</p>`;
  const action = parts.action
    ? `<p><a href="${escapeHtml(parts.action.url)}" style="display:inline-block;padding:10px 16px;` +
      `background:#4f46e5;color:#ffffff;border-radius:6px;text-decoration:none">${escapeHtml(parts.action.label)}</a></p>` +
      `<p style="font-size:12px;color:#555">${escapeHtml(parts.action.url)}</p>`
    : "";
  return (
    `<!doctype html><html lang="${language === "zh" ? "zh-CN" : "en"}"><head><meta charset="utf-8">` +
    `<title>${escapeHtml(parts.subject)}</title></head>` +
    `<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111">` +
    parts.paragraphs.map(paragraph).join("") +
    action +
    `<div style="font-size:13px;color:#555">${parts.footer.map(paragraph).join("")}</div>` +
    `<p>— ${APP_NAME}</p></body></html>`
  );
}

/** The mail of `content` in `language`, addressed to `to`. */
export function renderMail(to: string, language: MailLanguage, content: MailContent): MailMessage {
  const parts = words[language](content);
  return { to, subject: parts.subject, text: toText(parts), html: toHtml(parts, language) };
}
