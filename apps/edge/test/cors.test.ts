import t from 'tap'
import { type Answer, EDGE_SECRET, startApi, startEdge } from './harness.ts'

const api = await startApi()
const { mf, bucket } = await startEdge(api.origin)
t.teardown(async () => {
  await mf.dispose()
  await api.close()
})
await bucket.put(
  'domains/shop.example.com.json',
  '{"site":"s","hostname":"shop.example.com","campaigns":[],"features":[]}',
)

function preflight(path: string, origin?: string) {
  return mf.dispatchFetch(`http://edge.test${path}`, {
    method: 'OPTIONS',
    headers: {
      ...(origin ? { origin } : {}),
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, idempotency-key',
    },
  })
}

t.test(
  'a registered site’s page is allowed the API’s methods and headers, answered at the edge',
  async (t) => {
    for (const path of ['/public/v1/events', '/public/v1/leads']) {
      const response = await preflight(path, 'https://shop.example.com')
      t.equal(response.status, 204, path)
      t.equal(response.headers.get('access-control-allow-origin'), 'https://shop.example.com')
      t.equal(response.headers.get('access-control-allow-methods'), 'GET, POST, OPTIONS')
      t.equal(response.headers.get('access-control-allow-headers'), 'content-type, idempotency-key')
      t.equal(response.headers.get('access-control-max-age'), '600')
      t.equal(response.headers.get('vary'), 'Origin')
      await response.arrayBuffer()
    }
    const http = await preflight('/public/v1/events', 'http://shop.example.com:8080')
    t.equal(http.status, 204, 'any scheme (http or https) and port of the host, as the API')
    await http.arrayBuffer()
    t.equal(api.received.length, 0, 'the API was not asked')
  },
)

t.test('a missing or odd Origin is refused with 403 at the edge', async (t) => {
  for (const origin of [undefined, 'null', 'ftp://shop.example.com', 'https://']) {
    const response = await preflight('/public/v1/events', origin)
    t.equal(response.status, 403, String(origin))
    t.notOk(response.headers.get('access-control-allow-origin'))
    t.match(await response.json(), { statusCode: 403, code: 'ORIGIN_NOT_ALLOWED' })
  }
  t.equal(api.received.length, 0, 'the API was not asked')
})

t.test(
  'a host without a domain document in the bucket is the API’s question: its answer passes through',
  async (t) => {
    // The API's rule: the site's settings let subdomains in (here www. does, shop-eu. does not).
    api.answer(
      '/public/v1/events',
      (request): Answer =>
        request.method === 'OPTIONS' && request.headers.origin === 'https://www.shop.example.com'
          ? {
              status: 204,
              headers: {
                'access-control-allow-origin': 'https://www.shop.example.com',
                'access-control-allow-methods': 'GET, POST, OPTIONS',
                vary: 'Origin',
              },
            }
          : {
              status: 403,
              headers: { 'content-type': 'application/json', vary: 'Origin' },
              body: '{"statusCode":403,"code":"ORIGIN_NOT_ALLOWED","message":"api"}',
            },
    )
    const before = api.received.length
    const allowed = await preflight('/public/v1/events', 'https://www.shop.example.com')
    t.equal(allowed.status, 204)
    t.equal(allowed.headers.get('access-control-allow-origin'), 'https://www.shop.example.com')
    await allowed.arrayBuffer()
    const asked = api.received[before]
    t.equal(asked?.method, 'OPTIONS')
    t.equal(asked?.headers['x-edge-secret'], EDGE_SECRET, 'over the trusted-edge path')
    t.equal(asked?.headers['access-control-request-method'], 'POST')
    const deep = await preflight('/public/v1/events', 'https://a.b.shop-eu.shop.example.com')
    t.equal(deep.status, 403, 'the API’s refusal')
    t.match(await deep.json(), { message: 'api' })
    // A site whose document is not in the bucket (a publish not yet copied there): the document
    // route falls back to the API, so its popups show; its writes must not be refused here.
    const unknown = await preflight('/public/v1/events', 'https://evil.example.net')
    t.equal(unknown.status, 403, 'the API refuses a host that is no site')
    t.match(await unknown.json(), { message: 'api' })
    t.equal(api.received.length, before + 3)
  },
)
