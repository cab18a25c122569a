import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { Kysely, PostgresDialect, type SelectQueryBuilder, sql } from 'kysely'
import pg from 'pg'

/**
 * The old system's database (tools/legacy/schema.sql), read only: every query the migration
 * makes of it is here. Reads go in keyset batches on the primary key, so memory stays bounded
 * whatever the size, and a delta narrows each table by the column the old system stamped.
 */
export interface LegacyDB {
  accounts: {
    id: number
    auth0_user_id: string | null
    email: string
    name: string | null
    plan: string
    stripe_customer_id: string | null
    stripe_subscription_id: string | null
    subscription_status: string | null
    created_at: Date
    updated_at: Date
  }
  domains: { id: number; account_id: number; hostname: string; created_at: Date }
  campaigns: {
    id: number
    account_id: number
    domain_id: number | null
    name: string
    type: string
    status: string
    content: Record<string, unknown>
    created_at: Date
    updated_at: Date
  }
  leads: {
    id: number
    campaign_id: number | null
    email: string
    extra: Record<string, unknown>
    country: string | null
    created_at: Date
  }
  campaign_stats: {
    campaign_id: number
    date: string
    impressions: number
    closes: number
    conversions: number
    updated_at: Date
  }
  integrations: {
    id: number
    account_id: number
    kind: string
    config: Record<string, unknown>
    campaign_ids: number[]
    created_at: Date
  }
}

export type LegacyAccount = LegacyDB['accounts']
export type LegacyDomain = LegacyDB['domains']
export type LegacyLead = LegacyDB['leads']
export type LegacyStats = LegacyDB['campaign_stats']
export type LegacyIntegration = LegacyDB['integrations']

export function openLegacy(databaseUrl: string): Kysely<LegacyDB> {
  // Two connections: the reader and the odd lookup beside it. Nothing here writes.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'nudge-golive' })
  pool.on('error', () => {})
  return new Kysely<LegacyDB>({ dialect: new PostgresDialect({ pool }) })
}

/**
 * Where the next delta starts: the latest stamp the old system wrote, by its own clock. Not
 * now(): a run from a restored snapshot would then skip what the old system wrote between the
 * snapshot and the run. (An empty database: now().)
 */
export async function legacyHighWater(legacy: Kysely<LegacyDB>): Promise<Date> {
  // Capped by its clock: a row stamped in the future (a wrong clock once) must not move the start
  // past what the old system has yet to write; such a row is read again by each delta, harmlessly.
  const { rows } = await sql<{ at: Date }>`SELECT least(coalesce(greatest(
      (SELECT max(updated_at) FROM accounts), (SELECT max(created_at) FROM domains),
      (SELECT max(updated_at) FROM campaigns), (SELECT max(created_at) FROM leads),
      (SELECT max(updated_at) FROM campaign_stats), (SELECT max(created_at) FROM integrations)
    ), now()), now()) AS at`.execute(legacy)
  return rows[0]?.at as Date
}

/** What a delta reads of each table: rows stamped at or after `since` (all of them without). */
const STAMP = {
  accounts: 'updated_at',
  domains: 'created_at',
  campaigns: 'updated_at',
  leads: 'created_at',
  campaign_stats: 'updated_at',
  integrations: 'created_at',
} as const

export type LegacyTable = keyof typeof STAMP

export async function countRows(legacy: Kysely<LegacyDB>, table: LegacyTable, since: Date | null) {
  // biome-ignore lint/suspicious/noExplicitAny: one query over any of the tables, by name
  let query = legacy.selectFrom(table as any).select(sql<number>`count(*)::int`.as('n'))
  if (since) query = query.where(STAMP[table], '>=', since)
  const row = await query.executeTakeFirst()
  return Number(row?.n ?? 0)
}

