import { execFile } from 'node:child_process'
import { createHmac } from 'node:crypto'
import path from 'node:path'
import { promisify } from 'node:util'
import { signServiceToken } from '@nudge/auth'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'

const run = promisify(execFile)
const SECRET = 'a-test-service-secret-of-at-least-32-chars'
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const hs256 = (payload: Record<string, unknown>, secret = SECRET) => {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`
}
const now = () => Math.floor(Date.now() / 1000)

async function appWithCronRoute(t: Parameters<typeof buildTestApp>[0]) {
  const app = await buildTestApp(t, { SERVICE_JWT_SECRET: SECRET, SERVICE_JWT_MAX_AGE_SECONDS: '300' })
  app.post('/internal/v1/test/tick', { preHandler: app.authenticateService(['cron']) }, async (request) => ({
    caller: request.serviceCaller?.audience,
  }))
  return app
}

const call = (app: Awaited<ReturnType<typeof appWithCronRoute>>, token?: string) =>
  app.inject({
    method: 'POST',
    url: '/internal/v1/test/tick',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })

t.test('a valid short-lived token for the route audience is accepted', async (t) => {
  const app = await appWithCronRoute(t)
  const res = await call(app, signServiceToken(SECRET, 'cron', 60))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { caller: 'cron' })
})

t.test('bad service tokens are refused with clear reasons', async (t) => {
  const app = await appWithCronRoute(t)
  const cases: Array<[string, string | undefined, number, RegExp]> = [
    ['missing', undefined, 401, /Service token rejected/],
    ['wrong audience', signServiceToken(SECRET, 'worker', 60), 403, /worker may not call this route/],
    ['wrong secret', signServiceToken('another-secret-that-is-32-chars-long!!', 'cron', 60), 401, /rejected/],
    ['expired', hs256({ aud: 'cron', iss: 'nudge', iat: now() - 120, exp: now() - 60 }), 401, /expired/i],
    [
      'lives too long',
      hs256({ aud: 'cron', iss: 'nudge', iat: now(), exp: now() + 3600 }),
      401,
      /at most 300 s/,
    ],
    ['no expiry', hs256({ aud: 'cron', iss: 'nudge', iat: now() }), 401, /rejected/],
    [
      'unknown audience',
      hs256({ aud: 'stripe', iss: 'nudge', iat: now(), exp: now() + 60 }),
      401,
      /rejected|audience/,
    ],
    [
      'alg none',
      `${b64({ alg: 'none' })}.${b64({ aud: 'cron', iss: 'nudge', iat: now(), exp: now() + 60 })}.`,
      401,
      /rejected/,
    ],
  ]
  for (const [name, token, status, message] of cases) {
    const res = await call(app, token)
    t.equal(res.statusCode, status, `${name}: ${status}`)
    t.match(res.json().message, message, `${name}: says why`)
    t.match(res.json().code, /INVALID_SERVICE_TOKEN|FORBIDDEN/)
  }
})

t.test('npm run token:service prints a token the API accepts', async (t) => {
  const app = await appWithCronRoute(t)
  const cli = path.resolve(import.meta.dirname, '../src/cli/service-token.ts')
  const { stdout } = await run(process.execPath, [cli, '--aud', 'cron', '--ttl', '60'], {
    env: { ...process.env, SERVICE_JWT_SECRET: SECRET },
  })
  const res = await call(app, stdout.trim())
  t.equal(res.statusCode, 200)
  const bad = await run(process.execPath, [cli, '--aud', 'nobody'], {
    env: { ...process.env, SERVICE_JWT_SECRET: SECRET },
  }).catch((error: { code: number; stderr: string }) => error)
  t.equal((bad as { code: number }).code, 2)
  t.match((bad as { stderr: string }).stderr, /--aud must be one of: worker, cron/)
})
