import t, { type Test } from 'tap'
import { FULL_CAMPAIGN_EXAMPLE } from '../src/modules/campaigns/content.ts'
import type { App } from '../src/server.ts'
import { buildTestApp, storageDir } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, objectsIn, personalTeam } from './helpers/campaigns.ts'
import { migratedDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'

const DASHBOARD = 'https://app.nudge.test' // the test config's DASHBOARD_ORIGINS
const doc = (app: App, hostname: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url: `/public/v1/sites/${hostname}`, headers })

/** Counts the SQL statements the app sends (all of them, or those naming a table). */
function countQueries(app: App) {
  const executor = app.db.getExecutor()
  const original = executor.executeQuery.bind(executor)
  const seen: string[] = []
  executor.executeQuery = ((query: { sql: string }, ...rest: unknown[]) => {
    // The epoch leases' polls (memberships, sessions) run every 100 ms whatever is served: on a
    // busy machine one falls between two requests. They are not the requests' queries.
    if (!query.sql.startsWith('select "epoch" from "epochs"')) seen.push(query.sql)
    return (original as (...args: unknown[]) => unknown)(query, ...rest)
  }) as typeof executor.executeQuery
  return {
    total: () => seen.length,
    on: (table: string) => seen.filter((text) => text.includes(`"${table}"`)).length,
    reset: () => {
      seen.length = 0
    },
  }
}

/** Counts the app's calls to its cache layer. */
function countCacheCalls(app: App) {
  let calls = 0
  for (const method of ['get', 'set', 'del', 'wrap'] as const) {
    const original = app.cache[method].bind(app.cache) as (...args: unknown[]) => unknown
    ;(app.cache as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      calls++
      return original(...args)
    }
  }
  return () => calls
}

async function setUp(t: Test) {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const api = campaignApi(app, ann, teamId)
  const site = await addSite(app, ann, teamId, 'shop.example')
  return { dir, app, ann, teamId, api, site }
}

t.test('the document embeds the live campaigns only, as the edge serves them, without nulls', async (t) => {
  const { dir, app, ann, teamId, api, site } = await setUp(t)
  const other = await addSite(app, ann, teamId, 'other.example')

  const empty = await doc(app, 'shop.example')
  t.equal(empty.statusCode, 200)
  t.equal(empty.headers['content-type'], 'application/json; charset=utf-8')
  t.same(empty.json(), { site: site.id, hostname: 'shop.example' }, 'no campaigns: no empty list')

  const live = await newCampaign(app, ann, teamId, { ...FULL_CAMPAIGN_EXAMPLE, siteId: site.id })
  const second = await newCampaign(app, ann, teamId, { name: 'Second', siteId: site.id })
  const testing = await newCampaign(app, ann, teamId, { name: 'Testing', siteId: site.id })
  const paused = await newCampaign(app, ann, teamId, { name: 'Paused', siteId: site.id })
  await newCampaign(app, ann, teamId, { name: 'Draft', siteId: site.id })
  const elsewhere = await newCampaign(app, ann, teamId, { name: 'Elsewhere', siteId: other.id })
  await api.walk(live.id, 1, 'test', 'live')
  await api.walk(second.id, 1, 'test', 'live')
  await api.walk(testing.id, 1, 'test')
  await api.walk(paused.id, 1, 'test', 'live', 'paused')
  await api.walk(elsewhere.id, 1, 'test', 'live')

  const res = await doc(app, 'shop.example')
  t.equal(res.statusCode, 200)
  const body = res.json() as { site: string; hostname: string; campaigns: Array<{ id: string; v: number }> }
  t.equal(body.site, site.id)
  t.equal(body.hostname, 'shop.example')
  t.same(
    body.campaigns.map((c) => c.id),
    [live.id, second.id].sort(),
    'the two live campaigns, by id; not the test, paused, draft or other site’s ones',
  )
  const objects = await objectsIn(dir)
  for (const campaign of body.campaigns) {
    t.same(
      campaign,
      objects.get(`campaigns/production/${campaign.id}.json`)?.json,
      'each embedded campaign is its campaigns/production object',
    )
  }
  const domain = objects.get('domains/shop.example.json')?.json as {
    campaigns: Array<{ id: string; v: number }>
  }
  t.same(
    body.campaigns.map((c) => ({ id: c.id, v: c.v })),
    domain.campaigns,
    'the same campaigns and versions as domains/shop.example.json',
  )
  t.notOk(res.body.includes('null'), 'no nulls')
  for (const campaign of body.campaigns as unknown as Array<Record<string, unknown>>) {
    for (const field of [
      'name',
      'status',
      'siteId',
      'site_id',
      'teamId',
      'team_id',
      'createdAt',
      'publishedAt',
    ]) {
      t.notOk(field in campaign, `no ${field}`)
    }
    for (const variant of campaign.variants as Array<Record<string, unknown>>) {
      t.notOk('name' in variant, 'no variant names (dashboard only)')
    }
  }
  const full = body.campaigns.find((c) => c.id === live.id) as unknown as Record<string, unknown>
  t.match(full, {
    type: 'modal',
    targeting: { trigger: { type: 'scroll', percent: 50 } },
    frequency: { show: 'every-n-days', days: 7 },
    schedule: { timeZone: 'Europe/Berlin' },
  })
  t.equal((full.variants as unknown[]).length, 2)

  t.equal(
    (await doc(app, 'other.example')).json().campaigns[0].id,
    elsewhere.id,
    'each site its own campaigns',
  )
})

