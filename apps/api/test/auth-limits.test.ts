import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { buildTestApp, captureLogs } from './helpers/app.ts'
import { startSmtpServer } from './helpers/smtp.ts'
import { skipWithoutSharedMemcached } from './helpers/system-programs.ts'
import { clearOfWindowEdge } from './helpers/windows.ts'

const EDGE_SECRET = 'edge-secret-for-tests-0123456789abcdef'
const headers = { 'st-auth-mode': 'header', rid: 'passwordless', origin: 'https://app.nudge.test' }

type App = Awaited<ReturnType<typeof buildTestApp>>

/** A visitor behind the edge: the Worker forwards their address in CF-Connecting-IP. */
const viaEdge = (ip: string) => ({ 'x-edge-secret': EDGE_SECRET, 'cf-connecting-ip': ip })

/**
 * Every way the SDK accepts to send a sign-in link to `email`: the plain path, a trailing slash,
 * a query string, the tenant prefix, and a resend of an earlier code. Each returns the response.
 */
function linkSenders(app: App, email: string, extra: Record<string, string> = {}) {
  const ask = (url: string) =>
    app.inject({ method: 'POST', url, headers: { ...headers, ...extra }, payload: { email } })
  let device: { deviceId: string; preAuthSessionId: string } | undefined
  return {
    'POST /auth/signinup/code': () => ask('/auth/signinup/code'),
    'POST /auth/signinup/code/': () => ask('/auth/signinup/code/'),
    'POST /auth/signinup/code?x=1': () => ask('/auth/signinup/code?x=1'),
    'POST /auth/public/signinup/code': () => ask('/auth/public/signinup/code'),
    'POST /auth/signinup/code/resend': async () => {
      if (!device) {
        // A device of its own, made while the limit still has room, then resent past it.
        const first = await ask('/auth/signinup/code')
        if (first.statusCode !== 200) return first
        device = first.json()
      }
      return app.inject({
        method: 'POST',
        url: '/auth/signinup/code/resend/',
        headers: { ...headers, ...extra },
        payload: { deviceId: device?.deviceId, preAuthSessionId: device?.preAuthSessionId },
      })
    },
  } satisfies Record<string, () => Promise<LightMyRequestResponse>>
}

const memcachedModes: Array<[string, string | undefined]> = [['without memcached', undefined]]
if (process.env.MEMCACHED_SERVERS) memcachedModes.push(['with memcached', process.env.MEMCACHED_SERVERS])

for (const [mode, MEMCACHED_SERVERS] of memcachedModes) {
  t.test(`per-email link limit holds across every path variant (${mode})`, async (t) => {
    const smtp = await startSmtpServer(t)
    const app = await buildTestApp(t, {
      SMTP_URL: smtp.url,
      MEMCACHED_SERVERS,
      EDGE_SECRET,
      AUTH_LINK_LIMIT_PER_EMAIL: '3',
      AUTH_LINK_LIMIT_PER_IP: '1000',
    })
    // Every variant, then all of them together, inside one window.
    await clearOfWindowEdge(60_000)
    const variants = Object.keys(linkSenders(app, 'any@example.com')) as Array<
      keyof ReturnType<typeof linkSenders>
    >
    for (const variant of variants) {
      await t.test(variant, async (t) => {
        // Each variant on its own address: three emails go out, the fourth and later are refused.
        const email = `${variant.replace(/\W+/g, '-')}@example.com`
        const send = linkSenders(app, email, viaEdge('198.51.100.7'))[variant]
        const statuses: number[] = []
        for (let i = 0; i < 5; i++) statuses.push((await send()).statusCode)
        // The resend variant's first call sends two: the code it resends, and the resend.
        const expected = variant.includes('resend') ? [200, 200, 429, 429, 429] : [200, 200, 200, 429, 429]
        t.same(statuses, expected, 'sent up to the limit, refused past it')
        const sent = smtp.received.filter((m) => m.to.some((to) => to.toLowerCase() === email.toLowerCase()))
        t.equal(sent.length, 3, 'three emails, not five')
        const refused = await send()
        t.match(refused.json(), { statusCode: 429, code: 'RATE_LIMITED', message: /this email/ })
        t.ok(Number(refused.headers['retry-after']) > 0, 'with retry-after')
      })
    }
    // And all variants count together for one address.
    const mixed = 'mixed@example.com'
    const senders = Object.values(linkSenders(app, mixed))
    const statuses: number[] = []
    for (const send of senders) statuses.push((await send()).statusCode)
    t.same(statuses, [200, 200, 200, 429, 429], 'variants share one count per email')
  })

  t.test(`per-client link limit holds across path variants and emails (${mode})`, async (t) => {
    const smtp = await startSmtpServer(t)
    const app = await buildTestApp(t, {
      SMTP_URL: smtp.url,
      MEMCACHED_SERVERS,
      EDGE_SECRET,
      AUTH_LINK_LIMIT_PER_EMAIL: '1000',
      AUTH_LINK_LIMIT_PER_IP: '4',
    })
    const client = viaEdge('203.0.113.50')
    await clearOfWindowEdge(60_000)
    const statuses: number[] = []
    let i = 0
    for (const send of Object.values(linkSenders(app, `ip-${i}@example.com`, client))) {
      statuses.push((await send()).statusCode)
      i++
    }
    for (let j = 0; j < 2; j++) {
      const again = await app.inject({
        method: 'POST',
        url: '/auth/signinup/code/',
        headers: { ...headers, ...client },
        payload: { email: `more-${j}@example.com` },
      })
      statuses.push(again.statusCode)
      if (again.statusCode === 429) t.match(again.json().message, /this network/)
    }
    // Five senders, the resend one making two sends: 6 emails asked for, 4 allowed.
    t.equal(statuses.filter((s) => s === 200).length, 4, `four links from one client (${statuses})`)
    t.equal(statuses.at(-1), 429)
    const other = await app.inject({
      method: 'POST',
      url: '/auth/signinup/code',
      headers: { ...headers, ...viaEdge('203.0.113.51') },
      payload: { email: 'someone@example.com' },
    })
    t.equal(other.statusCode, 200, 'another visitor behind the same edge has a count of their own')
  })
}

