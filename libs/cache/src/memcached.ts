import type { FastifyBaseLogger } from 'fastify'
import memjs from 'memjs'

/** How long memcached is left alone after a failure before it is tried again. */
const RETRY_AFTER_MS = 1000
/** A memcached outage is logged once per this interval, not once per request. */
const WARN_EVERY_MS = 30000

export const UNAVAILABLE = Symbol('memcached unavailable')
/** Stored in place of an invalidated entry; see `invalidate`. */
export const TOMBSTONE = 'nudge:invalidated'
/** Longer than any load that could have started before an invalidation may take to store. */
export const TOMBSTONE_TTL_SECONDS = 30
type Result<T> = T | typeof UNAVAILABLE

/**
 * memjs behind a breaker: every call has a hard timeout, and after a failure calls are
 * skipped (answered UNAVAILABLE at once) for a second, so a dead or slow memcached costs a
 * request at most one timeout and requests carry on from the source.
 */
export class Memcached {
  private readonly client: memjs.Client
  private readonly timeoutMs: number
  private readonly log: FastifyBaseLogger
  private downUntil = 0
  private down = false
  private lastWarnAt = 0
  /**
   * Invalidations that could not reach memcached. A memcached that was unreachable (not
   * restarted) still holds those entries, so they are invalidated before anything else once it
   * answers again; otherwise a worker could read an invalidated entry (a signed-out session,
   * say) until its TTL.
   */
  private readonly pendingInvalidations = new Set<string>()
  private flushTimer: NodeJS.Timeout | undefined
  /** Told which keys a late invalidation reached: workers may have read them from memcached meanwhile. */
  onLateInvalidations: (keys: string[]) => void = () => {}

  constructor(servers: string, timeoutMs: number, log: FastifyBaseLogger) {
    this.timeoutMs = timeoutMs
    this.log = log
    this.client = memjs.Client.create(servers, {
      timeout: timeoutMs / 1000,
      conntimeout: (timeoutMs * 2) / 1000,
      retries: 0,
      keepAlive: true,
      // memjs logs failures to the console itself; the breaker reports them once per interval instead.
      logger: { log: () => {} },
    })
  }

  get available(): boolean {
    return !this.down
  }

  async get(key: string): Promise<Result<Buffer | null>> {
    return this.call(async () => (await this.client.get(key)).value)
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<Result<boolean>> {
    return this.call(() => this.client.set(key, value, { expires: ttlSeconds }))
  }

  /** Stores only if the key is absent (no entry and no tombstone): false when it was not stored. */
  async add(key: string, value: string, ttlSeconds: number): Promise<Result<boolean>> {
    return this.call(() => this.client.add(key, value, { expires: ttlSeconds }))
  }

  /**
   * Replaces the entry with a tombstone rather than deleting it: a worker that read the source
   * before the invalidation and stores its (now outdated) value afterwards uses `add`, which the
   * tombstone refuses. A delete would let that late write win.
   */
  async invalidate(key: string): Promise<Result<boolean>> {
    const result = await this.call(() => this.client.set(key, TOMBSTONE, { expires: TOMBSTONE_TTL_SECONDS }))
    if (result === UNAVAILABLE) this.invalidateLater(key)
    return result
  }

  /** Remembers an invalidation memcached did not take and retries until it does. */
  invalidateLater(key: string): void {
    if (this.pendingInvalidations.size < 100000) this.pendingInvalidations.add(key)
    if (this.flushTimer) return
    this.flushTimer = setInterval(() => {
      if (this.pendingInvalidations.size === 0) {
        clearInterval(this.flushTimer)
        this.flushTimer = undefined
        return
      }
      // Any call flushes pending invalidations first; this one only exists to make that happen.
      void this.call(async () => true)
    }, RETRY_AFTER_MS)
    this.flushTimer.unref()
  }

  /** Atomic counter: the first call in a window creates it at 1 with the window's expiry. */
  async increment(key: string, ttlSeconds: number, by = 1): Promise<Result<number>> {
    return this.call(async () => {
      const { value } = await this.client.increment(key, by, { initial: by, expires: ttlSeconds })
      if (value === null || value === undefined) throw new Error('memcached increment returned no value')
      return Number(value)
    })
  }

  /** A round trip that bypasses the breaker, for readiness checks. */
  async ping(): Promise<boolean> {
    this.downUntil = 0
    return (await this.call(() => this.client.get('nudge:ping'))) !== UNAVAILABLE
  }

  close(): void {
    clearInterval(this.flushTimer)
    this.client.close()
  }

  /** Runs before anything else once memcached answers again, so no read sees those entries. */
  private async flushPendingInvalidations(): Promise<void> {
    const keys = [...this.pendingInvalidations]
    await Promise.all(keys.map((key) => this.client.set(key, TOMBSTONE, { expires: TOMBSTONE_TTL_SECONDS })))
    for (const key of keys) this.pendingInvalidations.delete(key)
    this.onLateInvalidations(keys)
  }

  private async call<T>(op: () => Promise<T>): Promise<Result<T>> {
    const now = Date.now()
    if (now < this.downUntil) return UNAVAILABLE
    let timer: NodeJS.Timeout | undefined
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`memcached did not answer in ${this.timeoutMs} ms`)),
          this.timeoutMs,
        )
      })
      if (this.pendingInvalidations.size > 0) await Promise.race([this.flushPendingInvalidations(), timeout])
      const result = await Promise.race([op(), timeout])
      if (this.down) {
        this.down = false
        this.log.info('memcached is reachable again; using it')
      }
      return result
    } catch (error) {
      this.downUntil = Date.now() + RETRY_AFTER_MS
      this.down = true
      if (Date.now() - this.lastWarnAt >= WARN_EVERY_MS) {
        this.lastWarnAt = Date.now()
        this.log.warn({ err: error }, 'memcached unavailable; serving from the source until it is back')
      }
      return UNAVAILABLE
    } finally {
      clearTimeout(timer)
    }
  }
}
