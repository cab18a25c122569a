import { existsSync, promises as fs } from 'node:fs'
import path from 'node:path'
import type { Kysely } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema the database has.
type AnyDb = Kysely<any>

import {
  DEFAULT_MIGRATION_TABLE,
  FileMigrationProvider,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
  Migrator,
} from 'kysely/migration'

/**
 * The repository's `migrations/` folder, wherever the process was started from: the nearest one
 * above this file, which is libs/db/src/ in the sources and somewhere in apps/api/dist/ in a build.
 */
export const migrationsFolder = nearestMigrations(import.meta.dirname)

function nearestMigrations(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'migrations')
    if (existsSync(candidate)) return candidate
    if (path.dirname(dir) === dir) return path.resolve(import.meta.dirname, '../../../migrations')
  }
}

/**
 * A migration whose file name ends in `.contract.ts` removes or renames what an older release
 * still uses. During a blue-green release both colours share the database, so such migrations
 * run only once the old colour is gone (`deploy finish`); every other one is an expand migration.
 */
export const isContractMigration = (name: string) => name.endsWith('.contract')

/**
 * `all`: every pending migration (development, a single colour, `deploy finish`).
 * `expand`: only expand migrations; pending contract ones wait, those already applied are kept
 * in the list so the migrator still recognises the database's history.
 */
export type MigrationPhase = 'all' | 'expand'

async function appliedNames(db: AnyDb): Promise<Set<string>> {
  try {
    const rows = await db.selectFrom(DEFAULT_MIGRATION_TABLE).select('name').execute()
    return new Set(rows.map((row) => String(row.name)))
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return new Set() // no migration has run yet
    throw error
  }
}

/** Stands for a migration a newer release applied: it is in the database's history, so it never runs here. */
const appliedByNewerRelease: Migration = { up: async () => {} }

/**
 * The migrations a release knows, as its migrator should see them during blue-green releases:
 * in the `expand` phase without its pending contract migrations; and in both phases with
 * placeholders for migrations a newer release already applied (one rolled back, or running in the
 * other colour), so an older release still migrates and finishes instead of calling the history
 * corrupted.
 */
class ReleaseMigrations implements MigrationProvider {
  private readonly files: MigrationProvider
  private readonly phase: MigrationPhase
  private readonly applied: Set<string>

  constructor(files: MigrationProvider, phase: MigrationPhase, applied: Set<string>) {
    this.files = files
    this.phase = phase
    this.applied = applied
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const all = await this.files.getMigrations()
    const known = Object.fromEntries(
      Object.entries(all).filter(
        ([name]) => this.phase === 'all' || !isContractMigration(name) || this.applied.has(name),
      ),
    )
    for (const name of this.applied) known[name] ??= appliedByNewerRelease
    return known
  }
}

/**
 * Kysely's migrator takes a PostgreSQL advisory lock, so two processes starting at once
 * apply each migration exactly once. Unordered migrations are allowed: a contract migration
 * held back during a release runs at `finish`, after expand migrations named later than it.
 * This one sees exactly the folder's files (migrate down, the migration check).
 */
export function migrator(db: AnyDb, folder = migrationsFolder): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: folder }),
    allowUnorderedMigrations: true,
  })
}

/**
 * The migrator of a release (see ReleaseMigrations). The applied migrations are read before it
 * runs: Kysely asks the provider for the list while it holds the lock's connection, and a pool
 * of one (npm start, the dev tools) has no second connection to read them with.
 */
async function releaseMigrator(db: AnyDb, folder: string, phase: MigrationPhase): Promise<Migrator> {
  const files = new FileMigrationProvider({ fs, path, migrationFolder: folder })
  return new Migrator({
    db,
    provider: new ReleaseMigrations(files, phase, await appliedNames(db)),
    allowUnorderedMigrations: true,
  })
}

export async function migrateToLatest(
  db: AnyDb,
  phase: MigrationPhase = 'all',
  folder = migrationsFolder,
): Promise<MigrationResultSet> {
  return (await releaseMigrator(db, folder, phase)).migrateToLatest()
}

export async function migrateDown(db: AnyDb, folder = migrationsFolder): Promise<MigrationResultSet> {
  return migrator(db, folder).migrateDown()
}

export interface PendingMigration {
  name: string
  kind: 'expand' | 'contract'
}

/** Migrations of this folder not applied yet, in the order they would run. */
export async function pendingMigrations(db: AnyDb, folder = migrationsFolder): Promise<PendingMigration[]> {
  const migrations = await (await releaseMigrator(db, folder, 'all')).getMigrations()
  return migrations
    .filter((migration) => !migration.executedAt)
    .map(({ name }) => ({ name, kind: isContractMigration(name) ? 'contract' : 'expand' }))
}
