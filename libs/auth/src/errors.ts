import type { FastifyReply, FastifyRequest } from 'fastify'
import supertokens from 'supertokens-node'
import { errorHandler } from 'supertokens-node/framework/fastify'

const handleSuperTokensError = errorHandler()

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
