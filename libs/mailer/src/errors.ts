import createError from '@fastify/error'

/**
 * A message could not be handed to the SMTP server. The message is fixed on purpose: the
 * cause (which may name the server, its credentials or the recipient) goes to the log only.
 */
export const MailUnavailableError = createError(
  'MAIL_UNAVAILABLE',
  'The email could not be sent right now; try again in a moment',
  503,
)

/** The SMTP server refused the recipient for good (5xx to RCPT TO): the address is at fault, not us. */
export const RecipientRejectedError = createError(
  'EMAIL_REJECTED',
  'The mail server refused this email address; check it and try again',
  422,
)
