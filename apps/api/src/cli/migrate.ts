/**
 * Database migrations for operators and deploys:
 *   node apps/api/src/cli/migrate.ts up          apply every pending migration (expand and contract)
 *   node apps/api/src/cli/migrate.ts expand      apply pending expand migrations only (a release)
 *   node apps/api/src/cli/migrate.ts status      list pending migrations and their kind
 *   node apps/api/src/cli/migrate.ts down        revert the last applied migration
 *   node apps/api/src/cli/migrate.ts new NAME    create migrations/<timestamp>_NAME.ts
 * All but new need DATABASE_URL (npm run migrate provides the embedded one in development).
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import {
  createDb,
  createPool,
  migrateDown,
  migrateToLatest,
  migrationsFolder,
  pendingMigrations,
} from '@nudge/db'

const usage = `usage: migrate up | expand | status | down | new NAME
  up         apply every pending migration, expand and contract (safe from several processes at once)
  expand     apply pending expand migrations only: what a release runs while the previous
             release still serves; contract migrations (*.contract.ts) wait for deploy finish
  status     list pending migrations, each marked expand or contract
  down       revert the most recently applied migration
  new NAME   create migrations/<timestamp>_NAME.ts from a template
             (NAME ending in .contract: a contract migration, e.g. drop_old_column.contract)
env: DATABASE_URL (postgres://...) for up, expand, status and down
`

const template = `import type { Kysely } from 'kysely'

// Frozen in time: never import app code here.

export async function up(db: Kysely<unknown>): Promise<void> {}

export async function down(db: Kysely<unknown>): Promise<void> {}
`

async function create(name: string | undefined): Promise<number> {
  if (!name || !/^[a-z0-9_]+(\.contract)?$/.test(name)) {
    process.stderr.write(
      `migrate new: NAME must be lower_snake_case letters and digits, optionally ending in .contract\n${usage}`,
    )
    return 2
  }
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(':', '-')
  const file = path.join(migrationsFolder, `${stamp}_${name}.ts`)
  await writeFile(file, template, { flag: 'wx' })
  process.stdout.write(`created ${path.relative(process.cwd(), file)}\n`)
  return 0
}

async function run(command: 'up' | 'expand' | 'status' | 'down'): Promise<number> {
  const url = process.env.DATABASE_URL
  if (!url) {
    process.stderr.write('migrate: DATABASE_URL is not set (expected a postgres:// URL)\n')
    return 2
  }
  const db = createDb(
    createPool({ DATABASE_URL: url, DATABASE_POOL_MAX: 2, DATABASE_STATEMENT_TIMEOUT_MS: 600000 }),
  )
  try {
    if (command === 'status') {
      const pending = await pendingMigrations(db)
      for (const migration of pending) process.stdout.write(`pending ${migration.kind}: ${migration.name}\n`)
      if (pending.length === 0) process.stdout.write('already up to date\n')
      return 0
    }
    const { error, results = [] } =
      command === 'down'
        ? await migrateDown(db)
        : await migrateToLatest(db, command === 'expand' ? 'expand' : 'all')
    for (const result of results) {
      const verb = result.direction === 'Up' ? 'applied' : 'reverted'
      process.stdout.write(
        `${result.status === 'Success' ? verb : `${result.status}:`} ${result.migrationName}\n`,
      )
    }
    if (error) {
      process.stderr.write(`migrate ${command} failed: ${(error as Error).message ?? String(error)}\n`)
      return 1
    }
    if (results.length === 0)
      process.stdout.write(command === 'down' ? 'nothing to revert\n' : 'already up to date\n')
    return 0
  } finally {
    await db.destroy()
  }
}

const [command, name] = process.argv.slice(2)
let code: number
if (command === 'up' || command === 'expand' || command === 'status' || command === 'down')
  code = await run(command)
else if (command === 'new') code = await create(name)
else {
  process.stdout.write(usage)
  code = command === '--help' || command === '-h' ? 0 : 2
}
process.exit(code)
