import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'

/**
 * `visitor_events` only exists to count each eventId once. Events are accepted up to 7 days old
 * and 5 minutes ahead, so a resend can only land in the last 8 UTC days: partitions are kept from
 * 8 days back to 3 days ahead (the margin covers a few missed runs), and older days dropped whole.
 */
export const KEEP_DAYS_BACK = 8
export const CREATE_DAYS_AHEAD = 3

const DAY_MS = 86_400_000
const PARTITION_NAME = /^visitor_events_(\d{4})(\d{2})(\d{2})$/
// Any constant of our own: several workers running this at once take turns.
const LOCK_KEY = 7_405_883_201

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const partitionName = (day: string) => `visitor_events_${day.replaceAll('-', '')}`

/**
 * Creates the missing daily partitions `visitor_events_YYYYMMDD` for today−8 … today+3 (UTC) and
 * drops older ones, in one transaction under an advisory lock. Safe to run from any number of
 * workers at once and as often as wanted; returns the partitions it created and dropped.
 */
export async function ensureEventPartitions(
  db: Kysely<DB>,
  today: Date = new Date(),
): Promise<{ created: string[]; dropped: string[] }> {
  const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())
  const oldest = isoDay(midnight - KEEP_DAYS_BACK * DAY_MS)
  const wanted: string[] = []
  for (let offset = -KEEP_DAYS_BACK; offset <= CREATE_DAYS_AHEAD; offset++) {
    wanted.push(isoDay(midnight + offset * DAY_MS))
  }

  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${LOCK_KEY}::bigint)`.execute(trx)
    // Creating or dropping a partition locks the parent table against inserts: wait a bounded
    // time behind a long statement rather than queue every event write behind us.
    await sql`SET LOCAL lock_timeout = '5s'`.execute(trx)
    const { rows } = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'visitor_events'::regclass`.execute(trx)
    const existing = new Set(rows.map((row) => row.name))

    const dropped: string[] = []
    for (const name of [...existing].sort()) {
      const match = PARTITION_NAME.exec(name)
      if (match && `${match[1]}-${match[2]}-${match[3]}` < oldest) {
        await sql`DROP TABLE IF EXISTS ${sql.id(name)}`.execute(trx)
        dropped.push(name)
      }
    }
    const created: string[] = []
    for (const day of wanted) {
      const name = partitionName(day)
      if (existing.has(name)) continue
      const next = isoDay(Date.parse(`${day}T00:00:00Z`) + DAY_MS)
      await sql`CREATE TABLE IF NOT EXISTS ${sql.id(name)} PARTITION OF visitor_events
        FOR VALUES FROM (${sql.lit(day)}) TO (${sql.lit(next)})`.execute(trx)
      created.push(name)
    }
    return { created, dropped }
  })
}
