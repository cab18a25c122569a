import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import t, { type Test } from 'tap'
import {
  checkWebhookUrl,
  type LookupFn,
  parseRetryAfter,
  postJson,
} from '../src/modules/integrations/outbound.ts'
import {
  decryptSecret,
  encryptSecret,
  needsReencryption,
  parseKeyring,
  SecretUnreadable,
} from '../src/modules/integrations/secrets.ts'
import { generateWebhookSecret, webhookHeaders } from '../src/modules/integrations/webhook-signing.ts'

/** A resolver answering from a table, as a hostile DNS server would. */
const resolving =
  (table: Record<string, string[]>): LookupFn =>
  async (hostname) => {
    const addresses = table[hostname]
    if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
const strict = { allowLoopback: false, requireHttps: false }

async function listen(t: Test, server: Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('every refused address class, as a literal and as a name resolving to it', async (t) => {
  const refused = {
    loopback: '127.0.0.1',
    'loopback v6': '::1',
    private10: '10.1.2.3',
    private172: '172.20.0.5',
    private192: '192.168.1.1',
    'link-local (metadata)': '169.254.169.254',
    cgnat: '100.64.1.1',
    multicast: '224.0.0.1',
    unspecified: '0.0.0.0',
    reserved: '240.0.0.1',
    'unique-local v6': 'fd00::1',
    'link-local v6': 'fe80::1',
    'multicast v6': 'ff02::1',
    'ipv4-mapped private': '::ffff:10.0.0.1',
    'nat64 private': '64:ff9b::a00:1',
  }
  for (const [label, address] of Object.entries(refused)) {
    const literal = await checkWebhookUrl(
      `http://${address.includes(':') ? `[${address}]` : address}/x`,
      strict,
    )
    t.equal(literal.ok, false, `${label} literal`)
    const named = await checkWebhookUrl('http://hooks.example.com/x', {
      ...strict,
      lookup: resolving({ 'hooks.example.com': [address] }),
    })
    t.equal(named.ok, false, `${label} by name`)
  }
  const oneOfSeveral = await checkWebhookUrl('http://mixed.example.com/', {
    ...strict,
    lookup: resolving({ 'mixed.example.com': ['93.184.215.14', '10.0.0.7'] }),
  })
  t.match(
    oneOfSeveral,
    { ok: false, reason: /10\.0\.0\.7 is a private network address/ },
    'any private address refuses',
  )
  t.match(await checkWebhookUrl('http://2130706433/', strict), { ok: false }, 'decimal IPv4 (127.0.0.1)')
  t.match(await checkWebhookUrl('http://0x7f.1/', strict), { ok: false }, 'hex IPv4')
  t.match(await checkWebhookUrl('http://metadata.google.internal/', strict), {
    ok: false,
    reason: /metadata/,
  })
  t.match(await checkWebhookUrl('http://u:p@example.com/', strict), { ok: false, reason: /password/ })
  t.match(await checkWebhookUrl('http://public.example.com/', { ...strict, requireHttps: true }), {
    ok: false,
    reason: /https/,
  })
  t.match(
    await checkWebhookUrl('https://public.example.com/', {
      ...strict,
      lookup: resolving({ 'public.example.com': ['93.184.215.14'] }),
    }),
    { ok: true },
  )
  t.match(await checkWebhookUrl('http://127.0.0.1:9/', { ...strict, allowLoopback: true }), { ok: true })
  t.match(
    await checkWebhookUrl('http://10.0.0.1/', { ...strict, allowLoopback: true }),
    { ok: false },
    'allowing loopback allows nothing else',
  )
})

t.test('POST: sent as is; no redirect followed; timeouts, huge answers and Retry-After', async (t) => {
  const got: Array<{ headers: Record<string, unknown>; body: string }> = []
  const base = await listen(
    t,
    createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c
      })
      req.on('end', () => {
        got.push({ headers: req.headers, body })
        if (req.url === '/ok') res.writeHead(200).end('fine')
        else if (req.url === '/redirect') res.writeHead(302, { location: 'http://10.0.0.1/' }).end()
        else if (req.url === '/slow') setTimeout(() => res.end('late'), 5000)
        else if (req.url === '/huge') {
          res.writeHead(200)
          const chunk = Buffer.alloc(64 * 1024, 97)
          for (let i = 0; i < 160; i++) res.write(chunk)
          res.end()
        } else if (req.url === '/limited') res.writeHead(429, { 'retry-after': '30' }).end()
      })
    }),
  )
  const loopback = { policy: { allowLoopback: true, requireHttps: false }, timeoutMs: 1000 }
  const ok = await postJson(`${base}/ok`, '{"a":1}', { 'webhook-id': 'msg_1' }, loopback)
  t.match(ok, { ok: true, status: 200, bodyExcerpt: 'fine' })
  t.equal(got[0]?.body, '{"a":1}')
  t.equal(got[0]?.headers['webhook-id'], 'msg_1')

  const redirect = await postJson(`${base}/redirect`, '{}', {}, loopback)
  t.match(redirect, { ok: false, status: 302, error: /redirect to http:\/\/10\.0\.0\.1\/ not followed/ })
  t.equal(got.length, 2, 'the redirect target was not requested')

  const started = Date.now()
  const slow = await postJson(`${base}/slow`, '{}', {}, loopback)
  t.match(slow, { ok: false, status: 0, error: /timed out after 1000 ms/ })
  t.ok(Date.now() - started < 2000)

  const huge = await postJson(`${base}/huge`, '{}', {}, loopback)
  t.equal(huge.status, 200)
  t.ok(Buffer.byteLength(huge.bodyExcerpt) <= 1024, 'at most 1 KB of a 10 MB answer read')

  t.match(await postJson(`${base}/limited`, '{}', {}, loopback), { status: 429, retryAfterSeconds: 30 })
  t.ok((parseRetryAfter(new Date(Date.now() + 60_000).toUTCString()) ?? 0) >= 59, 'an HTTP date')
  t.equal(parseRetryAfter('999999'), 86400, 'capped at a day')

  const loopbackRefused = await postJson(`${base}/ok`, '{}', {}, { ...loopback, policy: strict })
  t.match(loopbackRefused, { ok: false, status: 0, error: /refused: .*loopback/ })
})

