import type { FastifyPluginAsync } from 'fastify'
import { eventRoutes, leadIntakeRoutes } from './routes.ts'
import { siteDocumentRoutes } from './site-document-routes.ts'

/** The visitors module: the one plugin app.ts registers for it (site document, events, leads). */
export const visitorsModule: FastifyPluginAsync = async (app) => {
  await app.register(siteDocumentRoutes)
  await app.register(eventRoutes)
  await app.register(leadIntakeRoutes)
}
