import type { DB } from '@nudge/db'
import { type Kysely, sql, type Transaction } from 'kysely'

export type EventType = 'impression' | 'close' | 'conversion' | 'step'

/** One validated visitor event, as it is stored. */
export interface StoredEvent {
  /**
   * The UTC day 'YYYY-MM-DD' of the time `eventId` carries (a UUIDv7): the day it is counted on
   * and stored under. Always the same day for the same id, so (day, eventId) is one key.
   */
  day: string
  /** What counts once: the event's id, or for an impression a key of its campaign and page view. */
  eventId: string
  campaignId: string
  variantId: string
  type: EventType
  /** A step event's step moved on to (1-based, 2 to 5); null for the other types. */
  step: number | null
  /** ISO country from the edge, '' when unknown. */
  country: string
  siteId: string
}

/**
 * One statement, so one transaction: the raw events that are new, the daily counts of exactly
 * those (step events in campaign_step_stats_daily, the others in campaign_stats_daily), and the
 * sites' first_seen_at. Returns the duplicate eventIds.
 *
 * New means not in the primary key (day, event_id): the day is a function of the id (its
 * UUIDv7 time, events.ts), so a resend, a repeat on another worker and two writes of one id
 * racing each other all meet on that key, and ON CONFLICT DO NOTHING lets exactly one count.
 * The caller passes the events in (day, eventId) order, the primary key's: writes of other
 * workers then take their locks in the same order.
 */
export async function storeEvents(
  db: Kysely<DB>,
  events: StoredEvent[],
  siteIds: string[],
): Promise<Set<string>> {
  const column = <K extends keyof StoredEvent>(name: K) => events.map((event) => event[name])
  const { rows } = await sql<{ event_id: string }>`
    WITH batch AS (
      SELECT * FROM unnest(
        ${column('day')}::date[], ${column('eventId')}::uuid[], ${column('campaignId')}::uuid[],
        ${column('variantId')}::text[], ${column('type')}::text[], ${column('country')}::text[],
        ${column('step')}::smallint[]
      ) WITH ORDINALITY AS b(day, event_id, campaign_id, variant_id, type, country, step, n)
    ),
    fresh AS (
      INSERT INTO visitor_events (day, event_id)
      SELECT b.day, b.event_id FROM batch b
      ORDER BY b.n
      ON CONFLICT DO NOTHING
      RETURNING event_id
    ),
    counted AS (
      INSERT INTO campaign_stats_daily
        (campaign_id, variant_id, day, country, impressions, closes, conversions)
      SELECT b.campaign_id, b.variant_id, b.day, b.country,
        count(*) FILTER (WHERE b.type = 'impression'),
        count(*) FILTER (WHERE b.type = 'close'),
        count(*) FILTER (WHERE b.type = 'conversion')
      FROM fresh JOIN batch b USING (event_id)
      WHERE b.type <> 'step'
      GROUP BY b.campaign_id, b.variant_id, b.day, b.country
      -- A campaign deleted since the request was checked: its events count nowhere.
      HAVING EXISTS (SELECT 1 FROM campaigns c WHERE c.id = b.campaign_id)
      ORDER BY b.campaign_id, b.variant_id, b.day, b.country
      ON CONFLICT (campaign_id, variant_id, day, country) DO UPDATE SET
        impressions = campaign_stats_daily.impressions + EXCLUDED.impressions,
        closes = campaign_stats_daily.closes + EXCLUDED.closes,
        conversions = campaign_stats_daily.conversions + EXCLUDED.conversions
    ),
    stepped AS (
      INSERT INTO campaign_step_stats_daily (campaign_id, variant_id, day, step, reached)
      SELECT b.campaign_id, b.variant_id, b.day, b.step, count(*)
      FROM fresh JOIN batch b USING (event_id)
      WHERE b.type = 'step'
      GROUP BY b.campaign_id, b.variant_id, b.day, b.step
      HAVING EXISTS (SELECT 1 FROM campaigns c WHERE c.id = b.campaign_id)
      ORDER BY b.campaign_id, b.variant_id, b.day, b.step
      ON CONFLICT (campaign_id, variant_id, day, step) DO UPDATE SET
        reached = campaign_step_stats_daily.reached + EXCLUDED.reached
    ),
    seen AS (
      UPDATE sites SET first_seen_at = now()
      WHERE id = ANY(${siteIds}::uuid[]) AND first_seen_at IS NULL
    )
    SELECT b.event_id::text AS event_id FROM batch b
    WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.event_id = b.event_id)
  `.execute(db)
  return new Set(rows.map((row) => row.event_id))
}

// Any constant of our own: several workers maintaining the partitions at once take turns.
const PARTITIONS_LOCK_KEY = 7_405_883_201

/**
 * Takes the partitions' advisory lock for the rest of the transaction, and bounds how long its
 * statements wait for a table lock: creating or dropping a partition locks the parent table against
 * inserts, so it waits a bounded time behind a long statement rather than queue every event write
 * behind it.
 */
export async function lockEventPartitions(trx: Transaction<DB>): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${PARTITIONS_LOCK_KEY}::bigint)`.execute(trx)
  await sql`SET LOCAL lock_timeout = '5s'`.execute(trx)
}

/** The names of `visitor_events`' partitions. */
export async function listEventPartitions(db: Kysely<DB>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'visitor_events'::regclass`.execute(db)
  return rows.map((row) => row.name)
}

export async function dropEventPartition(db: Kysely<DB>, name: string): Promise<void> {
  await sql`DROP TABLE IF EXISTS ${sql.id(name)}`.execute(db)
}

/** The partition `name` of the days from `day` (included) to `next` (excluded), 'YYYY-MM-DD'. */
export async function createEventPartition(
  db: Kysely<DB>,
  name: string,
  day: string,
  next: string,
): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS ${sql.id(name)} PARTITION OF visitor_events
    FOR VALUES FROM (${sql.lit(day)}) TO (${sql.lit(next)})`.execute(db)
}
