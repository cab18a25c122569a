import { createHmac, createPublicKey, createSign, generateKeyPairSync } from 'node:crypto'
import Session from 'supertokens-node/recipe/session'
import t from 'tap'
import { buildTestApp, captureLogs, superTokensCore } from './helpers/app.ts'
import { dashboard, tokensFrom } from './helpers/dashboard.ts'
import { migratedDatabase } from './helpers/database.ts'
import { magicLinkIn, startSmtpServer } from './helpers/smtp.ts'
import { clearOfWindowEdge } from './helpers/windows.ts'

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const parts = (token: string) => {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
    signature,
  }
}

/** Signs in through the real flow and returns the tokens. */
async function signIn(
  client: ReturnType<typeof dashboard>,
  smtp: Awaited<ReturnType<typeof startSmtpServer>>,
  email: string,
) {
  const asked = await client.requestLink(email)
  if (asked.statusCode !== 200) throw new Error(`link request failed: ${asked.body}`)
  const link = magicLinkIn(await smtp.next(email))
  const consumed = await client.consumeLink(link)
  const tokens = tokensFrom(consumed)
  if (!tokens.accessToken || !tokens.refreshToken) throw new Error(`no tokens: ${consumed.body}`)
  return { ...tokens, consumed, link } as {
    accessToken: string
    refreshToken: string
    consumed: typeof consumed
    link: typeof link
  }
}

t.test(
  'the whole journey: link → email → session → /v1/me → refresh → sign out → refused everywhere',
  async (t) => {
    const smtp = await startSmtpServer(t)
    const logs = captureLogs()
    const DATABASE_URL = await migratedDatabase(t)
    const app = await buildTestApp(
      t,
      { DATABASE_URL, SMTP_URL: smtp.url, LOG_LEVEL: 'trace' },
      { logStream: logs.stream },
    )
    const otherWorker = await buildTestApp(t, { DATABASE_URL, SMTP_URL: smtp.url })
    const client = dashboard(app)

    const asked = await client.requestLink('Journey@Example.com')
    t.equal(asked.statusCode, 200)
    t.match(asked.json(), { status: 'OK', flowType: 'MAGIC_LINK' })

    const mail = await smtp.next('journey@example.com')
    t.match(mail.decoded, /Subject: Your nudge sign-in link/)
    t.match(mail.decoded, /Content-Type: text\/plain/)
    t.match(mail.decoded, /Content-Type: text\/html/)
    t.match(mail.decoded, /expires in 15 minutes/, 'the email says how long the link lives')
    t.match(mail.decoded, /requested at .* from IP address 127\.0\.0\.1/, 'and who asked')
    const link = magicLinkIn(mail)
    t.equal(link.url.origin, 'https://app.nudge.test', 'the link opens the dashboard')
    t.ok(link.linkCode.length > 10)

    const consumed = await client.consumeLink(link)
    t.equal(consumed.statusCode, 200)
    t.match(consumed.json(), { status: 'OK', createdNewRecipeUser: true })
    const first = tokensFrom(consumed)
    t.ok(first.accessToken && first.refreshToken && consumed.headers['front-token'], 'header-mode tokens')

    const me = await client.me(first.accessToken!)
    t.equal(me.statusCode, 200)
    const user = me.json()
    t.match(user, { email: 'journey@example.com', name: null })
    t.match(user.id, /^[0-9a-f-]{36}$/)
    t.ok(user.lastLoginAt, 'the sign-in was recorded')
    t.match(me.headers['server-timing'], /total;dur=/)

    const refreshed = await client.refresh(first.refreshToken!)
    t.equal(refreshed.statusCode, 200)
    const second = tokensFrom(refreshed)
    t.ok(second.accessToken && second.accessToken !== first.accessToken, 'a new access token')
    t.ok(second.refreshToken && second.refreshToken !== first.refreshToken, 'the refresh token rotated')
    t.ok(parts(second.accessToken!).payload.parentRefreshTokenHash1, 'the new token still names its parent')

    const afterRefresh = await client.me(second.accessToken!)
    t.equal(afterRefresh.statusCode, 200, 'first use after refresh completes the rotation through the core')
    t.equal(afterRefresh.json().id, user.id)
    const promoted = afterRefresh.headers['st-access-token'] as string
    t.ok(promoted && !parts(promoted).payload.parentRefreshTokenHash1, 'and hands back the promoted token')

    t.equal((await dashboard(otherWorker).me(promoted)).statusCode, 200, 'another worker accepts the session')
    const signedOut = await client.signOut(promoted)
    t.equal(signedOut.statusCode, 200)
    for (const [name, instance] of [
      ['this worker', app],
      ['another worker', otherWorker],
    ] as const) {
      const status = (await dashboard(instance).me(promoted)).statusCode
      t.equal(status, 401, `${name} refuses the signed-out token from the very next request`)
    }
    t.equal((await client.refresh(second.refreshToken!)).statusCode, 401, 'the refresh token is dead too')

    const signInAgain = await signIn(client, smtp, 'journey@example.com')
    t.match(signInAgain.consumed.json(), { createdNewRecipeUser: false })
    t.equal((await client.me(signInAgain.accessToken)).json().id, user.id, 'same user on the next sign-in')

    const everything = logs.raw.join('')
    t.ok(everything.includes('/auth/signinup/code'), 'requests were logged')
    for (const secret of [
      'journey@example.com',
      'Journey@Example.com',
      link.linkCode,
      first.accessToken!,
      first.refreshToken!,
    ]) {
      t.notOk(everything.includes(secret), 'no email, link code or token in the logs')
    }
  },
)

