import t, { type Test } from 'tap'
import type { App } from '../src/server.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'
import { uuidv7 } from './helpers/visitor-ids.ts'

/*
 * Step events: a visitor moving on to step 2..5 of a multi-step popup. Each eventId counts once,
 * per campaign, UTC day, variant and step, and the campaign's stats show each variant's reach.
 */

const SHOP = 'https://shop.example'

const screen = (text: string, action: 'next-step' | 'close') => ({
  blocks: [{ type: 'text', text }],
  buttons: [{ label: action === 'next-step' ? 'Next' : 'Close', action }],
})

/** A live campaign whose variant 'a' has 3 steps and 'b' 2; and one of 2 steps in test (preview). */
async function setup(t: Test) {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const api = campaignApi(app, ann, teamId)
  const site = await addSite(app, ann, teamId, 'shop.example')
  const live = await newCampaign(app, ann, teamId, {
    siteId: site.id,
    variants: [
      {
        id: 'a',
        name: 'Three steps',
        weight: 50,
        steps: [screen('One', 'next-step'), screen('Two', 'next-step'), screen('Three', 'close')],
      },
      { id: 'b', name: 'Two steps', weight: 50, steps: [screen('One', 'next-step'), screen('Two', 'close')] },
    ],
  })
  await api.walk(live.id, live.version, 'test', 'live')
  const preview = await newCampaign(app, ann, teamId, {
    siteId: site.id,
    name: 'In test',
    variants: [
      { id: 'a', name: 'A', weight: 100, steps: [screen('One', 'next-step'), screen('Two', 'close')] },
    ],
  })
  await api.walk(preview.id, preview.version, 'test')
  const stepEvent = (variantId: string, step: unknown, more: Record<string, unknown> = {}) => ({
    eventId: uuidv7(),
    pageViewId: uuidv7(),
    campaignId: live.id,
    variantId,
    type: 'step',
    step,
    ...more,
  })
  const stats = async () => {
    const res = await app.inject({
      url: `/v1/teams/${teamId}/campaigns/${live.id}/stats`,
      headers: ann.headers,
    })
    t.equal(res.statusCode, 200, res.body)
    return res.json() as {
      totals: Record<string, number>
      variants: Array<{ id: string; impressions: number; steps: Array<{ step: number; reached: number }> }>
    }
  }
  return { app, live, preview, stepEvent, stats }
}

function send(app: App, events: unknown[]) {
  return app.inject({
    method: 'POST',
    url: '/public/v1/events',
    headers: { origin: SHOP },
    payload: { events },
  })
}

