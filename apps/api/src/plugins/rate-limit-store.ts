import type { Cache } from '@nudge/cache'

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void

/**
 * A @fastify/rate-limit store over `app.cache.incr`: fixed windows counted in memcached, so
 * the limit holds across all PM2 workers (and per worker when memcached is not configured).
 */
export function cacheRateLimitStore(cache: Cache, namespace = 'rl') {
  return class CacheRateLimitStore {
    private readonly prefix: string
    constructor(_options?: unknown, prefix = namespace) {
      this.prefix = prefix
    }

    incr(key: string, callback: Callback, timeWindow: number): void {
      const now = Date.now()
      const window = Math.floor(now / timeWindow)
      cache.incr(`${this.prefix}:${key}:${window}`, Math.ceil(timeWindow / 1000)).then(
        (current) => callback(null, { current, ttl: (window + 1) * timeWindow - now }),
        (error: Error) => callback(error),
      )
    }

    /** Routes with their own limits count in their own namespace. */
    child(routeOptions: { method?: unknown; url?: unknown }) {
      return new CacheRateLimitStore(
        undefined,
        `${this.prefix}:${String(routeOptions.method)}${String(routeOptions.url)}`,
      )
    }
  }
}
