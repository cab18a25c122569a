import { randomUUID } from 'node:crypto'
import { createDb, createPool } from '@nudge/db'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { depsOf } from '../src/deps.ts'
import { FULL_CAMPAIGN_EXAMPLE } from '../src/modules/campaigns/content.ts'
import { ensureEventPartitions } from '../src/modules/visitors/event-partitions.ts'
import { visitorCampaign } from '../src/modules/visitors/published.ts'
import { eventWriterOf } from '../src/modules/visitors/routes.ts'
import type { App } from '../src/server.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { migratedDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'
import { uuidv7 } from './helpers/visitor-ids.ts'

const EDGE_SECRET = 'edge-secret-for-tests-0123456789abcdef'
const SHOP = 'https://shop.example'
const DAY_MS = 86_400_000

type Event = {
  eventId: string
  pageViewId: string
  campaignId: string
  variantId: string
  type: string
  at: string
}

/** A team with a live campaign of two variants on shop.example, a draft there, and another site's live one. */
async function setup(t: Test, overrides: Record<string, string | undefined> = {}) {
  const DATABASE_URL = overrides.DATABASE_URL ?? (await migratedDatabase(t))
  const app = await buildTestApp(t, { ...overrides, DATABASE_URL })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const api = campaignApi(app, ann, teamId)
  const site = await addSite(app, ann, teamId, 'shop.example')
  const otherSite = await addSite(app, ann, teamId, 'blog.example')
  const live = await newCampaign(app, ann, teamId, { ...FULL_CAMPAIGN_EXAMPLE, siteId: site.id })
  await api.walk(live.id, live.version, 'test', 'live')
  const draft = await newCampaign(app, ann, teamId, { siteId: site.id })
  const elsewhere = await newCampaign(app, ann, teamId, { siteId: otherSite.id })
  await api.walk(elsewhere.id, elsewhere.version, 'test', 'live')
  const variants = live.variants.map((variant) => variant.id)
  const event = (overrides: Partial<Event> = {}): Event => ({
    eventId: uuidv7(),
    pageViewId: uuidv7(),
    campaignId: live.id,
    variantId: variants[0] as string,
    type: 'impression',
    at: new Date().toISOString(),
    ...overrides,
  })
  return { app, ann, teamId, site, live, draft, elsewhere, variants, event, DATABASE_URL }
}

function send(app: App, events: unknown[], headers: Record<string, string> = { origin: SHOP }) {
  return app.inject({ method: 'POST', url: '/public/v1/events', headers, payload: { events } })
}

/** Everything the events write: the counts and the raw events. */
async function written(app: App) {
  const stats = await app.db
    .selectFrom('campaign_stats_daily')
    .selectAll()
    .orderBy(['campaign_id', 'variant_id', 'day', 'country'])
    .execute()
  const raw = await sql<{ n: number }>`SELECT count(*)::int AS n FROM visitor_events`.execute(app.db)
  return { stats, rawEvents: raw.rows[0]?.n ?? 0 }
}

const today = () => new Date().toISOString().slice(0, 10)

