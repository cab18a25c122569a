import type { Deps } from '../../deps.ts'
import * as operations from './repository.ts'

/** Expired invites are kept this long (the dashboard shows them as expired), then deleted. */
const EXPIRED_INVITES_KEPT_DAYS = 30

/** Deletes the invites expired longer than EXPIRED_INVITES_KEPT_DAYS. Returns how many. */
export function deleteExpiredInvites(deps: Deps): Promise<number> {
  return operations.deleteExpiredInvites(deps.db, EXPIRED_INVITES_KEPT_DAYS)
}

/** Outbound rate windows older than the longest window (an hour) count nothing any more. */
export function pruneRateWindows(deps: Deps): Promise<void> {
  return operations.deleteOldRateWindows(deps.db)
}
