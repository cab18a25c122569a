import type { FastifyPluginAsync } from 'fastify'
import { leadRoutes } from './routes.ts'

/** The leads a team's campaigns collected: list, CSV export, erasure. */
export const leadsModule: FastifyPluginAsync = async (app) => {
  await app.register(leadRoutes)
}
