import type {} from '@nudge/config'
import fp from 'fastify-plugin'
import { type Cache, TwoLevelCache } from './cache.ts'
import { InvalidationBus } from './invalidation.ts'
import { Memcached } from './memcached.ts'

declare module 'fastify' {
  interface FastifyInstance {
    cache: Cache
  }
}

/**
 * Decorates `app.cache`: in-process LRU, plus memcached when MEMCACHED_SERVERS is set, with
 * invalidations broadcast to every worker over PostgreSQL LISTEN/NOTIFY, and epoch leases
 * (`app.cache.lease`) for security answers that must not wait for a broadcast.
 */
export const cachePlugin = fp(
  async (app) => {
    const { config } = app
    const log = app.log.child({ layer: 'cache' })
    const memcached = config.MEMCACHED_SERVERS
      ? new Memcached(config.MEMCACHED_SERVERS, config.CACHE_TIMEOUT_MS, log)
      : undefined
    let cache: TwoLevelCache | undefined
    const bus = config.DATABASE_URL
      ? new InvalidationBus(
          config.DATABASE_URL,
          log,
          (key) => cache?.forgetRemote(key),
          () => cache?.forgetAllLocal(),
        )
      : undefined
    cache = new TwoLevelCache({
      maxEntries: config.CACHE_LOCAL_MAX_ENTRIES,
      memcached,
      bus,
      log,
      keyPrefix: config.CACHE_KEY_PREFIX,
    })
    await bus?.start()
    app.decorate('cache', cache)
    app.addHook('onClose', async () => {
      cache?.closeLeases()
      await bus?.close()
      memcached?.close()
    })
  },
  { name: 'cache', dependencies: ['config', 'logging'], fastify: '5.x' },
)
