/**
 * `npm run check:migrations`: refuses an expand migration (any not named `*.contract.ts`) that
 * drops or renames a table or column, or adds a NOT NULL column without a default to an existing
 * table. Both colours of a blue-green release share the database; such changes are contract
 * migrations, run once the old colour is gone. Uses a scratch database on DATABASE_URL's server
 * (default postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 */
import { migrationsFolder } from '@nudge/db'
import { checkMigrations } from './migration-check.ts'

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npm run check:migrations [-- FOLDER]\n')
  process.exit(0)
}
const folder = process.argv[2] ?? migrationsFolder
const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const found = await checkMigrations(server, folder)
for (const { migration, problems } of found) {
  for (const problem of problems) process.stderr.write(`${migration}: ${problem}\n`)
}
if (found.length > 0) {
  process.stderr.write('rename the file to <name>.contract.ts if it must run after the old release is gone\n')
  process.exit(1)
}
process.stdout.write('migrations: every non-contract migration is expand-only\n')
