import type { Deps } from '../../deps.ts'
import { deleteLeadSubmissionsOlderThan } from './lead-repository.ts'

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
  deps: Deps,
  { days = LEAD_IDEMPOTENCY_DAYS, batchSize = PRUNE_BATCH }: { days?: number; batchSize?: number } = {},
): Promise<{ deleted: number; batches: number }> {
  let deleted = 0
  let batches = 0
  for (;;) {
    const count = await deleteLeadSubmissionsOlderThan(deps.db, days, batchSize)
    batches++
    deleted += count
    if (count < batchSize) return { deleted, batches }
  }
}
