import type { FastifyInstance } from 'fastify'
import { statsRoutes } from './routes.ts'

/** What visitors did with a campaign. */
export const statsModule = async (app: FastifyInstance) => {
  await app.register(statsRoutes)
}
