/**
 * The statistics behind "is variant B really better?": the normal CDF, the chi-square survival
 * function, the two-proportion z-test and Pearson's chi-square test of independence, and the
 * comparison the stats answer carries. Pure functions, no dependencies: both distributions go
 * through the regularized incomplete gamma function, computed to about 1e-14 (far better than the
 * 1e-7 of the usual erf approximations), so p-values keep their precision in the tails too.
 */

/** The significance level of every comparison. */
export const ALPHA = 0.05

/** Below this expected count in any cell of the table, neither test's approximation holds. */
export const MIN_EXPECTED = 5

export const NOT_ENOUGH_DATA = 'not enough data'
export const MORE_CONVERSIONS_THAN_IMPRESSIONS = 'more conversions than impressions'

export const Z_TEST = 'two-proportion z-test (pooled)'
export const CHI_SQUARE_TEST = "Pearson's chi-square test of independence"

const EPSILON = 1e-15
const TINY = 1e-300
const MAX_ITERATIONS = 10_000

// Lanczos approximation (g = 7, n = 9): relative error below 1e-15 for positive arguments.
const LANCZOS_G = 7
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
]

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN
  if (x < 0.5) {
    // Reflection keeps the approximation where it is accurate: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  }
  const y = x - 1
  let sum = LANCZOS[0] as number
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (y + i)
  const t = y + LANCZOS_G + 0.5
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum)
}

/**
 * Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function, for a > 0, x ≥ 0.
 * Below x = a + 1 the power series of P = 1 − Q converges fast; above it, the continued fraction
 * of Q (modified Lentz), which also keeps Q's relative precision when Q is tiny.
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x) || x < 0) return Number.NaN
  if (x === 0) return 1
  if (x === Number.POSITIVE_INFINITY) return 0
  const logPrefix = -x + a * Math.log(x) - logGamma(a)
  if (x < a + 1) {
    let term = 1 / a
    let sum = term
    for (let n = 1; n < MAX_ITERATIONS; n++) {
      term *= x / (a + n)
      sum += term
      if (Math.abs(term) < Math.abs(sum) * EPSILON) break
    }
    return Math.min(1, Math.max(0, 1 - sum * Math.exp(logPrefix)))
  }
  let b = x + 1 - a
  let c = 1 / TINY
  let d = 1 / b
  let h = d
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < TINY) d = TINY
    c = b + an / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < EPSILON) break
  }
  return Math.min(1, Math.max(0, Math.exp(logPrefix) * h))
}

/** Φ(z), the standard normal CDF: Φ(z) = ½ erfc(−z/√2), with erfc(t) = Q(½, t²). */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN
  const tail = 0.5 * regularizedGammaQ(0.5, (z * z) / 2)
  return z < 0 ? tail : 1 - tail
}

/** P(|Z| ≥ |z|) for a standard normal Z: the two-sided p-value of a z statistic. */
export function twoSidedNormalP(z: number): number {
  if (Number.isNaN(z)) return Number.NaN
  return regularizedGammaQ(0.5, (z * z) / 2)
}

/** P(X ≥ x) for X chi-square distributed with df degrees of freedom: Q(df/2, x/2). */
export function chiSquareSurvival(x: number, df: number): number {
  if (!(df > 0) || Number.isNaN(x)) return Number.NaN
  if (x <= 0) return 1
  return regularizedGammaQ(df / 2, x / 2)
}

/** One variant's counts: visitors shown the popup, and those of them who converted. */
export interface Group {
  impressions: number
  conversions: number
}

/** The smallest expected count of the variants × (converted, did not) table under independence. */
export function minExpectedCount(groups: Group[]): number {
  const n = groups.reduce((sum, g) => sum + g.impressions, 0)
  const converted = groups.reduce((sum, g) => sum + g.conversions, 0)
  if (n === 0) return 0
  const column = Math.min(converted, n - converted)
  return Math.min(...groups.map((g) => (g.impressions * column) / n))
}