/** Rows of a table with an integer `id`, in id order, `size` at a time. */
export async function* batchesById<T extends Exclude<LegacyTable, 'campaign_stats'>>(
  legacy: Kysely<LegacyDB>,
  table: T,
  since: Date | null,
  size: number,
): AsyncGenerator<LegacyDB[T][]> {
  let after = 0
  for (;;) {
    // biome-ignore lint/suspicious/noExplicitAny: the same keyset query for each table
    let query = (legacy.selectFrom(table as any).selectAll() as SelectQueryBuilder<any, any, any>)
      .where('id', '>', after)
      .orderBy('id')
      .limit(size)
    if (since) query = query.where(STAMP[table] as string, '>=', since)
    const rows = (await query.execute()) as LegacyDB[T][]
    if (rows.length === 0) return
    yield rows
    after = (rows.at(-1) as { id: number }).id
    if (rows.length < size) return
  }
}

/** campaign_stats in (campaign_id, date) order, `size` at a time. */
export async function* statsBatches(
  legacy: Kysely<LegacyDB>,
  since: Date | null,
  size: number,
): AsyncGenerator<LegacyStats[]> {
  let after: [number, string] = [0, '0001-01-01']
  for (;;) {
    let query = legacy
      .selectFrom('campaign_stats')
      .select([
        'campaign_id',
        sql<string>`to_char(date, 'YYYY-MM-DD')`.as('date'),
        'impressions',
        'closes',
        'conversions',
        'updated_at',
      ])
      .where(sql<boolean>`(campaign_id, date) > (${after[0]}, ${after[1]}::date)`)
      .orderBy('campaign_id')
      .orderBy('date')
      .limit(size)
    if (since) query = query.where('updated_at', '>=', since)
    const rows = await query.execute()
    if (rows.length === 0) return
    yield rows
    const last = rows.at(-1) as LegacyStats
    after = [last.campaign_id, last.date]
    if (rows.length < size) return
  }
}

/** Every domain id of these accounts, oldest first: where an "all my domains" campaign goes. */
export async function domainIdsOfAccounts(legacy: Kysely<LegacyDB>, accountIds: number[]) {
  if (accountIds.length === 0) return []
  return legacy
    .selectFrom('domains')
    .select(['id', 'account_id'])
    .where('account_id', 'in', accountIds)
    .orderBy('id')
    .execute()
}

/** Every Auth0 user id an account names (to tell which exported users have no account). */
export async function legacyAuth0Ids(legacy: Kysely<LegacyDB>): Promise<string[]> {
  const rows = await legacy
    .selectFrom('accounts')
    .select('auth0_user_id')
    .distinct()
    .where('auth0_user_id', 'is not', null)
    .execute()
  return rows.map((row) => row.auth0_user_id as string)
}

/** One user of Auth0's bulk user export (NDJSON), the fields the migration uses. */
export interface Auth0User {
  user_id: string
  email: string
  email_verified?: boolean
  created_at?: string
  last_login?: string
}

/**
 * The export, by user_id. One small record per user (a few hundred bytes), read line by line;
 * a line that is not a user (blank, truncated) is returned in `bad` by line number, never echoed
 * (it holds personal data).
 */
export async function readAuth0Export(
  path: string,
): Promise<{ users: Map<string, Auth0User>; bad: number[] }> {
  const users = new Map<string, Auth0User>()
  const bad: number[] = []
  let line = 0
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  })
  for await (const text of lines) {
    line++
    if (text.trim() === '') continue
    try {
      const user = JSON.parse(text) as Partial<Auth0User>
      if (typeof user.user_id !== 'string' || typeof user.email !== 'string') throw new Error('not a user')
      users.set(user.user_id, {
        user_id: user.user_id,
        email: user.email,
        ...(typeof user.email_verified === 'boolean' && { email_verified: user.email_verified }),
        ...(typeof user.created_at === 'string' && { created_at: user.created_at }),
        ...(typeof user.last_login === 'string' && { last_login: user.last_login }),
      })
    } catch {
      bad.push(line)
    }
  }
  return { users, bad }
}
