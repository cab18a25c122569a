import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { FULL_CAMPAIGN_EXAMPLE } from '../src/modules/campaigns/content.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { migratedDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'

t.test('sites: pasted URLs are normalised, one team per hostname, the snippet comes back', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const bob = await signInAs(app, 'bob@example.com')
  const annTeam = await personalTeam(app, ann)
  const bobTeam = await personalTeam(app, bob)

  const site = await addSite(app, ann, annTeam, '  HTTPS://user@Shop.Example.COM.:8443/pricing?x=1#top ')
  t.equal(site.hostname, 'shop.example.com')
  t.equal(site.firstSeenAt, null, 'no visitor seen yet')
  t.match(
    site.snippet,
    /^<script async src="http:\/\/localhost:8787\/nudge\.js" data-site="[0-9a-f-]{36}"><\/script>$/,
  )
  t.equal(
    (await addSite(app, ann, annTeam, 'bücher.example')).hostname,
    'xn--bcher-kva.example',
    'IDN to punycode',
  )

  for (const hostname of [
    '',
    'localhost',
    '127.0.0.1',
    '*.example.com',
    'exa mple.com',
    'a..b',
    '-x.com',
    'xn--zz.example.com',
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/teams/${annTeam}/sites`,
      headers: ann.headers,
      payload: { hostname },
    })
    t.equal(res.statusCode, 400, `${JSON.stringify(hostname)} refused`)
    t.equal(res.json().details?.[0]?.field, 'body.hostname')
  }

  const taken = await app.inject({
    method: 'POST',
    url: `/v1/teams/${bobTeam}/sites`,
    headers: bob.headers,
    payload: { hostname: 'https://shop.example.com/' },
  })
  t.equal(taken.statusCode, 409)
  t.equal(taken.json().code, 'HOSTNAME_TAKEN')
  t.notMatch(taken.body, /ann|Personal|[0-9a-f]{8}-[0-9a-f]{4}/i, 'the 409 does not say whose it is')

  const mine = await app.inject({ url: `/v1/teams/${annTeam}/sites/${site.id}`, headers: ann.headers })
  t.equal(mine.json().hostname, 'shop.example.com')
  const theirs = await app.inject({ url: `/v1/teams/${bobTeam}/sites/${site.id}`, headers: bob.headers })
  t.equal(theirs.statusCode, 404, 'another team’s site id is not found through one’s own team')
  const list = await app.inject({ url: `/v1/teams/${annTeam}/sites?limit=1`, headers: ann.headers })
  t.equal(list.json().items.length, 1)
  const next = await app.inject({
    url: `/v1/teams/${annTeam}/sites?limit=1&cursor=${list.json().nextCursor}`,
    headers: ann.headers,
  })
  t.equal(next.json().items[0].hostname, 'shop.example.com', 'second page, oldest last')
  t.equal(next.json().nextCursor, null)
})

t.test('campaigns: created as drafts with a default variant, or from the documented example', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const site = await addSite(app, ann, teamId, 'ann.example')

  const minimal = await newCampaign(app, ann, teamId, { siteId: site.id })
  t.match(minimal, { status: 'draft', version: 1, publishedVersion: null, siteId: site.id })
  t.equal(minimal.variants.length, 1)
  t.match(minimal.variants[0], { id: /^[a-z0-9]{8}$/, weight: 100 })

  const full = await newCampaign(app, ann, teamId, { ...FULL_CAMPAIGN_EXAMPLE, siteId: site.id })
  t.equal(full.variants.length, 2, 'two variants (A/B)')
  const got = await campaignApi(app, ann, teamId).get(full.id)
  t.equal(got.headers.etag, '"1"', 'the ETag is the version')
  t.same(got.json().targeting, (FULL_CAMPAIGN_EXAMPLE as { targeting: unknown }).targeting, 'stored as sent')

  const otherTeamSite = await addSite(
    app,
    await signInAs(app, 'bob@example.com'),
    await personalTeam(app, await signInAs(app, 'bob@example.com')),
    'bob.example',
  )
  const foreign = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/campaigns`,
    headers: ann.headers,
    payload: { name: 'x', type: 'modal', siteId: otherTeamSite.id },
  })
  t.equal(foreign.statusCode, 400, 'another team’s site cannot be used')
  t.equal(foreign.json().details[0].field, 'body.siteId')
})