t.test('ETag, 304 (strong or weak), cache headers, and a hit that does no query', async (t) => {
  const { app, ann, teamId, api, site } = await setUp(t)
  const c = await newCampaign(app, ann, teamId, { siteId: site.id })
  await api.walk(c.id, 1, 'test', 'live')

  const first = await doc(app, 'shop.example')
  const etag = first.headers.etag as string
  t.match(etag, /^"[A-Za-z0-9_-]{20,}"$/, 'a strong ETag')
  const cacheControl = String(first.headers['cache-control'])
  t.match(cacheControl, /\bpublic\b/)
  t.match(cacheControl, /\bmax-age=\d+/)
  t.match(cacheControl, /\bs-maxage=\d+/)
  t.match(cacheControl, /\bstale-while-revalidate=\d+/)

  const queries = countQueries(app)
  const again = await doc(app, 'shop.example')
  t.equal(again.body, first.body, 'the same bytes')
  t.equal(again.headers.etag, etag, 'the same ETag')
  t.equal(queries.total(), 0, 'a cache hit sends no query')

  for (const [what, value] of [
    ['strong', etag],
    ['weak (as Cloudflare passes it on)', `W/${etag}`],
    ['in a list', `"something-else", W/${etag}`],
    ['*', '*'],
  ]) {
    const res = await doc(app, 'shop.example', { 'if-none-match': value as string })
    t.equal(res.statusCode, 304, `304 for If-None-Match ${what}`)
    t.equal(res.body, '', 'no body')
    t.equal(res.headers.etag, etag, 'with the ETag')
    t.equal(res.headers['cache-control'], cacheControl, 'and the cache headers')
  }
  const stale = await doc(app, 'shop.example', { 'if-none-match': '"an-old-one"' })
  t.equal(stale.statusCode, 200, 'another ETag gets the document')
  t.equal(stale.body, first.body)

  // A publish changes the bytes: the old ETag no longer matches.
  const patched = await api.patch(c.id, '*', { frequency: { show: 'every-page-view' } })
  t.equal(patched.statusCode, 200)
  const changed = await doc(app, 'shop.example', { 'if-none-match': etag })
  t.equal(changed.statusCode, 200, 'after a publish the old ETag gets the new document')
  t.not(changed.headers.etag, etag, 'with a new ETag')
  t.match(changed.json(), {
    campaigns: [{ id: c.id, v: patched.json().version, frequency: { show: 'every-page-view' } }],
  })
})

t.test('the hostname is normalised cheaply; anything else is 404 before cache or database', async (t) => {
  const { app, ann, teamId, site } = await setUp(t)
  for (const variant of ['SHOP.Example', 'shop.example.', 'Shop.Example.']) {
    const res = await doc(app, variant)
    t.equal(res.statusCode, 200, `${variant} is the site`)
    t.equal(res.json().site, site.id)
  }
  const long = await addSite(app, ann, teamId, `${'a'.repeat(60)}.${'b'.repeat(50)}.example`)
  t.equal((await doc(app, long.hostname)).statusCode, 200, 'a site with a 119-character hostname answers')
  const label = 'c'.repeat(63)
  const longest = await addSite(app, ann, teamId, `${label}.${label}.${label}.${'d'.repeat(57)}.com`)
  t.equal((await doc(app, longest.hostname)).statusCode, 200, 'and one with 253 characters')
  const queries = countQueries(app)
  const cacheCalls = countCacheCalls(app)
  for (const hostname of [
    'shop_example.com',
    '.',
    encodeURIComponent('shöp.example'),
    encodeURIComponent('shop.example/../x'),
    encodeURIComponent('shop.example '),
    '.shop.example',
    'shop..example',
    'shop.example..',
  ]) {
    const res = await doc(app, hostname)
    t.equal(res.statusCode, 404, `${hostname.slice(0, 40)}: 404`)
    t.match(res.json(), { statusCode: 404, code: 'NOT_FOUND' }, 'in the API’s error shape')
  }
  t.equal(queries.total(), 0, 'no query')
  t.equal(cacheCalls(), 0, 'no cache lookup')
})

