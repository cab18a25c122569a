import t from 'tap'
import { startApi, startEdge } from './harness.ts'

const api = await startApi()
const { mf } = await startEdge(api.origin, { bindings: { DEMO_PAGES: 'true' } })
const { mf: production } = await startEdge(api.origin)
t.teardown(async () => {
  await mf.dispose()
  await production.dispose()
  await api.close()
})
api.answer('/public/v1/events', () => ({ status: 202, body: '{"accepted":1,"duplicates":0}' }))
api.answer('/public/v1/leads', () => ({ status: 202, body: '{"status":"accepted"}' }))

const EDGE = 'http://localhost:8787'

t.test('/demo/{hostname} is a long shop page that loads the snippet for that site', async (t) => {
  const response = await mf.dispatchFetch(`${EDGE}/demo/shop.example.com`)
  t.equal(response.status, 200)
  t.equal(response.headers.get('content-type'), 'text/html; charset=utf-8')
  t.equal(response.headers.get('cache-control'), 'no-store')
  const html = await response.text()
  t.match(html, '<script async src="/nudge.js" data-hostname="shop.example.com"></script>')
  t.match(html, /<button type="button" id="offer">/)
  t.match(html, /min-height: 150vh/, 'tall enough to scroll')
})

t.test('a hostname that is no lower-case DNS name is 400, and nothing of it reaches the page', async (t) => {
  for (const name of [
    'Shop.example.com',
    '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
    'shop.example.com%22%3E',
    '-shop.example.com',
    'shop..example.com',
    '',
  ]) {
    const response = await mf.dispatchFetch(`${EDGE}/demo/${name}`)
    t.equal(response.status, 400, name)
    t.match(await response.json(), { statusCode: 400, code: 'INVALID_HOSTNAME' })
  }
  const nested = await mf.dispatchFetch(`${EDGE}/demo/shop.example.com/more`)
  t.equal(nested.status, 400)
  await nested.arrayBuffer()
})

t.test('without DEMO_PAGES (as deployed) there are no demo pages', async (t) => {
  const response = await production.dispatchFetch(`${EDGE}/demo/shop.example.com`)
  t.equal(response.status, 404)
  t.match(await response.json(), { code: 'NOT_FOUND' })
})

const write = (edge: typeof mf, path: string, headers: Record<string, string>) =>
  edge.dispatchFetch(`${EDGE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  })

t.test('a demo page’s writes (same origin, its Referer) reach the API with the site’s Origin', async (t) => {
  for (const path of ['/public/v1/events', '/public/v1/leads']) {
    const response = await write(mf, path, {
      origin: EDGE,
      referer: `${EDGE}/demo/shop.example.com?nudge_debug=1`,
    })
    t.equal(response.status, 202, path)
    await response.arrayBuffer()
    t.equal(api.received.at(-1)?.headers.origin, 'https://shop.example.com', path)
  }
  // sendBeacon may leave Origin out; its Referer still says which demo page.
  const beacon = await write(mf, '/public/v1/events', { referer: `${EDGE}/demo/shop.example.com` })
  await beacon.arrayBuffer()
  t.equal(api.received.at(-1)?.headers.origin, 'https://shop.example.com')
})

t.test(
  'other writes keep their Origin: another page’s, another origin’s Referer, no DEMO_PAGES',
  async (t) => {
    const cases: Array<[string, typeof mf, Record<string, string>, string | undefined]> = [
      ['a customer page', mf, { origin: 'https://shop.example.com' }, 'https://shop.example.com'],
      [
        'a page elsewhere claiming a demo Referer',
        mf,
        { origin: 'https://evil.example.net', referer: `${EDGE}/demo/shop.example.com` },
        'https://evil.example.net',
      ],
      [
        'a Referer on another origin',
        mf,
        { origin: EDGE, referer: 'http://localhost:9999/demo/shop.example.com' },
        EDGE,
      ],
      ['a page of the edge that is no demo', mf, { origin: EDGE, referer: `${EDGE}/nudge.js` }, EDGE],
      [
        'deployed (no DEMO_PAGES)',
        production,
        { origin: EDGE, referer: `${EDGE}/demo/shop.example.com` },
        EDGE,
      ],
    ]
    for (const [name, edge, headers, expected] of cases) {
      const response = await write(edge, '/public/v1/events', headers)
      await response.arrayBuffer()
      t.equal(api.received.at(-1)?.headers.origin, expected, name)
    }
  },
)
