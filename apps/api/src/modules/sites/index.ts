import type { FastifyPluginAsync } from 'fastify'
import { siteRoutes } from './routes.ts'

/** The hostnames a team's popups run on: the one plugin app.ts registers for the module. */
export const sitesModule: FastifyPluginAsync = async (app) => {
  await app.register(siteRoutes)
}