t.test('DNS rebinding: public when checked, loopback when connecting → never connected', async (t) => {
  let requests = 0
  const base = await listen(
    t,
    createServer((_req, res) => {
      requests++
      res.end()
    }),
  )
  const port = new URL(base).port
  let calls = 0
  const rebinding: LookupFn = async () => {
    calls++
    return [{ address: calls === 1 ? '93.184.215.14' : '127.0.0.1', family: 4 }]
  }
  const result = await postJson(
    `http://rebind.example.com:${port}/`,
    '{}',
    {},
    {
      policy: { ...strict, lookup: rebinding },
      timeoutMs: 1000,
    },
  )
  t.match(result, { ok: false, error: /refused/ })
  t.equal(requests, 0, 'the local server got nothing')
  t.ok(calls >= 2, 'resolved again when connecting')
})

t.test('Standard Webhooks signatures: each secret verifies; a changed body does not', async (t) => {
  const [one, two] = [generateWebhookSecret(), generateWebhookSecret()]
  const body = '{"type":"lead.created"}'
  const headers = webhookHeaders({ id: 'msg_x', timestamp: new Date(), body, secrets: [one, two] })
  t.equal(headers['webhook-signature'].split(' ').length, 2)
  for (const secret of [one, two]) t.doesNotThrow(() => new Webhook(secret).verify(body, headers))
  t.throws(() => new Webhook(one).verify('{"type":"lead.deleted"}', headers))
  t.throws(() => new Webhook(generateWebhookSecret()).verify(body, headers), 'another secret fails')
})

t.test('secrets at rest: round trip, rotation, unknown keys and tampering', async (t) => {
  const k1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`
  const k2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`
  const old = parseKeyring(k1)
  const stored = encryptSecret(old, 'api-key-1234')
  t.notOk(stored.includes('api-key'), 'not in the clear')
  t.equal(decryptSecret(old, stored), 'api-key-1234')
  const rotated = parseKeyring(`${k2},${k1}`)
  t.equal(decryptSecret(rotated, stored), 'api-key-1234', 'old values stay readable after rotation')
  t.equal(needsReencryption(rotated, stored), true)
  t.equal(needsReencryption(rotated, encryptSecret(rotated, 'x')), false)
  t.throws(() => decryptSecret(parseKeyring(k2), stored), /key k1 is not in SECRETS_ENCRYPTION_KEYS/)
  const parts = stored.split('.')
  parts[4] = Buffer.from('tampered').toString('base64url')
  try {
    decryptSecret(old, parts.join('.'))
    t.fail('tampering must be detected')
  } catch (error) {
    t.ok(error instanceof SecretUnreadable)
    t.notOk((error as Error).message.includes('api-key'), 'the value is not in the message')
  }
  t.throws(() => parseKeyring('k1:short'), /item 1/)
  t.throws(() => parseKeyring(`${k1},k2:${Buffer.alloc(8).toString('base64')}`), /item 2 is not keyId/)
})
