import t from 'tap'
import { startApi, startEdge } from './harness.ts'

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

t.test('an unknown origin, a subdomain, a missing or odd Origin are refused with 403', async (t) => {
  for (const origin of [
    'https://evil.example.net',
    'https://www.shop.example.com',
    undefined,
    'null',
    'ftp://shop.example.com',
  ]) {
    const response = await preflight('/public/v1/events', origin)
    t.equal(response.status, 403, String(origin))
    t.notOk(response.headers.get('access-control-allow-origin'))
    t.match(await response.json(), { statusCode: 403, code: 'ORIGIN_NOT_ALLOWED' })
  }
  t.equal(api.received.length, 0, 'the API was not asked')
})
