import type { FastifyPluginAsync } from 'fastify'
import { siteRoutes } from './routes.ts'

/** The sites module: the one plugin app.ts registers for it. */
export const sitesModule: FastifyPluginAsync = async (app) => {
  await app.register(siteRoutes)
}
