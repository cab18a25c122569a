import type { FastifyPluginAsync } from 'fastify'
import { inviteRoutes } from './routes.ts'

/** Team invites by email: the one plugin app.ts registers for the module. */
export const invitesModule: FastifyPluginAsync = async (app) => {
  await app.register(inviteRoutes)
}