t.test('a batch counts once: resent, and sent twice at the same moment', async (t) => {
  const { app, live, variants, event, DATABASE_URL } = await setup(t)
  const [a, b] = variants as [string, string]
  const batch = [
    event({ variantId: a }),
    event({ variantId: a }),
    event({ variantId: b, type: 'close' }),
    event({ variantId: b, type: 'conversion' }),
  ]

  const first = await send(app, batch)
  t.equal(first.statusCode, 202, first.body)
  t.same(first.json(), { accepted: 4, duplicates: 0, ignored: 0 })
  const once = await written(app)
  t.match(once.stats, [
    {
      campaign_id: live.id,
      variant_id: a,
      day: today(),
      country: '',
      impressions: 2,
      closes: 0,
      conversions: 0,
    },
    {
      campaign_id: live.id,
      variant_id: b,
      day: today(),
      country: '',
      impressions: 0,
      closes: 1,
      conversions: 1,
    },
  ])
  t.equal(once.stats.length, 2)
  t.equal(once.rawEvents, 4)

  const again = await send(app, batch)
  t.equal(again.statusCode, 202)
  t.same(again.json(), { accepted: 0, duplicates: 4, ignored: 0 }, 'the resend is all duplicates')
  t.same(await written(app), once, 'and changes nothing')

  // Two identical batches at once on one worker: one group, de-duplicated before the database.
  const batch2 = [event({ variantId: a }), event({ variantId: b })]
  const same = await Promise.all([send(app, batch2), send(app, batch2)])
  t.same(
    same.map((res) => res.statusCode),
    [202, 202],
  )
  t.same(
    same.map((res) => res.json()).sort((x, y) => y.accepted - x.accepted),
    [
      { accepted: 2, duplicates: 0, ignored: 0 },
      { accepted: 0, duplicates: 2, ignored: 0 },
    ],
  )

  // Two workers at once: two groups, de-duplicated by the database.
  const other = await buildTestApp(t, { DATABASE_URL })
  await other.ready()
  const batch3 = [event({ variantId: a }), event({ variantId: a, type: 'conversion' })]
  const racing = await Promise.all([send(app, batch3), send(other, batch3)])
  t.same(
    racing.map((res) => res.statusCode),
    [202, 202],
  )
  const results = racing.map((res) => res.json())
  t.equal(results[0].accepted + results[1].accepted, 2, 'each event accepted by one of them')
  t.equal(results[0].duplicates + results[1].duplicates, 2)

  const after = await written(app)
  t.match(after.stats, [
    { variant_id: a, impressions: 4, closes: 0, conversions: 1 },
    { variant_id: b, impressions: 1, closes: 1, conversions: 1 },
  ])
  t.equal(after.rawEvents, 8)
})

t.test('an eventId counts once whatever day its `at` names', async (t) => {
  const { app, variants, event, DATABASE_URL } = await setup(t)
  const [a] = variants as [string]
  const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString()
  const first = event({ variantId: a })
  t.same((await send(app, [first])).json(), { accepted: 1, duplicates: 0, ignored: 0 })
  const once = await written(app)

  // Resent with a clock that moved it to another UTC day: earlier days, and the next one.
  for (const at of [daysAgo(1), daysAgo(6), new Date(Date.now() + 4 * 60_000).toISOString()]) {
    const again = await send(app, [{ ...first, at }])
    t.equal(again.statusCode, 202)
    t.same(again.json(), { accepted: 0, duplicates: 1, ignored: 0 }, `resent with at ${at}: a duplicate`)
  }
  // Upper case is the same uuid.
  const upper = await send(app, [{ ...first, eventId: first.eventId.toUpperCase(), at: daysAgo(2) }])
  t.same(
    upper.json(),
    { accepted: 0, duplicates: 1, ignored: 0 },
    'in upper case, on another day: a duplicate',
  )
  t.same(await written(app), once, 'nothing counted again, no raw event added')

  // Within one batch, and across two requests of one group: counted on the first one's day only.
  const second = event({ variantId: a })
  const batch = await send(app, [second, { ...second, at: daysAgo(3) }])
  t.same(
    batch.json(),
    { accepted: 1, duplicates: 1, ignored: 0 },
    'twice in a batch with different days: once',
  )
  const third = event({ variantId: a })
  const group = await Promise.all([send(app, [third]), send(app, [{ ...third, at: daysAgo(4) }])])
  t.same(
    group.map((res) => res.json()).sort((x, y) => y.accepted - x.accepted),
    [
      { accepted: 1, duplicates: 0, ignored: 0 },
      { accepted: 0, duplicates: 1, ignored: 0 },
    ],
    'two requests at once, different days: once',
  )

  // Another worker (the other colour of a release, say) sees what this one stored.
  const other = await buildTestApp(t, { DATABASE_URL })
  await other.ready()
  t.same((await send(other, [{ ...first, at: daysAgo(5) }])).json(), {
    accepted: 0,
    duplicates: 1,
    ignored: 0,
  })

  const after = await written(app)
  t.equal(after.rawEvents, 3, 'one raw event per eventId')
  const counted = after.stats.reduce((sum, row) => sum + Number(row.impressions), 0)
  t.equal(counted, 3, 'three impressions in all')
})

