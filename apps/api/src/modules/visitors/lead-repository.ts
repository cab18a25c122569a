import { type DB, newId } from '@nudge/db'
import { type Kysely, sql } from 'kysely'
import type { CheckedLead } from './lead-form.ts'

export interface LeadTarget {
  teamId: string
  campaignId: string
  variantId: string
  country: string | null
}

/** A checked lead, where it goes, and its Idempotency-Key with the request's hash. */
export interface LeadToStore {
  target: LeadTarget
  lead: CheckedLead
  idempotency: { key: string; hash: Buffer } | null
}

export interface StoredLead {
  /** False when the Idempotency-Key had already been used: nothing was written. */
  stored: boolean
  /** The request hash the key was first used with, when it had been. */
  earlierHash: Buffer | null
}

/**
 * Stores checked leads and what must follow from each, in one statement (so one transaction and
 * one commit for all of them):
 * - each lead, upserted by (campaign, lower(email)): new, or the existing one's fields merged (new
 *   values win) with the newest consent, page and country;
 * - its outbox row ('created' or 'updated'), which the integrations deliver from;
 * - for new leads, the daily leads count per campaign, variant and visitor country;
 * - with an Idempotency-Key, the submission row (key → lead and request hash).
 *
 * A key already used (committed before this statement began) stops that lead's write, and its
 * request hash comes back for comparison. A key being used by a concurrent statement makes this
 * one fail on the submission's primary key once that one commits, which rolls all of it back.
 * Locks are taken in one order, the leads' emails, then the keys, then the daily counts (the count
 * reads the submissions' result, so it runs after them), each sorted, so concurrent statements
 * wait for each other but do not deadlock. The caller keeps (campaign, lower(email)) and
 * (campaign, key) unique within one call.
 */
export async function storeLeads(db: Kysely<DB>, items: LeadToStore[]): Promise<StoredLead[]> {
  const column = <T>(pick: (item: LeadToStore) => T) => items.map(pick)
  const { rows } = await sql<{ ord: string; lead_id: string | null; earlier_hash: Buffer | null }>`
    WITH input AS (
      SELECT * FROM unnest(
        ${column(() => newId())}::uuid[], ${column(() => newId())}::uuid[],
        ${column((i) => i.target.teamId)}::uuid[], ${column((i) => i.target.campaignId)}::uuid[],
        ${column((i) => i.target.variantId)}::text[], ${column((i) => i.lead.email)}::text[],
        ${column((i) => JSON.stringify(i.lead.fields))}::text[], ${column((i) => i.lead.consent)}::boolean[],
        ${column((i) => i.lead.consentVersion)}::text[], ${column((i) => i.target.country)}::text[],
        ${column((i) => i.lead.pageUrl)}::text[], ${column((i) => i.idempotency?.key ?? null)}::text[],
        ${column((i) => i.idempotency?.hash ?? null)}::bytea[]
      ) WITH ORDINALITY AS i(id, outbox_id, team_id, campaign_id, variant_id, email, fields, consent,
        consent_version, country, page_url, idempotency_key, request_hash, ord)
    ),
    earlier AS (
      SELECT s.campaign_id, s.idempotency_key, s.request_hash
      FROM lead_submissions s
      JOIN input i ON i.campaign_id = s.campaign_id AND i.idempotency_key = s.idempotency_key
    ),
    lead AS (
      INSERT INTO leads (id, team_id, campaign_id, variant_id, email, fields, consent, consent_version, country, page_url)
      SELECT i.id, i.team_id, i.campaign_id, i.variant_id, i.email, i.fields::jsonb, i.consent,
        i.consent_version, i.country, i.page_url
      FROM input i
      WHERE NOT EXISTS (
        SELECT 1 FROM earlier e WHERE e.campaign_id = i.campaign_id AND e.idempotency_key = i.idempotency_key
      )
      ORDER BY i.campaign_id, lower(i.email)
      ON CONFLICT (campaign_id, lower(email)) DO UPDATE SET
        fields = leads.fields || excluded.fields,
        consent = excluded.consent,
        consent_version = excluded.consent_version,
        country = coalesce(excluded.country, leads.country),
        page_url = coalesce(excluded.page_url, leads.page_url),
        updated_at = date_trunc('milliseconds', now())
      RETURNING id, campaign_id, lower(email) AS email_key
    ),
    done AS (
      SELECT i.*, lead.id AS lead_id, lead.id = i.id AS created
      FROM lead JOIN input i ON i.campaign_id = lead.campaign_id AND lower(i.email) = lead.email_key
    ),
    claimed AS (
      INSERT INTO lead_submissions (campaign_id, idempotency_key, lead_id, request_hash)
      SELECT campaign_id, idempotency_key, lead_id, request_hash
      FROM done WHERE idempotency_key IS NOT NULL
      ORDER BY campaign_id, idempotency_key
      RETURNING lead_id
    ),
    outbox AS (
      INSERT INTO lead_outbox (id, lead_id, team_id, event)
      SELECT outbox_id, lead_id, team_id, CASE WHEN created THEN 'created' ELSE 'updated' END FROM done
    ),
    counted AS (
      INSERT INTO campaign_stats_daily (campaign_id, variant_id, day, country, leads)
      SELECT campaign_id, variant_id, (now() AT TIME ZONE 'UTC')::date, coalesce(country, ''), count(*)
      FROM done
      WHERE created AND (SELECT count(*) FROM claimed) >= 0
      GROUP BY 1, 2, 3, 4
      ORDER BY 1, 2, 3, 4
      ON CONFLICT (campaign_id, variant_id, day, country)
      DO UPDATE SET leads = campaign_stats_daily.leads + excluded.leads
    )
    SELECT i.ord, done.lead_id, earlier.request_hash AS earlier_hash
    FROM input i
    LEFT JOIN done ON done.id = i.id
    LEFT JOIN earlier ON earlier.campaign_id = i.campaign_id AND earlier.idempotency_key = i.idempotency_key
  `.execute(db)
  const results: StoredLead[] = items.map(() => ({ stored: false, earlierHash: null }))
  for (const row of rows) {
    results[Number(row.ord) - 1] = { stored: row.lead_id !== null, earlierHash: row.earlier_hash }
  }
  return results
}

/** The request hash an Idempotency-Key of the campaign was first used with, if it was. */
export async function leadSubmissionHash(
  db: Kysely<DB>,
  campaignId: string,
  idempotencyKey: string,
): Promise<Buffer | null> {
  const row = await db
    .selectFrom('lead_submissions')
    .select('request_hash')
    .where('campaign_id', '=', campaignId)
    .where('idempotency_key', '=', idempotencyKey)
    .executeTakeFirst()
  return row?.request_hash ?? null
}

/**
 * Deletes up to `limit` of the idempotency rows older than `days` (the oldest first), in one
 * statement; returns how many went.
 */
export async function deleteLeadSubmissionsOlderThan(
  db: Kysely<DB>,
  days: number,
  limit: number,
): Promise<number> {
  const { numAffectedRows } = await sql`
    DELETE FROM lead_submissions WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM lead_submissions
      WHERE created_at < now() - make_interval(days => ${days})
      ORDER BY created_at LIMIT ${limit}
    ))`.execute(db)
  return Number(numAffectedRows ?? 0n)
}
