import type { FastifyPluginAsync } from 'fastify'
import { userRoutes } from './routes.ts'

/**
 * The signed-in user's own account (/v1/me). Sign-in itself is wired into the auth layer by
 * sign-in.ts, which app.ts registers among the layers (routes and team access depend on it).
 */
export const usersModule: FastifyPluginAsync = async (app) => {
  await app.register(userRoutes)
}
