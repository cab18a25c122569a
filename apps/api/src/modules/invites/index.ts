import type { FastifyPluginAsync } from 'fastify'
import { inviteRoutes } from './routes.ts'

/** The invites module: the one plugin app.ts registers for it. */
export const invitesModule: FastifyPluginAsync = async (app) => {
  await app.register(inviteRoutes)
}
