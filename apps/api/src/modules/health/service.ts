import type { Cache } from '@nudge/cache'
import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'

export async function checkDatabase(db: Kysely<DB>) {
  const start = performance.now()
  try {
    await sql`SELECT 1`.execute(db)
    return { status: 'up' as const, ms: performance.now() - start }
  } catch (error) {
    return { status: 'down' as const, error: (error as Error).message }
  }
}

/** Memcached being down degrades speed, not correctness, so it never makes the API unready. */
export async function checkCache(cache: Cache) {
  const health = await cache.health()
  return {
    memcached: { status: health.memcached },
    cacheInvalidation: { status: health.invalidation },
  }
}

export async function cacheRoundTrip(cache: Cache): Promise<number> {
  const start = performance.now()
  const key = `health:timing:${process.pid}`
  await cache.set(key, start, 10)
  await cache.get(key)
  return performance.now() - start
}
