import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'

/**
 * How long an Idempotency-Key of `POST /public/v1/leads` is remembered: a retry with the same key
 * within this window answers as the first submit and stores nothing new. Browsers retry within
 * seconds or, offline, within hours; a key seen again after the window is a new submission, which
 * updates the person's lead (same campaign, same email) rather than adding one.
 */
export const LEAD_IDEMPOTENCY_DAYS = 7

/** Rows deleted per statement: each batch holds its row locks only briefly. */
const PRUNE_BATCH = 5000

/**
 * Deletes the idempotency rows older than the window, `batchSize` per statement (each its own
 * transaction), until none is left. Returns how many rows went and in how many statements.
 */
export async function pruneLeadSubmissions(
  db: Kysely<DB>,
  options: { days?: number; batchSize?: number } = {},
): Promise<{ deleted: number; batches: number }> {
  const days = options.days ?? LEAD_IDEMPOTENCY_DAYS
  const batchSize = options.batchSize ?? PRUNE_BATCH
  let deleted = 0
  let batches = 0
  for (;;) {
    const { numAffectedRows } = await sql`
      DELETE FROM lead_submissions WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM lead_submissions
        WHERE created_at < now() - make_interval(days => ${days})
        ORDER BY created_at LIMIT ${batchSize}
      ))`.execute(db)
    const count = Number(numAffectedRows ?? 0n)
    batches++
    deleted += count
    if (count < batchSize) return { deleted, batches }
  }
}
