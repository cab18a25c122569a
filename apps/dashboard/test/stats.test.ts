import t from 'tap'
import {
  addDays,
  type CampaignStats,
  countryName,
  dailyTotals,
  dayLabel,
  hasCounts,
  lastDays,
  rangeProblem,
  shortDayLabel,
  stepReach,
  todayIn,
  type VariantStats,
  verdict,
} from '../src/views/stats/stats.ts'

function day(date: string, impressions: number, conversions: number, closes = 0, leads = 0) {
  return {
    day: date,
    impressions,
    conversions,
    closes,
    leads,
    conversionRate: impressions ? conversions / impressions : 0,
  }
}

function variant(
  id: string,
  name: string,
  days: ReturnType<typeof day>[],
  steps: VariantStats['steps'] = [],
) {
  const sum = (key: 'impressions' | 'conversions' | 'closes' | 'leads') =>
    days.reduce((total, d) => total + d[key], 0)
  return {
    id,
    name,
    weight: 50,
    days,
    steps,
    impressions: sum('impressions'),
    conversions: sum('conversions'),
    closes: sum('closes'),
    leads: sum('leads'),
    conversionRate: sum('impressions') ? sum('conversions') / sum('impressions') : 0,
  } satisfies VariantStats
}

type Comparison = NonNullable<CampaignStats['comparison']>
const comparison = (over: Partial<Comparison>): Comparison => ({
  alpha: 0.05,
  chiSquare: null,
  df: 1,
  leader: 'b',
  pValue: 0.01,
  reason: null,
  significant: true,
  test: 'two-proportion z-test (pooled)',
  variantIds: ['a', 'b'],
  z: 2.5,
  ...over,
})

t.test('the range is read in the browser zone: today there, and the last n days', async (t) => {
  // 23:30 UTC on 1 March is already 2 March in Berlin and still 1 March in New York.
  const now = new Date('2026-03-01T23:30:00Z')
  t.equal(todayIn('Europe/Berlin', now), '2026-03-02')
  t.equal(todayIn('America/New_York', now), '2026-03-01')
  t.same(lastDays(7, 'Europe/Berlin', now), { from: '2026-02-24', to: '2026-03-02' })
  t.equal(addDays('2024-02-28', 1), '2024-02-29', 'leap day')
  t.equal(addDays('2026-01-01', -1), '2025-12-31')
})

t.test('a range the API would refuse is named before asking', async (t) => {
  t.equal(rangeProblem('2026-01-01', '2026-01-31'), null)
  t.match(rangeProblem('2026-02-01', '2026-01-31'), /not be after/)
  t.match(rangeProblem('', '2026-01-31'), /both dates/)
  t.equal(rangeProblem('2025-01-01', '2026-01-01'), null, '366 days')
  t.match(rangeProblem('2024-12-31', '2026-01-01'), /366/)
})

t.test('the chart adds the variants up per day, in order, with the day’s rate', async (t) => {
  const stats = {
    variants: [
      variant('a', 'A', [day('2026-03-01', 10, 1), day('2026-03-02', 0, 0)]),
      variant('b', 'B', [day('2026-03-01', 30, 3, 2, 1), day('2026-03-02', 4, 2)]),
    ],
  }
  const days = dailyTotals(stats)
  t.same(
    days.map((d) => [d.day, d.impressions, d.conversions, d.closes, d.leads]),
    [
      ['2026-03-01', 40, 4, 2, 1],
      ['2026-03-02', 4, 2, 0, 0],
    ],
  )
  t.equal(days[0]?.conversionRate, 0.1)
  t.equal(days[1]?.conversionRate, 0.5)
  t.same(dailyTotals({ variants: [] }), [])
})

t.test('nothing counted is an empty state, anything counted is not', async (t) => {
  const zero = { impressions: 0, closes: 0, conversions: 0, leads: 0, conversionRate: 0 }
  t.notOk(hasCounts({ totals: zero }))
  t.ok(hasCounts({ totals: { ...zero, closes: 1 } }))
})

t.test('step reach starts with every impression; one-step variants have none', async (t) => {
  t.same(stepReach({ impressions: 10, steps: [] }), [])
  t.same(
    stepReach({
      impressions: 10,
      steps: [
        { step: 2, reached: 4 },
        { step: 3, reached: 1 },
      ],
    }),
    [
      { step: 1, reached: 10, share: 1 },
      { step: 2, reached: 4, share: 0.4 },
      { step: 3, reached: 1, share: 0.1 },
    ],
  )
  t.same(stepReach({ impressions: 0, steps: [{ step: 2, reached: 0 }] }), [
    { step: 1, reached: 0, share: 0 },
    { step: 2, reached: 0, share: 0 },
  ])
})

t.test('the verdict in words', async (t) => {
  const variants = [
    variant('a', 'Discount', [day('2026-03-01', 100, 5)]),
    variant('b', 'Newsletter', [day('2026-03-01', 100, 20)]),
  ]
  const none = verdict({ comparison: null, variants: [variants[0] as VariantStats] })
  t.equal(none.tone, 'none')
  t.match(none.detail, /one variant/)
  t.equal(none.headline, 'not running')

  const win = verdict({ comparison: comparison({}), variants })
  t.equal(win.tone, 'winner')
  t.equal(win.headline, 'Newsletter wins')
  t.match(win.detail, /Discount 5 %, Newsletter 20 %/)
  t.match(win.detail, /beyond chance at 95 % confidence \(p = 0.01, a two-proportion z-test\)/)

  const chance = verdict({ comparison: comparison({ significant: false, pValue: 0.31 }), variants })
  t.equal(chance.tone, 'undecided')
  t.equal(chance.headline, 'Newsletter is ahead, not yet a winner')
  t.match(chance.detail, /could still be chance.*p = 0.31/)

  const early = verdict({
    comparison: comparison({ significant: false, pValue: null, reason: 'not enough data' }),
    variants,
  })
  t.match(early.detail, /not enough data/)
  t.match(early.detail, /at least 5 conversions/)

  const odd = verdict({
    comparison: comparison({ significant: false, reason: 'more conversions than impressions' }),
    variants,
  })
  t.match(odd.detail, /No verdict can be drawn: more conversions than impressions/)

  const tie = verdict({ comparison: comparison({ leader: null, significant: false }), variants })
  t.equal(tie.headline, 'No variant is ahead')
  const unseen = verdict({
    comparison: comparison({ leader: null, significant: false, reason: 'not enough data' }),
    variants: [variant('a', 'A', []), variant('b', 'B', [])],
  })
  t.match(unseen.detail, /No variant has been shown yet/)

  const three = verdict({
    comparison: comparison({
      test: "Pearson's chi-square test of independence",
      pValue: 0.0001,
      variantIds: ['a', 'b'],
    }),
    variants,
  })
  t.match(three.detail, /p < 0.001, a chi-square test/)
})

t.test('days are calendar dates, written the same in every zone', async (t) => {
  t.equal(dayLabel('2026-03-01'), '1 Mar 2026')
  t.equal(shortDayLabel('2026-12-31'), '31 Dec')
})

t.test('countries by name', async (t) => {
  t.equal(countryName('DE'), 'Germany')
  t.equal(countryName(null), 'Unknown')
})
