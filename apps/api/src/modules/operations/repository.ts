import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'

/** Deletes invites never accepted that expired more than `keptDays` ago. Returns how many. */
export async function deleteExpiredInvites(db: Kysely<DB>, keptDays: number): Promise<number> {
  const result = await db
    .deleteFrom('team_invites')
    .where('accepted_at', 'is', null)
    .where('expires_at', '<', sql<Date>`now() - make_interval(days => ${keptDays})`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** Deletes the outbound rate windows that began more than an hour ago. */
export async function deleteOldRateWindows(db: Kysely<DB>): Promise<void> {
  await db
    .deleteFrom('outbound_rate_windows')
    .where('window_start', '<', sql<Date>`now() - interval '1 hour'`)
    .execute()
}
