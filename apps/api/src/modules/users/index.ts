import type { FastifyPluginAsync } from 'fastify'
import { userRoutes } from './routes.ts'

/** The users module: the one plugin app.ts registers for it. */
export const usersModule: FastifyPluginAsync = async (app) => {
  await app.register(userRoutes)
}
