/**
 * The API as `npm run bench` measures it: the real app (buildApp, same config from env) plus two
 * comparison routes: `GET /bench/me-sdk`, which does exactly what `GET /v1/me` does but verifies
 * the session with the SDK's plain `verifySession` instead of `app.authenticate`, and
 * `GET /bench/me-flag`, which is `GET /v1/me` plus one feature flag evaluated for the request.
 */
import { signedInUser } from '@nudge/auth'
import { loadConfig } from '@nudge/config'
import { verifySession } from 'supertokens-node/recipe/session/framework/fastify'
import { NotFound } from '../../apps/api/src/errors.ts'
import { requestFlagContext } from '../../apps/api/src/modules/flags/context.ts'
import { Me } from '../../apps/api/src/modules/users/schemas.ts'
import { getProfile, userIdForSuperTokensUser } from '../../apps/api/src/modules/users/service.ts'
import { buildApp } from '../../apps/api/src/server.ts'

const config = loadConfig(process.env)
const app = await buildApp(config)
app.get('/bench/me-sdk', { preHandler: verifySession() as never }, async (request) => {
  const session = (request as unknown as { session: { getUserId(): string } }).session
  const id = await userIdForSuperTokensUser(app, { supertokensUserId: session.getUserId() })
  const profile = id ? await getProfile(app, { userId: id }) : undefined
  if (!profile) throw new NotFound('User')
  return profile
})
/** The flag the bench defines (run.ts) with a targeting rule, so each request runs flagd's evaluator. */
const BENCH_FLAG = 'bench-me-flag'
// Same session check and response schema as GET /v1/me: the difference between the rows is the flag.
app.get(
  '/bench/me-flag',
  { preHandler: app.authenticate, schema: { response: { 200: Me } } },
  async (request) => {
    const profile = await getProfile(app, { userId: signedInUser(request).id })
    if (!profile) throw new NotFound('User')
    const on = app.flags.boolean(BENCH_FLAG, false, await requestFlagContext(app, request))
    return on ? { ...profile, name: profile.name ?? 'flagged' } : profile
  },
)
await app.listen({ port: config.PORT, host: config.HOST })
process.on('SIGTERM', () => {
  app.close().then(() => process.exit(0))
})
