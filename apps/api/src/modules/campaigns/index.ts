import type { FastifyPluginAsync } from 'fastify'
import { campaignRoutes } from './routes.ts'

/** Popup campaigns: the one plugin app.ts registers for the module. */
export const campaignsModule: FastifyPluginAsync = async (app) => {
  await app.register(campaignRoutes)
}
