import type { Kysely, Transaction } from 'kysely'
import type { DB } from './schema.ts'

/** Registers work to run once the transaction has committed (never if it rolls back). */
export type AfterCommit = (work: () => Promise<unknown> | unknown) => void

/**
 * Runs `fn` in a transaction; the service that calls it owns it. Cache invalidations go through
 * `afterCommit`: run before the commit, another worker could re-read the old row and cache it
 * again. After-commit work that fails is reported to `onError` (required: a failure nobody hears
 * of is a stale cache nobody explains), not to the caller: the change is already committed and
 * the cache entry expires by its TTL. The API's services call it through `inTransaction`, which logs.
 */
export async function transaction<T>(
  db: Kysely<DB>,
  fn: (trx: Transaction<DB>, afterCommit: AfterCommit) => Promise<T>,
  onError: (error: unknown) => void,
): Promise<T> {
  const pending: Array<() => Promise<unknown> | unknown> = []
  const result = await db.transaction().execute((trx) => fn(trx, (work) => pending.push(work)))
  for (const work of pending) {
    try {
      await work()
    } catch (error) {
      onError(error)
    }
  }
  return result
}
