import type { DB } from '@nudge/db'
import { type Kysely, sql, type Transaction } from 'kysely'
import { type PageRequest, page } from '../../pagination.ts'
import type { VariantInput } from '../campaigns/content.ts'

export interface LeadFilters {
  campaignId?: string | undefined
  from?: string | undefined
  to?: string | undefined
  search?: string | undefined
}

/**
 * `search` as a LIKE pattern that matches its text anywhere, % and _ included; NFKC-folded as
 * stored emails are, for the list and the export alike.
 */
function containing(search: string): string {
  return `%${search.normalize('NFKC').replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/** The team's leads that pass the filters. */
function filteredLeads(db: Kysely<DB>, teamId: string, filters: LeadFilters) {
  let select = db.selectFrom('leads').where('team_id', '=', teamId)
  if (filters.campaignId) select = select.where('campaign_id', '=', filters.campaignId)
  if (filters.from) select = select.where('created_at', '>=', new Date(filters.from))
  if (filters.to) select = select.where('created_at', '<', new Date(filters.to))
  // ILIKE's escape character is the backslash unless told otherwise.
  if (filters.search) select = select.where('email', 'ilike', containing(filters.search))
  return select
}

export async function listLeads(db: Kysely<DB>, teamId: string, filters: LeadFilters, request: PageRequest) {
  return page(filteredLeads(db, teamId, filters).selectAll(), request).execute()
}

/** What a row of the export needs. */
export interface ExportRow {
  id: string
  campaign_id: string | null
  variant_id: string
  email: string
  fields: Record<string, unknown>
  consent: boolean
  consent_version: string | null
  country: string | null
  page_url: string | null
  created_at: Date
}

export interface LeadCursor {
  /** The next rows (up to the batch size); none once every row was read. */
  next(): Promise<ExportRow[]>
  /** Ends the cursor's transaction and gives its connection back; safe to call twice. */
  close(): Promise<void>
}

/**
 * A server-side cursor over the filtered leads: the rows are read `batchSize` at a time, when
 * the caller asks for them, so a large export never holds more than a batch in memory and reads
 * no faster than its client downloads. The cursor lives in a read-only transaction that holds
 * one pooled connection until `close` (which the caller must call, on every path).
 */
export async function openLeadCursor(
  db: Kysely<DB>,
  teamId: string,
  filters: LeadFilters,
  batchSize: number,
  idleTimeoutMs: number,
): Promise<LeadCursor> {
  // Newest first, as the list pages (the order of leads_team_page_idx).
  const query = filteredLeads(db, teamId, filters)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .select([
      'id',
      'campaign_id',
      'variant_id',
      'email',
      'fields',
      'consent',
      'consent_version',
      'country',
      'page_url',
      'created_at',
    ])
  // Kysely hands a transaction to a callback: the callback waits for `release`, keeping the
  // transaction (and the cursor in it) open between the caller's fetches.
  const opened = Promise.withResolvers<Transaction<DB>>()
  const release = Promise.withResolvers<void>()
  const finished = db
    .transaction()
    .setAccessMode('read only')
    .execute(async (trx) => {
      opened.resolve(trx)
      await release.promise
    })
  finished.catch((error: unknown) => opened.reject(error))
  const trx = await opened.promise
  let closed = false
  const close = async () => {
    if (!closed) {
      closed = true
      release.resolve()
    }
    await finished
  }
  try {
    // A client that stops reading without hanging up must not hold a snapshot (and a
    // connection) for ever: PostgreSQL ends the session once it has waited this long.
    await sql`SELECT set_config('idle_in_transaction_session_timeout', ${String(idleTimeoutMs)}, true)`.execute(
      trx,
    )
    await sql`DECLARE lead_export NO SCROLL CURSOR FOR ${query}`.execute(trx)
  } catch (error) {
    await close().catch(() => {})
    throw error
  }
  return {
    async next() {
      // After close the transaction's connection is back in the pool, serving someone else.
      if (closed) throw new Error('the lead cursor is closed')
      const { rows } = await sql<ExportRow>`FETCH FORWARD ${sql.lit(batchSize)} FROM lead_export`.execute(trx)
      return rows
    },
    close,
  }
}

/** The team's campaigns (or the one asked for) with what the export's columns need. */
export async function findExportCampaigns(db: Kysely<DB>, teamId: string, campaignId?: string) {
  let select = db
    .selectFrom('campaigns')
    .select(['id', 'name', 'variants'])
    .where('team_id', '=', teamId)
    .orderBy('created_at')
    .orderBy('id')
  if (campaignId) select = select.where('id', '=', campaignId)
  const rows = await select.execute()
  return rows.map((row) => ({ id: row.id, name: row.name, variants: row.variants as VariantInput[] }))
}

/**
 * The lead, locked for its erasure before anything else is read or changed: the outbox relay
 * skips a locked lead, so no delivery of it is made while the erasure runs.
 */
export async function lockLead(db: Kysely<DB>, teamId: string, leadId: string) {
  return db
    .selectFrom('leads')
    .select(['id', 'email'])
    .where('team_id', '=', teamId)
    .where('id', '=', leadId)
    .forUpdate()
    .executeTakeFirst()
}

/**
 * A stored address as erasure compares it: NFKC-folded, lower case, without the format characters
 * (zero-width, bidi controls) that leads stored before intake refused them may hold, so erasing
 * the plain address finds every variant the dashboard showed as the same.
 */
const comparableEmail = sql<string>`lower(normalize(regexp_replace(email,
  '[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]', '', 'g'), NFKC))`

/**
 * The ids of the team's leads with this (normalised) email, in any case and any stored variant,
 * locked for their erasure.
 */
export async function leadIdsByEmail(db: Kysely<DB>, teamId: string, email: string): Promise<string[]> {
  const rows = await db
    .selectFrom('leads')
    .select('id')
    .where('team_id', '=', teamId)
    .where(comparableEmail, '=', sql<string>`lower(${email})`)
    .forUpdate()
    .execute()
  return rows.map((row) => row.id)
}

/** The team's leads with these ids (the ones an erasure locked). */
export async function deleteLeads(db: Kysely<DB>, teamId: string, leadIds: string[]) {
  if (leadIds.length === 0) return []
  return db
    .deleteFrom('leads')
    .where('team_id', '=', teamId)
    .where('id', 'in', leadIds)
    .returning(['id', 'campaign_id'])
    .execute()
}
