import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { migratedDatabase } from './helpers/database.ts'
import { skipWithoutSharedMemcached } from './helpers/system-programs.ts'
import { clearOfWindowEdge } from './helpers/windows.ts'

type App = Awaited<ReturnType<typeof buildTestApp>>

/*
 * Limits counted `batched` (each worker counts, and shares its count every 250 ms or batch) still
 * refuse a flood across workers, within the bound the edge layer states: max + (workers - 1) * 2 *
 * batch, batch = max / 20 (here 40 + 1 * 2 * 2 = 44). Limits counted `exact` stay exact.
 */

const MAX = 40
const BATCHED_BOUND = MAX + 2 * Math.floor(MAX / 20)

/** Two workers of one deployment: one database, one memcached, one key prefix. */
async function twoWorkers(t: Parameters<typeof buildTestApp>[0]): Promise<[App, App]> {
  const DATABASE_URL = await migratedDatabase(t)
  const shared = { DATABASE_URL, RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW_MS: '60000' }
  const workers: [App, App] = [await buildTestApp(t, shared), await buildTestApp(t, shared)]
  // The floods and the wait between them in one minute: a new window would let them all through.
  await clearOfWindowEdge(60_000)
  for (const app of workers) {
    app.get('/v1/test/batched', async () => ({ ok: true }))
    app.get(
      '/v1/test/exact',
      { config: { rateLimit: { max: 5, timeWindow: 60_000 }, limitCounting: 'exact' } },
      async () => ({ ok: true }),
    )
  }
  return workers
}

/** `n` requests at once, alternating between the workers; how many were let through. */
async function flood(workers: App[], url: string, n: number): Promise<{ ok: number; refused: number }> {
  const codes = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      workers[i % workers.length]?.inject({ url }).then((r) => r.statusCode),
    ),
  )
  return { ok: codes.filter((c) => c === 200).length, refused: codes.filter((c) => c === 429).length }
}

t.test(
  'a batched limit refuses a flood across two workers within its stated overshoot',
  { skip: skipWithoutSharedMemcached() },
  async (t) => {
    const workers = await twoWorkers(t)
    const first = await flood(workers, '/v1/test/batched', 200)
    t.ok(first.ok >= MAX, `every request under the limit is served (${first.ok})`)
    t.ok(first.ok <= BATCHED_BOUND, `at most ${BATCHED_BOUND} let through, was ${first.ok}`)
    t.equal(first.ok + first.refused, 200, 'the rest are refused with 429')
    // Once the counts are shared, each worker refuses on its own.
    await new Promise((resolve) => setTimeout(resolve, 600))
    t.same(await flood(workers, '/v1/test/batched', 10), { ok: 0, refused: 10 }, 'both workers keep refusing')
  },
)

t.test('a batched limit is exact in one worker', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_MAX: String(MAX) })
  app.get('/v1/test/batched', async () => ({ ok: true }))
  await clearOfWindowEdge(60_000)
  t.same(await flood([app], '/v1/test/batched', 100), { ok: MAX, refused: 100 - MAX })
})

t.test(
  'an exact limit (money, email) lets through exactly max across two workers',
  { skip: skipWithoutSharedMemcached() },
  async (t) => {
    const workers = await twoWorkers(t)
    t.same(await flood(workers, '/v1/test/exact', 40), { ok: 5, refused: 35 })
  },
)
