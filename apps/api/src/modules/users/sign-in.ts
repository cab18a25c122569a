import { authPlugin } from '@nudge/auth'
import fp from 'fastify-plugin'
import { recordSignIn, userIdForSuperTokensUser } from './service.ts'

/** The auth layer, wired to this module: sign-ins create and update users, sessions resolve to them. */
export const signInPlugin = fp(
  async (app) => {
    await app.register(authPlugin, {
      onSignIn: async (user) => {
        await recordSignIn(app.db, app.cache, app.marketing, user)
      },
      resolveUserId: (supertokensUserId) => userIdForSuperTokensUser(app.db, app.cache, supertokensUserId),
    })
  },
  { name: 'sign-in', dependencies: ['db', 'cache', 'edge', 'mailer', 'marketing'], fastify: '5.x' },
)
