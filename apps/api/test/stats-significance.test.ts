import t, { type Test } from 'tap'
import {
  CHI_SQUARE_TEST,
  chiSquareSurvival,
  chiSquareTest,
  compareVariants,
  logGamma,
  NOT_ENOUGH_DATA,
  normalCdf,
  twoProportionZTest,
  twoSidedNormalP,
  Z_TEST,
} from '../src/modules/stats/significance.ts'

// Reference values from tables and SciPy (scipy.stats.norm.cdf, chi2.sf, chi2_contingency).

function near(t: Test, actual: number | null | undefined, expected: number, tolerance: number, what: string) {
  t.ok(
    typeof actual === 'number' && Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} within ${tolerance} of ${expected}`,
  )
}

/** Relative closeness, for values far out in a tail where absolute error says nothing. */
function relativelyNear(t: Test, actual: number, expected: number, relative: number, what: string) {
  t.ok(
    Math.abs(actual - expected) <= relative * expected,
    `${what}: ${actual} within ${relative} of ${expected}`,
  )
}

t.test('normal CDF', async (t) => {
  near(t, normalCdf(1.96), 0.9750021, 1e-7, 'Φ(1.96)')
  near(t, normalCdf(1.96), 0.9750021048517795, 1e-12, 'Φ(1.96), to 1e-12')
  near(t, normalCdf(-1.96), 0.024997895148220435, 1e-12, 'Φ(−1.96)')
  near(t, normalCdf(0), 0.5, 1e-15, 'Φ(0)')
  near(t, normalCdf(1), 0.8413447460685429, 1e-12, 'Φ(1)')
  near(t, normalCdf(3), 0.9986501019683699, 1e-12, 'Φ(3)')
  relativelyNear(t, normalCdf(-5), 2.866515718791933e-7, 1e-9, 'Φ(−5), relative')
  relativelyNear(t, normalCdf(-8), 6.22096057427178e-16, 1e-9, 'Φ(−8), relative')
  for (const z of [0.1, 0.5, 1.2, 2.33, 4]) {
    near(t, normalCdf(z) + normalCdf(-z), 1, 1e-14, `Φ(${z}) + Φ(−${z}) = 1`)
  }
  let previous = 0
  let increasing = true
  for (let z = -10; z <= 10; z += 0.01) {
    const value = normalCdf(z)
    if (value < previous) increasing = false
    previous = value
  }
  t.ok(increasing, 'Φ never decreases from −10 to 10')
  near(t, twoSidedNormalP(1.959963984540054), 0.05, 1e-12, 'two-sided p of the 97.5% quantile')
  t.ok(Number.isNaN(normalCdf(Number.NaN)), 'NaN in, NaN out')
})

t.test('chi-square survival function', async (t) => {
  near(t, chiSquareSurvival(3.841, 1), 0.05, 1e-4, 'χ² = 3.841, df 1')
  near(t, chiSquareSurvival(5.991, 2), 0.05, 1e-4, 'χ² = 5.991, df 2')
  near(t, chiSquareSurvival(7.815, 3), 0.05, 1e-4, 'χ² = 7.815, df 3')
  near(t, chiSquareSurvival(3.841458820694124, 1), 0.05, 1e-12, 'the exact 95% quantile, df 1')
  near(t, chiSquareSurvival(5.991464547107979, 2), 0.05, 1e-12, 'the exact 95% quantile, df 2')
  near(t, chiSquareSurvival(7.814727903251178, 3), 0.05, 1e-12, 'the exact 95% quantile, df 3')
  near(t, chiSquareSurvival(1, 1), 0.31731050786291115, 1e-12, 'χ² = 1, df 1')
  near(t, chiSquareSurvival(0.5, 3), 0.9188914116546758, 1e-12, 'χ² = 0.5, df 3 (series branch)')
  relativelyNear(t, chiSquareSurvival(50, 3), 7.989179244951495e-11, 1e-9, 'χ² = 50, df 3 (deep tail)')
  // Closed forms: df 2 → e^(−x/2); df 4 → e^(−x/2)(1 + x/2).
  for (const x of [0.2, 1, 3, 10, 40]) {
    relativelyNear(t, chiSquareSurvival(x, 2), Math.exp(-x / 2), 1e-12, `df 2, χ² = ${x}`)
    relativelyNear(t, chiSquareSurvival(x, 4), Math.exp(-x / 2) * (1 + x / 2), 1e-12, `df 4, χ² = ${x}`)
  }
  t.equal(chiSquareSurvival(0, 3), 1, 'χ² = 0 → p = 1')
  // df 1: P(χ² ≥ z²) is the two-sided normal p of z.
  near(t, chiSquareSurvival(2.5 ** 2, 1), 2 * normalCdf(-2.5), 1e-14, 'df 1 agrees with the normal')
  near(t, logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14, 'ln Γ(½)')
  near(t, logGamma(10), Math.log(362880), 1e-12, 'ln Γ(10)')
})

t.test('two variants: pooled two-proportion z-test', async (t) => {
  const a = { id: 'a', impressions: 10_000, conversions: 200 }
  const b = { id: 'b', impressions: 10_000, conversions: 260 }
  const result = twoProportionZTest(a, b)
  near(t, result?.z, 2.83, 0.005, 'z')
  near(t, result?.pValue, 0.0047, 0.00005, 'two-sided p')
  // The same table through chi-square: χ² = z² for 2 × 2.
  near(t, chiSquareTest([a, b])?.chiSquare, (result?.z ?? 0) ** 2, 1e-9, 'χ² = z²')

  t.match(compareVariants([a, b]), {
    test: Z_TEST,
    variantIds: ['a', 'b'],
    leader: 'b',
    alpha: 0.05,
    chiSquare: null,
    df: 1,
    significant: true,
    reason: null,
  })
  t.ok((compareVariants([b, a])?.z ?? 0) < 0, 'z is negative when the first variant converts better')
  t.equal(compareVariants([b, a])?.leader, 'b', 'the leader does not depend on the order')

  const equal = compareVariants([a, { id: 'b', impressions: 10_000, conversions: 200 }])
  t.match(equal, { z: 0, pValue: 1, significant: false, leader: null, reason: null }, 'equal rates')

  // Close, but not beyond chance (SciPy: p = 0.0804).
  const close = compareVariants([
    { id: 'a', impressions: 2000, conversions: 30 },
    { id: 'b', impressions: 2000, conversions: 45 },
  ])
  near(t, close?.pValue, 0.08037389438590598, 1e-9, 'p of 30/2000 vs 45/2000')
  t.match(close, { leader: 'b', significant: false, reason: null })
})

t.test('too few data are never called significant', async (t) => {
  // p ≈ 0.0016, but four conversions are expected per variant: below five.
  const few = compareVariants([
    { id: 'a', impressions: 20, conversions: 0 },
    { id: 'b', impressions: 20, conversions: 8 },
  ])
  near(t, few?.pValue, 0.001565402258002548, 1e-9, 'the p-value is still reported')
  t.match(few, { significant: false, reason: NOT_ENOUGH_DATA, leader: 'b' })

  const empty = compareVariants([
    { id: 'a', impressions: 5000, conversions: 100 },
    { id: 'b', impressions: 0, conversions: 0 },
  ])
  t.match(empty, { significant: false, reason: NOT_ENOUGH_DATA, z: null, pValue: null, leader: 'a' })

  const nothing = compareVariants([
    { id: 'a', impressions: 0, conversions: 0 },
    { id: 'b', impressions: 0, conversions: 0 },
    { id: 'c', impressions: 0, conversions: 0 },
  ])
  t.match(nothing, {
    test: CHI_SQUARE_TEST,
    significant: false,
    reason: NOT_ENOUGH_DATA,
    leader: null,
    pValue: null,
  })

  const noConversions = compareVariants([
    { id: 'a', impressions: 5000, conversions: 0 },
    { id: 'b', impressions: 5000, conversions: 0 },
  ])
  t.match(noConversions, { significant: false, reason: NOT_ENOUGH_DATA, leader: null })

  const impossible = compareVariants([
    { id: 'a', impressions: 5000, conversions: 100 },
    { id: 'b', impressions: 50, conversions: 60 },
    { id: 'c', impressions: 5000, conversions: 120 },
  ])
  t.match(impossible, { significant: false, reason: 'more conversions than impressions', chiSquare: null })

  t.equal(
    compareVariants([{ id: 'a', impressions: 100, conversions: 5 }]),
    null,
    'one variant: no comparison',
  )
})

t.test("three or four variants: Pearson's chi-square test of independence", async (t) => {
  const three = compareVariants([
    { id: 'a', impressions: 1000, conversions: 20 },
    { id: 'b', impressions: 1000, conversions: 30 },
    { id: 'c', impressions: 1000, conversions: 45 },
  ])
  t.match(three, { test: CHI_SQUARE_TEST, df: 2, z: null, leader: 'c', significant: true, reason: null })
  near(t, three?.chiSquare, 10.327022375215146, 1e-9, 'χ²')
  near(t, three?.pValue, 0.005721574852579422, 1e-12, 'p')

  const four = compareVariants([
    { id: 'a', impressions: 1000, conversions: 50 },
    { id: 'b', impressions: 1000, conversions: 52 },
    { id: 'c', impressions: 1000, conversions: 48 },
    { id: 'd', impressions: 1000, conversions: 51 },
  ])
  t.match(four, { df: 3, leader: 'b', significant: false, reason: null })
  near(t, four?.chiSquare, 0.18334230401035098, 1e-9, 'χ²')
  near(t, four?.pValue, 0.9802325370679911, 1e-12, 'p')

  const tie = compareVariants([
    { id: 'a', impressions: 1000, conversions: 60 },
    { id: 'b', impressions: 1000, conversions: 60 },
    { id: 'c', impressions: 1000, conversions: 20 },
  ])
  t.match(tie, { leader: null, significant: true }, 'two at the top: nobody is ahead, yet the rates differ')
})
