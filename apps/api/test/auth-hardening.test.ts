import t from 'tap'
import { buildTestApp, captureLogs } from './helpers/app.ts'
import { dashboard, tokensFrom } from './helpers/dashboard.ts'
import { migratedDatabase } from './helpers/database.ts'
import { magicLinkIn, startSmtpServer } from './helpers/smtp.ts'
import { skipWithoutSharedMemcached } from './helpers/system-programs.ts'

type App = Awaited<ReturnType<typeof buildTestApp>>
type Smtp = Awaited<ReturnType<typeof startSmtpServer>>

const payloadOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    exp: number
    sessionHandle: string
  }

async function signIn(app: App, smtp: Smtp, email: string, mode: 'header' | 'cookie' = 'header') {
  const client = dashboard(app, mode)
  await client.requestLink(email)
  return client.consumeLink(magicLinkIn(await smtp.next(email)))
}

t.test('malformed input to /auth/* gets a 4xx in our error shape, never a 500 or an error log', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(t, { LOG_LEVEL: 'warn' }, { logStream: logs.stream })
  const headers = { 'content-type': 'application/json', rid: 'passwordless', 'st-auth-mode': 'header' }
  const cases: Array<[string, string, string]> = [
    ['null body', '/auth/signinup/code/', 'null'],
    ['null body', '/auth/signinup/code/consume', 'null'],
    ['null body', '/auth/signinup/code/resend', 'null'],
    ['array body', '/auth/signinup/code', '[]'],
    ['scalar body', '/auth/signinup/code', '"me@example.com"'],
    ['email a number', '/auth/signinup/code', '{"email":123}'],
    ['email null', '/auth/signinup/code', '{"email":null}'],
    ['email an object', '/auth/signinup/code', '{"email":{"$ne":""}}'],
    ['email too long', '/auth/signinup/code', JSON.stringify({ email: `${'a'.repeat(300)}@example.com` })],
    ['wrong types', '/auth/signinup/code/consume', '{"preAuthSessionId":123,"linkCode":[]}'],
    ['made-up device', '/auth/signinup/code/resend', '{"deviceId":"made up!","preAuthSessionId":"x"}'],
    ['invalid JSON', '/auth/signinup/code', '{"email":'],
  ]
  for (const [name, url, payload] of cases) {
    const res = await app.inject({ method: 'POST', url, headers, payload })
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${name} → ${url}: ${res.statusCode} ${res.body}`)
    t.match(res.json(), { statusCode: res.statusCode, code: String, message: String }, `${name}: our shape`)
  }
  const field = await app.inject({
    method: 'POST',
    url: '/auth/signinup/code',
    headers,
    payload: '{"email":123}',
  })
  t.match(field.json(), {
    code: 'VALIDATION_ERROR',
    details: [{ field: 'body.email', message: 'must be string' }],
  })
  // A well-formed id the core has never seen (both encodings it uses): the SDK's own answer.
  const unknownDevice = await app.inject({
    method: 'POST',
    url: '/auth/signinup/code/resend',
    headers,
    payload: { deviceId: 'bWFkZS11cC1kZXZpY2U=', preAuthSessionId: 'bWFkZS11cA' },
  })
  t.ok(unknownDevice.statusCode < 500, `an unknown device: ${unknownDevice.statusCode} ${unknownDevice.body}`)
  t.same(
    logs.lines.filter((line) => (line.level as number) >= 50),
    [],
    'nothing at error level',
  )
})

t.test(
  'an empty JSON body is no body: sign-out and refresh work from clients that always send the header',
  async (t) => {
    const smtp = await startSmtpServer(t)
    const app = await buildTestApp(t, { SMTP_URL: smtp.url })
    const { accessToken, refreshToken } = tokensFrom(await signIn(app, smtp, 'empty@example.com'))
    const json = { 'content-type': 'application/json', rid: 'session', 'st-auth-mode': 'header' }
    const refreshed = await app.inject({
      method: 'POST',
      url: '/auth/session/refresh',
      headers: { ...json, authorization: `Bearer ${refreshToken}` },
      payload: '',
    })
    t.equal(refreshed.statusCode, 200, `refresh: ${refreshed.body}`)
    const next = tokensFrom(refreshed).accessToken ?? accessToken
    const signedOut = await app.inject({
      method: 'POST',
      url: '/auth/signout',
      headers: { ...json, authorization: `Bearer ${next}` },
      payload: '',
    })
    t.equal(signedOut.statusCode, 200, `sign-out: ${signedOut.body}`)
    t.equal((await dashboard(app).me(next!)).statusCode, 401, 'and the session is over')
  },
)

t.test('a signed-out session cannot write in cookie mode', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await buildTestApp(t, { SMTP_URL: smtp.url })
  app.post('/v1/test/write', { preHandler: app.authenticate }, async (request) => ({
    user: request.user?.id,
  }))
  const consumed = await signIn(app, smtp, 'cookie-writer@example.com', 'cookie')
  const cookies = ([] as string[])
    .concat(consumed.headers['set-cookie'] ?? [])
    .map((cookie) => cookie.split(';')[0])
    .join('; ')
  const write = () =>
    app.inject({
      method: 'POST',
      url: '/v1/test/write',
      headers: {
        cookie: cookies,
        rid: 'session',
        origin: 'https://app.nudge.test',
        'st-auth-mode': 'cookie',
      },
      payload: {},
    })
  t.equal((await write()).statusCode, 200, 'a cookie-mode write works while signed in')
  const signedOut = await app.inject({
    method: 'POST',
    url: '/auth/signout',
    headers: { cookie: cookies, rid: 'session', origin: 'https://app.nudge.test' },
  })
  t.equal(signedOut.statusCode, 200)
  const after = await write()
  t.equal(after.statusCode, 401, 'the old cookie is refused for writes at once')
})

t.test(
  'the verified-token memo never outlives the token, even one verified in its last millisecond',
  async (t) => {
    const smtp = await startSmtpServer(t)
    const app = await buildTestApp(t, { SMTP_URL: smtp.url })
    const { accessToken } = tokensFrom(await signIn(app, smtp, 'last-ms@example.com'))
    const { exp } = payloadOf(accessToken!)
    const realNow = Date.now
    t.teardown(() => {
      Date.now = realNow
    })
    // The token's first use is exactly at its expiry instant, which fast-jwt still accepts.
    Date.now = () => exp * 1000
    const atExpiry = await dashboard(app).me(accessToken!)
    t.equal(atExpiry.statusCode, 200, 'valid in its last millisecond')
    Date.now = () => exp * 1000 + 10 * 60 * 1000
    const later = await dashboard(app).me(accessToken!)
    Date.now = realNow
    t.equal(later.statusCode, 401, 'ten minutes after expiry it is refused')
    t.same(later.json(), { message: 'try refresh token' })
  },
)

t.test('request.user is null on routes that do not authenticate', async (t) => {
  const app = await buildTestApp(t)
  app.get('/v1/test/anonymous', async (request) => ({ user: request.user }))
  t.same((await app.inject({ url: '/v1/test/anonymous' })).json(), { user: null })
})

t.test(
  'a revocation wins over a session check that started before it, across workers',
  {
    // The race is in the shared level.
    skip: skipWithoutSharedMemcached(),
  },
  async (t) => {
    // Two workers sharing memcached; B's invalidation broadcast never reaches A (another database),
    // which is the moment of the race: A has not heard of the revocation yet.
    const CACHE_KEY_PREFIX = `race${Date.now()}`
    const workerA = await buildTestApp(t, { DATABASE_URL: await migratedDatabase(t), CACHE_KEY_PREFIX })
    const workerB = await buildTestApp(t, { DATABASE_URL: await migratedDatabase(t), CACHE_KEY_PREFIX })
    const key = 'session-active:race-handle'
    let answerCore: (active: boolean) => void = () => {}
    const coreAnswer = new Promise<boolean>((resolve) => {
      answerCore = resolve
    })
    // A asks the core; the core answers "active" (it has not revoked yet), but slowly...
    const checking = workerA.cache.wrap(key, 60, () => coreAnswer, { serveStale: false })
    // ...meanwhile B revokes the session and invalidates the cached answer...
    await workerB.cache.del(key)
    // ...and only then does A's answer arrive and get stored.
    answerCore(true)
    t.equal(await checking, true, 'the check that started first sees the old answer (it was true then)')
    const seenByB = await workerB.cache.wrap(key, 60, async () => false, { serveStale: false })
    t.equal(seenByB, false, 'but it is not what any other worker is served: the revocation stands')
    const seenByC = await (
      await buildTestApp(t, { DATABASE_URL: await migratedDatabase(t), CACHE_KEY_PREFIX })
    ).cache.wrap(key, 60, async () => false)
    t.equal(seenByC, false, 'nor a worker started afterwards')
  },
)

t.test('a check that a worker joined after hearing of a revocation is not reused', async (t) => {
  const app = await buildTestApp(t)
  const key = 'session-active:joined'
  let answerCore: (active: boolean) => void = () => {}
  let asked: () => void = () => {}
  const coreAsked = new Promise<void>((resolve) => {
    asked = resolve
  })
  const first = app.cache.wrap(key, 60, () => {
    asked()
    return new Promise<boolean>((resolve) => {
      answerCore = resolve
    })
  })
  await coreAsked
  await app.cache.del(key)
  const second = app.cache.wrap(key, 60, async () => false)
  // The core answers the first check only after the second caller has looked for a load in flight.
  await new Promise((resolve) => setTimeout(resolve, 100))
  answerCore(true)
  t.equal(await first, true)
  t.equal(await second, false, 'a caller after the revocation gets a fresh answer, not the one in flight')
})
