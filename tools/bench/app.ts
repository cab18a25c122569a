/**
 * The API as `npm run bench` measures it: the real app (buildApp, same config from env) plus one
 * comparison route, `GET /bench/me-sdk`, which does exactly what `GET /v1/me` does but verifies
 * the session with the SDK's plain `verifySession` instead of `app.authenticate`.
 */
import { loadConfig } from '@nudge/config'
import { verifySession } from 'supertokens-node/recipe/session/framework/fastify'
import { getProfile, userIdForSuperTokensUser } from '../../apps/api/src/modules/users/service.ts'
import { buildApp } from '../../apps/api/src/server.ts'

const config = loadConfig(process.env)
const app = await buildApp(config)
app.get('/bench/me-sdk', { preHandler: verifySession() as never }, async (request) => {
  const session = (request as unknown as { session: { getUserId(): string } }).session
  const id = await userIdForSuperTokensUser(app.db, app.cache, session.getUserId())
  const profile = id ? await getProfile(app.db, app.cache, id) : undefined
  if (!profile) throw app.httpErrors.notFound('User not found')
  return profile
})
await app.listen({ port: config.PORT, host: config.HOST })
process.on('SIGTERM', () => {
  app.close().then(() => process.exit(0))
})
