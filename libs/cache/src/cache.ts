import { recordTiming } from '@nudge/logging'
import type { FastifyBaseLogger } from 'fastify'
import { LRUCache } from 'lru-cache'
import type { InvalidationBus } from './invalidation.ts'
import { type Memcached, UNAVAILABLE } from './memcached.ts'

/** How long past its TTL an entry may still be served when reloading it fails. */
const STALE_FOR_MS = 5 * 60 * 1000
const JITTER = 0.1

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
  /** Cache-aside: the cached value, else `load()` once however many callers miss at once. */
  wrap<T>(key: string, ttlSeconds: number, load: () => Promise<T>): Promise<T>
  /** A counter shared by all workers (memcached), per worker without it; starts at 1 per window. */
  incr(key: string, windowSeconds: number): Promise<number>
  health(): Promise<CacheHealth>
}

/** ±10% so entries written together do not all expire (and reload) together. */
function jittered(ttlSeconds: number): number {
  return ttlSeconds * 1000 * (1 - JITTER + Math.random() * 2 * JITTER)
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
      this.memcached.onLateDeletes = (keys) => {
        for (const key of keys) {
          const appKey = key.slice(this.prefix.length)
          this.forgetLocal(appKey)
          this.bus?.publish(appKey).catch(() => {})
        }
      }
    }
    this.log = options.log
  }

  /** Called for invalidations arriving from other workers (and echoes of our own). */
  forgetLocal(key: string): void {
    this.epoch++
    this.local.delete(key)
  }

  /** An invalidation from another worker: if our memcached link is down, its copy may be stale too. */
  forgetRemote(key: string): void {
    this.forgetLocal(key)
    if (this.memcached && !this.memcached.available) this.memcached.deleteLater(this.prefix + key)
  }

  forgetAllLocal(): void {
    this.epoch++
    this.local.clear()
  }

  async get<T>(key: string): Promise<T | undefined> {
    const entry = await this.lookup(key)
    return entry && entry.freshUntil > Date.now() ? (entry.value as T) : undefined
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    const start = performance.now()
    const ttlMs = jittered(ttlSeconds)
    const entry: Entry = { value, freshUntil: Date.now() + ttlMs }
    this.local.set(key, entry, { ttl: ttlMs + STALE_FOR_MS })
    if (this.memcached) {
      await this.memcached.set(
        this.prefix + key,
        JSON.stringify(entry),
        Math.ceil((ttlMs + STALE_FOR_MS) / 1000),
      )
    }
    recordTiming('cache', performance.now() - start)
  }

  async del(key: string): Promise<void> {
    const start = performance.now()
    this.forgetLocal(key)
    await this.memcached?.delete(this.prefix + key)
    try {
      await this.bus?.publish(key)
    } catch (error) {
      this.log.warn({ err: error, key }, 'cache invalidation not broadcast; other workers expire it by TTL')
    }
    recordTiming('cache', performance.now() - start)
  }

  wrap<T>(key: string, ttlSeconds: number, load: () => Promise<T>): Promise<T> {
    // The hot path: a fresh entry in this worker answers without any await.
    const local = this.local.get(key)
    if (local && local.freshUntil > Date.now()) return Promise.resolve(local.value as T)
    return this.wrapSlow(key, ttlSeconds, load)
  }

  private async wrapSlow<T>(key: string, ttlSeconds: number, load: () => Promise<T>): Promise<T> {
    const cached = await this.lookup(key)
    if (cached && cached.freshUntil > Date.now()) return cached.value as T
    const pending = this.inflight.get(key)
    if (pending) return pending as Promise<T>
    const loading = this.reload(key, ttlSeconds, load, cached).finally(() => this.inflight.delete(key))
    this.inflight.set(key, loading)
    return loading
  }

  async incr(key: string, windowSeconds: number): Promise<number> {
    if (this.memcached) {
      const start = performance.now()
      const shared = await this.memcached.increment(this.prefix + key, windowSeconds)
      recordTiming('cache', performance.now() - start)
      if (shared !== UNAVAILABLE) return shared
    }
    const counter = this.counters.get(key)
    if (counter) return ++counter.count
    this.counters.set(key, { count: 1 }, { ttl: windowSeconds * 1000 })
    return 1
  }

  async health(): Promise<CacheHealth> {
    const memcached = this.memcached ? ((await this.memcached.ping()) ? 'up' : 'down') : 'disabled'
    return { memcached, invalidation: this.bus?.listening ? 'up' : 'down' }
  }

  private async reload<T>(key: string, ttlSeconds: number, load: () => Promise<T>, stale: Entry | undefined) {
    const epoch = this.epoch
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
    // An invalidation while loading means what we read may already be outdated.
    if (epoch === this.epoch) await this.set(key, value, ttlSeconds)
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
    let shared: Entry
    try {
      shared = JSON.parse(raw.toString('utf8')) as Entry
    } catch {
      return local
    }
    if (epoch === this.epoch) {
      this.local.set(key, shared, { ttl: Math.max(shared.freshUntil - Date.now(), 0) + STALE_FOR_MS })
    }
    return shared
  }
}