t.test('links: reused, wrong and unknown-device links do not sign in', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await buildTestApp(t, { SMTP_URL: smtp.url })
  const client = dashboard(app)
  const { link } = await signIn(client, smtp, 'links@example.com')

  const reused = await client.consumeLink(link)
  t.equal(reused.statusCode, 200)
  t.same(reused.json(), { status: 'RESTART_FLOW_ERROR' }, 'a link works once')
  t.notOk(reused.headers['st-access-token'])

  await client.requestLink('links@example.com')
  const fresh = magicLinkIn(await smtp.next('links@example.com'))
  const wrong = await client.consumeLink({
    preAuthSessionId: fresh.preAuthSessionId,
    linkCode: `${fresh.linkCode}x`,
  })
  t.same(wrong.json(), { status: 'RESTART_FLOW_ERROR' }, 'a wrong link code is refused')
  t.notOk(wrong.headers['st-access-token'])
  t.equal(
    (await client.consumeLink(fresh)).json().status,
    'OK',
    'the right code still works after a wrong one',
  )
})

t.test('asking for a link looks the same for known and unknown emails', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await buildTestApp(t, { SMTP_URL: smtp.url })
  const client = dashboard(app)
  await signIn(client, smtp, 'known@example.com')
  const known = await client.requestLink('known@example.com')
  const unknown = await client.requestLink('nobody-yet@example.com')
  t.equal(known.statusCode, unknown.statusCode)
  const shape = (body: Record<string, unknown>) => Object.keys(body).sort()
  t.same(shape(known.json()), shape(unknown.json()))
  t.equal(known.json().flowType, unknown.json().flowType)
  t.same(
    Object.keys(known.headers)
      .filter((h) => !['date', 'x-request-id', 'server-timing', 'content-length'].includes(h))
      .sort(),
    Object.keys(unknown.headers)
      .filter((h) => !['date', 'x-request-id', 'server-timing', 'content-length'].includes(h))
      .sort(),
  )
  const mail = await smtp.next('nobody-yet@example.com')
  t.ok(magicLinkIn(mail).linkCode, 'an unknown email gets a working sign-up link')
})

