export { DEV_MAILBOX_SIZE, type StoredMessage } from './dev-mailbox.ts'
export { MailUnavailableError, RecipientRejectedError } from './errors.ts'
export type { Mailer, MailMessage } from './mailer.ts'
export { mailerPlugin } from './plugin.ts'