t.test('IPv6 clients are limited per /64, the block one subscriber holds', async (t) => {
  const app = await buildTestApp(t, {
    EDGE_SECRET,
    AUTH_LINK_LIMIT_PER_IP: '2',
    AUTH_LINK_LIMIT_PER_EMAIL: '100',
  })
  await clearOfWindowEdge(60_000)
  const statuses: number[] = []
  for (const host of ['1', '2', '3']) {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/signinup/code',
      headers: { ...headers, ...viaEdge(`2001:db8:1:2::${host}`) },
      payload: { email: `v6-${host}@example.com` },
    })
    statuses.push(res.statusCode)
  }
  t.same(statuses, [200, 200, 429], 'rotating addresses inside one /64 does not reset the count')
})

t.test(
  'the client address: spoofed headers are ignored, the edge and our proxies are believed',
  async (t) => {
    const app = await buildTestApp(t, {
      EDGE_SECRET,
      TRUSTED_PROXIES: '127.0.0.1',
      EDGE_IP_RANGES: '192.0.2.0/24',
    })
    app.get('/v1/test/whoami', { config: { rateLimit: false } }, async ({ edge }) => ({
      viaEdge: edge.viaEdge,
      clientIp: edge.clientIp,
      country: edge.country,
    }))

    const direct = await buildTestApp(t, { EDGE_SECRET })
    direct.get('/v1/test/whoami', async ({ edge }) => ({
      viaEdge: edge.viaEdge,
      clientIp: edge.clientIp,
      country: edge.country,
    }))
    const spoofed = await direct.inject({
      url: '/v1/test/whoami',
      headers: { 'x-forwarded-for': '203.0.113.9', 'cf-connecting-ip': '203.0.113.9', 'cf-ipcountry': 'NL' },
    })
    t.same(
      spoofed.json(),
      { viaEdge: false, clientIp: '127.0.0.1', country: null },
      'from an unknown peer, neither X-Forwarded-For nor CF-* is believed',
    )
    const wrongSecret = await direct.inject({
      url: '/v1/test/whoami',
      headers: { 'x-edge-secret': `${EDGE_SECRET}x`, 'cf-connecting-ip': '203.0.113.9' },
    })
    t.equal(wrongSecret.json().viaEdge, false, 'a wrong edge secret is no edge')

    const proxied = await app.inject({
      url: '/v1/test/whoami',
      headers: { 'x-forwarded-for': '203.0.113.9' },
    })
    t.same(
      proxied.json(),
      { viaEdge: false, clientIp: '203.0.113.9', country: null },
      'our proxy is believed',
    )

    const edge = await app.inject({
      url: '/v1/test/whoami',
      headers: { 'x-forwarded-for': '192.0.2.10', 'cf-connecting-ip': '198.51.100.4', 'cf-ipcountry': 'nl' },
    })
    t.same(
      edge.json(),
      { viaEdge: true, clientIp: '198.51.100.4', country: 'NL' },
      'a peer in the edge ranges: CF-Connecting-IP and CF-IPCountry',
    )
    const secret = await direct.inject({
      url: '/v1/test/whoami',
      headers: { ...viaEdge('198.51.100.5'), 'cf-ipcountry': 'XX' },
    })
    t.same(
      secret.json(),
      { viaEdge: true, clientIp: '198.51.100.5', country: null },
      'the edge secret; XX is unknown',
    )
    const garbage = await direct.inject({
      url: '/v1/test/whoami',
      headers: { 'x-edge-secret': EDGE_SECRET, 'cf-connecting-ip': 'not-an-ip', 'cf-ipcountry': '<script>' },
    })
    t.same(
      garbage.json(),
      { viaEdge: true, clientIp: '127.0.0.1', country: null },
      'malformed CF headers are dropped',
    )

    // Our Worker's subrequests: Cloudflare writes the Worker's own CF-Connecting-IP, so the
    // Worker sends the visitor's address as X-Real-IP, with the edge secret.
    const worker = await direct.inject({
      url: '/v1/test/whoami',
      headers: { ...viaEdge('2a06:98c0:3600::103'), 'x-real-ip': '198.51.100.6', 'cf-ipcountry': 'DE' },
    })
    t.same(
      worker.json(),
      { viaEdge: true, clientIp: '198.51.100.6', country: 'DE' },
      'through the Worker: X-Real-IP before CF-Connecting-IP',
    )
    const workerGarbage = await direct.inject({
      url: '/v1/test/whoami',
      headers: { ...viaEdge('198.51.100.7'), 'x-real-ip': '198.51.100.6, 203.0.113.9' },
    })
    t.equal(
      workerGarbage.json().clientIp,
      '198.51.100.7',
      'an X-Real-IP that is not one address: CF-Connecting-IP',
    )
    const forged = await direct.inject({
      url: '/v1/test/whoami',
      headers: { 'x-real-ip': '203.0.113.9', 'cf-connecting-ip': '203.0.113.9' },
    })
    t.same(
      forged.json(),
      { viaEdge: false, clientIp: '127.0.0.1', country: null },
      'without the edge secret, a visitor’s X-Real-IP is not believed',
    )
    const throughCloudflare = await app.inject({
      url: '/v1/test/whoami',
      headers: {
        'x-forwarded-for': '192.0.2.10',
        'cf-connecting-ip': '198.51.100.4',
        'x-real-ip': '203.0.113.9',
      },
    })
    t.same(
      throughCloudflare.json(),
      { viaEdge: true, clientIp: '198.51.100.4', country: null },
      'from the edge ranges without the secret, X-Real-IP is the visitor’s word (Cloudflare passes it on): CF-Connecting-IP',
    )
  },
)

