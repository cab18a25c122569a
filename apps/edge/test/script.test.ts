import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { defaultScriptFile } from '../build/worker.ts'
import { startApi, startEdge } from './harness.ts'

const api = await startApi()
const { mf } = await startEdge(api.origin)
t.teardown(async () => {
  await mf.dispose()
  await api.close()
})
// The script the harness bundled: apps/embed's build when there is one, else the fixture.
const bytes = await readFile(defaultScriptFile())
const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 10)

t.test('/nudge.js is the script with a five-minute cache, readable from any page', async (t) => {
  const response = await mf.dispatchFetch('http://edge.test/nudge.js')
  t.equal(response.status, 200)
  t.same(Buffer.from(await response.arrayBuffer()), bytes, 'byte for byte')
  t.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8')
  t.equal(response.headers.get('cache-control'), 'public, max-age=300, stale-while-revalidate=86400')
  t.match(response.headers.get('etag'), /^"[0-9a-f]{32}"$/)
  t.equal(response.headers.get('access-control-allow-origin'), '*')
  t.match(response.headers.get('access-control-expose-headers'), /x-nudge-country/)
  t.equal(api.received.length, 0, 'the API was not asked')
})

t.test('/nudge.<hash>.js of this build is the same script, cached for good', async (t) => {
  const response = await mf.dispatchFetch(`http://edge.test/nudge.${hash}.js`)
  t.equal(response.status, 200)
  t.same(Buffer.from(await response.arrayBuffer()), bytes)
  t.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  t.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8')
  const plain = await mf.dispatchFetch('http://edge.test/nudge.js', { method: 'HEAD' })
  t.equal(response.headers.get('etag'), plain.headers.get('etag'), 'one ETag for both URLs')
})

t.test('another hash is 404: an immutable copy is never of another script', async (t) => {
  for (const path of ['/nudge.0000000000.js', `/nudge.${hash.slice(0, 9)}.js`, '/nudge.ABCDEF0123.js']) {
    const response = await mf.dispatchFetch(`http://edge.test${path}`)
    t.equal(response.status, 404, path)
    t.equal(response.headers.get('cache-control'), 'no-store')
    t.match(await response.json(), { statusCode: 404, code: 'NOT_FOUND' })
  }
  const old = await mf.dispatchFetch('http://edge.test/nudge.0000000000.js')
  t.match(
    (await old.json()) as object,
    { message: new RegExp(`/nudge\\.${hash}\\.js`) },
    'names the current one',
  )
})

t.test('HEAD gives the headers only; If-None-Match with the ETag gives 304', async (t) => {
  const head = await mf.dispatchFetch('http://edge.test/nudge.js', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(await head.text(), '')
  const etag = head.headers.get('etag') ?? ''
  for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const again = await mf.dispatchFetch(`http://edge.test/nudge.${hash}.js`, {
      headers: { 'if-none-match': header },
    })
    t.equal(again.status, 304, header)
    t.equal(await again.text(), '')
    t.equal(again.headers.get('etag'), etag)
    t.equal(again.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  }
  const stale = await mf.dispatchFetch('http://edge.test/nudge.js', { headers: { 'if-none-match': '"old"' } })
  t.equal(stale.status, 200)
  t.same(Buffer.from(await stale.arrayBuffer()), bytes)
})

t.test('writes to the script are 405; its preflight (a read with If-None-Match) is allowed', async (t) => {
  const post = await mf.dispatchFetch('http://edge.test/nudge.js', { method: 'POST', body: 'x' })
  t.equal(post.status, 405)
  t.equal(post.headers.get('allow'), 'GET, HEAD, OPTIONS')
  await post.arrayBuffer()
  for (const path of ['/nudge.js', '/domains/shop.example.com.json']) {
    const preflight = await mf.dispatchFetch(`http://edge.test${path}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example.com',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'if-none-match',
      },
    })
    t.equal(preflight.status, 204, path)
    t.equal(preflight.headers.get('access-control-allow-origin'), '*')
    t.match(preflight.headers.get('access-control-allow-headers'), /if-none-match/)
    t.match(preflight.headers.get('access-control-allow-methods'), /GET/)
    await preflight.arrayBuffer()
  }
})

t.test('other paths are 404 JSON', async (t) => {
  for (const path of ['/nudge.min.js', '/nudge.js/', '/nudge', '/demo/shop.example.com']) {
    const response = await mf.dispatchFetch(`http://edge.test${path}`)
    t.equal(response.status, 404, path)
    t.match(await response.json(), { code: 'NOT_FOUND' })
  }
})