t.test('an unknown hostname is 404, remembered, and forgotten when the site is added', async (t) => {
  const { app, ann, teamId } = await setUp(t)
  const queries = countQueries(app)

  const first = await doc(app, 'new.example')
  t.equal(first.statusCode, 404)
  t.same(first.json(), { statusCode: 404, code: 'NOT_FOUND', message: 'Site not found' })
  t.equal(queries.on('sites'), 1, 'the first request asks the database')
  queries.reset()
  for (let i = 0; i < 5; i++) t.equal((await doc(app, 'new.example')).statusCode, 404)
  t.equal(queries.total(), 0, 'the next ones do not: the 404 is cached')

  const site = await addSite(app, ann, teamId, 'new.example')
  const added = await doc(app, 'new.example')
  t.equal(added.statusCode, 200, 'the site answers as soon as it is added')
  t.same(added.json(), { site: site.id, hostname: 'new.example' })

  // A deleted site is gone at once too.
  const deleted = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/sites/${site.id}`,
    headers: ann.headers,
  })
  t.equal(deleted.statusCode, 204)
  t.equal((await doc(app, 'new.example')).statusCode, 404, 'a deleted site is 404 at once')
})

t.test('a page on a subdomain of a site that lets them in is answered the site’s document', async (t) => {
  const { app, ann, teamId, api, site } = await setUp(t)
  const live = await newCampaign(app, ann, teamId, { ...FULL_CAMPAIGN_EXAMPLE, siteId: site.id })
  await api.walk(live.id, 1, 'test', 'live')
  const settings = (allowSubdomains: boolean) =>
    app.inject({
      method: 'PATCH',
      url: `/v1/teams/${teamId}/sites/${site.id}`,
      headers: ann.headers,
      payload: { allowSubdomains },
    })

  t.equal((await doc(app, 'www.shop.example')).statusCode, 404, 'a subdomain the site does not let in')
  t.equal((await settings(true)).statusCode, 200)
  const own = await doc(app, 'shop.example')
  for (const hostname of ['www.shop.example', 'a.b.shop.example', 'WWW.Shop.Example.']) {
    const res = await doc(app, hostname)
    t.equal(res.statusCode, 200, `${hostname}: 200 as soon as the site lets subdomains in`)
    t.equal(res.body, own.body, `${hostname}: the site’s own document, its live campaign in it`)
    t.equal(res.headers.etag, own.headers.etag, `${hostname}: with the site’s ETag`)
  }
  t.match(own.json(), { site: site.id, hostname: 'shop.example', campaigns: [{ id: live.id }] })
  t.equal((await doc(app, 'wwwshop.example')).statusCode, 404, 'a look-alike is no subdomain')

  // A publish shows on the subdomains at once: they read the site's own cached document.
  await api.status(live.id, '*', 'paused')
  t.same((await doc(app, 'www.shop.example')).json(), { site: site.id, hostname: 'shop.example' })

  t.equal((await settings(false)).statusCode, 200)
  t.equal((await doc(app, 'www.shop.example')).statusCode, 404, 'and 404 again as soon as it stops')
})

t.test('the document changes on the next request after a publish, on every worker', async (t) => {
  const dir = await storageDir(t)
  const DATABASE_URL = await migratedDatabase(t)
  const a = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  const b = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  // The SuperTokens SDK is one per process: it sends its emails through the app built last.
  const ann = await signInAs(b, 'ann@example.com')
  const teamId = await personalTeam(a, ann)

  // Worker b remembers that the site does not exist, then it is added on worker a.
  t.equal((await doc(b, 'shop.example')).statusCode, 404)
  const site = await addSite(a, ann, teamId, 'shop.example')
  const until = async (app: App, what: string, ok: (res: Awaited<ReturnType<typeof doc>>) => boolean) => {
    const deadline = Date.now() + 1000
    for (;;) {
      const res = await doc(app, 'shop.example')
      if (ok(res)) return t.pass(what)
      if (Date.now() > deadline) return t.fail(`${what} (still ${res.statusCode} ${res.body.slice(0, 200)})`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  await until(b, 'the new site answers on the other worker', (res) => res.statusCode === 200)

  const c = await newCampaign(a, ann, teamId, { siteId: site.id })
  // Both workers hold the document without campaigns.
  t.notOk('campaigns' in (await doc(a, 'shop.example')).json())
  t.notOk('campaigns' in (await doc(b, 'shop.example')).json())

  const live = await campaignApi(a, ann, teamId).walk(c.id, 1, 'test', 'live')
  const has = (version: number) => (res: Awaited<ReturnType<typeof doc>>) =>
    res.statusCode === 200 && res.json().campaigns?.[0]?.v === version
  t.ok(has(live.version)(await doc(a, 'shop.example')), 'the publishing worker serves the new document')
  await until(b, 'the other worker serves it within a second', has(live.version))

  const edited = await campaignApi(b, ann, teamId).patch(c.id, live.version, { name: 'Renamed' })
  t.equal(edited.statusCode, 200)
  const version = edited.json().version as number
  t.ok(has(version)(await doc(b, 'shop.example')), 'an edit published on b: b serves it')
  await until(a, 'and a within a second', has(version))

  await campaignApi(a, ann, teamId).status(c.id, version, 'paused')
  await until(b, 'paused: gone from the other worker’s document', (res) => !('campaigns' in res.json()))
})

t.test('CORS on /public/v1: the site’s pages only', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const url = '/public/v1/sites/shop.example'
  const preflight = (origin: string, path = url) =>
    app.inject({
      method: 'OPTIONS',
      url: path,
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,idempotency-key',
      },
    })
  const get = (origin: string) => app.inject({ method: 'GET', url, headers: { origin } })
  const tokens = (value: unknown) =>
    String(value ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean)

  const allowed = async (origin: string, what: string) => {
    await t.test(`${what}: allowed`, async (t) => {
      const pre = await preflight(origin)
      t.equal(pre.statusCode, 204, 'preflight answered')
      t.equal(pre.headers['access-control-allow-origin'], origin, 'this origin is allowed')
      t.equal(pre.headers['access-control-allow-credentials'], undefined, 'without credentials')
      t.same(tokens(pre.headers['access-control-allow-methods']).sort(), ['get', 'options', 'post'])
      t.same(tokens(pre.headers['access-control-allow-headers']).sort(), ['content-type', 'idempotency-key'])
      t.ok(tokens(pre.headers.vary).includes('origin'), 'Vary: Origin')
      const res = await get(origin)
      t.equal(res.statusCode, 200)
      t.equal(res.headers['access-control-allow-origin'], origin, 'the answer is readable by the page')
      t.equal(res.headers['access-control-allow-credentials'], undefined)
      t.ok(tokens(res.headers.vary).includes('origin'), 'Vary: Origin')
    })
  }
  const refused = async (origin: string, what: string) => {
    await t.test(`${what}: refused`, async (t) => {
      const pre = await preflight(origin)
      t.not(pre.statusCode, 204, `preflight not granted (${pre.statusCode})`)
      t.equal(pre.headers['access-control-allow-origin'], undefined, 'no access-control-allow-origin')
      t.equal(pre.headers['access-control-allow-methods'], undefined)
      const res = await get(origin)
      t.equal(res.headers['access-control-allow-origin'], undefined, 'the answer is not readable')
      t.ok(tokens(res.headers.vary).includes('origin'), 'Vary: Origin, for shared caches')
    })
  }

  // Not a site yet: refused, and remembered; adding the site lifts it at once.
  await refused('https://shop.example', 'before the site is added')
  const site = await addSite(app, ann, teamId, 'shop.example')
  await allowed('https://shop.example', 'the site’s origin')
  await allowed('http://shop.example:8080', 'the site over http, on another port')
  await refused('https://evil.example', 'another origin')
  await refused('https://evilshop.example', 'a hostname that merely ends like the site’s')
  await refused('https://shop.example.evil.example', 'the site’s hostname under another domain')
  await refused('null', 'an opaque origin')
  await refused('file://shop.example', 'another scheme')
  await refused(DASHBOARD, 'the dashboard (it is not a site)')
  await refused('https://blog.shop.example', 'a subdomain, not allowed by the site')
  await refused(`https://${'a'.repeat(250)}.shop.example`, 'a host over 253 characters')

  const patched = await app.inject({
    method: 'PATCH',
    url: `/v1/teams/${teamId}/sites/${site.id}`,
    headers: ann.headers,
    payload: { allowSubdomains: true },
  })
  t.equal(patched.statusCode, 200, patched.body)
  // The refusal of blog.shop.example above was remembered: the change ends it at once.
  await allowed('https://blog.shop.example', 'the subdomain refused a moment ago')
  await allowed('https://www.shop.example', 'a subdomain, once the site allows them')
  await allowed('https://a.b.shop.example', 'a deeper subdomain')
  await refused('https://wwwshop.example', 'still not a lookalike')
  await refused('https://evil.example', 'still not another origin')

  await t.test('the dashboard’s CORS is unchanged', async (t) => {
    const pre = await app.inject({
      method: 'OPTIONS',
      url: `/v1/teams/${teamId}/sites`,
      headers: {
        origin: DASHBOARD,
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'content-type,authorization',
      },
    })
    t.equal(pre.statusCode, 204)
    t.equal(pre.headers['access-control-allow-origin'], DASHBOARD)
    t.equal(pre.headers['access-control-allow-credentials'], 'true')
    t.ok(tokens(pre.headers['access-control-allow-methods']).includes('delete'))
    const list = await app.inject({ method: 'GET', url: `/v1/teams/${teamId}/sites`, headers: ann.headers })
    t.equal(list.headers['access-control-allow-origin'], DASHBOARD)
    t.equal(list.headers['access-control-allow-credentials'], 'true')
    const fromSite = await app.inject({
      method: 'OPTIONS',
      url: `/v1/teams/${teamId}/sites`,
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET' },
    })
    t.equal(fromSite.headers['access-control-allow-origin'], undefined, 'a site’s pages may not call /v1')
  })
})

