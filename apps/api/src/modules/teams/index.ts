import type { FastifyPluginAsync } from 'fastify'
import { teamRoutes } from './routes.ts'

/** The teams module: the one plugin app.ts registers for it. */
export const teamsModule: FastifyPluginAsync = async (app) => {
  await app.register(teamRoutes)
}
