import type { FastifyInstance } from 'fastify'
import { healthRoutes } from './routes.ts'

/** Liveness, readiness and timing checks. */
export const healthModule = async (app: FastifyInstance) => {
  await app.register(healthRoutes)
}