t.test('campaigns: each content rule is refused naming the field', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const site = await addSite(app, ann, teamId, 'ann.example')
  const step = (extra: Record<string, unknown> = {}) => ({
    blocks: [{ type: 'text', text: 'Hello' }],
    buttons: [{ label: 'Close', action: 'close' }],
    ...extra,
  })
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'weights must add up to 100',
      {
        variants: [
          { name: 'A', weight: 60, steps: [step()] },
          { name: 'B', weight: 30, steps: [step()] },
        ],
      },
      /^body\.variants$/,
    ],
    [
      'at most 4 variants',
      { variants: Array.from({ length: 5 }, (_, i) => ({ name: `V${i}`, weight: 20, steps: [step()] })) },
      /^body\.variants$/,
    ],
    [
      'script in text',
      {
        variants: [
          {
            name: 'A',
            weight: 100,
            steps: [step({ blocks: [{ type: 'text', text: 'Hi <script>alert(1)</script>' }] })],
          },
        ],
      },
      /^body\.variants\.0\.steps\.0\.blocks\.0\.text$/,
    ],
    [
      'javascript: link',
      {
        variants: [
          {
            name: 'A',
            weight: 100,
            steps: [step({ buttons: [{ label: 'Go', action: 'link', url: 'javascript:alert(1)' }] })],
          },
        ],
      },
      /^body\.variants\.0\.steps\.0\.buttons\.0\.url$/,
    ],
    [
      'lead form without a required email field',
      {
        variants: [
          {
            name: 'A',
            weight: 100,
            steps: [
              step({
                form: { fields: [{ name: 'name', type: 'text', label: 'Name' }] },
                buttons: [{ label: 'Send', action: 'submit' }],
              }),
            ],
          },
        ],
      },
      /^body\.variants\.0\.steps\.0\.form/,
    ],
    [
      'a form field named like the consent checkbox',
      {
        variants: [
          {
            name: 'A',
            weight: 100,
            steps: [
              step({
                form: {
                  fields: [
                    { name: 'email', type: 'email', label: 'Email', required: true },
                    { name: 'Consent', type: 'checkbox', label: 'I agree' },
                  ],
                },
                buttons: [{ label: 'Send', action: 'submit' }],
              }),
            ],
          },
        ],
      },
      /^body\.variants\.0\.steps\.0\.form\.fields\.1\.name$/,
    ],
    ['unknown campaign type', { type: 'popunder' }, /^body\.type$/],
    ['unknown field', { colour: 'red' }, /^body\.colour$/],
    ['every-n-days without days', { frequency: { show: 'every-n-days' } }, /^body\.frequency/],
    [
      'schedule ending before it starts',
      {
        schedule: {
          startAt: '2026-12-02T00:00:00Z',
          endAt: '2026-12-01T00:00:00Z',
          timeZone: 'Europe/Berlin',
        },
      },
      /^body\.schedule/,
    ],
    ['unknown time zone', { schedule: { timeZone: 'Mars/Olympus' } }, /^body\.schedule\.timeZone$/],
  ]
  const before = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM campaigns`.execute(app.db)).rows[0]
    ?.n
  for (const [what, body, field] of cases) {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/teams/${teamId}/campaigns`,
      headers: ann.headers,
      payload: { name: 'Bad', type: 'modal', siteId: site.id, ...body },
    })
    t.equal(res.statusCode, 400, `${what}: 400`)
    const fields = (res.json().details ?? []).map((d: { field: string }) => d.field)
    t.ok(
      fields.some((f: string) => field.test(f)),
      `${what}: names ${field} (got ${fields.join(', ')})`,
    )
  }
  const after = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM campaigns`.execute(app.db)).rows[0]
    ?.n
  t.equal(after, before, 'nothing stored')
})

t.test('lifecycle: allowed moves only, each refusal names what is allowed, each move audited', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const site = await addSite(app, ann, teamId, 'ann.example')
  const api = campaignApi(app, ann, teamId)
  const c = await newCampaign(app, ann, teamId, { siteId: site.id })

  const skip = await api.status(c.id, 1, 'live')
  t.equal(skip.statusCode, 409)
  t.equal(skip.json().code, 'STATUS_TRANSITION_NOT_ALLOWED')
  t.match(skip.json().message, /draft.*test or archived/)
  t.same(skip.json().details.allowed, ['test', 'archived'])

  let body = await api.walk(c.id, 1, 'test', 'live', 'paused', 'live', 'paused', 'archived', 'draft')
  t.match(body, { status: 'draft', version: 8, publishedVersion: null })
  const archivedToLive = await api.status(c.id, body.version, 'archived')
  body = archivedToLive.json()
  t.equal((await api.status(c.id, body.version, 'live')).statusCode, 409, 'archived cannot go live')

  const audit = await app.inject({
    url: `/v1/teams/${teamId}/audit-events?action=campaign.status_changed&limit=100`,
    headers: ann.headers,
  })
  const moves = (audit.json().items as Array<{ data: { from: string; to: string } }>)
    .map((e) => `${e.data.from}>${e.data.to}`)
    .reverse()
  t.same(moves, [
    'draft>test',
    'test>live',
    'live>paused',
    'paused>live',
    'live>paused',
    'paused>archived',
    'archived>draft',
    'draft>archived',
  ])
})

t.test(
  'optimistic concurrency: If-Match required, a stale version gets 412 with the current one',
  async (t) => {
    const app = await buildTestApp(t)
    const ann = await signInAs(app, 'ann@example.com')
    const teamId = await personalTeam(app, ann)
    const site = await addSite(app, ann, teamId, 'ann.example')
    const api = campaignApi(app, ann, teamId)
    const c = await newCampaign(app, ann, teamId, { siteId: site.id })

    const missing = await api.patch(c.id, undefined, { name: 'No version' })
    t.equal(missing.statusCode, 428)
    t.equal(missing.json().code, 'VERSION_REQUIRED')

    const first = await api.patch(c.id, 1, { name: 'First' })
    t.equal(first.statusCode, 200)
    t.equal(first.json().version, 2)
    t.equal(first.headers.etag, '"2"')
    const stale = await api.patch(c.id, 1, { name: 'Second, from an old tab' })
    t.equal(stale.statusCode, 412)
    t.equal(stale.json().code, 'VERSION_CONFLICT')
    t.equal(stale.json().details.currentVersion, 2)
    t.equal((await api.get(c.id)).json().name, 'First', 'no silent overwrite')
    t.equal((await api.status(c.id, 1, 'test')).statusCode, 412, 'status changes check the version too')

    // Two editors at once on the same version: exactly one wins.
    const racing = await Promise.all([
      api.patch(c.id, 2, { name: 'Tab A' }),
      api.patch(c.id, 2, { name: 'Tab B' }),
    ])
    t.same(racing.map((r) => r.statusCode).sort(), [200, 412])
    const winner = racing.find((r) => r.statusCode === 200)?.json().name
    t.equal((await api.get(c.id)).json().name, winner)
  },
)

t.test('campaigns: duplicate, delete rules, filters and pagination, other teams kept out', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const bob = await signInAs(app, 'bob@example.com')
  const teamId = await personalTeam(app, ann)
  const bobTeam = await personalTeam(app, bob)
  const one = await addSite(app, ann, teamId, 'one.example')
  const two = await addSite(app, ann, teamId, 'two.example')
  const api = campaignApi(app, ann, teamId)

  const names = ['Spring sale', 'Summer sale', 'Newsletter', '100% off', 'Exit survey']
  const created = []
  for (const [i, name] of names.entries()) {
    created.push(await newCampaign(app, ann, teamId, { name, siteId: i % 2 ? two.id : one.id }))
  }
  await api.walk(created[0]?.id ?? '', 1, 'test')
  const list = (query: string) =>
    app.inject({ url: `/v1/teams/${teamId}/campaigns?${query}`, headers: ann.headers }).then((r) => r.json())
  t.same(
    (await list(`siteId=${two.id}`)).items.map((c: { name: string }) => c.name),
    ['100% off', 'Summer sale'],
  )
  t.same(
    (await list('status=test')).items.map((c: { name: string }) => c.name),
    ['Spring sale'],
  )
  t.same(
    (await list('search=SALE')).items.map((c: { name: string }) => c.name),
    ['Summer sale', 'Spring sale'],
  )
  t.same(
    (await list('search=%25')).items.map((c: { name: string }) => c.name),
    ['100% off'],
    '% is literal',
  )
  const page1 = await list('limit=2')
  const page2 = await list(`limit=2&cursor=${page1.nextCursor}`)
  const page3 = await list(`limit=2&cursor=${page2.nextCursor}`)
  t.same(
    [...page1.items, ...page2.items, ...page3.items].map((c: { name: string }) => c.name),
    [...names].reverse(),
  )
  t.equal(page3.nextCursor, null)
  t.match(page1.items[0], { variantCount: 1, status: 'draft' })
  t.notOk('variants' in page1.items[0], 'lists carry summaries, not content')

  const copy = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/campaigns/${created[0]?.id}/duplicate`,
    headers: ann.headers,
  })
  t.equal(copy.statusCode, 201)
  t.match(copy.json(), { name: 'Spring sale (copy)', status: 'draft', version: 1, siteId: one.id })

  const tested = created[0]?.id ?? ''
  const refuse = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/campaigns/${tested}`,
    headers: ann.headers,
  })
  t.equal(refuse.statusCode, 409, 'a campaign in test is not deleted')
  const draft = created[1]?.id ?? ''
  const gone = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/campaigns/${draft}`,
    headers: ann.headers,
  })
  t.equal(gone.statusCode, 204)
  t.equal((await api.get(draft)).statusCode, 404)

  // Bob, with his own team, reaches none of it through his team or Ann's.
  const bobApi = campaignApi(app, bob, bobTeam)
  t.equal((await bobApi.get(tested)).statusCode, 404)
  t.equal((await bobApi.patch(tested, 2, { name: 'mine now' })).statusCode, 404)
  t.equal((await bobApi.status(tested, 2, 'live')).statusCode, 404)
  const viaAnn = await app.inject({ url: `/v1/teams/${teamId}/campaigns/${tested}`, headers: bob.headers })
  t.equal(viaAnn.statusCode, 404)
  t.equal((await api.get(randomUUID())).statusCode, 404)
})