/** What the step events wrote: step reach rows, other counts, raw events. */
async function written(app: App) {
  const steps = await app.db
    .selectFrom('campaign_step_stats_daily')
    .select(['variant_id', 'step', 'reached'])
    .orderBy('variant_id')
    .orderBy('step')
    .execute()
  const other = await app.db.selectFrom('campaign_stats_daily').selectAll().execute()
  const raw = await app.db
    .selectFrom('visitor_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  return { steps, other, rawEvents: Number(raw.n) }
}

t.test(
  'step events count once per eventId, per variant and step, and show as reach in the stats',
  async (t) => {
    const { app, stepEvent, stats } = await setup(t)
    const before = await stats()
    t.same(
      before.variants.map((v) => [v.id, v.steps]),
      [
        [
          'a',
          [
            { step: 2, reached: 0 },
            { step: 3, reached: 0 },
          ],
        ],
        ['b', [{ step: 2, reached: 0 }]],
      ],
      'before any visitor: every step of each variant, at zero',
    )

    const batch = [stepEvent('a', 2), stepEvent('a', 3), stepEvent('a', 2), stepEvent('b', 2)]
    const first = await send(app, batch)
    t.equal(first.statusCode, 202, first.body)
    t.same(first.json(), { accepted: 4, duplicates: 0, ignored: 0 })
    const once = await written(app)
    t.same(once.steps, [
      { variant_id: 'a', step: 2, reached: 2 },
      { variant_id: 'a', step: 3, reached: 1 },
      { variant_id: 'b', step: 2, reached: 1 },
    ])
    t.same(once.other, [], 'no impression, close or conversion counts made up for them')

    const again = await send(app, batch)
    t.same(again.json(), { accepted: 0, duplicates: 4, ignored: 0 }, 'a resend is all duplicates')
    t.same(await written(app), once, 'and changes nothing')

    // The same batch to two workers at once: each event counted by exactly one of them.
    const other = await buildTestApp(t, { DATABASE_URL: app.config.DATABASE_URL })
    await other.ready()
    for (let round = 0; round < 3; round++) {
      const racing = Array.from({ length: 10 }, (_, i) => stepEvent(i % 2 ? 'a' : 'b', 2))
      const answers = await Promise.all([send(app, racing), send(other, racing)])
      t.same(
        answers.map((res) => res.statusCode),
        [202, 202],
      )
      const [x, y] = answers.map((res) => res.json())
      t.equal(x.accepted + y.accepted, 10, `round ${round}: each event accepted once`)
      t.equal(x.duplicates + y.duplicates, 10, `round ${round}: and a duplicate on the other`)
    }

    // Beside an impression, as the script sends them.
    const view = uuidv7()
    const mixed = await send(app, [
      stepEvent('a', 2, { type: 'impression', step: undefined, pageViewId: view }),
      stepEvent('a', 2, { pageViewId: view }),
    ])
    t.same(mixed.json(), { accepted: 2, duplicates: 0, ignored: 0 })

    const shown = await stats()
    t.same(
      shown.variants.map((v) => [v.id, v.impressions, v.steps]),
      [
        [
          'a',
          1,
          [
            { step: 2, reached: 2 + 15 + 1 },
            { step: 3, reached: 1 },
          ],
        ],
        ['b', 0, [{ step: 2, reached: 1 + 15 }]],
      ],
      'per variant and step, over the range',
    )
    t.match(shown.totals, { impressions: 1, closes: 0, conversions: 0, leads: 0 }, 'totals as before')
  },
)

t.test('bad step values are a 400 naming the field, and nothing is written', async (t) => {
  const { app, stepEvent } = await setup(t)
  const good = stepEvent('a', 2)
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['step 1 (the impression is step 1)', stepEvent('a', 1), /must be >= 2/],
    ['step 6 (a variant has at most 5)', stepEvent('a', 6), /must be <= 5/],
    ['a fraction', stepEvent('a', 2.5), /must be integer/],
    ['a string (bodies are not coerced)', stepEvent('a', '2'), /must be integer/],
    ['a step event without step', stepEvent('a', undefined), /is required for a step event/],
    ['step on an impression', stepEvent('a', 2, { type: 'impression' }), /is only for step events/],
    ['step on a close', stepEvent('a', 3, { type: 'close' }), /is only for step events/],
  ]
  for (const [what, bad, message] of cases) {
    const res = await send(app, [good, bad])
    t.equal(res.statusCode, 400, `${what}: 400`)
    t.match(
      res.json(),
      { code: 'VALIDATION_ERROR', details: [{ field: 'body.events.1.step', message }] },
      what,
    )
  }
  t.same(
    await written(app),
    { steps: [], other: [], rawEvents: 0 },
    'the good event beside them is not written',
  )
})

t.test('steps that are not counted: beyond the variant’s, and preview traffic', async (t) => {
  const { app, preview, stepEvent } = await setup(t)
  // Variant b has 2 steps: a page opened before it lost its third may still report one.
  const beyond = await send(app, [stepEvent('b', 3), stepEvent('b', 5), stepEvent('a', 3)])
  t.equal(beyond.statusCode, 202, beyond.body)
  t.same(beyond.json(), { accepted: 1, duplicates: 0, ignored: 2 }, 'taken, and said not to count')
  t.same((await written(app)).steps, [{ variant_id: 'a', step: 3, reached: 1 }])

  const previewed = await send(app, [stepEvent('a', 2, { campaignId: preview.id })])
  t.equal(previewed.statusCode, 202, previewed.body)
  t.same(previewed.json(), { accepted: 0, duplicates: 0, ignored: 1 }, 'a campaign in test: not counted')
  t.same((await written(app)).steps, [{ variant_id: 'a', step: 3, reached: 1 }], 'nothing more written')
})
