import type { FastifyPluginAsync } from 'fastify'
import { integrationJobs } from './jobs.ts'
import { integrationRoutes } from './routes.ts'

/** Where a team's leads go (Mailerlite, signed webhooks): the routes, then the delivery jobs. */
export const integrationsModule: FastifyPluginAsync = async (app) => {
  await app.register(integrationRoutes)
  await app.register(integrationJobs)
}
