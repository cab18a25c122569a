import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { signedInUser } from '@nudge/auth'
import { ErrorResponse, NotFound } from '../../errors.ts'
import { Me } from './schemas.ts'
import { getProfile } from './service.ts'

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
      const profile = await getProfile(app.db, app.cache, signedInUser(request).id)
      if (!profile) throw new NotFound('User')
      return profile
    },
  )
}
