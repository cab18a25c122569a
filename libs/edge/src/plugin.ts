import type {} from '@nudge/cache'
import { list } from '@nudge/config'
import type { FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { digest, type Edge, edgeReader } from './client.ts'
import { type EdgeCache, edgeCache } from './purge.ts'
import {
  BatchedWindowCounter,
  type Counted,
  type Counting,
  rateLimited,
  WindowCounter,
} from './rate-limit.ts'

export interface LimitOptions {
  max: number
  windowSeconds: number
  /** Named in the 429 message: "Too many requests for <what>". */
  what?: string
  /** `exact` where the limit protects money or email; `batched` against floods (see Counting). */
  counting: Counting
}

/** Counts one hit for `key` (any string: it is hashed) and throws the API's 429 past `max`. */
export type Limit = (key: string) => Promise<void>

/**
 * Counts `wanted` hits for `key` at once, with one round trip, and answers how many of them fit
 * under `max` in this window (the first ones); never throws for being over.
 */
export type Allowance = (key: string, wanted: number) => Promise<number>

declare module 'fastify' {
  interface FastifyInstance {
    /** A named limit counted like the per-route ones (memcached across workers), for non-route events. */
    limiter(name: string, options: LimitOptions): Limit
    /** The same count, for a batch of hits that are taken or not one by one (e.g. impressions). */
    allowance(name: string, options: Omit<LimitOptions, 'what' | 'counting'>): Allowance
    /** Cloudflare's cache of the published objects: their public URLs, and purging them after a publish. */
    readonly edgeCache: EdgeCache
  }
  interface FastifyContextConfig {
    /**
     * This route's limit per client: `{ max, timeWindow }` (ms) on a counter of its own (named by
     * its method and URL pattern), `false` for none (health checks); without it, the global one
     * (`RATE_LIMIT_MAX` per `RATE_LIMIT_WINDOW_MS`).
     */
    rateLimit?: { max: number; timeWindow: number } | false
    /**
     * How this route's own limit (`rateLimit`) is counted: `batched` unless it says `exact`, which
     * a route whose requests cost money or send email must.
     */
    limitCounting?: Counting
  }
  interface FastifyRequest {
    /** The trusted-edge reading of this request: through the edge or not, client address, country. */
    readonly edge: Edge
  }
}

const kEdge = Symbol('edge')

/**
 * The edge layer: which requests came through Cloudflare (address ranges or the edge secret),
 * the real client address and visitor country they carry, and request limits keyed on that
 * client address: per route (`config.rateLimit`), and named limits (`app.limiter`) over the
 * same counters with the same 429; and `app.edgeCache`, purging published objects from Cloudflare's
 * cache.
 */
export const edgePlugin = fp(
  async (app) => {
    const { config } = app
    const read = edgeReader({ ranges: list(config.EDGE_IP_RANGES), secret: config.EDGE_SECRET })
    app.decorateRequest(kEdge, null)
    app.decorateRequest('edge', {
      getter(this: FastifyRequest) {
        const request = this as FastifyRequest & { [kEdge]: Edge | null }
        request[kEdge] ??= read(request)
        return request[kEdge]
      },
    })

    // Batched counters share their counts on a timer: stopped (after a last share) on close.
    const batchedCounters = new Map<string, BatchedWindowCounter>()
    const batched = (counter: WindowCounter) => {
      let made = batchedCounters.get(counter.namespace)
      if (!made) {
        made = new BatchedWindowCounter(counter)
        batchedCounters.set(counter.namespace, made)
      }
      return made
    }
    app.addHook('onClose', async () => {
      for (const counter of batchedCounters.values()) counter.close()
    })

    /** How a limit counts a key: with a round trip each (exact), or here and in batches. */
    const counting = (counter: WindowCounter, how: Counting, max: number, windowMs: number) => {
      if (how === 'exact') return (key: string) => counter.hit(key, windowMs)
      const counted = batched(counter)
      return (key: string) => counted.hit(key, windowMs, max)
    }

    // Every route is limited per client address, as its config says. A callback hook: a batched
    // count is answered at once, so most requests pass without waiting a tick. The count never
    // fails (a cache fault is a local count), and limits are announced only when they bite (429
    // with retry-after), not on every response.
    const limitHook = (
      counted: (key: string) => Counted | Promise<Counted>,
      max: number,
    ): onRequestHookHandler => {
      const verdict = ({ current, ttl }: Counted) =>
        current > max ? rateLimited(undefined, ttl / 1000) : undefined
      return (request, _reply, done) => {
        const count = counted(request.edge.clientKey)
        if (count instanceof Promise) count.then((c) => done(verdict(c)), done)
        else done(verdict(count))
      }
    }
    const globalLimit = limitHook(
      counting(
        new WindowCounter(app.cache, 'rl'),
        'batched',
        config.RATE_LIMIT_MAX,
        config.RATE_LIMIT_WINDOW_MS,
      ),
      config.RATE_LIMIT_MAX,
    )
    app.addHook('onRoute', (route: RouteOptions) => {
      const own = route.config?.rateLimit
      if (own === false) return
      let hook = globalLimit
      if (own !== undefined) {
        const method = Array.isArray(route.method) ? route.method.join(',') : route.method
        const counter = new WindowCounter(app.cache, `rl:${method}:${route.url}`)
        hook = limitHook(
          counting(counter, route.config?.limitCounting ?? 'batched', own.max, own.timeWindow),
          own.max,
        )
      }
      const hooks = route.onRequest
      route.onRequest = hooks === undefined ? [hook] : [...(Array.isArray(hooks) ? hooks : [hooks]), hook]
    })

    app.decorate('limiter', (name: string, options: LimitOptions): Limit => {
      const counter = new WindowCounter(app.cache, `limit:${name}`)
      const counted = counting(counter, options.counting, options.max, options.windowSeconds * 1000)
      return async (key) => {
        const { current, ttl } = await counted(digest(key).toString('base64url'))
        if (current > options.max) throw rateLimited(options.what, ttl / 1000)
      }
    })

    // Always exact: what it allows (impressions) is counted against a team's paid quota.
    app.decorate('allowance', (name: string, options: Omit<LimitOptions, 'what' | 'counting'>): Allowance => {
      const counter = new WindowCounter(app.cache, `limit:${name}`)
      const windowMs = options.windowSeconds * 1000
      return async (key, wanted) => {
        if (wanted <= 0) return 0
        const { current } = await counter.hit(digest(key).toString('base64url'), windowMs, wanted)
        return Math.max(0, Math.min(wanted, options.max - (current - wanted)))
      }
    })

    app.decorate('edgeCache', edgeCache(config, app.log.child({ layer: 'edge' })))
  },
  { name: 'edge', dependencies: ['config', 'cache'], fastify: '5.x' },
)
