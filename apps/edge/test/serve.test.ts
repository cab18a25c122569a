import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { createFolderStorage } from '../../../libs/storage/src/folder.ts'
import { defaultScriptFile } from '../build/worker.ts'
import { startLocalEdge } from '../dev/serve.ts'
import { EDGE_SECRET, startApi } from './harness.ts'

const SITE = '0190a0b0-0000-7000-8000-000000000001'
const CAMPAIGN = '0190a0b0-0000-7000-8000-0000000000c1'
const domain = (hostname: string) =>
  `{"site":"${SITE}","hostname":"${hostname}","campaigns":[{"id":"${CAMPAIGN}","v":1}]}`

const JSON_TYPE = { contentType: 'application/json; charset=utf-8' }

const dir = await mkdtemp(path.join(tmpdir(), 'edge-mirror-'))
// The API's own folder storage writes, as it does when it publishes.
const storage = createFolderStorage(dir)
await storage.put('domains/shop.example.com.json', Buffer.from(domain('shop.example.com')), JSON_TYPE)
const api = await startApi()
const edge = await startLocalEdge({
  storageDir: dir,
  apiOrigin: api.origin,
  edgeSecret: EDGE_SECRET,
  port: 0,
  country: 'FR',
  scriptFile: defaultScriptFile(),
})
t.teardown(async () => {
  await edge.close()
  await api.close()
  await rm(dir, { recursive: true, force: true })
})

/** The Worker's answer over HTTP, as a browser gets it. */
const get = async (pathname: string) => {
  const response = await fetch(`${edge.url}${pathname}`)
  return { status: response.status, body: await response.text(), headers: response.headers }
}

/** Polls until the Worker's answer is what is wanted (the watcher is asynchronous), at most 2 s. */
async function eventually(pathname: string, wanted: (status: number) => boolean) {
  const started = Date.now()
  for (;;) {
    const answer = await get(pathname)
    if (wanted(answer.status) || Date.now() - started > 2000) return { ...answer, ms: Date.now() - started }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

t.test('what is in the folder at start is served over HTTP, with the country given', async (t) => {
  const answer = await get('/domains/shop.example.com.json')
  t.equal(answer.status, 200)
  t.equal(answer.body, domain('shop.example.com'))
  t.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8')
  t.equal(answer.headers.get('x-nudge-country'), 'FR')
  const script = await get('/nudge.js')
  t.equal(script.status, 200)
  t.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8')
})

t.test(
  'a publish (written into the folder) is served within a second or two; a withdrawal is gone',
  async (t) => {
    const key = `campaigns/production/${CAMPAIGN}.json`
    t.equal((await get(`/${key}`)).status, 404)
    await storage.put(key, Buffer.from('{"id":"c","v":1}'), JSON_TYPE)
    const published = await eventually(`/${key}`, (status) => status === 200)
    t.equal(published.status, 200, `served after ${published.ms} ms`)
    t.equal(published.body, '{"id":"c","v":1}')
    await storage.put(key, Buffer.from('{"id":"c","v":2}'), JSON_TYPE)
    await edge.settled()
    t.equal((await get(`/${key}`)).body, '{"id":"c","v":2}', 'a new version replaces the old')
    await storage.delete([key])
    const withdrawn = await eventually(`/${key}`, (status) => status === 404)
    t.equal(withdrawn.status, 404, `gone after ${withdrawn.ms} ms`)
  },
)

t.test(
  'a hostname too long for one file name (the folder splits it) is mirrored under its key',
  async (t) => {
    const hostname = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(40)}.example.com`
    await storage.put(`domains/${hostname}.json`, Buffer.from(domain(hostname)), JSON_TYPE)
    const answer = await eventually(`/domains/${hostname}.json`, (status) => status === 200)
    t.equal(answer.status, 200)
    t.equal(answer.body, domain(hostname))
  },
)

t.test('a deleted domain document is a miss again: asked of the API', async (t) => {
  await storage.delete(['domains/shop.example.com.json'])
  const answer = await eventually('/domains/shop.example.com.json', (status) => status === 404)
  t.equal(answer.status, 404, 'the stand-in API’s 404')
  t.equal(api.received.at(-1)?.url, '/public/v1/sites/shop.example.com')
})

t.test(
  'the demo page over HTTP; its writes reach the API with the site’s Origin and the edge secret',
  async (t) => {
    const page = await get('/demo/shop.example.com')
    t.equal(page.status, 200)
    t.match(page.body, 'data-hostname="shop.example.com"')
    api.answer('/public/v1/events', () => ({ status: 202, body: '{"accepted":1,"duplicates":0}' }))
    const response = await fetch(`${edge.url}/public/v1/events`, {
      method: 'POST',
      headers: {
        origin: edge.url,
        referer: `${edge.url}/demo/shop.example.com`,
        'content-type': 'text/plain;charset=UTF-8',
      },
      body: '{"events":[]}',
    })
    t.equal(response.status, 202)
    await response.arrayBuffer()
    const received = api.received.at(-1)
    t.equal(received?.headers.origin, 'https://shop.example.com')
    t.equal(received?.headers['x-edge-secret'], EDGE_SECRET)
    t.equal(received?.headers['cf-ipcountry'], 'FR')
    t.equal(received?.headers['content-type'], 'application/json')
  },
)

t.test('the legacy map (Go-Live) is mirrored too: the old names are served locally', async (t) => {
  const map = { until: new Date(Date.now() + 3_600_000).toISOString(), domains: { '17': 'old.example.com' } }
  await storage.put('domains/old.example.com.json', Buffer.from(domain('old.example.com')), JSON_TYPE)
  await storage.put('legacy/map.json', Buffer.from(JSON.stringify(map)), JSON_TYPE)
  // Settled before the first ask: an isolate keeps the map it read (or its absence) for a minute.
  await edge.settled()
  const answer = await get('/w/17.json')
  t.equal(answer.status, 200)
  t.equal(answer.body, domain('old.example.com'))
})