t.test('a batch with one bad event is refused whole, with nothing written', async (t) => {
  const { app, draft, elsewhere, event } = await setup(t)
  await send(app, [event()])
  const before = await written(app)
  const good = () => event()
  const cases: Array<{
    what: string
    bad: Event
    headers?: Record<string, string>
    status: number
    code: string
    field?: string
  }> = [
    { what: 'unknown campaign', bad: event({ campaignId: randomUUID() }), status: 404, code: 'NOT_FOUND' },
    {
      what: 'draft campaign',
      bad: event({ campaignId: draft.id, variantId: draft.variants[0]?.id }),
      status: 409,
      code: 'CAMPAIGN_NOT_ACCEPTING',
    },
    {
      what: 'variant not in the campaign',
      bad: event({ variantId: 'zz' }),
      status: 400,
      code: 'VALIDATION_ERROR',
      field: 'body.events.1.variantId',
    },
    {
      what: 'eventId made more than 7 days ago',
      bad: event({ eventId: uuidv7(Date.now() - 7 * DAY_MS - 60_000) }),
      status: 400,
      code: 'VALIDATION_ERROR',
      field: 'body.events.1.eventId',
    },
    {
      what: 'eventId made more than 5 minutes ahead',
      bad: event({ eventId: uuidv7(Date.now() + 10 * 60_000) }),
      status: 400,
      code: 'VALIDATION_ERROR',
      field: 'body.events.1.eventId',
    },
    {
      what: 'eventId not a UUIDv7 (no time in it)',
      bad: event({ eventId: randomUUID() }),
      status: 400,
      code: 'VALIDATION_ERROR',
      field: 'body.events.1.eventId',
    },
    {
      what: 'pageViewId made more than 7 days ago',
      bad: event({ pageViewId: uuidv7(Date.now() - 8 * DAY_MS) }),
      status: 400,
      code: 'VALIDATION_ERROR',
      field: 'body.events.1.pageViewId',
    },
    {
      what: 'eventId as a urn',
      bad: event({ eventId: `urn:uuid:${randomUUID()}` }),
      status: 400,
      code: 'VALIDATION_ERROR',
      field: 'body.events.1.eventId',
    },
    {
      what: 'a campaign of another site',
      bad: event({ campaignId: elsewhere.id, variantId: elsewhere.variants[0]?.id }),
      status: 403,
      code: 'ORIGIN_NOT_ALLOWED',
    },
    {
      what: 'another origin',
      bad: event(),
      headers: { origin: 'https://evil.example' },
      status: 403,
      code: 'ORIGIN_NOT_ALLOWED',
    },
    { what: 'no origin', bad: event(), headers: {}, status: 403, code: 'ORIGIN_NOT_ALLOWED' },
    {
      what: 'a look-alike origin',
      bad: event(),
      headers: { origin: 'https://shop.example.evil.example' },
      status: 403,
      code: 'ORIGIN_NOT_ALLOWED',
    },
  ]
  for (const c of cases) {
    const res = await send(app, [good(), c.bad], c.headers)
    t.equal(res.statusCode, c.status, `${c.what}: ${c.status}`)
    t.equal(res.json().code, c.code, `${c.what}: ${c.code}`)
    if (c.field) t.match(res.json().details, [{ field: c.field }], `${c.what}: names ${c.field}`)
  }
  t.same(await written(app), before, 'nothing was written by any of them')

  const empty = await send(app, [])
  t.equal(empty.statusCode, 400, 'an empty batch is refused')
  const tooMany = await send(
    app,
    Array.from({ length: 51 }, () => good()),
  )
  t.equal(tooMany.statusCode, 400, 'more than 50 are refused')
  t.same(await written(app), before)
})

t.test('the visitor country counts only when the request came through the edge', async (t) => {
  const { app, live, variants, event } = await setup(t, { EDGE_SECRET })
  const viaEdge = await send(app, [event()], {
    origin: SHOP,
    'x-edge-secret': EDGE_SECRET,
    'cf-ipcountry': 'DE',
  })
  t.equal(viaEdge.statusCode, 202)
  const direct = await send(app, [event(), event()], { origin: SHOP, 'cf-ipcountry': 'DE' })
  t.equal(direct.statusCode, 202)
  const forged = await send(app, [event()], {
    origin: SHOP,
    'x-edge-secret': 'not-the-secret-but-just-as-long-0123456',
    'cf-ipcountry': 'FR',
  })
  t.equal(forged.statusCode, 202)
  const { stats } = await written(app)
  t.same(
    stats.map((row) => [row.campaign_id, row.variant_id, row.country, row.impressions]),
    [
      [live.id, variants[0], '', 3],
      [live.id, variants[0], 'DE', 1],
    ],
  )
})

