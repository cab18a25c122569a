import type { DB } from '@nudge/db'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'

/*
 * Every query `golive verify` makes, of both databases. Its own SQL, on purpose: verify checks the
 * migration, so it shares none of its code, and reads old → new only through legacy_ids.
 * Everything is aggregated in the database (hashes, sums, counts): memory stays small at any size.
 */

/**
 * The old database, read only. Its own pool, not the migration's reader (legacy-repository.ts):
 * verify shares no code with what it checks.
 */
export function openLegacyDatabase(url: string): Kysely<unknown> {
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'nudge-golive-verify' })
  // An idle connection that dies (a restart) must not take the process down; the query on a
  // checked-out one is rejected and ends verify with its message.
  pool.on('error', () => {})
  return new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) })
}

/** An address as the old leads and accounts hold it, folded as nudge compares them (NFKC, lower case). */
const LEGACY_EMAIL_KEY = sql`lower(normalize(btrim(email), NFKC))`
/**
 * What passes for an address: one @, no spaces or characters an address cannot hold, a dot in
 * the domain. Rows that fail it cannot come across, by the migration's own rule.
 */
const LEGACY_EMAIL_VALID = sql`(length(btrim(email)) <= 254 AND btrim(email) ~ '^[^\\s@<>()\\[\\]\\\\,;:"]{1,64}@([^\\s@<>()\\[\\]\\\\,;:".]+\\.)+[^\\s@<>()\\[\\]\\\\,;:".]+$')`

export async function legacyAccounts(legacy: Kysely<unknown>) {
  const { rows } = await sql<{ id: number; email_key: string; valid: boolean }>`
    SELECT id, ${LEGACY_EMAIL_KEY} AS email_key, ${LEGACY_EMAIL_VALID} AS valid FROM accounts ORDER BY id`.execute(
    legacy,
  )
  return rows
}

export async function legacyDomains(legacy: Kysely<unknown>) {
  const { rows } = await sql<{ id: number; account_id: number; hostname: string }>`
    SELECT id, account_id, hostname FROM domains ORDER BY id`.execute(legacy)
  return rows
}

export async function legacyCampaigns(legacy: Kysely<unknown>) {
  const { rows } = await sql<{ id: number; account_id: number; domain_id: number | null; status: string }>`
    SELECT id, account_id, domain_id, status FROM campaigns ORDER BY id`.execute(legacy)
  return rows
}

/**
 * Per campaign: its leads with a valid address (`leads`), their distinct addresses (folded),
 * and the sha256 of those sorted, one a line. Leads of no campaign (orphans), with an invalid
 * address, or repeating an address on their campaign (one lead per campaign and address today)
 * are left out, and counted from these figures and `legacyLeadTotals`.
 */
export async function legacyLeadDigests(legacy: Kysely<unknown>) {
  const { rows } = await sql<{ campaign_id: number; leads: number; emails: number; digest: string }>`
    SELECT l.campaign_id, count(*)::int AS leads, count(DISTINCT ${LEGACY_EMAIL_KEY})::int AS emails,
           encode(sha256(convert_to(string_agg(DISTINCT ${LEGACY_EMAIL_KEY}, E'\n' ORDER BY ${LEGACY_EMAIL_KEY}), 'UTF8')), 'hex') AS digest
    FROM leads l JOIN campaigns c ON c.id = l.campaign_id
    WHERE ${LEGACY_EMAIL_VALID}
    GROUP BY l.campaign_id`.execute(legacy)
  return rows
}

export async function legacyLeadTotals(legacy: Kysely<unknown>) {
  const { rows } = await sql<{ total: number; orphans: number }>`
    SELECT count(*)::int AS total, count(*) FILTER (WHERE c.id IS NULL)::int AS orphans
    FROM leads l LEFT JOIN campaigns c ON c.id = l.campaign_id`.execute(legacy)
  return rows[0]!
}

/** Per campaign that exists: its stats summed over every day. */
export async function legacyStatsSums(legacy: Kysely<unknown>) {
  const { rows } = await sql<{
    campaign_id: number
    days: number
    impressions: number
    closes: number
    conversions: number
  }>`
    SELECT s.campaign_id, count(*)::int AS days, sum(s.impressions)::bigint AS impressions,
           sum(s.closes)::bigint AS closes, sum(s.conversions)::bigint AS conversions
    FROM campaign_stats s JOIN campaigns c ON c.id = s.campaign_id
    GROUP BY s.campaign_id`.execute(legacy)
  return rows.map((row) => ({
    ...row,
    impressions: Number(row.impressions),
    closes: Number(row.closes),
    conversions: Number(row.conversions),
  }))
}

