import type { FastifyPluginAsync } from 'fastify'
import { teamRoutes } from './routes.ts'

/** Teams and their members: the one plugin app.ts registers for the module. */
export const teamsModule: FastifyPluginAsync = async (app) => {
  await app.register(teamRoutes)
}
