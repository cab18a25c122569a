import type { FieldProblem } from '../../errors.ts'
import { timeZoneProblem } from '../campaigns/rules.ts'

/**
 * The days a stats answer covers. The counts are kept per UTC day (campaign_stats_daily), so a
 * range of calendar dates in the caller's zone is answered with the UTC days that overlap it:
 * in Europe/Berlin, 1–31 March is 28 February to 31 March in UTC days. Nothing is re-bucketed
 * per zone; the answer says which UTC days it counted.
 */

const DAY_MS = 86_400_000
/** The default range: the last 30 days, today included. */
export const DEFAULT_DAYS = 30
export const MAX_DAYS = 366
const EARLIEST = '2000-01-01'
const LATEST = '2999-12-31'

export interface StatsRange {
  /** The calendar dates asked for, in `tz`. */
  from: string
  to: string
  tz: string
  /** The first and last UTC day counted. */
  utcFrom: string
  utcTo: string
  /** Every UTC day from utcFrom to utcTo. */
  days: string[]
}

/** 'YYYY-MM-DD' → days since 1970-01-01, or null when not a calendar date. */
function parseDay(text: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (!match) return null
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const ms = Date.UTC(year, month - 1, day)
  // Date.UTC rolls 31 April over to 1 May: a date is real only if it comes back unchanged.
  return formatDay(ms / DAY_MS) === text ? ms / DAY_MS : null
}

function formatDay(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10)
}

/** The calendar date (days since 1970-01-01) of an instant in a zone. */
function localDayOf(format: Intl.DateTimeFormat, instant: number): number {
  const parts: Record<string, number> = {}
  for (const part of format.formatToParts(instant)) parts[part.type] = Number(part.value)
  return Date.UTC(parts.year as number, (parts.month as number) - 1, parts.day as number) / DAY_MS
}

/**
 * The first instant whose date in the zone is `day` or later: the start of that day there
 * (midnight, or whenever a DST change starts it). Binary search over four days around it: UTC
 * offsets lie between −12 and +14 hours, and dates in a zone never go backwards.
 */
function startOfLocalDay(format: Intl.DateTimeFormat, day: number): number {
  let before = (day - 2) * DAY_MS
  let onOrAfter = (day + 2) * DAY_MS
  while (onOrAfter - before > 1) {
    const middle = Math.floor((before + onOrAfter) / 2)
    if (localDayOf(format, middle) >= day) onOrAfter = middle
    else before = middle
  }
  return onOrAfter
}

/**
 * Checks and completes the query: `tz` defaults to UTC, `to` to today in `tz`, `from` to 29 days
 * before `to`. Problems name the query field they concern.
 */
export function statsRange(
  query: { from?: string | undefined; to?: string | undefined; tz?: string | undefined },
  now: Date,
): StatsRange | FieldProblem[] {
  const problems: FieldProblem[] = []
  const tz = query.tz ?? 'UTC'
  const zoneProblem = timeZoneProblem(tz)
  if (zoneProblem) problems.push({ field: 'querystring.tz', message: zoneProblem })

  const given: { from?: number; to?: number } = {}
  for (const field of ['from', 'to'] as const) {
    const text = query[field]
    if (text === undefined) continue
    const day = parseDay(text)
    if (day === null || text < EARLIEST || text > LATEST) {
      problems.push({
        field: `querystring.${field}`,
        message: `must be a date (YYYY-MM-DD) between ${EARLIEST} and ${LATEST}`,
      })
    } else given[field] = day
  }
  if (problems.length > 0) return problems

  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
  })
  const to = given.to ?? localDayOf(format, now.getTime())
  const from = given.from ?? to - (DEFAULT_DAYS - 1)
  const toText = query.to ?? `${formatDay(to)}, today in ${tz}`
  if (from > to) {
    return [{ field: 'querystring.from', message: `must not be after to (${toText})` }]
  }
  if (to - from + 1 > MAX_DAYS) {
    return [
      {
        field: 'querystring.from',
        message: `must be at most ${MAX_DAYS - 1} days before to (${toText}): a range spans at most ${MAX_DAYS} days`,
      },
    ]
  }

  const utcFrom = Math.floor(startOfLocalDay(format, from) / DAY_MS)
  const utcTo = Math.floor((startOfLocalDay(format, to + 1) - 1) / DAY_MS)
  const days: string[] = []
  for (let day = utcFrom; day <= utcTo; day++) days.push(formatDay(day))
  return {
    from: formatDay(from),
    to: formatDay(to),
    tz,
    utcFrom: formatDay(utcFrom),
    utcTo: formatDay(utcTo),
    days,
  }
}
