import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { type LookupFn, postJson } from '../src/modules/integrations/outbound.ts'
import { buildTestApp } from './helpers/app.ts'
import { personalTeam } from './helpers/campaigns.ts'
import { startReceiver } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

/*
 * IPv6 spellings of internal IPv4 addresses that a deny-list of ranges missed: IPv4-compatible
 * (::127.0.0.1, ::7f00:1), SIIT (::ffff:0:7f00:1) and local-use NAT64 (64:ff9b:1::/48). Behind
 * NAT64 or SIIT they reach the internal address. Only what ipaddr.js classes as unicast may be a
 * webhook's address: at save (the URL as typed) and at send (every address its name resolves to,
 * when the request connects).
 */

const HOSTILE = [
  '::127.0.0.1',
  '::7f00:1',
  '::ffff:0:7f00:1',
  '64:ff9b:1::7f00:1',
  '::a00:1',
  '::ffff:0:a00:1',
]

const receiver = await startReceiver(t)
// Loopback allowed, as in development: the receiver is on 127.0.0.1. None of the addresses above
// is loopback to ipaddr.js, so allowing loopback must not let them through either.
const app = await buildTestApp(t, { OUTBOUND_ALLOW_LOOPBACK: 'true' })
await app.ready()
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)

const call = (method: 'POST' | 'PATCH', url: string, payload: unknown) =>
  app.inject({ method, url, headers: ann.headers, payload: payload as object })
const detailsOf = (res: LightMyRequestResponse) =>
  res.json().details as Array<{ field: string; message: string }>

t.test('at save: connecting or changing a webhook to such an address is a 400 naming body.url', async (t) => {
  const hook = await call('POST', `/v1/teams/${teamId}/integrations`, {
    kind: 'webhook',
    name: 'CRM',
    url: receiver.url,
  })
  t.equal(hook.statusCode, 201, hook.body)
  for (const address of HOSTILE) {
    const url = `http://[${address}]:${new URL(receiver.url).port}/hook`
    const created = await call('POST', `/v1/teams/${teamId}/integrations`, {
      kind: 'webhook',
      name: 'Evil',
      url,
    })
    t.equal(created.statusCode, 400, `POST ${url}: 400 (${created.statusCode} ${created.body})`)
    if (created.statusCode === 400) t.match(detailsOf(created), [{ field: 'body.url', message: /address/ }])
    const changed = await call('PATCH', `/v1/teams/${teamId}/integrations/${hook.json().id}`, { url })
    t.equal(changed.statusCode, 400, `PATCH ${url}: 400 (${changed.statusCode} ${changed.body})`)
    if (changed.statusCode === 400) t.match(detailsOf(changed), [{ field: 'body.url', message: /address/ }])
  }
})

t.test(
  'at send: a name resolving to such an address is refused, also when it changes after the check',
  async (t) => {
    const port = new URL(receiver.url).port
    const before = receiver.received.length
    for (const address of HOSTILE) {
      const resolving: LookupFn = async () => [{ address, family: 6 }]
      const result = await postJson(
        `http://hooks.example.com:${port}/hook`,
        '{}',
        {},
        {
          policy: { allowLoopback: true, requireHttps: false, lookup: resolving },
          timeoutMs: 2000,
        },
      )
      t.match(result, { ok: false, status: 0, error: /^refused: the address .* is / }, `${address}: refused`)

      // DNS rebinding: a public address for the check, the hostile one when the request connects.
      let calls = 0
      const rebinding: LookupFn = async () => {
        calls += 1
        return [calls === 1 ? { address: '93.184.215.14', family: 4 } : { address, family: 6 }]
      }
      const rebound = await postJson(
        `http://rebind.example.com:${port}/hook`,
        '{}',
        {},
        {
          policy: { allowLoopback: true, requireHttps: false, lookup: rebinding },
          timeoutMs: 2000,
        },
      )
      t.match(rebound, { ok: false, status: 0, error: /^refused: / }, `${address} after rebinding: refused`)
    }
    t.equal(receiver.received.length, before, 'nothing reached the receiver')
  },
)

t.test('ordinary public addresses stay allowed', async (t) => {
  const { checkWebhookUrl } = await import('../src/modules/integrations/outbound.ts')
  const policy = { allowLoopback: false, requireHttps: true }
  for (const address of [
    '93.184.215.14',
    '2606:2800:21f:cb07:6820:80da:af6b:8b2c',
    '2a00:1450:4001:82a::200e',
  ]) {
    const check = await checkWebhookUrl('https://hooks.example.com/', {
      ...policy,
      lookup: async () => [{ address, family: address.includes(':') ? 6 : 4 }],
    })
    t.equal(check.ok, true, `${address}: allowed`)
  }
})