t.test('preview: only in test, on the campaign’s own site', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const site = await addSite(app, ann, teamId, 'ann.example')
  const api = campaignApi(app, ann, teamId)
  const c = await newCampaign(app, ann, teamId, { siteId: site.id })
  const preview = (query = '') =>
    app.inject({ url: `/v1/teams/${teamId}/campaigns/${c.id}/preview${query}`, headers: ann.headers })
  t.equal((await preview()).statusCode, 409, 'a draft has no preview')
  await api.walk(c.id, 1, 'test')
  const res = await preview('?path=/pricing%3Fplan%3Dpro')
  t.equal(res.statusCode, 200)
  t.equal(res.json().url, `https://ann.example/pricing?plan=pro&nudge_preview=${c.id}`)
  t.equal(res.json().documentUrl, `http://localhost:8787/campaigns/test/${c.id}.json`)
  for (const path of ['//evil.example/', '/\\evil.example/']) {
    const off = await preview(`?path=${encodeURIComponent(path)}`)
    t.equal(off.statusCode, 400, `${path} stays on the site`)
  }
  t.equal(res.json().apiDocumentUrl, `https://api.nudge.test/public/v1/sites/ann.example/preview/${c.id}`)

  // What a page opened with nudge_preview fetches; the site document never lists the test version.
  const publicPreview = (hostname: string, id: string) =>
    app.inject({
      url: `/public/v1/sites/${hostname}/preview/${id}`,
      headers: { origin: 'https://ann.example' },
    })
  const shown = await publicPreview('ann.example', c.id)
  t.equal(shown.statusCode, 200)
  t.equal(shown.headers['cache-control'], 'no-store')
  t.equal(shown.json().id, c.id)
  t.equal(shown.json().v, 2)
  const document = await app.inject({ url: '/public/v1/sites/ann.example' })
  t.notOk(document.body.includes(c.id), 'the site document does not carry the test version')
  const other = await addSite(app, ann, teamId, 'other.example')
  t.equal((await publicPreview('other.example', c.id)).statusCode, 404, 'not through another site')
  t.equal((await publicPreview('ann.example', other.id)).statusCode, 404, 'an id that is no campaign')
  t.equal((await publicPreview('ann.example', 'not-a-uuid')).statusCode, 400)
  await api.walk(c.id, 2, 'live')
  t.equal((await publicPreview('ann.example', c.id)).statusCode, 404, 'a live campaign is no preview')
})

