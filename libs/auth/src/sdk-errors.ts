import type { FastifyReply, FastifyRequest } from 'fastify'
import supertokens from 'supertokens-node'
import { errorHandler } from 'supertokens-node/framework/fastify'
import { AuthRequestRejected, AuthUnavailable, UnknownTenant } from './errors.ts'

const handleSuperTokensError = errorHandler()

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
