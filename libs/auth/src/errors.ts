import createError from '@fastify/error'
import type { FastifyReply, FastifyRequest } from 'fastify'
import supertokens from 'supertokens-node'
import { errorHandler } from 'supertokens-node/framework/fastify'

const handleSuperTokensError = errorHandler()

/**
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

const CORE_CLIENT_ERROR =
  /^SuperTokens core threw an error for a \w+ request to path: '[^']*' with status code: 4\d\d /
const CORE_SERVER_ERROR =
  /^SuperTokens core threw an error for a \w+ request to path: '[^']*' with status code: 5\d\d /

/**
 * What a failure from inside the SDK means for the client. The SDK turns every core answer it
 * does not expect into a plain Error: a core 4xx is bad input that reached the core (400), a
 * core 5xx or an unreachable core is our outage (503). Anything else is left as it is.
 */
export function fromCoreFailure(error: unknown): Error | undefined {
  if (!(error instanceof Error) || supertokens.Error.isErrorFromSuperTokens(error)) return undefined
  if (CORE_CLIENT_ERROR.test(error.message)) return new AuthRequestRejected({ cause: error })
  // /auth/<tenantId>/… with a tenant that does not exist (only `public` does).
  if (error.message === 'Tenant not found') return new UnknownTenant({ cause: error })
  // The SDK retries a refused connection on every host it knows, then says this.
  const unreachable =
    error.message.startsWith('No SuperTokens core available to query') ||
    error.message === 'fetch failed' ||
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|UND_ERR/.test(String(error.cause))
  if (CORE_SERVER_ERROR.test(error.message) || unreachable) return new AuthUnavailable({ cause: error })
  return undefined
}

export function isAuthError(error: unknown): boolean {
  return supertokens.Error.isErrorFromSuperTokens(error)
}

/**
 * Session errors are answered by the SDK itself (401 "try refresh token", clearing tokens on
 * UNAUTHORISED, token theft): that wire format is what the SuperTokens frontend SDK acts on.
 */
export async function replyToAuthError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  await handleSuperTokensError(error as Error, request, reply)
}
