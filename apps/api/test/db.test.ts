import { execFile } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { createDb, createPool, isUuid, migrateToLatest, migrationsFolder, newId } from '@nudge/db'
import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { emptyDatabase } from './helpers/database.ts'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../../..')

t.test('ids are UUIDv7: time ordered and not sequential', async (t) => {
  const a = newId()
  const b = newId()
  t.ok(isUuid(a) && a[14] === '7', 'version 7')
  t.ok(a < b, 'later ids sort after earlier ones')
  t.not(a.slice(-12), b.slice(-12), 'random tail')
})

t.test('unique violation → 409 naming the field, without the value', async (t) => {
  const app = await buildTestApp(t)
  app.post<{ Body: { email: string } }>('/v1/test/users', async (request) =>
    app.db
      .insertInto('users')
      .values({ id: newId(), email: request.body.email, supertokens_user_id: newId() })
      .returning(['id', 'email'])
      .executeTakeFirstOrThrow(),
  )
  const first = await app.inject({
    method: 'POST',
    url: '/v1/test/users',
    payload: { email: 'ann@example.com' },
  })
  t.equal(first.statusCode, 200)
  t.ok(isUuid(first.json().id))
  const again = await app.inject({
    method: 'POST',
    url: '/v1/test/users',
    payload: { email: 'ANN@example.com' },
  })
  t.equal(again.statusCode, 409, 'emails are unique whatever their case')
  const body = again.json()
  t.equal(body.code, 'CONFLICT')
  t.same(body.details.fields, ['email'])
  t.notMatch(again.body, /ann@example/i, 'the conflicting value is not echoed')
})

t.test('statement timeout → 503, the request does not hang', async (t) => {
  const app = await buildTestApp(t, { DATABASE_STATEMENT_TIMEOUT_MS: '200' })
  app.get('/v1/test/slow', async () => {
    await sql`SELECT pg_sleep(5)`.execute(app.db)
    return { ok: true }
  })
  const started = Date.now()
  const res = await app.inject({ url: '/v1/test/slow' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'DATABASE_TIMEOUT')
  t.ok(Date.now() - started < 3000, 'answered well before the query would have finished')
})

t.test('two processes migrating at once apply each migration once', async (t) => {
  const url = await emptyDatabase(t)
  const open = () =>
    createDb(createPool({ DATABASE_URL: url, DATABASE_POOL_MAX: 2, DATABASE_STATEMENT_TIMEOUT_MS: 10000 }))
  const [a, b] = [open(), open()]
  t.teardown(async () => {
    await a.destroy()
    await b.destroy()
  })
  const results = await Promise.all([migrateToLatest(a), migrateToLatest(b)])
  t.same(
    results.map((r) => r.error),
    [undefined, undefined],
  )
  const migrations = readdirSync(migrationsFolder).filter((name) => name.endsWith('.ts')).length
  const applied = results.flatMap((r) => r.results ?? []).filter((r) => r.status === 'Success')
  t.equal(applied.length, migrations, 'each migration ran exactly once')
  const rows = await sql<{ count: number }>`SELECT count(*)::int AS count FROM kysely_migration`.execute(a)
  t.equal(rows.rows[0]?.count, migrations)
})

t.test('migrate CLI: up, expand, status, down and new print what they did', async (t) => {
  const url = await emptyDatabase(t)
  const cli = path.join(root, 'apps/api/src/cli/migrate.ts')
  const env = { ...process.env, DATABASE_URL: url }
  // Every migration of the folder, applied in name order and reverted in the opposite order.
  const names = readdirSync(migrationsFolder)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => name.slice(0, -'.ts'.length))
    .sort()
  const up = await run(process.execPath, [cli, 'up'], { env })
  t.same(
    up.stdout.trim().split('\n'),
    names.map((name) => `applied ${name}`),
  )
  t.match((await run(process.execPath, [cli, 'up'], { env })).stdout, /already up to date/)
  const status = await run(process.execPath, [cli, 'status'], { env })
  t.match(status.stdout, /already up to date/)
  for (const name of [...names].reverse()) {
    t.equal((await run(process.execPath, [cli, 'down'], { env })).stdout, `reverted ${name}\n`)
  }
  t.match((await run(process.execPath, [cli, 'down'], { env })).stdout, /nothing to revert/)
  const pending = await run(process.execPath, [cli, 'status'], { env })
  t.equal(pending.stdout.trim().split('\n').length, names.length, 'status lists every migration as pending')
  t.match(pending.stdout, /^pending expand: \S+_users$/m)
  const expand = await run(process.execPath, [cli, 'expand'], { env })
  t.equal(expand.stdout.trim().split('\n').length, names.filter((name) => !name.endsWith('.contract')).length)
  const missing = await run(process.execPath, [cli, 'up'], {
    env: { ...process.env, DATABASE_URL: '' },
  }).catch((error: { code: number; stderr: string }) => error)
  t.equal((missing as { code: number }).code, 2)
  t.match((missing as { stderr: string }).stderr, /DATABASE_URL is not set/)
  const bad = await run(process.execPath, [cli, 'new', 'Bad Name']).catch((error: { code: number }) => error)
  t.equal((bad as { code: number }).code, 2, 'migration names are checked')
})