t.test(
  'the document’s CORS answer comes with it, and follows the site’s settings at once on every worker',
  async (t) => {
    const DATABASE_URL = await migratedDatabase(t)
    const a = await buildTestApp(t, { DATABASE_URL })
    const b = await buildTestApp(t, { DATABASE_URL })
    const ann = await signInAs(b, 'ann@example.com')
    const teamId = await personalTeam(a, ann)
    const site = await addSite(a, ann, teamId, 'shop.example')
    await addSite(a, ann, teamId, 'other.example')
    const settings = async (allowSubdomains: boolean) => {
      const res = await a.inject({
        method: 'PATCH',
        url: `/v1/teams/${teamId}/sites/${site.id}`,
        headers: ann.headers,
        payload: { allowSubdomains },
      })
      t.equal(res.statusCode, 200, res.body)
    }
    const readable = async (app: App, origin: string) => {
      const res = await doc(app, 'shop.example', { origin })
      t.equal(res.statusCode, 200)
      t.match(res.headers.vary, /origin/i, 'Vary: Origin either way')
      return res.headers['access-control-allow-origin'] === origin
    }
    const BLOG = 'https://blog.shop.example'

    await settings(true)
    for (const app of [a, b]) {
      t.ok(await readable(app, 'https://shop.example'), 'the site’s page reads its document')
      t.ok(await readable(app, BLOG), 'a subdomain’s page too, while the site lets them in')
      t.notOk(await readable(app, 'https://other.example'), 'another site’s page does not')
      t.notOk(await readable(app, 'https://evil.example'), 'nor any other page')
    }

    // The site’s pages cost no lookup of their origin: the answer is part of the cached document.
    const wraps: string[] = []
    const wrap = a.cache.wrap.bind(a.cache)
    a.cache.wrap = ((key: string, ...rest: unknown[]) => {
      wraps.push(key)
      return (wrap as (...args: unknown[]) => unknown)(key, ...rest)
    }) as typeof a.cache.wrap
    const queries = countQueries(a)
    for (let i = 0; i < 5; i++) t.ok(await readable(a, BLOG))
    a.cache.wrap = wrap
    t.same(
      wraps.filter((key) => !key.startsWith('visitor:site-document:')),
      [],
      'nothing but the document is read from the cache',
    )
    t.equal(queries.total(), 0, 'and nothing from the database')

    // Subdomains no longer let in: refused on the next request, on the worker that changed it ...
    await settings(false)
    t.notOk(await readable(a, BLOG), 'the subdomain’s page is refused at once')
    t.ok(await readable(a, 'https://shop.example'), 'the site’s own page still reads it')
    // ... and on the other one as soon as the invalidation reaches it.
    const deadline = Date.now() + 1000
    while ((await readable(b, BLOG)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    t.notOk(await readable(b, BLOG), 'and on the other worker within a second')
  },
)