t.test('per-route limits count on counters of their own', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_MAX: '100' })
  app.get('/v1/test/a', { config: { rateLimit: { max: 2, timeWindow: 60_000 } } }, async () => ({ ok: 1 }))
  app.post('/v1/test/a', { config: { rateLimit: { max: 3, timeWindow: 60_000 } } }, async () => ({ ok: 1 }))
  app.get('/v1/test/b', { config: { rateLimit: { max: 2, timeWindow: 60_000 } } }, async () => ({ ok: 1 }))
  app.get('/v1/test/c', async () => ({ ok: 1 }))
  await clearOfWindowEdge(60_000)
  const run = async (method: 'GET' | 'POST', url: string, n: number) => {
    const codes: number[] = []
    for (let i = 0; i < n; i++) codes.push((await app.inject({ method, url })).statusCode)
    return codes
  }
  t.same(await run('GET', '/v1/test/a', 3), [200, 200, 429], 'GET /a: its own limit')
  t.same(await run('GET', '/v1/test/b', 3), [200, 200, 429], 'GET /b is not limited by /a')
  t.same(await run('POST', '/v1/test/a', 4), [200, 200, 200, 429], 'POST /a counts apart from GET /a')
  t.same(
    await run('GET', '/v1/test/c', 5),
    [200, 200, 200, 200, 200],
    'the global limit is not used up by them',
  )
})

t.test(
  'keys made from input are bounded: a long email does not break the shared counters',
  { skip: skipWithoutSharedMemcached() },
  async (t) => {
    const smtp = await startSmtpServer(t)
    const logs = captureLogs()
    const app = await buildTestApp(
      t,
      {
        SMTP_URL: smtp.url,
        AUTH_LINK_LIMIT_PER_EMAIL: '2',
        AUTH_LINK_LIMIT_PER_IP: '1000',
        LOG_LEVEL: 'warn',
      },
      { logStream: logs.stream },
    )
    // With our key prefix, longer than the 250 bytes memcached accepts in a key.
    const email = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(40)}.com`
    const ask = () => app.inject({ method: 'POST', url: '/auth/signinup/code', headers, payload: { email } })
    await clearOfWindowEdge(60_000)
    const statuses = [(await ask()).statusCode, (await ask()).statusCode, (await ask()).statusCode]
    t.same(statuses, [200, 200, 429], 'the limit holds')
    t.same(
      logs.lines.filter((line) => String(line.msg).startsWith('memcached unavailable')),
      [],
      'memcached took every key: no fall back to per-worker counting',
    )
    const ready = await app.inject({ url: '/health/ready' })
    t.equal(ready.json().checks.memcached.status, 'up', 'and memcached is still in use')
  },
)
