import { createHash } from 'node:crypto'
import { recordTiming } from '@nudge/logging'
import type { FastifyBaseLogger } from 'fastify'
import { LRUCache } from 'lru-cache'
import type { InvalidationBus } from './invalidation.ts'
import { createLease, type Lease } from './lease.ts'
import { type Memcached, TOMBSTONE, TOMBSTONE_TTL_SECONDS, UNAVAILABLE } from './memcached.ts'

/** How long past its TTL an entry may still be served when reloading it fails (unless told not to). */
const STALE_FOR_MS = 5 * 60 * 1000
const JITTER = 0.1
/** memcached refuses keys over 250 bytes; longer keys (built from input, say) are hashed. */
const MAX_KEY_LENGTH = 200

export interface WrapOptions {
  /**
   * Serve the last value past its TTL when reloading fails (default true). Security answers
   * (revocation, permissions, quotas) say false: then a failed reload fails the request.
   */
  serveStale?: boolean
}

interface Entry {
  value: unknown
  freshUntil: number
}

export interface CacheHealth {
  memcached: 'disabled' | 'up' | 'down'
  invalidation: 'up' | 'down'
}

export interface Cache {
  get<T>(key: string): Promise<T | undefined>
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>
  /** Removes the key from every level and from every worker's local level. */
  del(key: string): Promise<void>
  /**
   * Cache-aside: the cached value, else `load()` once however many callers miss at once. A `del`
   * wins over a load that started before it: that load's result is not stored.
   */
  wrap<T>(key: string, ttlSeconds: number, load: () => Promise<T>, options?: WrapOptions): Promise<T>
  /** A counter shared by all workers (memcached), per worker without it; adds `by` (1), from 0 per window. */
  incr(key: string, windowSeconds: number, by?: number): Promise<number>
  health(): Promise<CacheHealth>
  /**
   * Calls `listener` in this worker whenever `key` is invalidated (by this worker or another), and
   * after a gap in the invalidation channel (anything may have changed). For in-memory state that
   * is not a cache entry but must follow the same invalidations. Returns the unsubscribe.
   */
  onInvalidate(key: string, listener: () => void): () => void
  /**
   * Answers that must never be served once taken back, held without a query per request: an
   * epoch read from `read` (a counter in PostgreSQL) every 100 ms vouches for them (lease.ts).
   * Not the invalidation channel, which reaches other workers only after the change answers.
   */
  lease(name: string, read: () => Promise<number>): Lease
}

/** ±10% so entries written together do not all expire (and reload) together. */
function jittered(ttlSeconds: number): number {
  return ttlSeconds * 1000 * (1 - JITTER + Math.random() * 2 * JITTER)
}

/** Keys are bounded whatever they were built from: long ones are replaced by their digest. */
function bounded(key: string): string {
  return key.length <= MAX_KEY_LENGTH ? key : `#${createHash('sha256').update(key).digest('base64url')}`
}

/**
 * Two levels: an LRU in this worker, then memcached shared by all workers when configured.
 * A cache fault never fails a request: every memcached problem degrades to "miss".
 */
export class TwoLevelCache implements Cache {
  private readonly local: LRUCache<string, Entry>
  private readonly counters = new LRUCache<string, { count: number }>({ max: 10000, ttlAutopurge: false })
  private readonly inflight = new Map<string, Promise<unknown>>()
  private readonly memcached: Memcached | undefined
  private readonly bus: InvalidationBus | undefined
  private readonly log: FastifyBaseLogger
  private readonly prefix: string
  private readonly listeners = new Map<string, Set<() => void>>()
  private readonly leases: Lease[] = []
  /** Bumped by every invalidation; a load that saw it change must not store what it read. */
  private epoch = 0

