import t from 'tap'
import type { App } from '../src/server.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'
import { clearOfWindowEdge } from './helpers/windows.ts'

/**
 * Issue 17, item 2: preflights to the visitors' routes from Origins no site allows. They were
 * passed on to a 404 "Route OPTIONS … not found", never counted against the visitor limits, and
 * each new Origin cost a query (800 made-up Origins from one client: 800 × 404, no 429).
 */

const EDGE_SECRET = 'edge-secret-for-ingress-cors-tests-0123'
const LIMIT = 20
const SITE = 'https://shop.example'

function countQueries(app: App) {
  const executor = app.db.getExecutor()
  const original = executor.executeQuery.bind(executor)
  const seen: string[] = []
  executor.executeQuery = ((query: { sql: string }, ...rest: unknown[]) => {
    seen.push(query.sql)
    return (original as (...args: unknown[]) => unknown)(query, ...rest)
  }) as typeof executor.executeQuery
  return { on: (table: string) => seen.filter((text) => text.includes(`"${table}"`)).length }
}

const app = await buildTestApp(t, { EDGE_SECRET, VISITOR_LIMIT_PER_CLIENT_PER_MINUTE: String(LIMIT) })
const ann = await signInAs(app, 'ann@example.com')
await addSite(app, ann, await personalTeam(app, ann), 'shop.example')

/** Each visitor is a client address of its own, as the edge reports it. */
let clients = 0
const newClient = () => `198.51.100.${++clients}`

function preflight(url: string, origin: string, client: string) {
  return app.inject({
    method: 'OPTIONS',
    url,
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
      'x-edge-secret': EDGE_SECRET,
      'cf-connecting-ip': client,
    },
  })
}

// Read from the route table, so a visitors' route added later is checked too.
const docs = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as {
  paths: Record<string, unknown>
}
const publicPaths = Object.keys(docs.paths)
  .filter((path) => path.startsWith('/public/'))
  .map((path) =>
    path.replace(/\{[^}]+\}/g, (name) =>
      name === '{hostname}' ? 'shop.example' : '0195f3a2-7c1e-7b3a-9f10-4d2c8e6a1b23',
    ),
  )

t.test('a refused preflight is a clear 403 on every visitors’ route and path variant', async (t) => {
  t.ok(publicPaths.length >= 4, `visitors’ routes to check: ${publicPaths.join(', ')}`)
  const variants = publicPaths.flatMap((path) => [path, `${path}/`, path.toUpperCase(), `${path}?x=1`])
  for (const url of variants) {
    for (const origin of ['https://evil.example', 'null', 'file://shop.example']) {
      const res = await preflight(url, origin, newClient())
      t.equal(res.statusCode, 403, `${url} from ${origin}: 403 (was ${res.statusCode})`)
      t.equal(res.json().code, 'ORIGIN_NOT_ALLOWED', `${url} from ${origin}: the code says why`)
      t.equal(res.headers['access-control-allow-origin'], undefined, 'no allow-origin')
      t.equal(res.headers['access-control-allow-methods'], undefined, 'no allow-methods')
    }
    const none = await app.inject({
      method: 'OPTIONS',
      url,
      headers: {
        'access-control-request-method': 'POST',
        'x-edge-secret': EDGE_SECRET,
        'cf-connecting-ip': newClient(),
      },
    })
    t.equal(none.statusCode, 403, `${url} without an Origin: 403`)
  }
  // The site's own pages still get their preflight.
  for (const path of publicPaths) {
    const res = await preflight(path, SITE, newClient())
    t.equal(res.statusCode, 204, `${path} from the site: 204`)
    t.equal(res.headers['access-control-allow-origin'], SITE)
  }
})

t.test(
  'a flood of made-up Origins from one client gets 429 and costs a bounded number of queries',
  async (t) => {
    await clearOfWindowEdge(60_000)
    const queries = countQueries(app)
    const attacker = newClient()
    const codes = new Map<number, number>()
    for (let i = 0; i < 200; i++) {
      const res = await preflight('/public/v1/leads', `https://made-up-${i}.example`, attacker)
      codes.set(res.statusCode, (codes.get(res.statusCode) ?? 0) + 1)
    }
    t.same(Object.fromEntries(codes), { 403: LIMIT, 429: 200 - LIMIT }, 'refused, then limited')
    t.ok(queries.on('sites') <= LIMIT, `at most one query per counted preflight (${queries.on('sites')})`)
    const limited = await preflight('/public/v1/events', SITE, attacker)
    t.equal(limited.statusCode, 429, 'the limit holds on every visitors’ route')
    t.equal(limited.json().code, 'RATE_LIMITED')
    t.ok(Number(limited.headers['retry-after']) >= 1, 'with retry-after')

    // Another visitor of the site is not affected.
    const other = await preflight('/public/v1/leads', SITE, newClient())
    t.equal(other.statusCode, 204)
  },
)

t.test('the same made-up Origin asked again is answered from the cache', async (t) => {
  const client = newClient()
  const first = await preflight('/public/v1/events', 'https://again.example', client)
  t.equal(first.statusCode, 403)
  const queries = countQueries(app)
  for (let i = 0; i < 5; i++) {
    t.equal((await preflight('/public/v1/events', 'https://again.example', client)).statusCode, 403)
  }
  t.equal(queries.on('sites'), 0, 'the negative answer is remembered')
})

t.test('made-up Origins on real requests count their lookups against the client', async (t) => {
  await clearOfWindowEdge(60_000)
  const queries = countQueries(app)
  const attacker = newClient()
  const codes = new Map<number, number>()
  for (let i = 0; i < 100; i++) {
    const res = await app.inject({
      method: 'GET',
      url: '/public/v1/sites/shop.example',
      headers: {
        origin: `https://get-${i}.example`,
        'x-edge-secret': EDGE_SECRET,
        'cf-connecting-ip': attacker,
      },
    })
    codes.set(res.statusCode, (codes.get(res.statusCode) ?? 0) + 1)
  }
  t.ok((codes.get(429) ?? 0) >= 100 - LIMIT, `limited (${JSON.stringify(Object.fromEntries(codes))})`)
  t.ok(queries.on('sites') <= LIMIT + 2, `queries bounded by the limit (${queries.on('sites')})`)
})

t.test('a made-up host of many labels fills a bounded number of cache entries', async (t) => {
  const keys: string[] = []
  const wrap = app.cache.wrap.bind(app.cache)
  app.cache.wrap = ((key: string, ...rest: unknown[]) => {
    keys.push(key)
    return (wrap as (...args: unknown[]) => unknown)(key, ...rest)
  }) as typeof app.cache.wrap
  t.teardown(() => {
    app.cache.wrap = wrap
  })
  const deep = `https://${Array.from({ length: 60 }, (_, i) => `l${i}`).join('.')}.example`
  const res = await preflight('/public/v1/leads', deep, newClient())
  t.equal(res.statusCode, 403)
  t.ok(keys.length <= 10, `at most 10 hostnames looked up (${keys.length})`)
})
