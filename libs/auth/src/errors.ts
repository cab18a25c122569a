import createError from '@fastify/error'

/**
 * Plain error classes, without the SDK (its failures are read in sdk-errors.ts), so that a process
 * that never signs anyone in (the job worker) can import them: `@nudge/auth/errors`.
 *
 * Codes the app answers with too: a lib cannot import the app, so each is defined here, once, and
 * takes its whole message; the app's errors.ts re-exports them and words its own messages on top
 * of them (its `NotFound` says "<thing> not found").
 */
export const ForbiddenError = createError<[message: string]>('FORBIDDEN', '%s', 403)
export const NotFoundError = createError<[message: string, options?: { cause: unknown }]>(
  'NOT_FOUND',
  '%s',
  404,
)
/** The 400 of input that breaks a rule, named field by field in `details` where it can. */
export const ValidationError = createError<[message: string]>('VALIDATION_ERROR', '%s', 400)

export const InvalidServiceToken = createError<[string]>(
  'INVALID_SERVICE_TOKEN',
  'Service token rejected: %s',
  401,
)
export class ServiceNotAllowed extends ForbiddenError {
  constructor(audience: string) {
    super(`Service token for ${audience} may not call this route`)
  }
}
export const AuthUnavailable = createError(
  'AUTH_UNAVAILABLE',
  'The sign-in service is unavailable; retry shortly',
  503,
)
/** The core refused what the client sent (a malformed id, say): the client's fault, not ours. */
export const AuthRequestRejected = createError(
  'AUTH_BAD_REQUEST',
  'The sign-in request was rejected as malformed; start signing in again',
  400,
)
export class UnknownTenant extends NotFoundError {
  constructor(options: { cause: unknown }) {
    super('No such sign-in tenant', options)
  }
}
export const NotSignedIn = createError('UNAUTHORIZED', 'This route needs a signed-in user', 401)
/** 415 of an /auth body the SDK cannot read. */
export const UnsupportedContentType = createError(
  'UNSUPPORTED_MEDIA_TYPE',
  'Unsupported content-type: send application/json',
  415,
)