  constructor(options: {
    maxEntries: number
    memcached?: Memcached | undefined
    bus?: InvalidationBus | undefined
    log: FastifyBaseLogger
    keyPrefix: string
  }) {
    this.prefix = `${options.keyPrefix}:`
    this.local = new LRUCache<string, Entry>({ max: Math.max(options.maxEntries, 1) })
    this.memcached = options.memcached
    this.bus = options.bus
    if (this.memcached) {
      // Between memcached coming back and a late delete reaching it, any worker may have copied
      // the old entry into its local level: invalidate those keys everywhere once more.
      this.memcached.onLateInvalidations = (keys) => {
        for (const key of keys) {
          const appKey = key.slice(this.prefix.length)
          this.forgetLocal(appKey)
          this.bus?.publish(appKey).catch(() => {})
        }
      }
    }
    this.log = options.log
  }

  lease(name: string, read: () => Promise<number>): Lease {
    const lease = createLease(name, read, this.log)
    this.leases.push(lease)
    return lease
  }

  /** Stops every lease's polling (the plugin's onClose). */
  closeLeases(): void {
    for (const lease of this.leases.splice(0)) lease.close()
  }

  /** Called for invalidations arriving from other workers (and echoes of our own). */
  forgetLocal(key: string): void {
    this.epoch++
    this.local.delete(key)
    // Callers arriving from now on must not join a load that started before the invalidation.
    this.inflight.delete(key)
    const listeners = this.listeners.get(key)
    if (listeners) for (const listener of listeners) this.notify(listener, key)
  }

  onInvalidate(appKey: string, listener: () => void): () => void {
    const key = bounded(appKey)
    let listeners = this.listeners.get(key)
    if (!listeners) {
      listeners = new Set()
      this.listeners.set(key, listeners)
    }
    listeners.add(listener)
    return () => {
      listeners.delete(listener)
      if (listeners.size === 0) this.listeners.delete(key)
    }
  }

  /** A listener's failure is its own: the invalidation itself has happened. */
  private notify(listener: () => void, key: string) {
    try {
      listener()
    } catch (error) {
      this.log.error({ err: error, key }, 'an invalidation listener failed')
    }
  }

  /** An invalidation from another worker: if our memcached link is down, its copy may be stale too. */
  forgetRemote(key: string): void {
    this.forgetLocal(key)
    if (this.memcached && !this.memcached.available) this.memcached.invalidateLater(this.prefix + key)
  }

  forgetAllLocal(): void {
    this.epoch++
    this.local.clear()
    this.inflight.clear()
    for (const [key, listeners] of this.listeners)
      for (const listener of listeners) this.notify(listener, key)
  }

  async get<T>(key: string): Promise<T | undefined> {
    const entry = await this.lookup(bounded(key))
    return entry && entry.freshUntil > Date.now() ? (entry.value as T) : undefined
  }