t.test(
  'the cached first page of the list follows every change, on every worker within a second',
  async (t) => {
    const DATABASE_URL = await migratedDatabase(t)
    const a = await buildTestApp(t, { DATABASE_URL })
    const b = await buildTestApp(t, { DATABASE_URL })
    const ann = await signInAs(b, 'ann@example.com')
    const teamId = await personalTeam(a, ann)
    const site = await addSite(a, ann, teamId, 'ann.example')
    const first = (app: typeof a) =>
      app.inject({ url: `/v1/teams/${teamId}/campaigns?limit=2`, headers: ann.headers }).then(
        (r) =>
          r.json() as {
            items: Array<{
              name: string
              status: string
              siteId: string | null
              publishedVersion: number | null
            }>
            nextCursor: string | null
          },
      )
    t.same((await first(b)).items, [], 'cached empty on worker b')
    // Other workers hear of a change over PostgreSQL NOTIFY: within milliseconds, not at once.
    const shows = async (read: () => Promise<unknown>, expected: unknown, what: string) => {
      const deadline = Date.now() + 1000
      let seen = await read()
      while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        seen = await read()
      }
      t.same(seen, expected, what)
    }
    const names = () => first(b).then((page) => page.items.map((item) => item.name))
    const c = await newCampaign(a, ann, teamId, { name: 'One', siteId: site.id })
    await shows(names, ['One'], 'a creation on worker a shows on b')
    await campaignApi(a, ann, teamId).patch(c.id, 1, { name: 'Renamed' })
    await shows(names, ['Renamed'], 'an edit')
    await campaignApi(a, ann, teamId).walk(c.id, 2, 'test')
    await shows(
      () =>
        first(b).then((page) =>
          page.items.map((item) => JSON.stringify([item.status, item.publishedVersion])),
        ),
      [JSON.stringify(['test', 3])],
      'a status change and its publish',
    )
    await newCampaign(a, ann, teamId, { name: 'Two', siteId: site.id })
    await newCampaign(a, ann, teamId, { name: 'Three', siteId: site.id })
    await shows(names, ['Three', 'Two'], 'newest first, two to a page')
    const page = await first(b)
    const rest = await b.inject({
      url: `/v1/teams/${teamId}/campaigns?limit=2&cursor=${page.nextCursor}`,
      headers: ann.headers,
    })
    t.same(
      rest.json().items.map((i: { name: string }) => i.name),
      ['Renamed'],
      'the cursor from the cached page works',
    )
    await a.inject({ method: 'DELETE', url: `/v1/teams/${teamId}/sites/${site.id}`, headers: ann.headers })
    await shows(
      () => first(b).then((page) => page.items.map((item) => item.siteId)),
      [null, null],
      'a site deletion detaches them',
    )
  },
)

t.test('ids are plain UUIDs: a urn:uuid: form is a 400 naming the field, in a path or a body', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const site = await addSite(app, ann, teamId, 'ann.example')
  const urn = `urn:uuid:${site.id}`
  const inPath = await app.inject({ url: `/v1/teams/${teamId}/sites/${urn}`, headers: ann.headers })
  t.equal(inPath.statusCode, 400)
  t.equal(inPath.json().details[0].field, 'params.siteId')
  const inBody = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/campaigns`,
    headers: ann.headers,
    payload: { name: 'x', type: 'modal', siteId: urn },
  })
  t.equal(inBody.statusCode, 400)
  t.equal(inBody.json().details[0].field, 'body.siteId')
})