t.test('link requests are rate limited per email and per IP', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await buildTestApp(t, {
    SMTP_URL: smtp.url,
    AUTH_LINK_LIMIT_PER_EMAIL: '2',
    AUTH_LINK_LIMIT_PER_IP: '4',
    // The test client talks to us through a proxy of ours, which names the client it forwards.
    TRUSTED_PROXIES: '127.0.0.1',
  })
  const client = dashboard(app)
  await clearOfWindowEdge(60_000)
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await client.requestLink('limited@example.com')).statusCode)
  t.same(statuses, [200, 200, 429])
  const limited = await client.requestLink('limited@example.com')
  t.match(limited.json(), { statusCode: 429, code: 'RATE_LIMITED', message: /this email/ })
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal(
    smtp.received.filter((m) => m.to.includes('limited@example.com')).length,
    2,
    'no email past the limit',
  )
  // 4 requests from this IP so far: one more for another email is the IP's last.
  t.equal((await client.requestLink('other@example.com')).statusCode, 429, 'the IP limit holds across emails')
  const elsewhere = await client.requestLink('third@example.com', { 'x-forwarded-for': '203.0.113.9' })
  t.equal(elsewhere.statusCode, 200, 'another client (behind our proxy) is not affected')
})

t.test('forged, tampered and revoked tokens are refused', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await buildTestApp(t, { SMTP_URL: smtp.url })
  const client = dashboard(app)
  const { accessToken } = await signIn(client, smtp, 'forger@example.com')
  const real = parts(accessToken)
  const [h, p, s] = accessToken.split('.') as [string, string, string]
  const expectRefresh = async (token: string, what: string) => {
    const res = await client.me(token)
    t.equal(res.statusCode, 401, `${what}: 401`)
    t.match(res.json(), { message: 'try refresh token' }, `${what}: the frontend refreshes`)
  }

  await expectRefresh(`${h}.${b64({ ...real.payload, sub: 'someone-else' })}.${s}`, 'tampered payload')
  await expectRefresh(`${b64({ alg: 'none', typ: 'JWT', kid: real.header.kid })}.${p}.`, 'alg none')

  const jwks = (await (await fetch(`${await superTokensCore()}/.well-known/jwks.json`)).json()) as {
    keys: Array<Record<string, string>>
  }
  const jwk = jwks.keys.find((k) => k.kid === real.header.kid)!
  const publicPem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
  const hsHeader = b64({ alg: 'HS256', typ: 'JWT', kid: real.header.kid })
  const hsSignature = createHmac('sha256', publicPem).update(`${hsHeader}.${p}`).digest('base64url')
  await expectRefresh(`${hsHeader}.${p}.${hsSignature}`, 'HS256 signed with the public key')

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const unknownHeader = b64({ alg: 'RS256', typ: 'JWT', kid: 'd-unknown-key' })
  const unknownSignature = createSign('RSA-SHA256')
    .update(`${unknownHeader}.${p}`)
    .sign(privateKey)
    .toString('base64url')
  await expectRefresh(`${unknownHeader}.${p}.${unknownSignature}`, 'unknown kid')
  await expectRefresh('not-a-jwt', 'garbage')

  const none = await app.inject({ url: '/v1/me' })
  t.equal(none.statusCode, 401, 'no token: 401')

  t.equal((await client.me(accessToken)).statusCode, 200, 'the real token works')
  await Session.revokeSession(real.payload.sessionHandle)
  const revoked = await client.me(accessToken)
  t.equal(revoked.statusCode, 401, 'a revoked session is refused at once')
  t.match(revoked.json(), { message: 'unauthorised' })
})

t.test('cookie-based sessions work too', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await buildTestApp(t, { SMTP_URL: smtp.url })
  const client = dashboard(app, 'cookie')
  await client.requestLink('cookie@example.com')
  const consumed = await client.consumeLink(magicLinkIn(await smtp.next('cookie@example.com')))
  const cookies = ([] as string[]).concat(consumed.headers['set-cookie'] ?? [])
  const access = cookies.find((c) => c.startsWith('sAccessToken='))
  t.ok(access, 'the access token is set as a cookie')
  t.match(access, /HttpOnly/)
  const me = await app.inject({
    url: '/v1/me',
    headers: { cookie: access!.split(';')[0]!, origin: 'https://app.nudge.test' },
  })
  t.equal(me.statusCode, 200)
  t.equal(me.json().email, 'cookie@example.com')
  t.equal(me.headers['access-control-allow-credentials'], 'true')
})
