/**
 * Database migrations for operators and deploys:
 *   node apps/api/src/cli/migrate.ts up          apply every pending migration
 *   node apps/api/src/cli/migrate.ts down        revert the last applied migration
 *   node apps/api/src/cli/migrate.ts new NAME    create migrations/<timestamp>_NAME.ts
 * up/down need DATABASE_URL (npm run migrate provides the embedded one in development).
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createDb, createPool, migrateDown, migrateToLatest, migrationsFolder } from '@nudge/db'

const usage = `usage: migrate up | down | new NAME
  up         apply every pending migration (safe to run from several processes at once)
  down       revert the most recently applied migration
  new NAME   create migrations/<timestamp>_NAME.ts from a template
env: DATABASE_URL (postgres://...) for up and down
`

const template = `import type { Kysely } from 'kysely'

// Frozen in time: never import app code here.

export async function up(db: Kysely<unknown>): Promise<void> {}

export async function down(db: Kysely<unknown>): Promise<void> {}
`

async function create(name: string | undefined): Promise<number> {
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    process.stderr.write(`migrate new: NAME must be lower_snake_case letters and digits\n${usage}`)
    return 2
  }
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(':', '-')
  const file = path.join(migrationsFolder, `${stamp}_${name}.ts`)
  await writeFile(file, template, { flag: 'wx' })
  process.stdout.write(`created ${path.relative(process.cwd(), file)}\n`)
  return 0
}

async function run(direction: 'up' | 'down'): Promise<number> {
  const url = process.env.DATABASE_URL
  if (!url) {
    process.stderr.write('migrate: DATABASE_URL is not set (expected a postgres:// URL)\n')
    return 2
  }
  const db = createDb(
    createPool({ DATABASE_URL: url, DATABASE_POOL_MAX: 2, DATABASE_STATEMENT_TIMEOUT_MS: 600000 }),
  )
  try {
    const { error, results = [] } = direction === 'up' ? await migrateToLatest(db) : await migrateDown(db)
    for (const result of results) {
      const verb = result.direction === 'Up' ? 'applied' : 'reverted'
      process.stdout.write(
        `${result.status === 'Success' ? verb : `${result.status}:`} ${result.migrationName}\n`,
      )
    }
    if (error) {
      process.stderr.write(`migrate ${direction} failed: ${(error as Error).message ?? String(error)}\n`)
      return 1
    }
    if (results.length === 0)
      process.stdout.write(direction === 'up' ? 'already up to date\n' : 'nothing to revert\n')
    return 0
  } finally {
    await db.destroy()
  }
}

const [command, name] = process.argv.slice(2)
let code: number
if (command === 'up' || command === 'down') code = await run(command)
else if (command === 'new') code = await create(name)
else {
  process.stdout.write(usage)
  code = command === '--help' || command === '-h' ? 0 : 2
}
process.exit(code)
