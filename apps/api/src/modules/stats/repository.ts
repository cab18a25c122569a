import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'

// sum() of bigint is numeric (read as a string); cast back to bigint, which db.ts reads as a number.
const counts = [
  sql<number>`sum(impressions)::bigint`.as('impressions'),
  sql<number>`sum(closes)::bigint`.as('closes'),
  sql<number>`sum(conversions)::bigint`.as('conversions'),
  sql<number>`sum(leads)::bigint`.as('leads'),
] as const

/** A campaign's counts per variant and UTC day (countries added up), for days from..to. */
export async function countsByVariantAndDay(db: Kysely<DB>, campaignId: string, from: string, to: string) {
  return db
    .selectFrom('campaign_stats_daily')
    .select(['variant_id', 'day', ...counts])
    .where('campaign_id', '=', campaignId)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .groupBy(['variant_id', 'day'])
    .execute()
}

/** A campaign's counts per visitor country ('' = unknown; variants and days added up). */
export async function countsByCountry(db: Kysely<DB>, campaignId: string, from: string, to: string) {
  return db
    .selectFrom('campaign_stats_daily')
    .select(['country', ...counts])
    .where('campaign_id', '=', campaignId)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .groupBy('country')
    .execute()
}

/** A campaign's step reach per variant and step (days added up), for days from..to. */
export async function stepsByVariant(db: Kysely<DB>, campaignId: string, from: string, to: string) {
  return db
    .selectFrom('campaign_step_stats_daily')
    .select(['variant_id', 'step', sql<number>`sum(reached)::bigint`.as('reached')])
    .where('campaign_id', '=', campaignId)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .groupBy(['variant_id', 'step'])
    .execute()
}
