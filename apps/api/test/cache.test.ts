import t from 'tap'
import { buildTestApp, captureLogs } from './helpers/app.ts'
import { migratedDatabase } from './helpers/database.ts'
import { freePort, kill, memcachedBinary, startMemcached } from './helpers/memcached.ts'
import { skipUnless } from './helpers/system-programs.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < withinMs) {
    if (await check()) return Date.now() - started
    await sleep(10)
  }
  return Number.POSITIVE_INFINITY
}

const levels = [
  { name: 'in-process only', MEMCACHED_SERVERS: undefined },
  ...(process.env.MEMCACHED_SERVERS
    ? [{ name: 'with memcached', MEMCACHED_SERVERS: process.env.MEMCACHED_SERVERS }]
    : []),
]

for (const level of levels) {
  t.test(`${level.name}: a del in one worker reaches every other worker at once`, async (t) => {
    const DATABASE_URL = await migratedDatabase(t)
    const a = await buildTestApp(t, { DATABASE_URL, MEMCACHED_SERVERS: level.MEMCACHED_SERVERS })
    const b = await buildTestApp(t, { DATABASE_URL, MEMCACHED_SERVERS: level.MEMCACHED_SERVERS })
    await Promise.all([a.ready(), b.ready()])
    const key = `site:${Math.random()}`
    await a.cache.set(key, { plan: 'free' }, 300)
    await b.cache.set(key, { plan: 'free' }, 300)
    t.same(await b.cache.get(key), { plan: 'free' }, 'worker B holds the entry')

    await a.cache.del(key)
    t.equal(await a.cache.get(key), undefined, 'gone from the worker that deleted it')
    const took = await eventually(async () => (await b.cache.get(key)) === undefined, 1000)
    t.ok(took < 1000, `gone from worker B too (after ${took} ms)`)

    // A reload on B after the invalidation reads the new value, not a stale copy.
    t.same(await b.cache.wrap(key, 300, async () => ({ plan: 'pro' })), { plan: 'pro' })
  })
}

t.test('wrap: concurrent misses for one key load once (single-flight)', async (t) => {
  const app = await buildTestApp(t, { MEMCACHED_SERVERS: process.env.MEMCACHED_SERVERS })
  let loads = 0
  const load = async () => {
    loads++
    await sleep(50)
    return { loadedAt: loads }
  }
  const key = `flight:${Math.random()}`
  const results = await Promise.all(Array.from({ length: 25 }, () => app.cache.wrap(key, 60, load)))
  t.equal(loads, 1)
  t.ok(results.every((r) => r.loadedAt === 1))
  t.same(await app.cache.wrap(key, 60, load), { loadedAt: 1 }, 'later calls are served from the cache')
  t.equal(loads, 1)
})

t.test('wrap: TTLs are jittered so entries written together do not expire together', async (t) => {
  const app = await buildTestApp(t, { MEMCACHED_SERVERS: undefined })
  const keys = Array.from({ length: 40 }, (_, i) => `jitter:${i}`)
  await Promise.all(keys.map((key) => app.cache.set(key, 1, 1)))
  await sleep(1000)
  const fresh = (await Promise.all(keys.map((key) => app.cache.get(key)))).filter(
    (v) => v !== undefined,
  ).length
  t.ok(
    fresh > 0 && fresh < keys.length,
    `at the nominal TTL some entries live on and some expired (${fresh}/40)`,
  )
})

t.test(
  'wrap: when reloading fails, the stale value is served; with nothing cached the error surfaces',
  async (t) => {
    const app = await buildTestApp(t, { MEMCACHED_SERVERS: process.env.MEMCACHED_SERVERS })
    const key = `stale:${Math.random()}`
    t.same(await app.cache.wrap(key, 1, async () => 'v1'), 'v1')
    await sleep(1200)
    const failing = async (): Promise<string> => {
      throw new Error('source down')
    }
    t.equal(await app.cache.wrap(key, 1, failing), 'v1', 'stale value instead of an error')
    await t.rejects(app.cache.wrap(`never:${Math.random()}`, 1, failing), /source down/)
  },
)

t.test('incr: a counter per window, shared by workers when memcached is set', async (t) => {
  const DATABASE_URL = await migratedDatabase(t)
  const a = await buildTestApp(t, { DATABASE_URL })
  const b = await buildTestApp(t, { DATABASE_URL })
  const key = `count:${Math.random()}`
  t.equal(await a.cache.incr(key, 60), 1)
  t.equal(await a.cache.incr(key, 60), 2)
  t.equal(await b.cache.incr(key, 60), process.env.MEMCACHED_SERVERS ? 3 : 1)
})

