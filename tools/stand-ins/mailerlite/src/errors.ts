import type { FastifyReply } from 'fastify'

/**
 * Mailerlite's error answers. Its API is a Laravel application: every error is a JSON object with
 * a `message`, and validation errors (422) add `errors`, a list of messages per field, with the
 * first message (and how many more there are) as `message`.
 */
export class MailerliteApiError extends Error {
  readonly statusCode: number
  readonly errors?: Record<string, string[]> | undefined
  readonly headers: Record<string, string>

  constructor(
    statusCode: number,
    message: string,
    options: { errors?: Record<string, string[]>; headers?: Record<string, string> } = {},
  ) {
    super(message)
    this.statusCode = statusCode
    this.errors = options.errors
    this.headers = options.headers ?? {}
  }
}

export function send(reply: FastifyReply, error: MailerliteApiError) {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value)
  return reply
    .code(error.statusCode)
    .type('application/json')
    .send(error.errors ? { message: error.message, errors: error.errors } : { message: error.message })
}

export const errors = {
  /** No `Authorization: Bearer`, a key Mailerlite does not know, or a revoked one. */
  unauthenticated: () => new MailerliteApiError(401, 'Unauthenticated.'),
  notFound: () => new MailerliteApiError(404, 'Resource not found.'),
  /** Laravel's throttle answer; the headers are the caller's to add (limit, remaining, retry-after). */
  tooManyAttempts: (headers: Record<string, string>) =>
    new MailerliteApiError(429, 'Too Many Attempts.', { headers }),
  serverError: (statusCode: number, headers: Record<string, string> = {}) =>
    new MailerliteApiError(statusCode, statusCode === 503 ? 'Service Unavailable' : 'Server Error', {
      headers,
    }),
  /** 422: `message` is the first field error, with "(and N more errors)" when there are more. */
  validation: (fieldErrors: Record<string, string[]>) => {
    const all = Object.values(fieldErrors).flat()
    const first = all[0] ?? 'The given data was invalid.'
    const more = all.length - 1
    const message = more > 0 ? `${first} (and ${more} more error${more > 1 ? 's' : ''})` : first
    return new MailerliteApiError(422, message, { errors: fieldErrors })
  },
}
