import createError from '@fastify/error'
import type { Cache } from '@nudge/cache'

/**
 * The one 429 of the API, for per-route limits (`config.rateLimit`) and named limits
 * (`app.limiter`) alike. `headers` carries retry-after to the error handler.
 */
export const RateLimited = createError<[string, number]>(
  'RATE_LIMITED',
  'Too many requests%s; retry in %d s',
  429,
)

export function rateLimited(what: string | undefined, retryAfterSeconds: number) {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds))
  return Object.assign(new RateLimited(what ? ` for ${what}` : '', seconds), {
    headers: { 'retry-after': String(seconds) },
  })
}

/** A key's count in the current window, and the ms until the window ends. */
export interface Counted {
  current: number
  ttl: number
}

/**
 * Fixed windows counted with `cache.incr`: in memcached, so a limit holds across all PM2 workers
 * (per worker when memcached is not configured). Keys must be bounded by the caller: a client
 * address key or a digest, never raw input.
 */
export class WindowCounter {
  readonly cache: Cache
  readonly namespace: string

  constructor(cache: Cache, namespace: string) {
    this.cache = cache
    this.namespace = namespace
  }

  /** This key's count in the current window after `hits` more (1) and the ms until it resets. */
  async hit(key: string, windowMs: number, hits = 1): Promise<Counted> {
    const now = Date.now()
    const window = Math.floor(now / windowMs)
    const current = await this.hitInWindow(key, window, windowMs, hits)
    return { current, ttl: (window + 1) * windowMs - now }
  }

  /** Adds `hits` to this key's count in window number `window`; the count after them. */
  hitInWindow(key: string, window: number, windowMs: number, hits: number): Promise<number> {
    return this.cache.incr(`${this.namespace}:${key}:${window}`, Math.ceil(windowMs / 1000), hits)
  }
}

/**
 * How a limit is counted. `exact`: every hit is one round trip to the shared counter, so no worker
 * ever lets one more through than `max` across all of them; for limits that protect money or email
 * (sign-in links, invites, lead submissions that trigger deliveries, billed impressions). `batched`:
 * each worker counts its own hits and adds them to the shared counter in batches (see
 * BatchedWindowCounter), for limits that protect the service from floods.
 */
export type Counting = 'exact' | 'batched'

/** A batch is shared every 250 ms or when it holds this many hits, whichever comes first. */
export const FLUSH_EVERY_MS = 250
const MAX_BATCH = 50
/** Keys counted here at once; past it (a flood of client addresses) a new key is counted exactly. */
const MAX_KEYS = 50_000

/** One key's count in one window, as this worker knows it. */
interface Tally {
  window: number
  windowMs: number
  batch: number
  /** The shared total at the last answer from the shared counter (our own flushed hits included). */
  shared: number
  /** Hits on their way to the shared counter. */
  sending: number
  /** Hits not sent yet. */
  pending: number
  sent: Promise<void> | undefined
}

/**
 * Fixed windows counted in this worker and shared in batches: a hit costs no round trip, and the
 * shared counter (memcached, as for WindowCounter) hears of them every FLUSH_EVERY_MS or every
 * `batch` hits. Each worker answers from the shared total it last heard plus its own hits since, so
 * a worker alone is exact; with W workers a window lets through at most
 * `max + (W - 1) * 2 * batch` hits (a worker holds at most one batch unsent and one in flight:
 * past that, a hit waits for the batch in flight), where `batch = clamp(floor(max / 20), 1, 50)`:
 * at most 10 % over per other worker, and exact for small limits' first hits.
 */
export class BatchedWindowCounter {
  private readonly counter: WindowCounter
  private readonly tallies = new Map<string, Tally>()
  private readonly timer: NodeJS.Timeout

  constructor(counter: WindowCounter) {
    this.counter = counter
    this.timer = setInterval(() => this.flushAll(), FLUSH_EVERY_MS)
    this.timer.unref()
  }

  /** Like WindowCounter.hit, answered at once while this worker's unsent hits are few. */
  hit(key: string, windowMs: number, max: number): Counted | Promise<Counted> {
    const now = Date.now()
    const window = Math.floor(now / windowMs)
    let tally = this.tallies.get(key)
    if (tally === undefined || tally.window !== window) {
      if (tally === undefined && this.tallies.size >= MAX_KEYS) return this.counter.hit(key, windowMs)
      const batch = Math.min(MAX_BATCH, Math.max(1, Math.floor(max / 20)))
      tally = { window, windowMs, batch, shared: 0, sending: 0, pending: 0, sent: undefined }
      this.tallies.set(key, tally)
    }
    if (tally.pending >= tally.batch) {
      // One batch in flight and one full here: wait for the shared answer rather than guess further.
      this.flush(key, tally)
      return (tally.sent ?? Promise.resolve()).then(() => this.hit(key, windowMs, max))
    }
    tally.pending++
    const current = tally.shared + tally.sending + tally.pending
    if (tally.pending >= tally.batch) this.flush(key, tally)
    return { current, ttl: (window + 1) * windowMs - now }
  }

  /** Sends this worker's unsent hits of every key, and forgets windows that are over. */
  flushAll(): void {
    const now = Date.now()
    for (const [key, tally] of this.tallies) {
      if (tally.pending > 0) this.flush(key, tally)
      else if (tally.sent === undefined && Math.floor(now / tally.windowMs) !== tally.window)
        this.tallies.delete(key)
    }
  }

  close(): void {
    clearInterval(this.timer)
    this.flushAll()
  }

  private flush(key: string, tally: Tally): void {
    if (tally.sent !== undefined || tally.pending === 0) return
    const hits = tally.pending
    tally.pending = 0
    tally.sending = hits
    tally.sent = this.counter.hitInWindow(key, tally.window, tally.windowMs, hits).then(
      (total) => this.answered(key, tally, Math.max(tally.shared + hits, total)),
      // The cache never fails a request; should it throw anyway, the hits stay counted here.
      () => this.answered(key, tally, tally.shared + hits),
    )
  }

  /** The shared counter answered: a full batch that waited meanwhile goes next, at once. */
  private answered(key: string, tally: Tally, shared: number): void {
    tally.shared = shared
    tally.sending = 0
    tally.sent = undefined
    if (tally.pending >= tally.batch) this.flush(key, tally)
  }
}
