import { readFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { OBJECT_CONTENT_TYPE as API_CONTENT_TYPE } from '../../api/src/modules/publishing/documents.ts'
import { defaultScriptFile } from '../build/worker.ts'
import { OBJECT_CACHE_CONTROL } from '../src/objects.ts'
import { startApi, startEdge } from './harness.ts'

/*
 * Go-Live's transition: snippets on customers' pages ask the old CDN hostname (now this Worker)
 * for /widget.js, /w/{oldDomainId}.json and /c/{oldCampaignId}.json; the legacy map in the bucket
 * says which objects those are. Each Miniflare is one isolate, which keeps the map it read for up
 * to a minute: a test that needs another map starts its own.
 */

const SITE = '0190a0b0-0000-7000-8000-000000000001'
const CAMPAIGN = '0190a0b0-0000-7000-8000-0000000000c1'
const DOMAIN_BYTES = Buffer.from(
  `{"site":"${SITE}", "hostname":"shop.example.com","campaigns":[{"id":"${CAMPAIGN}"}]}`,
)
const CAMPAIGN_BYTES = Buffer.from(`{"id":"${CAMPAIGN}","v":3,"type":"modal","variants":[]}`)
const HOUR_MS = 3_600_000

const api = await startApi()
t.teardown(() => api.close())

async function edgeWith(t: Test, map: unknown) {
  const edge = await startEdge(api.origin)
  t.teardown(() => edge.mf.dispose())
  const put = (key: string, bytes: Buffer) =>
    edge.bucket.put(key, new Uint8Array(bytes), { httpMetadata: { contentType: API_CONTENT_TYPE } })
  await put('domains/shop.example.com.json', DOMAIN_BYTES)
  await put(`campaigns/production/${CAMPAIGN}.json`, CAMPAIGN_BYTES)
  if (map !== undefined) {
    await edge.bucket.put('legacy/map.json', typeof map === 'string' ? map : JSON.stringify(map))
  }
  const get = (path: string, init?: RequestInit) =>
    edge.mf.dispatchFetch(`http://cdn.legacy.test${path}`, init as never)
  return { ...edge, get }
}

function liveMap(overrides: Record<string, unknown> = {}) {
  return {
    until: new Date(Date.now() + HOUR_MS).toISOString(),
    domains: { '17': 'shop.example.com', '18': 'gone.example.com', '19': '../campaigns/test/x', '20': 42 },
    campaigns: { '123': CAMPAIGN, '124': 'not-a-uuid', '125': `${CAMPAIGN}/../x` },
    ...overrides,
  }
}

/** A path the Worker reads as an old name (an old serial: no sign, no leading zero, ≤ 10 digits). */
const OLD_NAME = /^\/[wc]\/[1-9][0-9]{0,9}\.json$/

/** A 404 in the Worker's JSON; an old name's own 404 is readable by the page, as an object's is. */
async function notFound(t: Test, response: Response, what: string) {
  t.equal(response.status, 404, what)
  t.match(await response.json(), { statusCode: 404, code: 'NOT_FOUND' }, `${what}: the Worker’s JSON error`)
  t.equal(response.headers.get('cache-control'), 'no-store', `${what}: not cached`)
  if (OLD_NAME.test(what.split(': ').at(-1) ?? '')) {
    t.equal(response.headers.get('access-control-allow-origin'), '*', `${what}: readable by the page`)
  }
}

t.test('/widget.js is today’s script, byte for byte, as /nudge.js is', async (t) => {
  const { get } = await edgeWith(t, undefined)
  const bytes = await readFile(defaultScriptFile())
  const widget = await get('/widget.js')
  t.equal(widget.status, 200)
  t.same(Buffer.from(await widget.arrayBuffer()), bytes)
  const nudge = await get('/nudge.js')
  await nudge.arrayBuffer()
  for (const header of ['content-type', 'cache-control', 'etag', 'access-control-allow-origin']) {
    t.equal(widget.headers.get(header), nudge.headers.get(header), header)
  }
  const revalidated = await get('/widget.js', {
    headers: { 'if-none-match': String(nudge.headers.get('etag')) },
  })
  t.equal(revalidated.status, 304)
  for (const path of ['/widget.js/', '/Widget.js', '/widget.0123456789.js', '/w/widget.js']) {
    await notFound(t, await get(path), path)
  }
})

t.test('the old names serve the objects they map to, with the objects’ headers', async (t) => {
  const { get, bucket } = await edgeWith(t, liveMap())
  const domain = await get('/w/17.json')
  t.equal(domain.status, 200)
  t.same(Buffer.from(await domain.arrayBuffer()), DOMAIN_BYTES, 'byte for byte')
  const stored = await bucket.head('domains/shop.example.com.json')
  t.equal(domain.headers.get('etag'), stored?.httpEtag)
  t.equal(domain.headers.get('cache-control'), OBJECT_CACHE_CONTROL)
  t.equal(domain.headers.get('content-type'), API_CONTENT_TYPE)
  t.equal(domain.headers.get('access-control-allow-origin'), '*')
  t.equal(domain.headers.get('x-nudge-country'), 'DE', 'the country, as on the new names')

  const campaign = await get('/c/123.json')
  t.equal(campaign.status, 200)
  t.same(Buffer.from(await campaign.arrayBuffer()), CAMPAIGN_BYTES)
  const again = await get('/c/123.json', {
    headers: { 'if-none-match': String(campaign.headers.get('etag')) },
  })
  t.equal(again.status, 304, 'revalidated like the object')
  const head = await get('/w/17.json', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(await head.text(), '')
  const preflight = await get('/c/123.json', { method: 'OPTIONS' })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), '*')
  const post = await get('/c/123.json', { method: 'POST' })
  t.equal(post.status, 405)
  await post.arrayBuffer()
  t.equal(api.received.length, 0, 'the API was not asked')
})

