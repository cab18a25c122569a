import { formatInZone, instantOf, isKnownTimeZone } from './time-zone.ts'
import type { Schedule, Verdict } from './types.ts'

/*
 * content.ts: startAt "not shown before", endAt "not shown after" (both RFC 3339, so each names
 * one instant), timeZone "the dashboard shows the dates in". Both bounds are inclusive. A date
 * written without an offset (which the API does not accept, but a hand-edited object might hold)
 * is read as wall-clock time in the schedule's zone, daylight saving included. The zone also
 * writes the reasons, so the debug log shows times as the dashboard does.
 */

const WITH_OFFSET = /(?:[zZ]|[+-]\d{2}:?\d{2})$/
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/

/** The instant a schedule bound names, or null when it cannot be read. */
export function boundInstant(value: string, timeZone: string): number | null {
  if (WITH_OFFSET.test(value)) {
    const ms = Date.parse(value)
    return Number.isNaN(ms) ? null : ms
  }
  const local = LOCAL.exec(value)
  if (!local) return null
  const [year, month, day, hour, minute, second] = local.slice(1).map((part) => Number(part ?? 0))
  return instantOf(
    { year: year!, month: month!, day: day!, hour: hour!, minute: minute!, second: second! },
    timeZone,
  )
}

export function inSchedule(schedule: Schedule | undefined, now: number): Verdict {
  if (!schedule || (schedule.startAt === undefined && schedule.endAt === undefined)) {
    return { show: true, reason: 'schedule: always' }
  }
  const zone = schedule.timeZone && isKnownTimeZone(schedule.timeZone) ? schedule.timeZone : 'UTC'
  const start = schedule.startAt === undefined ? undefined : boundInstant(schedule.startAt, zone)
  const end = schedule.endAt === undefined ? undefined : boundInstant(schedule.endAt, zone)
  if (start === null) return { show: false, reason: `schedule: startAt "${schedule.startAt}" cannot be read` }
  if (end === null) return { show: false, reason: `schedule: endAt "${schedule.endAt}" cannot be read` }
  if (start !== undefined && now < start) {
    return {
      show: false,
      reason: `schedule: starts ${formatInZone(start, zone)} (now ${formatInZone(now, zone)})`,
    }
  }
  if (end !== undefined && now > end) {
    return {
      show: false,
      reason: `schedule: ended ${formatInZone(end, zone)} (now ${formatInZone(now, zone)})`,
    }
  }
  return { show: true, reason: `schedule: running (now ${formatInZone(now, zone)})` }
}