/**
 * Two-proportion z-test with the pooled proportion: z = (p₂ − p₁) / √(p(1 − p)(1/n₁ + 1/n₂)),
 * positive when the second group converts better; p two-sided. Null when undefined (a group with
 * no impressions, or nobody or everybody converted).
 */
export function twoProportionZTest(first: Group, second: Group): { z: number; pValue: number } | null {
  const n1 = first.impressions
  const n2 = second.impressions
  if (n1 <= 0 || n2 <= 0) return null
  const pooled = (first.conversions + second.conversions) / (n1 + n2)
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
  if (!(se > 0)) return null
  const z = (second.conversions / n2 - first.conversions / n1) / se
  return { z, pValue: twoSidedNormalP(z) }
}

/**
 * Pearson's chi-square test of independence on the k × 2 table of conversions and
 * non-conversions: χ² = Σ (O − E)² / E, df = k − 1. Null when undefined (an empty row or column).
 */
export function chiSquareTest(groups: Group[]): { chiSquare: number; df: number; pValue: number } | null {
  const n = groups.reduce((sum, g) => sum + g.impressions, 0)
  const converted = groups.reduce((sum, g) => sum + g.conversions, 0)
  const columns = [converted, n - converted]
  if (groups.length < 2 || groups.some((g) => g.impressions <= 0) || columns.some((c) => c <= 0)) return null
  let chiSquare = 0
  for (const g of groups) {
    const observed = [g.conversions, g.impressions - g.conversions]
    for (let j = 0; j < 2; j++) {
      const expected = (g.impressions * (columns[j] as number)) / n
      chiSquare += ((observed[j] as number) - expected) ** 2 / expected
    }
  }
  const df = groups.length - 1
  return { chiSquare, df, pValue: chiSquareSurvival(chiSquare, df) }
}

export interface Comparison {
  test: typeof Z_TEST | typeof CHI_SQUARE_TEST
  variantIds: string[]
  leader: string | null
  alpha: number
  z: number | null
  chiSquare: number | null
  df: number
  pValue: number | null
  significant: boolean
  reason: string | null
}

/**
 * Which of two to four variants converts best, and whether the differences are beyond chance at
 * ALPHA: the z-test for two, the chi-square test for three or four. The statistic and p-value are
 * reported whenever they are defined; `significant` is true only when, in addition, every variant
 * has impressions and every expected cell count reaches MIN_EXPECTED (`reason` says why not).
 */
export function compareVariants(variants: Array<Group & { id: string }>): Comparison | null {
  if (variants.length < 2) return null
  const rate = (g: Group) => (g.impressions > 0 ? g.conversions / g.impressions : 0)
  const best = Math.max(...variants.map(rate))
  const ahead = variants.filter((v) => v.impressions > 0 && rate(v) === best)
  // A tie at the top (all at zero included) puts nobody ahead.
  const leader = ahead.length === 1 ? (ahead[0] as { id: string }).id : null

  const twoGroups = variants.length === 2
  // Counts that cannot be proportions (an impression lost, its conversion counted) get no test.
  const impossible = variants.some((v) => v.conversions > v.impressions || v.conversions < 0)
  const zResult =
    twoGroups && !impossible ? twoProportionZTest(variants[0] as Group, variants[1] as Group) : null
  const chiResult = twoGroups || impossible ? null : chiSquareTest(variants)
  const pValue = zResult?.pValue ?? chiResult?.pValue ?? null

  let reason: string | null = null
  if (impossible) reason = MORE_CONVERSIONS_THAN_IMPRESSIONS
  else if (variants.some((v) => v.impressions <= 0) || minExpectedCount(variants) < MIN_EXPECTED) {
    reason = NOT_ENOUGH_DATA
  }
  return {
    test: twoGroups ? Z_TEST : CHI_SQUARE_TEST,
    variantIds: variants.map((v) => v.id),
    leader,
    alpha: ALPHA,
    z: zResult?.z ?? null,
    chiSquare: chiResult?.chiSquare ?? null,
    df: variants.length - 1,
    pValue,
    significant: reason === null && pValue !== null && pValue < ALPHA,
    reason,
  }
}
