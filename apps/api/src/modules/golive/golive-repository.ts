import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'
import type { ConvertedCampaign } from './convert.ts'

/*
 * The migration's queries of nudge's database. Writes of many rows go as one statement per batch
 * (multi-row VALUES, or unnest of arrays for the large tables: a handful of parameters whatever
 * the batch size). Each keeps the old row's timestamps, so a rerun writes the same values.
 */

// ---- runs

export async function lastFinishedSourceTime(db: Kysely<DB>): Promise<Date | null> {
  const row = await db
    .selectFrom('golive_runs')
    .select('source_time')
    .where('finished_at', 'is not', null)
    .orderBy('source_time', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row?.source_time ?? null
}

export async function insertRun(db: Kysely<DB>, run: { id: string; since: Date | null; sourceTime: Date }) {
  await db
    .insertInto('golive_runs')
    .values({ id: run.id, since: run.since, source_time: run.sourceTime })
    .execute()
}

export async function finishRun(db: Kysely<DB>, id: string) {
  await db.updateTable('golive_runs').set({ finished_at: new Date() }).where('id', '=', id).execute()
}

// ---- teams

export async function teamsWithStripeCustomers(db: Kysely<DB>, customerIds: string[]): Promise<Set<string>> {
  if (customerIds.length === 0) return new Set()
  const rows = await db
    .selectFrom('teams')
    .select('stripe_customer_id')
    .where('stripe_customer_id', 'in', customerIds)
    .execute()
  return new Set(rows.map((row) => row.stripe_customer_id as string))
}

export interface TeamRow {
  id: string
  name: string
  plan: string
  stripeCustomerId: string | null
  stripeSubscriptionId: string | null
  subscriptionStatus: string | null
  createdAt: Date
  ownerId: string
  legacyId: string
}

/** Teams as the billing module keeps them (plan and Stripe's ids and status on the row), each with its owner. */
export async function insertTeams(db: Kysely<DB>, teams: TeamRow[]) {
  if (teams.length === 0) return
  await db
    .insertInto('teams')
    .values(
      teams.map((team) => ({
        id: team.id,
        name: team.name,
        personal: false,
        plan: team.plan,
        stripe_customer_id: team.stripeCustomerId,
        stripe_subscription_id: team.stripeSubscriptionId,
        subscription_status: team.subscriptionStatus,
        created_at: team.createdAt,
        updated_at: team.createdAt,
      })),
    )
    .execute()
  await db
    .insertInto('team_members')
    .values(
      teams.map((team) => ({
        team_id: team.id,
        user_id: team.ownerId,
        role: 'owner' as const,
        created_at: team.createdAt,
        updated_at: team.createdAt,
      })),
    )
    .execute()
}

export async function ownsTeams(db: Kysely<DB>, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('team_members')
    .select('team_id')
    .where('user_id', '=', userId)
    .where('role', '=', 'owner')
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}

/** team id → its owner (the migrated account's one owner). */
export async function ownersOfTeams(db: Kysely<DB>, teamIds: string[]) {
  if (teamIds.length === 0) return new Map<string, { userId: string; email: string }>()
  const rows = await db
    .selectFrom('team_members')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select(['team_members.team_id', 'users.id', 'users.email'])
    .where('team_members.team_id', 'in', teamIds)
    .where('team_members.role', '=', 'owner')
    .orderBy('team_members.created_at')
    .execute()
  const owners = new Map<string, { userId: string; email: string }>()
  for (const row of rows)
    if (!owners.has(row.team_id)) owners.set(row.team_id, { userId: row.id, email: row.email })
  return owners
}

// ---- sites

export async function sitesByHostname(db: Kysely<DB>, hostnames: string[]) {
  const owners = new Map<string, { id: string; teamId: string }>()
  if (hostnames.length === 0) return owners
  const rows = await db
    .selectFrom('sites')
    .select(['id', 'team_id', 'hostname'])
    .where('hostname', 'in', [...new Set(hostnames)])
    .execute()
  for (const row of rows) owners.set(row.hostname, { id: row.id, teamId: row.team_id })
  return owners
}

export async function hostnamesOfSites(db: Kysely<DB>, siteIds: string[]): Promise<Map<string, string>> {
  if (siteIds.length === 0) return new Map()
  const rows = await db.selectFrom('sites').select(['id', 'hostname']).where('id', 'in', siteIds).execute()
  return new Map(rows.map((row) => [row.id, row.hostname]))
}

export async function insertSites(
  db: Kysely<DB>,
  sites: Array<{ id: string; teamId: string; hostname: string; createdAt: Date }>,
) {
  if (sites.length === 0) return
  await db
    .insertInto('sites')
    .values(
      sites.map((site) => ({
        id: site.id,
        team_id: site.teamId,
        hostname: site.hostname,
        created_at: site.createdAt,
        updated_at: site.createdAt,
      })),
    )
    .execute()
}

/** Pages on subdomains of these sites count as theirs (a folded www. twin). */
export async function allowSubdomains(db: Kysely<DB>, siteIds: string[]) {
  if (siteIds.length === 0) return
  await db
    .updateTable('sites')
    .set({ settings: sql`settings || '{"allowSubdomains": true}'::jsonb` })
    .where('id', 'in', [...new Set(siteIds)])
    .execute()
}

// ---- campaigns

export interface CampaignRow {
  id: string
  teamId: string
  siteId: string | null
  createdBy: string | null
  content: ConvertedCampaign
  createdAt: Date
  updatedAt: Date
  legacyId: string
}

function contentColumns(content: ConvertedCampaign) {
  return {
    name: content.name,
    type: content.type,
    status: content.status,
    variants: JSON.stringify(content.variants),
    targeting: JSON.stringify(content.targeting),
    frequency: JSON.stringify(content.frequency),
    schedule: content.schedule === null ? null : JSON.stringify(content.schedule),
  }
}

export async function insertCampaigns(db: Kysely<DB>, rows: CampaignRow[]) {
  if (rows.length === 0) return
  await db
    .insertInto('campaigns')
    .values(
      rows.map((row) => ({
        id: row.id,
        team_id: row.teamId,
        site_id: row.siteId,
        created_by: row.createdBy,
        ...contentColumns(row.content),
        status_changed_at: row.updatedAt,
        created_at: row.createdAt,
        updated_at: row.updatedAt,
      })),
    )
    .execute()
}

/**
 * An edit the old system made since the last run: its content over ours, as a new version; false
 * when the row has it already (a rerun of a killed delta must not make a version of nothing).
 */
export async function updateCampaign(db: Kysely<DB>, row: CampaignRow): Promise<boolean> {
  const columns = contentColumns(row.content)
  const result = await db
    .updateTable('campaigns')
    .set((eb) => ({
      site_id: row.siteId,
      ...columns,
      version: eb('version', '+', 1),
      status_changed_at: sql`CASE WHEN status = ${row.content.status} THEN status_changed_at ELSE ${row.updatedAt} END`,
      updated_at: row.updatedAt,
    }))
    .where('id', '=', row.id)
    .where(
      sql<boolean>`(site_id, name, type, status, variants, targeting, frequency, schedule) IS DISTINCT FROM
        (${row.siteId}::uuid, ${columns.name}, ${columns.type}, ${columns.status}, ${columns.variants}::jsonb,
         ${columns.targeting}::jsonb, ${columns.frequency}::jsonb, ${columns.schedule}::jsonb)`,
    )
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** campaign id → team and the variant migrated numbers are counted on (its first). */
export async function campaignTargets(db: Kysely<DB>, campaignIds: string[]) {
  const targets = new Map<string, { teamId: string; variantId: string }>()
  if (campaignIds.length === 0) return targets
  const rows = await db
    .selectFrom('campaigns')
    .select(['id', 'team_id', sql<string>`variants -> 0 ->> 'id'`.as('variant_id')])
    .where('id', 'in', campaignIds)
    .execute()
  for (const row of rows) targets.set(row.id, { teamId: row.team_id, variantId: row.variant_id ?? '' })
  return targets
}

// ---- leads

export interface LeadRow {
  id: string
  teamId: string
  campaignId: string
  variantId: string
  email: string
  fields: Record<string, unknown>
  country: string | null
  createdAt: Date
  legacyId: string
}

/**
 * Inserts the leads, but none where the campaign has that email already (the unique index:
 * one lead per campaign and address); returns the ids inserted. No outbox rows: a migrated lead
 * was delivered by the old system, it must not be sent to the integrations again.
 */
export async function insertLeads(db: Kysely<DB>, rows: LeadRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set()
  const result = await sql<{ id: string }>`
    INSERT INTO leads (id, team_id, campaign_id, variant_id, email, fields, country, created_at, updated_at)
    SELECT id, team_id, campaign_id, variant_id, email, fields, country, created_at, created_at
    FROM unnest(
      ${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.teamId)}::uuid[],
      ${rows.map((r) => r.campaignId)}::uuid[], ${rows.map((r) => r.variantId)}::text[],
      ${rows.map((r) => r.email)}::text[], ${rows.map((r) => JSON.stringify(r.fields))}::jsonb[],
      ${rows.map((r) => r.country)}::text[], ${rows.map((r) => r.createdAt.toISOString())}::timestamptz[]
    ) AS l (id, team_id, campaign_id, variant_id, email, fields, country, created_at)
    ON CONFLICT (campaign_id, lower(email)) DO NOTHING
    RETURNING id`.execute(db)
  return new Set(result.rows.map((row) => row.id))
}

/** `campaignId \n lower(email)` → the lead nudge has for it, for these rows' keys. */
export async function existingLeadKeys(db: Kysely<DB>, rows: Array<{ campaignId: string; email: string }>) {
  const found = new Map<string, string>()
  if (rows.length === 0) return found
  const result = await sql<{ id: string; campaign_id: string; email: string }>`
    SELECT l.id, l.campaign_id, lower(l.email) AS email
    FROM leads l
    JOIN unnest(${rows.map((r) => r.campaignId)}::uuid[], ${rows.map((r) => r.email.toLowerCase())}::text[])
      AS k (campaign_id, email) ON l.campaign_id = k.campaign_id AND lower(l.email) = k.email`.execute(db)
  for (const row of result.rows) found.set(`${row.campaign_id}\n${row.email}`, row.id)
  return found
}

// ---- stats

export interface StatsRow {
  campaignId: string
  teamId: string
  variantId: string
  day: string
  impressions: number
  closes: number
  conversions: number
}

/**
 * The old numbers replace what a previous run wrote for the day (the old system updated a day's
 * row in place: adding would count it twice). `leads` is the day's migrated leads of the
 * campaign, counted from the leads brought across. Unchanged rows are not rewritten.
 */
export async function upsertStats(db: Kysely<DB>, rows: StatsRow[]) {
  if (rows.length === 0) return { created: 0, updated: 0 }
  // The day's leads through leads_team_page_idx (team, created_at): a range of one team's day,
  // whatever the size of the campaign's history.
  const result = await sql<{ created: boolean }>`
    INSERT INTO campaign_stats_daily AS d (campaign_id, variant_id, day, country, impressions, closes, conversions, leads)
    SELECT s.campaign_id, s.variant_id, s.day, '', s.impressions, s.closes, s.conversions,
      (SELECT count(*) FROM leads l
        WHERE l.team_id = s.team_id
          AND l.created_at >= (s.day::timestamp AT TIME ZONE 'UTC')
          AND l.created_at < ((s.day + 1)::timestamp AT TIME ZONE 'UTC')
          AND l.campaign_id = s.campaign_id
          AND EXISTS (SELECT 1 FROM legacy_ids li WHERE li.kind = 'lead' AND li.new_id = l.id))
    FROM unnest(
      ${rows.map((r) => r.campaignId)}::uuid[], ${rows.map((r) => r.teamId)}::uuid[],
      ${rows.map((r) => r.variantId)}::text[], ${rows.map((r) => r.day)}::date[],
      ${rows.map((r) => r.impressions)}::bigint[], ${rows.map((r) => r.closes)}::bigint[],
      ${rows.map((r) => r.conversions)}::bigint[]
    ) AS s (campaign_id, team_id, variant_id, day, impressions, closes, conversions)
    ON CONFLICT (campaign_id, variant_id, day, country) DO UPDATE
      SET impressions = excluded.impressions, closes = excluded.closes,
          conversions = excluded.conversions, leads = excluded.leads
      WHERE (d.impressions, d.closes, d.conversions, d.leads)
        IS DISTINCT FROM (excluded.impressions, excluded.closes, excluded.conversions, excluded.leads)
    RETURNING (xmax = 0) AS created`.execute(db)
  const created = result.rows.filter((row) => row.created).length
  return { created, updated: result.rows.length - created }
}

// ---- integrations

export interface IntegrationRow {
  id: string
  teamId: string
  kind: 'mailerlite' | 'webhook'
  name: string
  url: string | null
  /** encrypted (modules/integrations/secrets.ts) */
  secret: string
  secretLast4: string
  accountKey: string | null
  createdAt: Date
  legacyId: string
  /** per attached campaign (Mailerlite: its group) */
  settings: Record<string, unknown>
  campaignIds: string[]
}

export async function insertIntegrations(db: Kysely<DB>, rows: IntegrationRow[]) {
  if (rows.length === 0) return
  await db
    .insertInto('integrations')
    .values(
      rows.map((row) => ({
        id: row.id,
        team_id: row.teamId,
        kind: row.kind,
        name: row.name,
        url: row.url,
        secret: row.secret,
        secret_last4: row.secretLast4,
        account_key: row.accountKey,
        created_at: row.createdAt,
        updated_at: row.createdAt,
      })),
    )
    .execute()
  const attached = rows.flatMap((row) =>
    row.campaignIds.map((campaignId) => ({
      campaign_id: campaignId,
      integration_id: row.id,
      team_id: row.teamId,
      settings: JSON.stringify(row.settings),
      created_at: row.createdAt,
    })),
  )
  if (attached.length > 0) await db.insertInto('campaign_integrations').values(attached).execute()
  const webhooks = rows.filter((row) => row.kind === 'webhook')
  if (webhooks.length > 0) {
    await db
      .insertInto('golive_secret_notices')
      .values(webhooks.map((row) => ({ integration_id: row.id })))
      .execute()
  }
}

export async function pendingSecretNotices(db: Kysely<DB>) {
  const rows = await db
    .selectFrom('golive_secret_notices as n')
    .innerJoin('integrations as i', 'i.id', 'n.integration_id')
    .innerJoin('legacy_ids as li', (join) =>
      join.on('li.kind', '=', 'integration').onRef('li.new_id', '=', 'i.id'),
    )
    .innerJoin('team_members as m', (join) =>
      join.onRef('m.team_id', '=', 'i.team_id').on('m.role', '=', 'owner'),
    )
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['i.id', 'i.team_id', 'i.url', 'i.secret', 'li.legacy_id', 'u.email'])
    .where('n.reported_at', 'is', null)
    .orderBy('i.id')
    .execute()
  const seen = new Set<string>()
  return rows.flatMap((row) => {
    if (seen.has(row.id)) return []
    seen.add(row.id)
    return [
      {
        integrationId: row.id,
        teamId: row.team_id,
        url: row.url ?? '',
        secret: row.secret,
        legacyId: row.legacy_id,
        ownerEmail: row.email,
      },
    ]
  })
}

export async function markSecretsReported(db: Kysely<DB>, integrationIds: string[]) {
  if (integrationIds.length === 0) return
  await db
    .updateTable('golive_secret_notices')
    .set({ reported_at: new Date() })
    .where('integration_id', 'in', integrationIds)
    .execute()
}

// ---- the legacy map

/** Old domain ids → hostnames, old campaign ids → new ids (of rows that still exist). */
export async function legacyMapEntries(db: Kysely<DB>) {
  const domains: Record<string, string> = {}
  const campaigns: Record<string, string> = {}
  const siteRows = await db
    .selectFrom('legacy_ids as li')
    .innerJoin('sites as s', 's.id', 'li.new_id')
    .select(['li.legacy_id', 's.hostname'])
    .where('li.kind', '=', 'domain')
    .orderBy(sql`li.legacy_id::bigint`)
    .execute()
  for (const row of siteRows) domains[row.legacy_id] = row.hostname
  const campaignRows = await db
    .selectFrom('legacy_ids as li')
    .innerJoin('campaigns as c', 'c.id', 'li.new_id')
    .select(['li.legacy_id', 'c.id'])
    .where('li.kind', '=', 'campaign')
    .orderBy(sql`li.legacy_id::bigint`)
    .execute()
  for (const row of campaignRows) campaigns[row.legacy_id] = row.id
  return { domains, campaigns }
}
