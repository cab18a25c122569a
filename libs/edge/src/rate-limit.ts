import createError from '@fastify/error'
import type { Cache } from '@nudge/cache'

/**
 * The one 429 of the API, for per-route limits (@fastify/rate-limit) and named limits
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

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void

/**
 * What @fastify/rate-limit 11 passes to `child()` for a route with its own limit: the merged
 * options, with the route under `routeInfo` (its type declarations still say the route itself).
 */
interface RouteLimitParams {
  routeInfo?: { method?: string | string[]; url?: string }
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
  async hit(key: string, windowMs: number, hits = 1): Promise<{ current: number; ttl: number }> {
    const now = Date.now()
    const window = Math.floor(now / windowMs)
    const current = await this.cache.incr(
      `${this.namespace}:${key}:${window}`,
      Math.ceil(windowMs / 1000),
      hits,
    )
    return { current, ttl: (window + 1) * windowMs - now }
  }
}

/** The @fastify/rate-limit store over a WindowCounter. */
export function rateLimitStore(cache: Cache, namespace = 'rl') {
  return class WindowCounterStore {
    private readonly counter: WindowCounter
    constructor(_params?: unknown, scope = namespace) {
      this.counter = new WindowCounter(cache, scope)
    }

    incr(key: string, callback: Callback, timeWindow: number): void {
      this.counter.hit(key, timeWindow).then(
        (result) => callback(null, result),
        (error: Error) => callback(error),
      )
    }

    /** A route with its own limit counts in its own namespace, named by its method and URL pattern. */
    child(params: unknown) {
      const route = (params as RouteLimitParams).routeInfo ?? {}
      const method = Array.isArray(route.method) ? route.method.join(',') : route.method
      if (!method || !route.url) throw new Error('a rate limit of its own needs a route (method and url)')
      return new WindowCounterStore(undefined, `${this.counter.namespace}:${method}:${route.url}`)
    }
  }
}
