import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { migrationsFolder } from '@nudge/db'
import t from 'tap'
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
