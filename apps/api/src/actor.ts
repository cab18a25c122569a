import { signedInUser } from '@nudge/auth'
import type {} from '@nudge/edge'
import type { FastifyRequest } from 'fastify'
import type { Actor } from './modules/audit/repository.ts'

/** The signed-in user behind a request, as the audit log records them. */
export function actorOf(request: FastifyRequest): Actor & { type: 'user' } {
  return { type: 'user', id: signedInUser(request).id, ip: request.edge.clientIp }
}
