import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { signedInUser } from '@nudge/auth'
import { actorOf } from '../../actor.ts'
import { depsOf } from '../../deps.ts'
import { ErrorResponse, NotFound, SessionErrorResponse, sessionSecurity } from '../../errors.ts'
import { deleteAccount, signOutEverywhere } from './account.ts'
import { Me, MePatch } from './schemas.ts'
import { getProfile, updateName } from './service.ts'

const security = sessionSecurity

export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'users')

  app.get(
    '/v1/me',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['users'],
        operationId: 'getMe',
        summary: 'The signed-in user',
        security,
        response: { 200: Me, 401: SessionErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const profile = await getProfile(deps, { userId: signedInUser(request).id })
      if (!profile) throw new NotFound('User')
      return profile
    },
  )

  app.patch(
    '/v1/me',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['users'],
        operationId: 'updateMe',
        summary: 'Change your name (null clears it)',
        security,
        body: MePatch,
        response: { 200: Me, 400: ErrorResponse, 401: SessionErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const profile = await updateName(deps, { userId: signedInUser(request).id, name: request.body.name })
      if (!profile) throw new NotFound('User')
      return profile
    },
  )

  app.delete(
    '/v1/me',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['users'],
        operationId: 'deleteMe',
        summary: 'Delete your account and end every session',
        description:
          'You leave every team (its audit log records it); teams where you were alone are deleted. Refused with 409 LAST_OWNER, naming the teams in `details`, while you are the last owner of a team with other members.',
        security,
        response: {
          204: { type: 'null' },
          401: SessionErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      await deleteAccount(deps, {
        userId: signedInUser(request).id,
        actor: actorOf(request),
        onCleanupError: (error, step) => {
          request.log.error({ err: error, step }, 'account deleted, but its sign-in cleanup failed')
          app.observe.noticeError(error as Error, { requestId: request.id, step })
        },
      })
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/v1/me/sessions/revoke',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['users'],
        operationId: 'signOutEverywhere',
        summary: 'Sign out on every device',
        description:
          'Ends every session of yours, this one included: each is refused with 401 on its next call, on every API worker.',
        security,
        response: { 204: { type: 'null' }, 401: SessionErrorResponse },
      },
    },
    async (request, reply) => {
      const user = signedInUser(request)
      const revoked = await signOutEverywhere({ supertokensUserId: user.supertokensUserId })
      request.log.info({ userId: user.id, revoked }, 'signed out everywhere')
      return reply.code(204).send(null)
    },
  )
}
