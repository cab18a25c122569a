import type { FastifyPluginAsync } from 'fastify'
import { campaignRoutes } from './routes.ts'

/** The campaigns module: the one plugin app.ts registers for it. */
export const campaignsModule: FastifyPluginAsync = async (app) => {
  await app.register(campaignRoutes)
}
