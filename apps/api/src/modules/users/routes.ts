import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorResponse, NotFound } from '../../errors.ts'
import { Me } from './schemas.ts'
import { getUser } from './service.ts'

export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/me',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['users'],
        summary: 'The signed-in user',
        security: [{ session: [] }],
        response: { 200: Me, 404: ErrorResponse },
      },
    },
    async (request) => {
      const user = await getUser(app.db, app.cache, request.user.id)
      if (!user) throw new NotFound('User')
      return {
        id: user.id,
        email: user.email,
        name: user.name,
        lastLoginAt: user.last_login_at?.toISOString() ?? null,
        createdAt: user.created_at.toISOString(),
      }
    },
  )
}
