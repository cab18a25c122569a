import { spawn } from 'node:child_process'
import path from 'node:path'
import { createDb, createPool } from '@nudge/db'
import { startSuperTokensCore } from '@nudge/supertokens-core'
import t from 'tap'
import { buildTestApp, storageDir } from './helpers/app.ts'
import { migratedDatabase } from './helpers/database.ts'
import { canonicalDump, legacySystem, migrateFrom } from './helpers/golive.ts'

/*
 * `npm run golive -- migrate`, killed with SIGKILL at random points and run again until it
 * finishes, leaves the same database as a run that was never interrupted: every batch writes its
 * rows and their legacy_ids in one transaction, and a rerun skips what is mapped.
 */

const cli = path.resolve(import.meta.dirname, '../src/cli/golive.ts')
const legacy = await legacySystem(t, 10, 3)

// The uninterrupted run, in-process.
const reference = await buildTestApp(t)
await reference.ready()
await migrateFrom(reference, legacy)
const expected = await canonicalDump(reference.db)

// The interrupted one: its own database, storage and SuperTokens core (as another deployment).
const core = await startSuperTokensCore({ port: 0 })
t.teardown(() => core.close())
const databaseUrl = await migratedDatabase(t)
const objects = await storageDir(t)
const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: 'test',
  DATABASE_URL: databaseUrl,
  STORAGE_DIR: objects,
  SUPERTOKENS_CONNECTION_URI: core.url,
  API_DOMAIN: 'https://api.nudge.test',
  DASHBOARD_ORIGINS: 'https://app.nudge.test',
}
for (const name of Object.keys(env)) {
  if (/^(S3_|CLOUDFLARE_|MEMCACHED_|SMTP_)/.test(name)) delete env[name]
}
const args = [
  cli,
  'migrate',
  '--from',
  legacy.databaseUrl,
  '--auth0-export',
  legacy.exportPath,
  '--batch-size',
  '20',
  '--report',
  path.join(legacy.dir, 'report.json'),
]

/** Runs the CLI; kills it (SIGKILL) after `killAfterMs` of work if given. */
function run(killAfterMs?: number): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    child.stderr.on('data', (chunk) => {
      stderr += chunk
      // Counted from the first progress line: the process is migrating by then, not starting.
      if (killAfterMs !== undefined && !timer && /golive /.test(stderr)) {
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
      }
    })
    child.stdout.resume()
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr })
    })
  })
}

t.test('killed at random points and resumed, it ends as an uninterrupted run', async (t) => {
  const kills: number[] = []
  for (let attempt = 0; attempt < 4; attempt++) {
    const after = Math.floor(Math.random() * 4000)
    const result = await run(after)
    kills.push(after)
    if (result.signal !== 'SIGKILL') t.comment(`run ${attempt + 1} finished before its kill at ${after} ms`)
  }
  t.comment(`killed after ${kills.join(', ')} ms of migrating`)
  const last = await run()
  t.equal(last.code, 0, `the last run finishes: ${last.stderr.slice(-500)}`)
  const db = createDb(
    createPool({ DATABASE_URL: databaseUrl, DATABASE_POOL_MAX: 2, DATABASE_STATEMENT_TIMEOUT_MS: 10000 }),
  )
  t.teardown(() => db.destroy())
  const actual = await canonicalDump(db)
  t.same(actual.counts, expected.counts, 'the same row counts')
  if (actual.hash !== expected.hash) {
    for (const [table, rows] of Object.entries(actual.tables)) {
      t.same(rows, expected.tables[table], `${table} as uninterrupted`)
    }
  }
  t.equal(actual.hash, expected.hash, 'the same rows')
})

t.test('--help, and bad usage named with exit 2 before anything is touched', async (t) => {
  const help = await runWith(['--help'])
  t.equal(help.code, 0)
  t.match(
    help.stdout,
    /usage: npm run golive -- <command>[\s\S]*migrate --from URL[\s\S]*legacy-map --remove/,
  )
  const noSource = await runWith(['migrate', '--auth0-export', legacy.exportPath])
  t.equal(noSource.code, 2)
  t.match(noSource.stderr, /--from <legacy DATABASE_URL> is required/)
  const badSince = await runWith(['migrate', '--from', legacy.databaseUrl, '--since', 'yesterday'])
  t.equal(badSince.code, 2)
  t.match(badSince.stderr, /--since: not an ISO date-time/)
  const unknown = await runWith(['migrat'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command migrat/)
})

function runWith(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}
