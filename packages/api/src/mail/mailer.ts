// Mail as the rest of the API sees it: a sender (SMTP through nodemailer, or the log in development) behind
// a small service that also runs the work of a mail after the request has been answered, so that what the
// answer costs never depends on whether a mail was sent.

/** One mail, rendered: a plain-text body and an HTML one saying the same. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Delivers rendered mail; the server's is SMTP (nodemailer) or, without SMTP_URL outside production, its log. */
export interface MailSender {
  send(message: MailMessage): Promise<void>;
  close?(): void | Promise<void>;
}

export interface MailService {
  /**
   * False when the server has no way to deliver mail (production without SMTP_URL): the procedures that
   * send mail answer FORBIDDEN with `details.reason = "mailNotConfigured"`.
   */
  readonly enabled: boolean;
  /** The web app's address; the links in mails open its pages. */
  readonly appUrl: string;
  /**
   * Runs `task` (which ends by sending mail) apart from the request, after its answer: its database work and
   * the SMTP round trip neither slow the answer nor tell by their absence that no mail was due. A failure is
   * reported, never thrown.
   */
  later(task: () => Promise<void>): void;
  send(message: MailMessage): Promise<void>;
  /** Resolves once every task started by `later` so far has ended (shutdown drains them; tests await them). */
  idle(): Promise<void>;
}

export interface MailServiceOptions {
  sender: MailSender;
  enabled: boolean;
  appUrl: string;
  /** Told of every task that failed (the server logs it). */
  onError: (error: unknown) => void;
}

export function createMailService({ sender, enabled, appUrl, onError }: MailServiceOptions): MailService {
  const pending = new Set<Promise<void>>();
  return {
    enabled,
    appUrl: appUrl.replace(/\/+$/, ""),
    later(task) {
      const run = (async () => {
        // Next turn: the request's answer goes out before the task's first query.
        await new Promise((resolve) => setImmediate(resolve));
        await task();
      })().catch(onError);
      pending.add(run);
      void run.finally(() => pending.delete(run));
    },
    send: (message) => sender.send(message),
    async idle() {
      while (pending.size > 0) await Promise.all(pending);
    },
  };
}
