import t from 'tap'
import { EDGE_SECRET_HEADER as API_EDGE_SECRET_HEADER } from '../../../libs/edge/src/client.ts'
import { EDGE_SECRET_HEADER } from '../src/forward.ts'
import { cfCountry, EDGE_SECRET, startApi, startEdge } from './harness.ts'

const api = await startApi()
const { mf } = await startEdge(api.origin)
t.teardown(async () => {
  await mf.dispose()
  await api.close()
})

const ORIGIN = 'https://shop.example.com'
const EVENTS = '{"events":[{"eventId":"0190a0b0-0000-7000-8000-0000000000e1","type":"impression"}]}'

api.answer('/public/v1/events', () => ({
  status: 202,
  headers: { 'content-type': 'application/json', 'access-control-allow-origin': ORIGIN, vary: 'Origin' },
  body: '{"accepted":1,"duplicates":0}',
}))
api.answer('/public/v1/leads', (request) =>
  request.body.includes('"email":"not-an-email"')
    ? {
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: '{"statusCode":400,"code":"VALIDATION_FAILED","message":"email","details":[{"field":"email"}]}',
      }
    : { status: 202, headers: { 'content-type': 'application/json' }, body: '{"id":"lead-1"}' },
)

function lastReceived() {
  const request = api.received.at(-1)
  if (!request) throw new Error('the API received nothing')
  return request
}

t.test('the header name is the API’s', async (t) => {
  t.equal(EDGE_SECRET_HEADER, API_EDGE_SECRET_HEADER)
})

t.test(
  'events go to the API with the edge secret, country and client address; the answer comes back',
  async (t) => {
    const response = await mf.dispatchFetch('http://edge.test/public/v1/events?source=script', {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.7' },
      body: EVENTS,
      cf: { country: 'FR' },
    })
    t.equal(response.status, 202)
    t.same(await response.json(), { accepted: 1, duplicates: 0 })
    t.equal(
      response.headers.get('access-control-allow-origin'),
      ORIGIN,
      'the API’s CORS headers pass through',
    )
    const received = lastReceived()
    t.equal(received.method, 'POST')
    t.equal(received.url, '/public/v1/events?source=script')
    t.equal(received.body, EVENTS, 'the body as the visitor sent it')
    t.equal(received.headers[EDGE_SECRET_HEADER], EDGE_SECRET)
    t.equal(received.headers['cf-ipcountry'], 'FR')
    t.equal(
      received.headers['x-real-ip'],
      '203.0.113.7',
      'what Cloudflare makes CF-Connecting-IP of (same zone)',
    )
    t.equal(received.headers.origin, ORIGIN)
    t.equal(received.headers['content-type'], 'application/json')
  },
)

t.test('an edge secret or cf-* header written by the visitor is not passed on', async (t) => {
  const response = await mf.dispatchFetch('http://edge.test/public/v1/events', {
    method: 'POST',
    headers: {
      origin: ORIGIN,
      'content-type': 'application/json',
      'x-edge-secret': 'forged',
      'cf-ipcountry': 'US',
      'cf-ray': 'forged-ray',
      'cf-visitor': '{"scheme":"https"}',
      'x-real-ip': '198.51.100.1',
    },
    body: EVENTS,
    cf: { country: 'DE' },
  })
  t.equal(response.status, 202)
  await response.arrayBuffer()
  const received = lastReceived()
  t.equal(received.headers[EDGE_SECRET_HEADER], EDGE_SECRET, 'ours, not the forged one')
  t.equal(received.headers['cf-ipcountry'], 'DE', 'Cloudflare’s country, not the visitor’s')
  t.notOk(received.headers['cf-ray'])
  t.notOk(received.headers['cf-visitor'])
  // Miniflare, as Cloudflare does, gives the Worker the connecting address as CF-Connecting-IP.
  t.equal(received.headers['x-real-ip'], '127.0.0.1', 'the connecting address, not the one the visitor wrote')
})

t.test('an unknown country (XX, T1) sends no CF-IPCountry', async (t) => {
  for (const country of ['XX', 'T1']) {
    const response = await mf.dispatchFetch('http://edge.test/public/v1/events', {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/json', 'cf-ipcountry': 'US' },
      body: EVENTS,
      cf: cfCountry(country),
    })
    await response.arrayBuffer()
    t.notOk(lastReceived().headers['cf-ipcountry'], country)
  }
})

t.test(
  'a sendBeacon batch (text/plain) goes to the API as JSON; a lead’s type is left as sent',
  async (t) => {
    const beacon = await mf.dispatchFetch('http://edge.test/public/v1/events', {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'text/plain;charset=UTF-8' },
      body: EVENTS,
    })
    t.equal(beacon.status, 202)
    await beacon.arrayBuffer()
    t.equal(lastReceived().headers['content-type'], 'application/json')
    t.equal(lastReceived().body, EVENTS, 'the body unchanged')
    const lead = await mf.dispatchFetch('http://edge.test/public/v1/leads', {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'text/plain' },
      body: '{"email":"visitor@example.com"}',
    })
    await lead.arrayBuffer()
    t.equal(
      lastReceived().headers['content-type'],
      'text/plain',
      'leads must be sent as JSON: the API says so',
    )
  },
)

t.test('a lead keeps its Idempotency-Key; the API’s 400 and its details come back unchanged', async (t) => {
  const ok = await mf.dispatchFetch('http://edge.test/public/v1/leads', {
    method: 'POST',
    headers: { origin: ORIGIN, 'content-type': 'application/json', 'idempotency-key': 'k-7d0c1e' },
    body: '{"email":"visitor@example.com"}',
  })
  t.equal(ok.status, 202)
  t.same(await ok.json(), { id: 'lead-1' })
  t.equal(lastReceived().headers['idempotency-key'], 'k-7d0c1e')
  t.equal(lastReceived().headers[EDGE_SECRET_HEADER], EDGE_SECRET)
  const bad = await mf.dispatchFetch('http://edge.test/public/v1/leads', {
    method: 'POST',
    headers: { origin: ORIGIN, 'content-type': 'application/json' },
    body: '{"email":"not-an-email"}',
  })
  t.equal(bad.status, 400)
  t.same(await bad.json(), {
    statusCode: 400,
    code: 'VALIDATION_FAILED',
    message: 'email',
    details: [{ field: 'email' }],
  })
})

t.test('a write other than POST is 405; other /public/v1 paths are not forwarded', async (t) => {
  const before = api.received.length
  const get = await mf.dispatchFetch('http://edge.test/public/v1/events')
  t.equal(get.status, 405)
  t.equal(get.headers.get('allow'), 'POST, OPTIONS')
  await get.arrayBuffer()
  const other = await mf.dispatchFetch('http://edge.test/public/v1/teams', { method: 'POST', body: '{}' })
  t.equal(other.status, 404)
  await other.arrayBuffer()
  t.equal(api.received.length, before, 'the API was not asked')
})

t.test('an API that does not answer is 502 API_UNREACHABLE', async (t) => {
  const closed = await startApi()
  await closed.close()
  const { mf: lonely } = await startEdge(closed.origin)
  t.teardown(() => lonely.dispose())
  const response = await lonely.dispatchFetch('http://edge.test/public/v1/events', {
    method: 'POST',
    headers: { origin: ORIGIN, 'content-type': 'application/json' },
    body: EVENTS,
  })
  t.equal(response.status, 502)
  t.match(await response.json(), { statusCode: 502, code: 'API_UNREACHABLE' })
})
