// The two senders of the server: SMTP through nodemailer, and the log for development without SMTP_URL.
import nodemailer from "nodemailer";

import type { MailMessage, MailSender } from "./mailer.ts";

/**
 * Sends through the SMTP server of `url` (smtp://user:pass@host:587 upgrades with STARTTLS when offered;
 * smtps:// is TLS from the start), from `from` ("Prompt Booster <no-reply@example.com>").
 */
export function createSmtpSender(url: string, from: string): MailSender {
  const transport = nodemailer.createTransport(url);
  return {
    async send(message) {
      await transport.sendMail({ from, ...message });
    },
    close: () => transport.close(),
  };
}

/** The marker of a mail written to the log instead of sent, easy to find in development's output. */
export const LOGGED_MAIL_MARKER = "[mail not sent: no SMTP_URL]";

/**
 * Writes each mail to the log at info level instead of sending it (development without SMTP_URL), so the
 * links in it can be followed by hand. Never used in production: mail there is either SMTP or off.
 */
export function createLogSender(log: { info(object: object, message: string): void }): MailSender {
  return {
    async send(message: MailMessage) {
      log.info({ mail: { to: message.to, subject: message.subject, text: message.text } }, LOGGED_MAIL_MARKER);
    },
  };
}
