import type { FastifyInstance } from 'fastify'
import { auditRoutes } from './routes.ts'

/** The team's audit log. */
export const auditModule = async (app: FastifyInstance) => {
  await app.register(auditRoutes)
}