t.test(
  'memcached killed mid-run: requests still succeed, one warning, memcached used again once back',
  { skip: skipUnless(Boolean(memcachedBinary), 'the memcached program', 'memcached') },
  async (t) => {
    const port = await freePort()
    let memcached = await startMemcached(port)
    t.teardown(() => kill(memcached))
    const logs = captureLogs()
    const DATABASE_URL = await migratedDatabase(t)
    const servers = `127.0.0.1:${port}`
    const app = await buildTestApp(
      t,
      { DATABASE_URL, MEMCACHED_SERVERS: servers, CACHE_TIMEOUT_MS: '100', LOG_LEVEL: 'warn' },
      { logStream: logs.stream },
    )
    const other = await buildTestApp(t, { DATABASE_URL, MEMCACHED_SERVERS: servers })
    let loads = 0
    app.get('/v1/test/cached', async () =>
      app.cache.wrap('cached:route', 60, async () => ({ loads: ++loads })),
    )

    t.equal((await app.inject({ url: '/v1/test/cached' })).statusCode, 200)
    t.equal((await app.inject({ url: '/health/ready' })).json().checks.memcached.status, 'up')
    await app.cache.set('shared', 'via memcached', 60)
    t.equal(await other.cache.get('shared'), 'via memcached', 'the other worker reads it from memcached')

    await kill(memcached)
    const started = Date.now()
    for (let i = 0; i < 30; i++) {
      const res = await app.inject({ url: i % 2 ? '/v1/test/cached' : '/health/timing' })
      t.equal(res.statusCode, 200, `request ${i} succeeds while memcached is down`)
    }
    t.ok(
      Date.now() - started < 5000,
      `30 requests in ${Date.now() - started} ms: a dead memcached costs little`,
    )
    const ready = (await app.inject({ url: '/health/ready' })).json()
    t.equal(ready.status, 'ready', 'still ready: the cache is an optimisation')
    t.equal(ready.checks.memcached.status, 'down')
    const warnings = logs.lines.filter((line) => String(line.msg).startsWith('memcached unavailable'))
    t.equal(warnings.length, 1, 'the outage is logged once, not per request')

    memcached = await startMemcached(port)
    const back = await eventually(
      async () => (await app.inject({ url: '/health/ready' })).json().checks.memcached.status === 'up',
      5000,
    )
    t.ok(back < 5000, `memcached is used again ${back} ms after it came back`)
    await app.cache.set('shared-again', 'after restart', 60)
    t.equal(await other.cache.get('shared-again'), 'after restart', 'shared level works again')
  },
)

t.test(
  'memcached unreachable but not restarted: a delete it missed is applied once it answers again',
  { skip: skipUnless(Boolean(memcachedBinary), 'the memcached program', 'memcached') },
  async (t) => {
    const port = await freePort()
    const memcached = await startMemcached(port)
    t.teardown(async () => {
      memcached.kill('SIGCONT')
      await kill(memcached)
    })
    const DATABASE_URL = await migratedDatabase(t)
    const settings = { DATABASE_URL, MEMCACHED_SERVERS: `127.0.0.1:${port}`, CACHE_TIMEOUT_MS: '100' }
    // The entries are written by another worker, which waits for memcached as the other tests do
    // (2 s). With the writer's 100 ms, a loaded machine could miss the first write: the breaker
    // then skipped the second, and the entries the test reads back were never in memcached.
    const seeder = await buildTestApp(t, { ...settings, CACHE_TIMEOUT_MS: '2000' })
    await seeder.cache.set('session-active:s1', true, 300)
    await seeder.cache.set('control', 'kept', 300)
    const writer = await buildTestApp(t, settings)

    // Paused, memcached keeps its data but answers nothing: the delete times out.
    memcached.kill('SIGSTOP')
    const started = Date.now()
    t.equal(await writer.cache.get('other'), undefined, 'a read times out: memcached is skipped for a while')
    await writer.cache.del('session-active:s1')
    t.ok(Date.now() - started < 1000, 'the delete gives up at once instead of hanging')
    memcached.kill('SIGCONT')

    // A worker that never held the entry reads memcached directly (the control entry shows it does).
    // It waits for memcached as the seeder does: the writer's 100 ms is there to see the pause.
    const reader = await buildTestApp(t, { ...settings, CACHE_TIMEOUT_MS: '2000' })
    const reachable = await eventually(async () => (await reader.cache.get('control')) === 'kept', 10_000)
    t.ok(reachable < 10_000, `the reader reads from memcached again (after ${reachable} ms)`)
    const gone = await eventually(
      async () => (await reader.cache.get('session-active:s1')) === undefined,
      10_000,
    )
    t.ok(gone < 10_000, `the missed delete reached memcached ${gone} ms after it came back`)
  },
)