t.test(
  'a mapped domain whose document is not in the bucket is asked of the API, as by hostname',
  async (t) => {
    const { get } = await edgeWith(t, liveMap())
    api.answer('/public/v1/sites/gone.example.com', () => ({
      status: 404,
      headers: { 'content-type': 'application/json' },
      body: '{"statusCode":404,"code":"NOT_FOUND","message":"Site not found"}',
    }))
    const before = api.received.length
    const response = await get('/w/18.json')
    t.equal(response.status, 404)
    t.match(await response.json(), { message: 'Site not found' })
    t.equal(api.received.length, before + 1)
    t.equal(api.received.at(-1)?.url, '/public/v1/sites/gone.example.com')
  },
)

t.test('path variants, unknown ids and values that name no object are 404, never 500', async (t) => {
  const { get } = await edgeWith(t, liveMap())
  const before = api.received.length
  for (const path of [
    '/w/17.json/',
    '/w/017.json',
    '/w/0.json',
    '/w/-17.json',
    '/w/17',
    '/w/17.JSON',
    '/w/..%2f.json',
    '/w/%2e%2e%2fdomains%2fshop.example.com.json',
    '/w/17.json%00',
    '/w/99999999999999999999999999999.json',
    '/w/9999999999.json',
    '/w/__proto__.json',
    '/w/constructor.json',
    '/c/17.json',
    '/w/123.json',
    '/c/124.json',
    '/c/125.json',
    '/w/19.json',
    '/w/20.json',
    '/c/1e3.json',
    '/c//123.json',
  ]) {
    await notFound(t, await get(path), path)
  }
  t.equal(api.received.length, before, 'none reached the API')
})

t.test('without a map the old names are 404; /widget.js still serves', async (t) => {
  const { get, bucket } = await edgeWith(t, undefined)
  await notFound(t, await get('/w/17.json'), 'no map: /w/17.json')
  await notFound(t, await get('/c/123.json'), 'no map: /c/123.json')
  // A map published now shows within the isolate's minute, not at once: the answer above is kept.
  await bucket.put('legacy/map.json', JSON.stringify(liveMap()))
  await notFound(t, await get('/w/17.json'), 'the absence is remembered for up to a minute')
  t.equal((await get('/widget.js')).status, 200)
})

t.test('after `until` the old names are 404', async (t) => {
  const { get } = await edgeWith(t, liveMap({ until: new Date(Date.now() - 1000).toISOString() }))
  await notFound(t, await get('/w/17.json'), 'past until: /w/17.json')
  await notFound(t, await get('/c/123.json'), 'past until: /c/123.json')
})

t.test('a map that is not the legacy map’s format serves nothing, and breaks nothing', async (t) => {
  for (const map of [
    '{not json',
    '[]',
    '{"domains":{"17":"shop.example.com"}}',
    liveMap({ until: 'soon' }),
  ]) {
    const { get } = await edgeWith(t, map)
    await notFound(t, await get('/w/17.json'), `map ${JSON.stringify(map).slice(0, 60)}`)
    const object = await get('/domains/shop.example.com.json')
    t.equal(object.status, 200, 'the new names are untouched')
    await object.arrayBuffer()
  }
})

t.test('a removed map stops the old names within the isolate’s minute', async (t) => {
  const { get, bucket } = await edgeWith(t, liveMap())
  const first = await get('/c/123.json')
  t.equal(first.status, 200)
  await first.arrayBuffer()
  await bucket.delete('legacy/map.json')
  // Kept for the rest of the minute (not re-read per request); a new isolate reads the bucket.
  const cachedAnswer = await get('/c/123.json')
  t.equal(cachedAnswer.status, 200)
  await cachedAnswer.arrayBuffer()
  const fresh = await edgeWith(t, undefined)
  await notFound(t, await fresh.get('/c/123.json'), 'a new isolate: no map')
})