t.test('the first event from a site sets its firstSeenAt', async (t) => {
  const { app, ann, teamId, site, event } = await setup(t)
  const url = `/v1/teams/${teamId}/sites/${site.id}`
  const before = await app.inject({ method: 'GET', url, headers: ann.headers })
  t.equal(before.json().firstSeenAt, null)
  const started = Date.now()
  t.equal((await send(app, [event()])).statusCode, 202)
  const seen = (await app.inject({ method: 'GET', url, headers: ann.headers })).json().firstSeenAt
  t.type(seen, 'string')
  t.ok(Math.abs(Date.parse(seen) - started) < 60_000, 'set to about now')
  t.equal((await send(app, [event()])).statusCode, 202)
  const later = (await app.inject({ method: 'GET', url, headers: ann.headers })).json().firstSeenAt
  t.equal(later, seen, 'and not moved by later events')
})

t.test('group commit: 20 requests at once share a few writes, each answered 202', async (t) => {
  const { app, variants, event } = await setup(t, { EVENTS_GROUP_COMMIT_MS: '20' })
  const writer = eventWriterOf(app)
  if (!writer) throw new Error('no event writer')
  const flushesBefore = writer.flushes
  const batches = Array.from({ length: 20 }, (_, i) => [
    event({ variantId: variants[i % 2] as string }),
    event({ variantId: variants[i % 2] as string, type: 'conversion' }),
  ])
  const answers = await Promise.all(batches.map((batch) => send(app, batch)))
  const flushes = writer.flushes - flushesBefore
  t.comment(`20 requests, ${flushes} writes`)
  t.same(
    answers.map((res) => res.statusCode),
    Array(20).fill(202),
  )
  t.same(
    answers.map((res) => res.json()),
    Array(20).fill({ accepted: 2, duplicates: 0, ignored: 0 }),
  )
  t.ok(flushes >= 1 && flushes <= 5, `far fewer writes than requests (${flushes})`)
  const { stats, rawEvents } = await written(app)
  t.equal(rawEvents, 40)
  t.match(stats, [
    { impressions: 10, conversions: 10 },
    { impressions: 10, conversions: 10 },
  ])
})

t.test(
  'a campaign deleted while its events wait to be written: they count nowhere, the rest count',
  async (t) => {
    const { app, ann, teamId, site, event } = await setup(t, { EVENTS_GROUP_COMMIT_MS: '100' })
    const api = campaignApi(app, ann, teamId)
    const second = await newCampaign(app, ann, teamId, { siteId: site.id })
    await api.walk(second.id, second.version, 'test', 'live')
    const doomed = send(app, [event({ campaignId: second.id, variantId: second.variants[0]?.id })])
    const kept = send(app, [event()])
    // Both are checked and waiting in the writer's 100 ms window (however loaded the machine).
    await handedOver(app, 2)
    await app.db.deleteFrom('campaigns').where('id', '=', second.id).execute()
    const answers = await Promise.all([doomed, kept])
    t.same(
      answers.map((res) => res.statusCode),
      [202, 202],
    )
    const { stats } = await written(app)
    t.equal(stats.length, 1, 'only the remaining campaign has counts')
    t.notOk(
      stats.some((row) => row.campaign_id === second.id),
      'none for the deleted one',
    )
  },
)

/** Resolves once `count` requests wait in the app's event writer (checked, not yet written). */
async function handedOver(app: App, count: number): Promise<void> {
  const writer = eventWriterOf(app)
  while ((writer?.waiting ?? 0) < count) await new Promise((resolve) => setImmediate(resolve))
}

