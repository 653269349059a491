// Which of the mails' languages a user reads: their settings' language when they have one, else what the
// request's Accept-Language prefers, else English.

export const MAIL_LANGUAGES = ["en", "zh"] as const;
export type MailLanguage = (typeof MAIL_LANGUAGES)[number];

/** The mail language of a BCP 47 tag ("zh-CN" → zh, "en-GB" → en), or undefined when there is none for it. */
export function mailLanguageOf(tag: string | null | undefined): MailLanguage | undefined {
  const primary = tag?.trim().toLowerCase().split(/[-_]/)[0];
  return MAIL_LANGUAGES.find((language) => language === primary);
}

/** The mail language an Accept-Language header ranks highest ("zh-CN,zh;q=0.9,en;q=0.8" → zh). */
export function mailLanguageFromHeader(header: string | null | undefined): MailLanguage | undefined {
  let best: { language: MailLanguage; q: number } | undefined;
  // Bounded: a header is at most a few dozen entries in practice; a hostile one gets no more work than that.
  for (const entry of (header ?? "").split(",").slice(0, 32)) {
    const [tag, ...params] = entry.split(";");
    const language = mailLanguageOf(tag);
    if (!language) continue;
    const qParam = params.map((param) => param.trim()).find((param) => param.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { language, q };
  }
  return best?.language;
}

/** The user's settings language first, then the request's header, then English. */
export function pickMailLanguage(settingsLanguage: string | null | undefined, acceptLanguage?: string | null) {
  return mailLanguageOf(settingsLanguage) ?? mailLanguageFromHeader(acceptLanguage) ?? "en";
}
