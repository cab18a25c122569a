import { AsyncLocalStorage } from 'node:async_hooks'

/** Milliseconds spent per backend ("db", "cache") while serving the current request. */
export type Timings = Map<string, number>

const current = new AsyncLocalStorage<Timings>()

/** Runs `fn` with a fresh timing bucket that `recordTiming` calls underneath it add to. */
export function withTimings<T>(fn: () => T): T {
  return current.run(new Map(), fn)
}

export function currentTimings(): Timings | undefined {
  return current.getStore()
}

/**
 * Adds time spent in a backend to the request being served, if any. Layers call this
 * without knowing about requests, which is why it goes through AsyncLocalStorage.
 */
export function recordTiming(name: string, ms: number): void {
  const timings = current.getStore()
  if (timings) timings.set(name, (timings.get(name) ?? 0) + ms)
}

/** `Server-Timing` header value: total first, then each backend, durations in ms. */
export function serverTimingHeader(totalMs: number, timings: Timings | undefined): string {
  let header = `total;dur=${totalMs.toFixed(2)}`
  if (timings) for (const [name, ms] of timings) header += `, ${name};dur=${ms.toFixed(2)}`
  return header
}