t.test('closing the app writes the events still waiting, then answers them', async (t) => {
  const { app, event, DATABASE_URL } = await setup(t, { EVENTS_GROUP_COMMIT_MS: '100' })
  const pending = send(app, [event(), event()])
  // The request is waiting in its 100 ms window when the worker is told to stop.
  await handedOver(app, 1)
  await app.close()
  const res = await pending
  t.equal(res.statusCode, 202)
  t.same(res.json(), { accepted: 2, duplicates: 0, ignored: 0 })
  const db = createDb(createPool({ DATABASE_URL, DATABASE_POOL_MAX: 1, DATABASE_STATEMENT_TIMEOUT_MS: 5000 }))
  t.teardown(() => db.destroy())
  const raw = await sql<{ n: number }>`SELECT count(*)::int AS n FROM visitor_events`.execute(db)
  t.equal(raw.rows[0]?.n, 2, 'stored before the pool closed')
})

t.test('a write that fails answers 503 to every waiting request, and writes nothing', async (t) => {
  const { app, live, event } = await setup(t, { EVENTS_GROUP_COMMIT_MS: '20' })
  await send(app, [event()])
  const before = await written(app)

  // A statement failure: today's partition gone (as if maintenance had not run), so the insert
  // finds no partition for the row. Not a 500, not a 4xx: the client sends them again later.
  const partition = `visitor_events_${today().replaceAll('-', '')}`
  await sql`DROP TABLE ${sql.id(partition)}`.execute(app.db)
  const failed = await Promise.all(Array.from({ length: 10 }, () => send(app, [event(), event()])))
  t.same(
    failed.map((res) => res.statusCode),
    Array(10).fill(503),
  )
  t.same(
    failed.map((res) => res.json().code),
    Array(10).fill('EVENTS_NOT_STORED'),
  )
  const afterFailure = await written(app)
  t.same(afterFailure.stats, before.stats, 'no count was changed')

  await ensureEventPartitions(app)
  const retried = await send(app, [event()])
  t.equal(retried.statusCode, 202, 'stored once the partition is back')

  // The database stopped: another worker of the deployment whose database is unreachable. The
  // campaign is in its cache already, so the requests get as far as the writer.
  const cut = await buildTestApp(t, {
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nudge',
    EVENTS_GROUP_COMMIT_MS: '20',
  })
  await cut.ready()
  await visitorCampaign({ ...depsOf(app), cache: cut.cache }, { campaignId: live.id })
  const down = await Promise.all(Array.from({ length: 10 }, () => send(cut, [event()])))
  t.same(
    down.map((res) => res.statusCode),
    Array(10).fill(503),
  )
  t.same(
    down.map((res) => res.json().code),
    Array(10).fill('DATABASE_UNAVAILABLE'),
  )
  t.ok((eventWriterOf(cut)?.flushes ?? -1) === 0, 'no write succeeded')
})

t.test('raw events are kept in day partitions from 8 days back to 3 ahead; older ones dropped', async (t) => {
  const { app, event } = await setup(t)
  // Made when the app became ready; the first write waits for that.
  t.equal((await send(app, [event()])).statusCode, 202)
  const partitions = async () => {
    const { rows } = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'visitor_events'::regclass ORDER BY 1`.execute(app.db)
    return rows.map((row) => row.name)
  }
  const names = (from: number, days: number) =>
    Array.from({ length: days }, (_, i) => {
      const day = new Date(from + i * DAY_MS).toISOString().slice(0, 10)
      return `visitor_events_${day.replaceAll('-', '')}`
    })
  const now = Date.now()
  t.same(await partitions(), names(now - 8 * DAY_MS, 12), 'today−8 … today+3')

  const later = new Date(now + 20 * DAY_MS)
  // Several workers at once: they take turns under the advisory lock.
  const runs = await Promise.all([1, 2, 3].map(() => ensureEventPartitions(app, { today: later })))
  const created = runs.flatMap((run) => run.created).sort()
  const dropped = runs.flatMap((run) => run.dropped).sort()
  t.same(created, names(later.getTime() - 8 * DAY_MS, 12), 'each new partition made once')
  t.same(dropped, names(now - 8 * DAY_MS, 12), 'each old one dropped once')
  t.same(await partitions(), names(later.getTime() - 8 * DAY_MS, 12))
  t.same(
    await ensureEventPartitions(app, { today: later }),
    { created: [], dropped: [] },
    'run again: nothing to do',
  )
})
