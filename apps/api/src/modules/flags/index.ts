import type { FastifyInstance } from 'fastify'
import { flagRoutes } from './routes.ts'

/** Feature flags: operators' routes (and the CLI's service) and the dashboard's view of its team's flags. */
export const flagsModule = async (app: FastifyInstance) => {
  await app.register(flagRoutes)
}
