import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { DB } from '@nudge/db'
import type { FastifyInstance } from 'fastify'
import { type Kysely, sql } from 'kysely'
import type { Test } from 'tap'
import { generateLegacy } from '../../../../tools/legacy/src/generate.ts'
import { depsOf } from '../../src/deps.ts'
import { openLegacy } from '../../src/modules/golive/legacy-repository.ts'
import { progressTo } from '../../src/modules/golive/progress.ts'
import type { MigrationReport } from '../../src/modules/golive/report.ts'
import { type MigrateOptions, migrate } from '../../src/modules/golive/service.ts'
import { importUser } from '../../src/modules/golive/users.ts'
import { emptyDatabase } from './database.ts'

/** A generated old system: its database (dropped with the test) and its Auth0 export. */
export async function legacySystem(t: Test, accounts: number, seed = 1) {
  const databaseUrl = await emptyDatabase(t)
  const dir = await mkdtemp(path.join(tmpdir(), 'nudge-legacy-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const exportPath = path.join(dir, 'auth0-export.ndjson')
  const summary = await generateLegacy({ databaseUrl, accounts, seed, exportPath })
  return { databaseUrl, exportPath, summary, dir }
}

/** `golive migrate` in-process, as the CLI runs it (the report kept in memory). */
export async function migrateFrom(
  app: FastifyInstance,
  legacy: { databaseUrl: string; exportPath: string },
  options: Partial<Pick<MigrateOptions, 'since' | 'dryRun' | 'batchSize'>> = {},
): Promise<MigrationReport> {
  const source = openLegacy(legacy.databaseUrl)
  try {
    return await migrate(depsOf(app, 'golive'), {
      legacy: source,
      auth0Export: legacy.exportPath,
      importUser: (input) => importUser(app, input),
      progress: progressTo(null),
      saveReport: async () => {},
      batchSize: 50,
      ...options,
    })
  } finally {
    await source.destroy()
  }
}

/**
 * nudge's Go-Live tables with every generated id replaced by the legacy id it maps from (so two
 * runs into two databases compare), as sorted JSON and its hash. Left out, being random by nature:
 * legacy_ids.created_at, users.supertokens_user_id (the core's id), integrations' encrypted secret
 * (random IV; webhook signing secrets are generated) and secret_last4 of webhooks, published_at
 * (the republish's clock), users.updated_at and last_login_at.
 */
export async function canonicalDump(db: Kysely<DB>) {
  const names = new Map<string, string>()
  const mapping = await sql<{ kind: string; legacy_id: string; new_id: string }>`
    SELECT kind, legacy_id, new_id FROM legacy_ids
    ORDER BY kind, CASE WHEN legacy_id ~ '^[0-9]+$' THEN lpad(legacy_id, 20, '0') ELSE legacy_id END`.execute(
    db,
  )
  for (const row of mapping.rows) {
    if (row.kind === 'auth0') continue
    if (!names.has(row.new_id)) names.set(row.new_id, `${row.kind}:${row.legacy_id}`)
  }
  const name = (id: unknown) => (typeof id === 'string' ? (names.get(id) ?? `unmapped:${id.length}`) : id)
  const tables: Record<string, unknown[]> = {}
  const dump = async (table: string, query: string, ids: string[]) => {
    const { rows } = await sql.raw<Record<string, unknown>>(query).execute(db)
    const out = rows.map((row) => {
      const copy: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(row)) {
        copy[key] = ids.includes(key) ? name(value) : value instanceof Date ? value.toISOString() : value
      }
      return JSON.stringify(copy)
    })
    tables[table] = out.sort()
  }
  await dump('users', 'SELECT id, email, name, created_at FROM users', ['id'])
  await dump(
    'teams',
    'SELECT id, name, personal, plan, stripe_customer_id, stripe_subscription_id, subscription_status, created_at FROM teams',
    ['id'],
  )
  await dump('team_members', 'SELECT team_id, user_id, role, created_at FROM team_members', [
    'team_id',
    'user_id',
  ])
  await dump('sites', 'SELECT id, team_id, hostname, settings, created_at FROM sites', ['id', 'team_id'])
  await dump(
    'campaigns',
    `SELECT id, team_id, site_id, name, type, status, variants, targeting, frequency, schedule, version,
      published_version, created_by, created_at, updated_at FROM campaigns`,
    ['id', 'team_id', 'site_id', 'created_by'],
  )
  await dump(
    'leads',
    'SELECT id, team_id, campaign_id, variant_id, email, fields, consent, country, created_at FROM leads',
    ['id', 'team_id', 'campaign_id'],
  )
  await dump(
    'campaign_stats_daily',
    `SELECT campaign_id, variant_id, to_char(day, 'YYYY-MM-DD') AS day, country, impressions, closes,
      conversions, leads FROM campaign_stats_daily`,
    ['campaign_id'],
  )
  await dump(
    'integrations',
    `SELECT id, team_id, kind, name, status, url, account_key,
      CASE WHEN kind = 'mailerlite' THEN secret_last4 END AS secret_last4, created_at FROM integrations`,
    ['id', 'team_id'],
  )
  await dump(
    'campaign_integrations',
    'SELECT campaign_id, integration_id, team_id, settings FROM campaign_integrations',
    ['campaign_id', 'integration_id', 'team_id'],
  )
  await dump('legacy_ids', 'SELECT kind, legacy_id, new_id FROM legacy_ids', ['new_id'])
  const counts = Object.fromEntries(Object.entries(tables).map(([table, rows]) => [table, rows.length]))
  const hash = createHash('sha256').update(JSON.stringify(tables)).digest('hex')
  return { counts, hash, tables }
}

/** The kinds of change and the skip reasons the report gives for one old row. */
export function aboutRow(report: MigrationReport, row: string, legacyId: number | string) {
  const id = String(legacyId)
  return {
    changes: report.changes
      .filter((change) => change.row === row && change.legacyId === id)
      .map((c) => c.kind),
    skipped: report.skipped.filter((skip) => skip.kind === row && skip.legacyId === id).map((s) => s.reason),
  }
}
