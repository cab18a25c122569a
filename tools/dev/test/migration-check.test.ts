import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import {
  createDb,
  createPool,
  migrateDown,
  migrateToLatest,
  migrationsFolder,
  pendingMigrations,
} from '@nudge/db'
import { sql } from 'kysely'
import t from 'tap'
import { dropDatabase, freshDatabase } from '../database.ts'
import { checkMigrations } from '../migration-check.ts'

const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

t.test("the repository's migrations are expand-only", async (t) => {
  t.same(await checkMigrations(server, migrationsFolder), [])
})

t.test(
  'a migration that drops, renames or adds NOT NULL without a default is refused unless contract',
  async (t) => {
    // Inside the repository (.data is ignored by git), where the migrations' imports resolve.
    const parent = path.resolve(import.meta.dirname, '../../../.data')
    await mkdir(parent, { recursive: true })
    const folder = await mkdtemp(path.join(parent, 'migrations-check-'))
    t.teardown(() => rm(folder, { recursive: true, force: true }))
    await cp(migrationsFolder, folder, { recursive: true })
    const bad = `import { type Kysely, sql } from 'kysely'
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sites').dropColumn('first_seen_at').execute()
  await db.schema.alterTable('teams').renameColumn('name', 'title').execute()
  await db.schema.alterTable('teams').addColumn('region', 'text', (col) => col.notNull()).execute()
  await db.schema.alterTable('teams').addColumn('tier', 'text', (col) => col.notNull().defaultTo(sql\`'a'\`)).execute()
  await db.schema.dropTable('stripe_events').execute()
}
export async function down(): Promise<void> {}
`
    await writeFile(path.join(folder, '2099-01-01T00-00-00_bad.ts'), bad)
    const found = await checkMigrations(server, folder)
    t.equal(found.length, 1)
    t.same(found[0]?.problems.sort(), [
      'adds NOT NULL column teams.region without a default (the old release cannot insert)',
      // a rename is a drop and an add, of a column the old release does not fill
      'adds NOT NULL column teams.title without a default (the old release cannot insert)',
      'drops or renames column sites.first_seen_at',
      'drops or renames column teams.name',
      'drops or renames table stripe_events',
    ])
    await rm(path.join(folder, '2099-01-01T00-00-00_bad.ts'))
    await writeFile(path.join(folder, '2099-01-01T00-00-00_bad.contract.ts'), bad)
    t.same(await checkMigrations(server, folder), [], 'a contract migration may')
  },
)

t.test(
  'a release applies expand migrations only; the held-back contract one runs at finish, after later ones',
  async (t) => {
    const parent = path.resolve(import.meta.dirname, '../../../.data')
    await mkdir(parent, { recursive: true })
    const folder = await mkdtemp(path.join(parent, 'migrations-phases-'))
    t.teardown(() => rm(folder, { recursive: true, force: true }))
    const table = (name: string, body: string) =>
      `import { type Kysely, sql } from 'kysely'
export async function up(db: Kysely<unknown>): Promise<void> { await sql\`${body}\`.execute(db) }
export async function down(): Promise<void> {}
// ${name}
`
    await writeFile(
      path.join(folder, '2099-01-01_a.ts'),
      table('a', 'CREATE TABLE phase_a (old text, new text)'),
    )
    await writeFile(
      path.join(folder, '2099-01-02_drop_old.contract.ts'),
      table('b', 'ALTER TABLE phase_a DROP COLUMN old'),
    )
    const database = `nudge_phases_${process.pid}`
    const url = await freshDatabase(server, database)
    t.teardown(() => dropDatabase(server, database))
    const db = createDb(
      createPool({ DATABASE_URL: url, DATABASE_POOL_MAX: 1, DATABASE_STATEMENT_TIMEOUT_MS: 60000 }),
    )
    t.teardown(() => db.destroy())
    const columns = async () =>
      (
        await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns
          WHERE table_name = 'phase_a' ORDER BY column_name`.execute(db)
      ).rows.map((row) => row.column_name)

    const release1 = await migrateToLatest(db, 'expand', folder)
    t.same(
      release1.results?.map((r) => r.migrationName),
      ['2099-01-01_a'],
      'the release applies the expand migration only',
    )
    t.same(await columns(), ['new', 'old'], 'the old release still finds its column')
    t.same(await pendingMigrations(db, folder), [{ name: '2099-01-02_drop_old.contract', kind: 'contract' }])

    // The next release adds an expand migration named after the pending contract one.
    await writeFile(path.join(folder, '2099-01-03_c.ts'), table('c', 'CREATE TABLE phase_c (id int)'))
    const release2 = await migrateToLatest(db, 'expand', folder)
    t.error(release2.error)
    t.same(
      release2.results?.map((r) => r.migrationName),
      ['2099-01-03_c'],
    )
    t.same(await columns(), ['new', 'old'], 'still held back')

    const finish = await migrateToLatest(db, 'all', folder)
    t.error(finish.error)
    t.same(
      finish.results?.map((r) => r.migrationName),
      ['2099-01-02_drop_old.contract'],
      'finish runs it',
    )
    t.same(await columns(), ['new'])
    t.same(await pendingMigrations(db, folder), [])
    const again = await migrateToLatest(db, 'expand', folder)
    t.error(again.error, 'an expand run after finish still accepts the applied contract migration')
    t.same(again.results, [])

    // The previous release (rolled back to, or finishing in the other colour) lacks 2099-01-03_c.
    const older = await mkdtemp(path.join(parent, 'migrations-older-'))
    t.teardown(() => rm(older, { recursive: true, force: true }))
    await cp(path.join(folder, '2099-01-01_a.ts'), path.join(older, '2099-01-01_a.ts'))
    await cp(
      path.join(folder, '2099-01-02_drop_old.contract.ts'),
      path.join(older, '2099-01-02_drop_old.contract.ts'),
    )
    for (const phase of ['expand', 'all'] as const) {
      const run = await migrateToLatest(db, phase, older)
      t.error(run.error, `the older release's ${phase} run accepts a migration a newer release applied`)
      t.same(run.results, [])
    }
    t.same(await pendingMigrations(db, older), [])
    const down = await migrateDown(db, older)
    t.ok(down.error, 'but it refuses to revert past a migration it does not have')
    t.same(await columns(), ['new'])
  },
)
