import { authPlugin } from '@nudge/auth'
import fp from 'fastify-plugin'
import { depsOf } from '../../deps.ts'
import { bumpSessionEpoch, sessionEpoch } from './repository.ts'
import { recordSignIn, userIdForSuperTokensUser } from './service.ts'

/** The auth layer, wired to this module: sign-ins create and update users, sessions resolve to them. */
export const signInPlugin = fp(
  async (app) => {
    const deps = depsOf(app, 'users')
    await app.register(authPlugin, {
      onSignIn: async (user) => {
        await recordSignIn(deps, { user })
      },
      resolveUserId: (supertokensUserId) => userIdForSuperTokensUser(deps, { supertokensUserId }),
      sessionEpoch: { read: () => sessionEpoch(app.db), bump: () => bumpSessionEpoch(app.db) },
    })
  },
  { name: 'sign-in', dependencies: ['db', 'cache', 'edge', 'mailer', 'marketing'], fastify: '5.x' },
)
