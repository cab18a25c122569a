import { AsyncLocalStorage } from 'node:async_hooks'

const kDb = Symbol('db ms')
const kCache = Symbol('cache ms')

/**
 * Milliseconds spent per backend while serving one request: fields of the request itself (set to 0
 * by the logging plugin's decorators), so timing a request allocates nothing but its header.
 */
export interface Timings {
  [kDb]: number
  [kCache]: number
}

/** The fields a request gets, for `decorateRequest`. */
export const TIMING_FIELDS = [kDb, kCache] as const

const current = new AsyncLocalStorage<Timings>()

/** Runs `fn` with `timings` as the bucket that `recordTiming` calls underneath it add to. */
export function withTimings<T>(timings: Timings, fn: () => T): T {
  return current.run(timings, fn)
}

/**
 * Adds time spent in a backend to the request being served, if any. Layers call this
 * without knowing about requests, which is why it goes through AsyncLocalStorage.
 */
export function recordTiming(name: 'db' | 'cache', ms: number): void {
  const timings = current.getStore()
  if (timings) timings[name === 'db' ? kDb : kCache] += ms
}

/** `Server-Timing` header value: total first, then each backend used, durations in ms. */
export function serverTimingHeader(totalMs: number, timings: Timings): string {
  const db = timings[kDb]
  const cache = timings[kCache]
  let header = `total;dur=${totalMs.toFixed(2)}`
  if (db > 0) header += `, db;dur=${db.toFixed(2)}`
  if (cache > 0) header += `, cache;dur=${cache.toFixed(2)}`
  return header
}
