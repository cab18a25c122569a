import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Kysely } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema the database has.
type AnyDb = Kysely<any>

import { FileMigrationProvider, type MigrationResultSet, Migrator } from 'kysely/migration'

/** The repository's `migrations/` folder, wherever the process was started from. */
export const migrationsFolder = path.resolve(import.meta.dirname, '../../../migrations')

/**
 * Kysely's migrator takes a PostgreSQL advisory lock, so two processes starting at once
 * apply each migration exactly once.
 */
export function migrator(db: AnyDb, folder = migrationsFolder): Migrator {
  return new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: folder }) })
}

export async function migrateToLatest(db: AnyDb): Promise<MigrationResultSet> {
  return migrator(db).migrateToLatest()
}

export async function migrateDown(db: AnyDb): Promise<MigrationResultSet> {
  return migrator(db).migrateDown()
}
