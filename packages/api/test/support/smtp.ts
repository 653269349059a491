// A real SMTP server on a loopback port for tests: mail the API sends through nodemailer arrives here over
// SMTP and is parsed with mailparser, so tests read what a mailbox would.
import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** The token of the mail's link (`…#token=<token>`), if it has one. */
  token: string | undefined;
  /** The link itself. */
  link: string | undefined;
}

export interface TestSmtpServer {
  /** smtp://127.0.0.1:<port>, for SMTP_URL or createSmtpSender. */
  url: string;
  /** Every mail received so far, in order of arrival. */
  readonly received: readonly ReceivedMail[];
  /** Received mails addressed to `address`. */
  mailsTo(address: string): ReceivedMail[];
  /** The next mail to `address` not taken before: one already here, or the next to arrive (fails after `timeoutMs`). */
  take(address: string, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

const LINK = /https?:\/\/\S+#token=([A-Za-z0-9_-]+)/;

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    // Plain SMTP on loopback: no TLS certificate to make, no login to give.
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          const text = parsed.text ?? "";
          const match = LINK.exec(text);
          received.push({
            from: parsed.from?.text ?? "",
            // The envelope's recipients: what the SMTP client really delivered to.
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
            subject: parsed.subject ?? "",
            text,
            html: typeof parsed.html === "string" ? parsed.html : "",
            token: match?.[1],
            link: match?.[0],
          });
          for (const wake of waiters) wake();
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  const mailsTo = (address: string) => received.filter((mail) => mail.to.includes(address.toLowerCase()));
  const untaken = (address: string) => mailsTo(address).find((mail) => !taken.has(mail));
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    mailsTo,
    take(address, timeoutMs = 10_000) {
      // A mail is marked taken the moment it is handed to one caller, so concurrent takes get different mails.
      const claim = () => {
        const found = untaken(address);
        if (found) taken.add(found);
        return found;
      };
      const ready = claim();
      if (ready) return Promise.resolve(ready);
      return new Promise<ReceivedMail>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no mail to ${address} within ${timeoutMs} ms`));
        }, timeoutMs);
        function check() {
          const found = claim();
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        }
        waiters.add(check);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
