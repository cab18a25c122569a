import t from 'tap'
import { buildTestApp, captureLogs } from './helpers/app.ts'
import { clearOfWindowEdge } from './helpers/windows.ts'

t.test('GET /health answers while the process is alive, naming its release', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ url: '/health' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok', release: 'dev' })
  const released = await buildTestApp(t, { RELEASE_ID: '20261202T0400Z-6dbe3c2' })
  t.same((await released.inject({ url: '/health' })).json(), {
    status: 'ok',
    release: '20261202T0400Z-6dbe3c2',
  })
})

t.test('GET /health/ready checks PostgreSQL and the cache', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ url: '/health/ready' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.status, 'ready')
  t.equal(body.checks.database.status, 'up')
  t.equal(body.checks.cacheInvalidation.status, 'up')
  t.equal(body.checks.memcached.status, process.env.MEMCACHED_SERVERS ? 'up' : 'disabled')
})

t.test('GET /health/timing reports db and cache time as JSON and Server-Timing', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ url: '/health/timing' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.ok(body.dbMs > 0 && body.cacheMs >= 0 && body.totalMs >= body.dbMs)
  const timing = res.headers['server-timing'] as string
  t.match(timing, /^total;dur=[\d.]+(, (db|cache);dur=[\d.]+){2}$/)
  t.match(timing, /db;dur=/)
  t.match(timing, /cache;dur=/)
})

t.test('GET /health/timing is limited per client on a counter of its own', async (t) => {
  const app = await buildTestApp(t, { HEALTH_TIMING_LIMIT_PER_MINUTE: '2', RATE_LIMIT_MAX: '100' })
  await clearOfWindowEdge(60_000)
  const codes: number[] = []
  for (let i = 0; i < 3; i++) codes.push((await app.inject({ url: '/health/timing' })).statusCode)
  t.same(codes, [200, 200, 429])
  const limited = await app.inject({ url: '/health/timing' })
  t.match(limited.json(), { statusCode: 429, code: 'RATE_LIMITED' })
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200, 'readiness is never limited')
})

t.test('database unreachable: ready is 503 naming the database, routes answer 503', async (t) => {
  const logs = captureLogs()
  // Nothing listens on port 1: every connection is refused at once.
  const app = await buildTestApp(
    t,
    { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nudge', LOG_LEVEL: 'warn' },
    { logStream: logs.stream },
  )
  app.get('/v1/test/users', async () => app.db.selectFrom('users').selectAll().execute())
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  const body = ready.json()
  t.equal(body.status, 'unavailable')
  t.equal(body.checks.database.status, 'down')
  t.same(body.checks.database, { status: 'down' }, 'which dependency failed, not its error text')
  t.notMatch(ready.body, /ECONNREFUSED|127\.0\.0\.1|5432/)
  t.ok(
    logs.lines.some(
      (line) =>
        line.level === 40 && line.err !== undefined && JSON.stringify(line.err).includes('ECONNREFUSED'),
    ),
    'the cause is in the log',
  )
  t.equal((await app.inject({ url: '/health' })).statusCode, 200, 'still alive')
  const timing = await app.inject({ url: '/health/timing' })
  t.equal(timing.statusCode, 503)
  t.equal(timing.json().code, 'SERVICE_UNAVAILABLE')

  const route = await app.inject({ url: '/v1/test/users' })
  t.equal(route.statusCode, 503)
  t.same(route.json(), {
    statusCode: 503,
    code: 'DATABASE_UNAVAILABLE',
    message: 'The database is unavailable',
  })
})
