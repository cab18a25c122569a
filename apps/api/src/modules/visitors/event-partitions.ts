import { type Deps, inTransaction } from '../../deps.ts'
import {
  createEventPartition,
  dropEventPartition,
  listEventPartitions,
  lockEventPartitions,
} from './event-repository.ts'

/**
 * `visitor_events` only exists to count each eventId once. Events are accepted up to 7 days old
 * and 5 minutes ahead, so a resend can only land in the last 8 UTC days: partitions are kept from
 * 8 days back to 3 days ahead (the margin covers a few missed runs), and older days dropped whole.
 */
export const KEEP_DAYS_BACK = 8
export const CREATE_DAYS_AHEAD = 3

const DAY_MS = 86_400_000
const PARTITION_NAME = /^visitor_events_(\d{4})(\d{2})(\d{2})$/

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const partitionName = (day: string) => `visitor_events_${day.replaceAll('-', '')}`

/**
 * Creates the missing daily partitions `visitor_events_YYYYMMDD` for today−8 … today+3 (UTC) and
 * drops older ones, in one transaction under an advisory lock. Safe to run from any number of
 * workers at once and as often as wanted; returns the partitions it created and dropped.
 */
export async function ensureEventPartitions(
  deps: Deps,
  { today = new Date() }: { today?: Date } = {},
): Promise<{ created: string[]; dropped: string[] }> {
  const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())
  const oldest = isoDay(midnight - KEEP_DAYS_BACK * DAY_MS)
  const wanted: string[] = []
  for (let offset = -KEEP_DAYS_BACK; offset <= CREATE_DAYS_AHEAD; offset++) {
    wanted.push(isoDay(midnight + offset * DAY_MS))
  }

  return inTransaction(deps, async (tx) => {
    await lockEventPartitions(tx.db)
    const existing = new Set(await listEventPartitions(tx.db))

    const dropped: string[] = []
    for (const name of [...existing].sort()) {
      const match = PARTITION_NAME.exec(name)
      if (match && `${match[1]}-${match[2]}-${match[3]}` < oldest) {
        await dropEventPartition(tx.db, name)
        dropped.push(name)
      }
    }
    const created: string[] = []
    for (const day of wanted) {
      const name = partitionName(day)
      if (existing.has(name)) continue
      await createEventPartition(tx.db, name, day, isoDay(Date.parse(`${day}T00:00:00Z`) + DAY_MS))
      created.push(name)
    }
    return { created, dropped }
  })
}
