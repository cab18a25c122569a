import type { FastifyPluginAsync } from 'fastify'
import { publishingRoutes } from './routes.ts'

/** The publishing module: the one plugin app.ts registers for it (republish-all). */
export const publishingModule: FastifyPluginAsync = async (app) => {
  await app.register(publishingRoutes)
}
