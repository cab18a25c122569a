import createError from '@fastify/error'
import type { FastifyReply, FastifyRequest } from 'fastify'
import supertokens from 'supertokens-node'
import { errorHandler } from 'supertokens-node/framework/fastify'

const handleSuperTokensError = errorHandler()

export const InvalidServiceToken = createError<[string]>(
  'INVALID_SERVICE_TOKEN',
  'Service token rejected: %s',
  401,
)
export const ServiceNotAllowed = createError<[string]>(
  'FORBIDDEN',
  'Service token for %s may not call this route',
  403,
)
/** Carries `retryAfter` (seconds); the API's error handler sends it as the retry-after header. */
export const SignInLinksRateLimited = createError<[string, number]>(
  'RATE_LIMITED',
  'Too many sign-in links requested for %s; try again in %d minutes',
  429,
)

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