export async function legacyOrphanStats(legacy: Kysely<unknown>) {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM campaign_stats s WHERE NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = s.campaign_id)`.execute(
    legacy,
  )
  return rows[0]!.n
}

/** Integrations, and whether they hold what nudge needs: a Mailerlite key, a webhook's http(s) URL. */
export async function legacyIntegrations(legacy: Kysely<unknown>) {
  const { rows } = await sql<{ id: number; account_id: number; kind: string; usable: boolean }>`
    SELECT id, account_id, kind,
           CASE kind WHEN 'mailerlite' THEN coalesce(btrim(config->>'api_key'), '') <> ''
                     WHEN 'webhook' THEN coalesce(btrim(config->>'url'), '') ~* '^https?://[^/?#\\s]+'
                     ELSE false END AS usable
    FROM integrations ORDER BY id`.execute(legacy)
  return rows
}

// ---- nudge's side, through legacy_ids

export async function mappedTeams(db: Kysely<DB>) {
  const { rows } = await sql<{ legacy_id: string; team_id: string | null; owner_email: string | null }>`
    SELECT li.legacy_id, t.id AS team_id,
           (SELECT lower(u.email) FROM team_members m JOIN users u ON u.id = m.user_id
             WHERE m.team_id = t.id AND m.role = 'owner' ORDER BY m.created_at LIMIT 1) AS owner_email
    FROM legacy_ids li LEFT JOIN teams t ON t.id = li.new_id
    WHERE li.kind = 'account'`.execute(db)
  return rows
}

export async function mappedSites(db: Kysely<DB>) {
  const { rows } = await sql<{
    legacy_id: string
    site_id: string | null
    team_id: string | null
    hostname: string | null
  }>`
    SELECT li.legacy_id, s.id AS site_id, s.team_id, s.hostname
    FROM legacy_ids li LEFT JOIN sites s ON s.id = li.new_id
    WHERE li.kind = 'domain'`.execute(db)
  return rows
}

export async function mappedCampaigns(db: Kysely<DB>) {
  const { rows } = await sql<{
    legacy_id: string
    campaign_id: string | null
    team_id: string | null
    site_id: string | null
    status: string | null
    changed_since: boolean
  }>`
    SELECT li.legacy_id, c.id AS campaign_id, c.team_id, c.site_id, c.status,
           coalesce(c.status_changed_at > li.created_at, false) AS changed_since
    FROM legacy_ids li LEFT JOIN campaigns c ON c.id = li.new_id
    WHERE li.kind = 'campaign'`.execute(db)
  return rows
}

/** Per campaign: the distinct addresses (lower case) of its leads that came from the old system. */
export async function mappedLeadDigests(db: Kysely<DB>) {
  const { rows } = await sql<{ campaign_id: string; team_id: string; emails: number; digest: string }>`
    SELECT l.campaign_id, min(l.team_id::text) AS team_id, count(DISTINCT lower(l.email))::int AS emails,
           encode(sha256(convert_to(string_agg(DISTINCT lower(l.email), E'\\n' ORDER BY lower(l.email)), 'UTF8')), 'hex') AS digest
    FROM leads l
    WHERE l.id IN (SELECT new_id FROM legacy_ids WHERE kind = 'lead') AND l.campaign_id IS NOT NULL
    GROUP BY l.campaign_id`.execute(db)
  return rows
}

/** Old leads mapped to a lead that is not there (deleted or never written). */
export async function mappedLeadsMissing(db: Kysely<DB>) {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM legacy_ids li
    WHERE li.kind = 'lead' AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = li.new_id)`.execute(db)
  return rows[0]!.n
}

/**
 * Per migrated campaign: its daily stats of unknown country summed. The old system counted no
 * country, so what came across is there; visitors counted since the switch arrive through the
 * edge with theirs, and do not blur a verify run after the delta.
 */
export async function mappedStatsSums(db: Kysely<DB>) {
  const { rows } = await sql<{
    campaign_id: string
    impressions: number
    closes: number
    conversions: number
  }>`
    SELECT s.campaign_id, sum(s.impressions)::bigint AS impressions, sum(s.closes)::bigint AS closes,
           sum(s.conversions)::bigint AS conversions
    FROM campaign_stats_daily s
    WHERE s.country = '' AND s.campaign_id IN (SELECT new_id FROM legacy_ids WHERE kind = 'campaign')
    GROUP BY s.campaign_id`.execute(db)
  return rows.map((row) => ({
    ...row,
    impressions: Number(row.impressions),
    closes: Number(row.closes),
    conversions: Number(row.conversions),
  }))
}

export async function mappedIntegrations(db: Kysely<DB>) {
  const { rows } = await sql<{
    legacy_id: string
    integration_id: string | null
    team_id: string | null
    kind: string | null
  }>`
    SELECT li.legacy_id, i.id AS integration_id, i.team_id, i.kind
    FROM legacy_ids li LEFT JOIN integrations i ON i.id = li.new_id
    WHERE li.kind = 'integration'`.execute(db)
  return rows
}
