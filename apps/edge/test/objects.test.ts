import t from 'tap'
import {
  OBJECT_CACHE_CONTROL as API_CACHE_CONTROL,
  OBJECT_CONTENT_TYPE as API_CONTENT_TYPE,
} from '../../api/src/modules/publishing/documents.ts'
import { OBJECT_CACHE_CONTROL, OBJECT_CONTENT_TYPE } from '../src/objects.ts'
import { cfCountry, startApi, startEdge } from './harness.ts'

const SITE = '0190a0b0-0000-7000-8000-000000000001'
const CAMPAIGN = '0190a0b0-0000-7000-8000-0000000000c1'
// Spacing, key order and escapes a JSON.parse + JSON.stringify would change: the bytes must survive.
const DOMAIN_BYTES = Buffer.from(
  `{"site":"${SITE}", "hostname":"shop.example.com","campaigns":[{"id":"${CAMPAIGN}","v":3}],"features":[],"note":"caf\\u00e9 \u2603"}`,
)
const CAMPAIGN_BYTES = Buffer.from(`{"id":"${CAMPAIGN}","v":3,"type":"modal","variants":[]}`)

const api = await startApi()
const { mf, bucket } = await startEdge(api.origin)
t.teardown(async () => {
  await mf.dispose()
  await api.close()
})
// Plain Uint8Arrays: Miniflare's proxy to the bucket does not take Node's Buffer subclass.
await bucket.put('domains/shop.example.com.json', new Uint8Array(DOMAIN_BYTES), {
  httpMetadata: { contentType: API_CONTENT_TYPE },
})
await bucket.put(`campaigns/production/${CAMPAIGN}.json`, new Uint8Array(CAMPAIGN_BYTES), {
  httpMetadata: { contentType: API_CONTENT_TYPE },
})
await bucket.put(`campaigns/test/${CAMPAIGN}.json`, '{"test":true}', {
  httpMetadata: { contentType: API_CONTENT_TYPE },
})

t.test('headers and types are the API’s', async (t) => {
  t.equal(OBJECT_CACHE_CONTROL, API_CACHE_CONTROL)
  t.equal(OBJECT_CONTENT_TYPE, API_CONTENT_TYPE)
})

t.test('a domain document is served byte for byte with its ETag and the API’s Cache-Control', async (t) => {
  const response = await mf.dispatchFetch('http://edge.test/domains/shop.example.com.json')
  t.equal(response.status, 200)
  t.same(Buffer.from(await response.arrayBuffer()), DOMAIN_BYTES, 'byte-identical: not re-serialised')
  const stored = await bucket.head('domains/shop.example.com.json')
  t.equal(response.headers.get('etag'), stored?.httpEtag)
  t.equal(response.headers.get('cache-control'), API_CACHE_CONTROL)
  t.equal(response.headers.get('content-type'), API_CONTENT_TYPE)
  t.equal(response.headers.get('access-control-allow-origin'), '*')
  t.match(response.headers.get('access-control-expose-headers'), /x-nudge-country/)
  t.equal(api.received.length, 0, 'the API was not asked')
})

t.test('production and test campaigns are served from their keys', async (t) => {
  const production = await mf.dispatchFetch(`http://edge.test/campaigns/production/${CAMPAIGN}.json`)
  t.equal(production.status, 200)
  t.same(Buffer.from(await production.arrayBuffer()), CAMPAIGN_BYTES)
  const test = await mf.dispatchFetch(`http://edge.test/campaigns/test/${CAMPAIGN}.json`)
  t.equal(test.status, 200)
  t.equal(await test.text(), '{"test":true}')
})

t.test(
  'If-None-Match with the current ETag gives 304 with no body; a stale one gives the object',
  async (t) => {
    const first = await mf.dispatchFetch(`http://edge.test/campaigns/production/${CAMPAIGN}.json`)
    await first.arrayBuffer()
    const etag = first.headers.get('etag') ?? ''
    t.match(etag, /^"[0-9a-f]+"$/)
    const again = await mf.dispatchFetch(`http://edge.test/campaigns/production/${CAMPAIGN}.json`, {
      headers: { 'if-none-match': etag },
    })
    t.equal(again.status, 304)
    t.equal(await again.text(), '')
    t.equal(again.headers.get('etag'), etag)
    t.equal(again.headers.get('cache-control'), API_CACHE_CONTROL)
    t.equal(again.headers.get('x-nudge-country'), 'DE', 'a 304 carries the country too')
    const weak = await mf.dispatchFetch(`http://edge.test/campaigns/production/${CAMPAIGN}.json`, {
      headers: { 'if-none-match': `W/${etag}` },
    })
    t.equal(weak.status, 304, 'a weak form of the ETag matches (as the API’s does)')
    await weak.arrayBuffer()
    const stale = await mf.dispatchFetch(`http://edge.test/campaigns/production/${CAMPAIGN}.json`, {
      headers: { 'if-none-match': '"0123"' },
    })
    t.equal(stale.status, 200)
    t.same(Buffer.from(await stale.arrayBuffer()), CAMPAIGN_BYTES)
    const other = await mf.dispatchFetch(`http://edge.test/campaigns/production/${CAMPAIGN}.json`, {
      headers: { 'if-match': '"0123"', 'if-modified-since': new Date(Date.now() + 86_400_000).toUTCString() },
    })
    t.equal(other.status, 200, 'other conditions are not read: never a 304 the ETag did not earn')
    t.same(Buffer.from(await other.arrayBuffer()), CAMPAIGN_BYTES)
  },
)

