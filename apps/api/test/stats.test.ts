import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { FULL_CAMPAIGN_EXAMPLE } from '../src/modules/campaigns/content.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'

type App = Awaited<ReturnType<typeof buildTestApp>>

const step = FULL_CAMPAIGN_EXAMPLE.variants[0]?.steps as unknown[]

function variant(id: string, name: string, weight: number) {
  return { id, name, weight, steps: step }
}

interface Row {
  variant: string
  day: string
  country?: string
  impressions?: number
  closes?: number
  conversions?: number
  leads?: number
}

/** Counts as event and lead ingestion would have left them. */
async function insertStats(app: App, campaignId: string, rows: Row[]) {
  await app.db
    .insertInto('campaign_stats_daily')
    .values(
      rows.map((row) => ({
        campaign_id: campaignId,
        variant_id: row.variant,
        day: row.day,
        country: row.country ?? '',
        impressions: row.impressions ?? 0,
        closes: row.closes ?? 0,
        conversions: row.conversions ?? 0,
        leads: row.leads ?? 0,
      })),
    )
    .execute()
}

function utcDay(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10)
}

t.test('campaign stats over HTTP', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const bob = await signInAs(app, 'bob@example.com')
  const vic = await signInAs(app, 'vic@example.com')
  const team = await personalTeam(app, ann)
  const bobTeam = await personalTeam(app, bob)
  await sql`INSERT INTO team_members (team_id, user_id, role) VALUES (${team}, ${vic.id}, 'viewer')`.execute(
    app.db,
  )

  const { id: siteId } = await addSite(app, ann, team, 'shop.example.com')
  const ab = await newCampaign(app, ann, team, {
    siteId,
    variants: [variant('a', 'Discount first', 50), variant('b', 'Newsletter first', 50)],
  })
  const abc = await newCampaign(app, ann, team, {
    siteId,
    name: 'Three ways',
    variants: [
      variant('x', 'X', 40),
      variant('y', 'Y', 30),
      variant('z', 'Z', 30),
      variant('w', 'Paused', 0),
    ],
  })
  const single = await newCampaign(app, ann, team, { siteId, name: 'Only one' })
  const recent = await newCampaign(app, ann, team, { siteId, name: 'Recent' })
  const quiet = await newCampaign(app, ann, team, {
    siteId,
    name: 'Quiet',
    variants: [variant('a', 'A', 50), variant('b', 'B', 50)],
  })

  await insertStats(app, ab.id, [
    {
      variant: 'a',
      day: '2026-11-01',
      country: 'DE',
      impressions: 3000,
      closes: 100,
      conversions: 60,
      leads: 50,
    },
    {
      variant: 'a',
      day: '2026-11-01',
      country: '',
      impressions: 2000,
      closes: 50,
      conversions: 40,
      leads: 30,
    },
    {
      variant: 'a',
      day: '2026-11-03',
      country: 'FR',
      impressions: 5000,
      closes: 200,
      conversions: 100,
      leads: 90,
    },
    {
      variant: 'b',
      day: '2026-11-01',
      country: 'DE',
      impressions: 4000,
      closes: 80,
      conversions: 100,
      leads: 95,
    },
    {
      variant: 'b',
      day: '2026-11-05',
      country: 'US',
      impressions: 6000,
      closes: 90,
      conversions: 160,
      leads: 150,
    },
    // A variant removed from the campaign since.
    {
      variant: 'old',
      day: '2026-11-02',
      country: 'DE',
      impressions: 100,
      closes: 7,
      conversions: 1,
      leads: 1,
    },
    // Just outside 1–7 November (UTC).
    { variant: 'a', day: '2026-10-31', country: 'DE', impressions: 999_999, conversions: 999 },
    { variant: 'b', day: '2026-11-08', country: 'DE', impressions: 999_999, conversions: 999 },
  ])
  await insertStats(app, abc.id, [
    { variant: 'x', day: '2026-11-02', country: 'DE', impressions: 600, conversions: 12, leads: 10 },
    { variant: 'x', day: '2026-11-04', country: 'DE', impressions: 400, conversions: 8, leads: 8 },
    { variant: 'y', day: '2026-11-02', country: 'FR', impressions: 1000, conversions: 30, leads: 29 },
    { variant: 'z', day: '2026-11-06', country: 'FR', impressions: 1000, conversions: 45, leads: 40 },
  ])
  const recentVariant = recent.variants[0]?.id as string
  await insertStats(app, recent.id, [
    { variant: recentVariant, day: utcDay(), country: 'IT', impressions: 10, conversions: 1 },
    { variant: recentVariant, day: utcDay(-29), country: 'IT', impressions: 5 },
    { variant: recentVariant, day: utcDay(-30), country: 'IT', impressions: 1000 },
  ])
  await insertStats(app, single.id, [
    { variant: single.variants[0]?.id as string, day: '2026-11-02', impressions: 50, conversions: 5 },
  ])

  const get = (who: { headers: Record<string, string> }, url: string) =>
    app.inject({ method: 'GET', url, headers: who.headers })
  const statsUrl = (campaignId: string, query = '', teamId = team) =>
    `/v1/teams/${teamId}/campaigns/${campaignId}/stats${query ? `?${query}` : ''}`
  const week = 'from=2026-11-01&to=2026-11-07'

  t.test('two variants: totals, days filled with zeros, countries and the z-test', async (t) => {
    const res = await get(ann, statsUrl(ab.id, week))
    t.equal(res.statusCode, 200, res.body)
    const body = res.json()
    t.match(body, {
      campaignId: ab.id,
      from: '2026-11-01',
      to: '2026-11-07',
      tz: 'UTC',
      dayBoundary: 'UTC',
      utcFrom: '2026-11-01',
      utcTo: '2026-11-07',
    })
    t.same(body.totals, {
      impressions: 20_100,
      closes: 527,
      conversions: 461,
      leads: 416,
      conversionRate: 461 / 20_100,
    })
    t.same(
      body.variants.map((v: { id: string; name: string; weight: number | null }) => [v.id, v.name, v.weight]),
      [
        ['a', 'Discount first', 50],
        ['b', 'Newsletter first', 50],
        ['old', 'old', null],
      ],
      "the campaign's variants in order, then the removed one named by its id",
    )
    const [a, b] = body.variants
    t.match(a, { impressions: 10_000, closes: 350, conversions: 200, leads: 170, conversionRate: 0.02 })
    t.match(b, { impressions: 10_000, closes: 170, conversions: 260, leads: 245, conversionRate: 0.026 })
    for (const v of body.variants) {
      t.same(
        v.days.map((d: { day: string }) => d.day),
        ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06', '2026-11-07'],
        `${v.id}: every day of the range`,
      )
    }
    t.same(a.days[0], {
      day: '2026-11-01',
      impressions: 5000,
      closes: 150,
      conversions: 100,
      leads: 80,
      conversionRate: 0.02,
    })
    t.same(
      a.days[1],
      { day: '2026-11-02', impressions: 0, closes: 0, conversions: 0, leads: 0, conversionRate: 0 },
      'a day without counts is zeros, rate 0',
    )
    t.equal(b.days[4].impressions, 6000)

    t.same(body.countries, [
      { country: 'DE', impressions: 7100, conversions: 161, leads: 146, conversionRate: 161 / 7100 },
      { country: 'US', impressions: 6000, conversions: 160, leads: 150, conversionRate: 160 / 6000 },
      { country: 'FR', impressions: 5000, conversions: 100, leads: 90, conversionRate: 0.02 },
      { country: null, impressions: 2000, conversions: 40, leads: 30, conversionRate: 0.02 },
    ])

    const c = body.comparison
    t.match(c, {
      test: 'two-proportion z-test (pooled)',
      variantIds: ['a', 'b'],
      leader: 'b',
      alpha: 0.05,
      chiSquare: null,
      df: 1,
      significant: true,
      reason: null,
    })
    t.ok(Math.abs(c.z - 2.83) < 0.005, `z = ${c.z}`)
    t.ok(Math.abs(c.pValue - 0.0047) < 0.0001, `p = ${c.pValue}`)
  })

  t.test('three variants (and a paused one without data): the chi-square test', async (t) => {
    const body = (await get(ann, statsUrl(abc.id, week))).json()
    t.same(
      body.variants.map((v: { id: string; impressions: number }) => [v.id, v.impressions]),
      [
        ['x', 1000],
        ['y', 1000],
        ['z', 1000],
        ['w', 0],
      ],
      'a variant without data is listed, with zeros',
    )
    t.equal(body.variants[3].days.length, 7)
    t.match(body.comparison, {
      test: "Pearson's chi-square test of independence",
      variantIds: ['x', 'y', 'z'],
      leader: 'z',
      z: null,
      df: 2,
      significant: true,
      reason: null,
    })
    t.ok(Math.abs(body.comparison.chiSquare - 10.327022375215146) < 1e-9, `χ² = ${body.comparison.chiSquare}`)
    t.ok(Math.abs(body.comparison.pValue - 0.005721574852579422) < 1e-9, `p = ${body.comparison.pValue}`)
    t.same(
      body.countries.map((c: { country: string }) => c.country),
      ['FR', 'DE'],
      'only this campaign, only this range',
    )
  })

  t.test('one variant: no comparison; no data: not enough data', async (t) => {
    const one = (await get(ann, statsUrl(single.id, week))).json()
    t.equal(one.comparison, null)
    t.equal(one.variants.length, 1)
    t.equal(one.totals.conversionRate, 0.1)

    const none = (await get(ann, statsUrl(quiet.id, week))).json()
    t.same(none.totals, { impressions: 0, closes: 0, conversions: 0, leads: 0, conversionRate: 0 })
    t.same(none.countries, [])
    t.match(none.comparison, { leader: null, significant: false, reason: 'not enough data', pValue: null })
  })

  t.test('dates in a zone are answered with the UTC days that cover them', async (t) => {
    const berlin = (await get(ann, statsUrl(ab.id, 'from=2026-11-02&to=2026-11-02&tz=Europe/Berlin'))).json()
    t.match(berlin, {
      from: '2026-11-02',
      to: '2026-11-02',
      tz: 'Europe/Berlin',
      dayBoundary: 'UTC',
      utcFrom: '2026-11-01',
      utcTo: '2026-11-02',
    })
    t.same(
      berlin.variants[0].days.map((d: { day: string }) => d.day),
      ['2026-11-01', '2026-11-02'],
    )
    t.equal(berlin.totals.impressions, 9100, '1 and 2 November (UTC) counted, nothing re-bucketed')

    const la = (
      await get(ann, statsUrl(ab.id, 'from=2026-11-02&to=2026-11-02&tz=America/Los_Angeles'))
    ).json()
    t.match(la, { utcFrom: '2026-11-02', utcTo: '2026-11-03' })
    t.equal(la.totals.impressions, 5100)
  })

  t.test('by default, the last 30 days to today', async (t) => {
    const body = (await get(ann, statsUrl(recent.id))).json()
    t.match(body, { to: utcDay(), from: utcDay(-29), tz: 'UTC', utcFrom: utcDay(-29), utcTo: utcDay() })
    t.equal(body.variants[0].days.length, 30)
    t.equal(body.totals.impressions, 15, 'today and 29 days before, not 30')

    const onlyTo = (await get(ann, statsUrl(abc.id, 'to=2026-11-30'))).json()
    t.match(onlyTo, { from: '2026-11-01', to: '2026-11-30' })

    const year = await get(ann, statsUrl(ab.id, 'from=2025-11-01&to=2026-11-01'))
    t.equal(year.statusCode, 200, '366 days are allowed')
    t.equal(year.json().variants[0].days.length, 366)
  })

  t.test('bad query values are 400s naming the field', async (t) => {
    const cases: Array<[string, string[]]> = [
      ['from=2026-02-30', ['querystring.from']],
      ['from=2026-13-01', ['querystring.from']],
      ['to=yesterday', ['querystring.to']],
      ['from=2026-11-07&to=2026-11-01', ['querystring.from']],
      ['from=2025-10-31&to=2026-11-01', ['querystring.from']],
      ['from=1969-12-31&to=1970-01-01', ['querystring.from', 'querystring.to']],
      ['tz=Mars/Olympus_Mons', ['querystring.tz']],
      ['tz=europe/berlin', ['querystring.tz']],
      ['tz=%2B02:00', ['querystring.tz']],
      ['tz=Mars/Olympus_Mons&from=1999-12-31', ['querystring.tz', 'querystring.from']],
      ['days=7', ['querystring.days']],
    ]
    for (const [query, fields] of cases) {
      const res = await get(ann, statsUrl(ab.id, query))
      t.equal(res.statusCode, 400, `${query}: 400`)
      t.same(
        (res.json().details as Array<{ field: string }> | undefined)?.map((d) => d.field).sort(),
        [...fields].sort(),
        `${query}: names ${fields.join(', ')}`,
      )
    }
    const written = (await get(ann, statsUrl(ab.id, 'tz=europe/berlin'))).json()
    t.match(written.message, /Europe\/Berlin/, 'the zone as it is written')
  })

  t.test('other teams get 404; a viewer reads', async (t) => {
    t.equal((await get(bob, statsUrl(ab.id))).statusCode, 404, 'not a member of the team')
    t.equal((await get(bob, statsUrl(ab.id, '', bobTeam))).statusCode, 404, "through one's own team")
    t.equal((await get(ann, statsUrl(randomUUID()))).statusCode, 404, 'unknown campaign')
    t.equal((await get(ann, statsUrl(ab.id.toUpperCase(), week))).json().campaignId, ab.id)
    const viewer = await get(vic, statsUrl(ab.id, week))
    t.equal(viewer.statusCode, 200, 'a viewer reads stats')
    t.equal(viewer.json().totals.impressions, 20_100)
  })
})