  /** Stores a value known to be current (it replaces whatever is there, a tombstone included). */
  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.store(bounded(key), value, ttlSeconds, 'set')
  }

  /**
   * Both levels. Memcached keeps an entry only while it is fresh, so an expired key is absent
   * there and the next reload can `add` it; stale copies for stale-on-error live in the local level.
   */
  private async store(key: string, value: unknown, ttlSeconds: number, mode: 'set' | 'add' | 'local') {
    const start = performance.now()
    const ttlMs = jittered(ttlSeconds)
    const entry: Entry = { value, freshUntil: Date.now() + ttlMs }
    this.local.set(key, entry, { ttl: ttlMs + STALE_FOR_MS })
    if (this.memcached && mode !== 'local') {
      await this.memcached[mode](this.prefix + key, JSON.stringify(entry), Math.ceil(ttlMs / 1000))
    }
    recordTiming('cache', performance.now() - start)
  }

  async del(appKey: string): Promise<void> {
    const start = performance.now()
    const key = bounded(appKey)
    this.forgetLocal(key)
    await this.memcached?.invalidate(this.prefix + key)
    try {
      await this.bus?.publish(key)
    } catch (error) {
      this.log.warn({ err: error, key }, 'cache invalidation not broadcast; other workers expire it by TTL')
    }
    recordTiming('cache', performance.now() - start)
  }

  wrap<T>(appKey: string, ttlSeconds: number, load: () => Promise<T>, options?: WrapOptions): Promise<T> {
    const key = bounded(appKey)
    // The hot path: a fresh entry in this worker answers without any await.
    const local = this.local.get(key)
    if (local && local.freshUntil > Date.now()) return Promise.resolve(local.value as T)
    return this.wrapSlow(key, ttlSeconds, load, options?.serveStale ?? true)
  }

  private async wrapSlow<T>(
    key: string,
    ttlSeconds: number,
    load: () => Promise<T>,
    serveStale: boolean,
  ): Promise<T> {
    const cached = await this.lookup(key)
    if (cached && cached.freshUntil > Date.now()) return cached.value as T
    const pending = this.inflight.get(key)
    if (pending) return pending as Promise<T>
    const stale = serveStale ? cached : undefined
    const loading: Promise<T> = this.reload(key, ttlSeconds, load, stale).finally(() => {
      if (this.inflight.get(key) === loading) this.inflight.delete(key)
    })
    this.inflight.set(key, loading)
    return loading
  }

  async incr(appKey: string, windowSeconds: number, by = 1): Promise<number> {
    const key = bounded(appKey)
    if (this.memcached) {
      const start = performance.now()
      const shared = await this.memcached.increment(this.prefix + key, windowSeconds, by)
      recordTiming('cache', performance.now() - start)
      if (shared !== UNAVAILABLE) return shared
    }
    const counter = this.counters.get(key)
    if (counter) {
      counter.count += by
      return counter.count
    }
    this.counters.set(key, { count: by }, { ttl: windowSeconds * 1000 })
    return by
  }

  async health(): Promise<CacheHealth> {
    const memcached = this.memcached ? ((await this.memcached.ping()) ? 'up' : 'down') : 'disabled'
    return { memcached, invalidation: this.bus?.listening ? 'up' : 'down' }
  }

  private async reload<T>(key: string, ttlSeconds: number, load: () => Promise<T>, stale: Entry | undefined) {
    const epoch = this.epoch
    const started = performance.now()
    let value: T
    try {
      value = await load()
    } catch (error) {
      if (stale && stale.freshUntil + STALE_FOR_MS > Date.now()) {
        this.log.warn({ err: error, key }, 'reload failed; serving the stale cached value')
        return stale.value as T
      }
      throw error
    }
    // An invalidation heard while loading means what we read may already be outdated. One not
    // heard yet (another worker's, in flight) is caught in memcached: its tombstone refuses the
    // `add`. A load slower than a tombstone's life could outlive it, so it is kept local only.
    if (epoch === this.epoch) {
      const slow = performance.now() - started > (TOMBSTONE_TTL_SECONDS * 1000) / 3
      await this.store(key, value, ttlSeconds, slow ? 'local' : 'add')
    }
    return value
  }

  /** Local level first, then memcached (copying a hit into the local level). */
  private async lookup(key: string): Promise<Entry | undefined> {
    const local = this.local.get(key)
    if (local && local.freshUntil > Date.now()) return local
    if (!this.memcached) return local
    const start = performance.now()
    const epoch = this.epoch
    const raw = await this.memcached.get(this.prefix + key)
    recordTiming('cache', performance.now() - start)
    if (raw === UNAVAILABLE || raw === null) return local
    const text = raw.toString('utf8')
    if (text === TOMBSTONE) return undefined
    let shared: Entry
    try {
      shared = JSON.parse(text) as Entry
    } catch {
      return local
    }
    if (epoch === this.epoch) {
      this.local.set(key, shared, { ttl: Math.max(shared.freshUntil - Date.now(), 0) + STALE_FOR_MS })
    }
    return shared
  }
}