t.test('HEAD gives the headers without the body', async (t) => {
  const response = await mf.dispatchFetch('http://edge.test/domains/shop.example.com.json', {
    method: 'HEAD',
  })
  t.equal(response.status, 200)
  t.ok(response.headers.get('etag'))
  t.equal(await response.text(), '')
})

t.test('the visitor’s country is a response header; XX, T1 and none leave it out', async (t) => {
  const cases: Array<[string, string | undefined, string | null]> = [
    ['set (FR)', 'FR', 'FR'],
    ['XX (unknown)', 'XX', null],
    ['T1 (Tor)', 'T1', null],
    // Miniflare fills a request's cf from its defaults (country US); undefined leaves the key out
    // of what reaches workerd, as outside Cloudflare.
    ['absent', undefined, null],
  ]
  for (const [name, country, expected] of cases) {
    const response = await mf.dispatchFetch('http://edge.test/domains/shop.example.com.json', {
      cf: cfCountry(country),
    })
    await response.arrayBuffer()
    t.equal(response.headers.get('x-nudge-country'), expected, name)
  }
})

t.test('a domain document missing from the bucket comes from the API, passed through', async (t) => {
  const body = '{"site":"s","hostname":"new.example.com","campaigns":[],"features":[]}'
  api.answer('/public/v1/sites/new.example.com', (request) =>
    request.headers['if-none-match'] === '"api-etag"'
      ? { status: 304, headers: { etag: '"api-etag"' } as Record<string, string> }
      : {
          status: 200,
          headers: {
            'content-type': API_CONTENT_TYPE,
            etag: '"api-etag"',
            'cache-control': 'public, max-age=60',
          },
          body,
        },
  )
  const before = api.received.length
  const response = await mf.dispatchFetch('http://edge.test/domains/new.example.com.json', {
    cf: { country: 'PL' },
  })
  t.equal(response.status, 200)
  t.equal(await response.text(), body)
  t.equal(response.headers.get('etag'), '"api-etag"')
  t.equal(response.headers.get('x-nudge-country'), 'PL')
  t.equal(response.headers.get('access-control-allow-origin'), '*')
  t.equal(api.received[before]?.url, '/public/v1/sites/new.example.com')
  const revalidated = await mf.dispatchFetch('http://edge.test/domains/new.example.com.json', {
    headers: { 'if-none-match': '"api-etag"' },
  })
  t.equal(revalidated.status, 304, 'If-None-Match goes to the API and its 304 comes back')
  await revalidated.arrayBuffer()
  const unknown = await mf.dispatchFetch('http://edge.test/domains/nobody.example.com.json')
  t.equal(unknown.status, 404, 'the API’s 404 for a hostname that is no site')
  t.match(await unknown.json(), { code: 'NOT_FOUND' })
})

t.test('a campaign missing from the bucket is 404 (no API fallback)', async (t) => {
  const before = api.received.length
  const response = await mf.dispatchFetch(
    'http://edge.test/campaigns/production/0190a0b0-0000-7000-8000-00000000dead.json',
  )
  t.equal(response.status, 404)
  t.match(await response.json(), { statusCode: 404, code: 'NOT_FOUND' })
  t.equal(api.received.length, before)
})

t.test('paths that name no object are 404 without a bucket read; writes to objects are 405', async (t) => {
  for (const path of [
    '/',
    '/domains/../secret.json',
    '/domains/Shop.Example.com.json',
    '/campaigns/draft/x.json',
  ]) {
    const response = await mf.dispatchFetch(`http://edge.test${path}`)
    t.equal(response.status, 404, path)
    await response.arrayBuffer()
  }
  const put = await mf.dispatchFetch('http://edge.test/domains/shop.example.com.json', {
    method: 'PUT',
    body: '{}',
  })
  t.equal(put.status, 405)
  t.equal(put.headers.get('allow'), 'GET, HEAD, OPTIONS')
  await put.arrayBuffer()
})
