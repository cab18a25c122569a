import { Type } from 'typebox'
import { Input, Nullable } from '../../schemas.ts'
import { CHI_SQUARE_TEST, Z_TEST } from './significance.ts'

export const StatsQuery = Input({
  from: Type.Optional(
    Type.String({
      format: 'date',
      description: 'first calendar date (YYYY-MM-DD) in `tz`; default: 29 days before `to`',
      examples: ['2026-11-01'],
    }),
  ),
  to: Type.Optional(
    Type.String({
      format: 'date',
      description: 'last calendar date (YYYY-MM-DD) in `tz`, at most 365 days after `from`; default: today',
      examples: ['2026-11-30'],
    }),
  ),
  tz: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'IANA time zone in which `from`, `to` and today are read; default UTC',
      examples: ['Europe/Berlin'],
    }),
  ),
})

const Count = Type.Integer({ minimum: 0 })
const ConversionRate = Type.Number({
  minimum: 0,
  description: 'conversions / impressions; 0 when there were no impressions',
})

const Counts = {
  impressions: Count,
  closes: Count,
  conversions: Count,
  leads: Count,
  conversionRate: ConversionRate,
}

const Day = Type.String({ format: 'date', description: 'a UTC day (YYYY-MM-DD)' })

export const DayStats = Type.Object({ day: Day, ...Counts })

export const StepReach = Type.Object({
  step: Type.Integer({ minimum: 2, description: 'the 1-based number of the step' }),
  reached: Type.Integer({
    minimum: 0,
    description: 'how many times visitors moved on to this step (each step event counted once)',
  }),
})

export const VariantStats = Type.Object({
  id: Type.String(),
  name: Type.String({ description: 'the variant’s name; its id when it no longer exists in the campaign' }),
  weight: Nullable(Type.Integer(), {
    description: 'share of visitors in percent; null for a variant that no longer exists in the campaign',
  }),
  ...Counts,
  steps: Type.Array(StepReach, {
    description:
      'step reach, from step 2 to the variant’s last (and any later step with counts, from before an edit); empty for a one-step variant. Step 1 is reached by every impression',
  }),
  days: Type.Array(DayStats, {
    description: 'every UTC day from utcFrom to utcTo, days without counts as zeros',
  }),
})

export const CountryStats = Type.Object({
  country: Nullable(Type.String(), {
    description: 'ISO 3166-1 alpha-2 code of the visitors’ country; null when unknown',
  }),
  impressions: Count,
  conversions: Count,
  leads: Count,
  conversionRate: ConversionRate,
})

export const Comparison = Type.Union(
  [
    Type.Object({
      test: Type.Union([Type.Literal(Z_TEST), Type.Literal(CHI_SQUARE_TEST)], {
        description: `${Z_TEST} for two variants; ${CHI_SQUARE_TEST} (conversions vs non-conversions) for three or four`,
      }),
      variantIds: Type.Array(Type.String(), {
        description:
          'the variants compared: those of the campaign now, except ones at weight 0 without impressions in the range',
      }),
      leader: Nullable(Type.String(), {
        description:
          'the variant with the highest conversion rate; null when none has impressions or the top is a tie',
      }),
      alpha: Type.Number({ description: 'the significance level' }),
      z: Nullable(Type.Number(), {
        description:
          'z-test only: (rate of the second − rate of the first) / pooled standard error; null when undefined',
      }),
      chiSquare: Nullable(Type.Number(), {
        description: 'chi-square test only: Pearson’s χ²; null when undefined',
      }),
      df: Type.Integer({ description: 'degrees of freedom: variants − 1' }),
      pValue: Nullable(Type.Number(), {
        description: 'two-sided p-value (z-test) or P(χ² ≥ observed); null when the statistic is undefined',
      }),
      significant: Type.Boolean({
        description:
          'p < alpha, with enough data: every variant has impressions and every expected count is 5 or more',
      }),
      reason: Nullable(Type.String(), {
        description:
          'why the result cannot be significant: "not enough data", or counts that are not proportions',
      }),
    }),
    Type.Null(),
  ],
  {
    description:
      'which variant is ahead and whether that is beyond chance; null with fewer than two variants',
  },
)

export const CampaignStats = Type.Object(
  {
    campaignId: Type.String({ format: 'uuid' }),
    from: Type.String({ format: 'date' }),
    to: Type.String({ format: 'date' }),
    tz: Type.String(),
    dayBoundary: Type.Literal('UTC', {
      description:
        'counts are kept per UTC day: the answer covers the UTC days that overlap from..to in tz (utcFrom..utcTo)',
    }),
    utcFrom: Type.String({ format: 'date', description: 'the first UTC day counted' }),
    utcTo: Type.String({ format: 'date', description: 'the last UTC day counted' }),
    totals: Type.Object(Counts),
    variants: Type.Array(VariantStats, {
      description: 'the campaign’s variants in its order, then variants removed since that have counts',
    }),
    countries: Type.Array(CountryStats, { description: 'most impressions first' }),
    comparison: Comparison,
  },
  {
    $id: 'CampaignStats',
    description: 'What visitors did with a campaign, per variant, UTC day and country',
  },
)
