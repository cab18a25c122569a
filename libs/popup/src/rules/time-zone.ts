/*
 * Wall-clock time in an IANA time zone with nothing but Intl (no time zone data of our own).
 */

interface WallTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const formats = new Map<string, Intl.DateTimeFormat>()

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formats.set(timeZone, format)
  }
  return format
}

/** Whether Intl knows the zone (the API checks it too, but an old browser may not know a new zone). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatFor(timeZone)
    return true
  } catch {
    return false
  }
}

export function wallTime(ms: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {}
  for (const part of formatFor(timeZone).formatToParts(ms)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value)
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  }
}

const asUtc = (w: WallTime) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)

/** The zone's offset from UTC at an instant, in ms (Berlin in summer: +7,200,000). */
export function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000
  return asUtc(wallTime(whole, timeZone)) - whole
}

/**
 * The instant a wall-clock time in the zone names. In the hour skipped when clocks go forward the
 * time is read with the offset before the change (02:30 in Berlin on the spring day is 03:30);
 * in the hour repeated when they go back, the first of the two.
 */
export function instantOf(wall: WallTime, timeZone: string): number {
  const guess = asUtc(wall)
  const before = guess - offsetAt(guess - 86_400_000, timeZone)
  const after = guess - offsetAt(guess + 86_400_000, timeZone)
  for (const candidate of [Math.min(before, after), Math.max(before, after)]) {
    if (asUtc(wallTime(candidate, timeZone)) === guess) return candidate
  }
  return before
}

/** "2030-03-20 08:00:00 Europe/Berlin": how the dashboard shows a time, for reasons. */
export function formatInZone(ms: number, timeZone: string): string {
  const w = wallTime(ms, timeZone)
  const two = (n: number) => String(n).padStart(2, '0')
  return `${w.year}-${two(w.month)}-${two(w.day)} ${two(w.hour)}:${two(w.minute)}:${two(w.second)} ${timeZone}`
}
