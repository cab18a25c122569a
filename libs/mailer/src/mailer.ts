/** One email: both parts are required, so every client shows something sensible. */
export interface MailMessage {
  to: string
  subject: string
  text: string
  html: string
}

/** The mail port modules use (`app.mailer`); where the message goes depends on the config. */
export interface Mailer {
  /** `smtp` when SMTP_URL is set, otherwise the in-memory dev mailbox (never in production). */
  readonly transport: 'smtp' | 'dev-mailbox'
  /** Resolves once the message is accepted; rejects with `MailUnavailableError` (503) otherwise. */
  send(message: MailMessage): Promise<void>
}
