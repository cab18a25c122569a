import { createDb, createPool, isContractMigration, migrator } from '@nudge/db'
import { sql } from 'kysely'
import pg from 'pg'
import { ensureDatabase } from './database.ts'

interface Column {
  nullable: boolean
  hasDefault: boolean
}

type Catalog = Map<string, Map<string, Column>>

async function catalog(db: ReturnType<typeof createDb>): Promise<Catalog> {
  const { rows } = await sql<{
    table_name: string
    column_name: string
    is_nullable: string
    column_default: string | null
  }>`
    SELECT c.table_name, c.column_name, c.is_nullable, c.column_default
    FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      AND c.table_name NOT LIKE 'kysely_migration%'`.execute(db)
  const tables: Catalog = new Map()
  for (const row of rows) {
    const columns = tables.get(row.table_name) ?? new Map<string, Column>()
    columns.set(row.column_name, {
      nullable: row.is_nullable === 'YES',
      hasDefault: row.column_default !== null,
    })
    tables.set(row.table_name, columns)
  }
  return tables
}

/** What a migration did that a release still running the previous code could trip over. */
function contractions(before: Catalog, after: Catalog): string[] {
  const problems: string[] = []
  for (const [table, columns] of before) {
    const now = after.get(table)
    if (!now) {
      // Partitions come and go with the data (visitor_events_YYYYMMDD): not the schema's shape.
      if (!/_\d{8}$/.test(table)) problems.push(`drops or renames table ${table}`)
      continue
    }
    for (const column of columns.keys())
      if (!now.has(column)) problems.push(`drops or renames column ${table}.${column}`)
    for (const [column, shape] of now)
      if (!columns.has(column) && !shape.nullable && !shape.hasDefault)
        problems.push(
          `adds NOT NULL column ${table}.${column} without a default (the old release cannot insert)`,
        )
  }
  return problems
}

/**
 * Applies the migrations of `folder` one at a time to a scratch database on `serverUrl` and
 * reports each expand migration (not `*.contract.ts`) that drops or renames a table or column
 * or adds a NOT NULL column without a default to an existing table: during a blue-green
 * release both colours share the database, so such a change must wait for `finish`.
 */
export async function checkMigrations(
  serverUrl: string,
  folder: string,
): Promise<Array<{ migration: string; problems: string[] }>> {
  const scratch = `nudge_migration_check_${process.pid}_${Date.now()}`
  await ensureDatabase(serverUrl, scratch)
  const url = new URL(serverUrl)
  url.pathname = `/${scratch}`
  const db = createDb(
    createPool({ DATABASE_URL: url.toString(), DATABASE_POOL_MAX: 1, DATABASE_STATEMENT_TIMEOUT_MS: 60000 }),
  )
  const found: Array<{ migration: string; problems: string[] }> = []
  try {
    const migrations = migrator(db, folder)
    for (const { name } of await migrations.getMigrations()) {
      const before = await catalog(db)
      const { error } = await migrations.migrateTo(name)
      if (error) throw error
      const problems = isContractMigration(name) ? [] : contractions(before, await catalog(db))
      if (problems.length > 0) found.push({ migration: name, problems })
    }
  } finally {
    await db.destroy()
    const admin = new pg.Client({ connectionString: serverUrl })
    await admin.connect()
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(scratch)}`)
    await admin.end()
  }
  return found
}
