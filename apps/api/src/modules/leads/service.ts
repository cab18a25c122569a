import { createHmac } from 'node:crypto'
import { Readable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { type Deps, inTransaction, type TxDeps } from '../../deps.ts'
import { NotFound } from '../../errors.ts'
import type { PageRequest } from '../../pagination.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { eraseLeadDeliveries } from '../integrations/lead-erasure.ts'
import { normalEmail } from '../visitors/lead-form.ts'
import { FIXED_COLUMNS, formColumns, line, text } from './csv.ts'
import * as leads from './repository.ts'

/** The team's leads that pass the filters, newest first. */
export async function listLeads(
  deps: Deps,
  input: { teamId: string; filters: leads.LeadFilters; page: PageRequest },
) {
  return leads.listLeads(deps.db, input.teamId, input.filters, input.page)
}

/**
 * Which person an erasure was about, without keeping their address: the audit log can answer
 * "was this person erased, and when" for anyone who brings the address again. Keyed, so a list
 * of candidate addresses cannot be hashed and matched by whoever reads the log.
 */
export function emailHash(key: string, email: string): string {
  return createHmac('sha256', key).update(normalEmail(email).toLowerCase(), 'utf8').digest('hex')
}

/**
 * The shared steps of both erasures, on leads already locked (lock first, so no delivery of them
 * appears meanwhile): tell the integrations that received them, cancel their deliveries still to
 * run and clear the log's copies, then delete them (their outbox rows and idempotency records go
 * by cascade). Campaign statistics are aggregates and keep counting them.
 */
async function eraseLocked(tx: TxDeps, input: { teamId: string; leadIds: string[] }) {
  const integrationsTold = await eraseLeadDeliveries(tx, input)
  const erased = await leads.deleteLeads(tx.db, input.teamId, input.leadIds)
  return { erased, integrationsTold }
}

/** Erases one lead, with its pending deliveries and idempotency records (by cascade). */
export async function eraseLead(deps: Deps, input: { teamId: string; leadId: string; actor: Actor }) {
  return inTransaction(deps, async (tx) => {
    const locked = await leads.lockLead(tx.db, input.teamId, input.leadId)
    if (!locked) throw new NotFound('Lead')
    const { erased, integrationsTold } = await eraseLocked(tx, { teamId: input.teamId, leadIds: [locked.id] })
    const [lead] = erased
    if (!lead) throw new NotFound('Lead')
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'lead.erased',
      target: { type: 'lead', id: lead.id },
      data: {
        campaignId: lead.campaign_id,
        emailHmac: emailHash(deps.config.AUDIT_HASH_KEY, locked.email),
        integrationsTold,
      },
    })
    return { erased: 1, integrationsTold, statsKept: true as const }
  })
}

/**
 * Erases a person from the team: their lead in every campaign (any case of the address, any
 * stored variant of it), with its pending deliveries and idempotency records. All or nothing,
 * audited once, even when there was nothing to erase (the request itself is what a
 * data-protection officer is asked about).
 */
export async function eraseLeadsByEmail(deps: Deps, input: { teamId: string; email: string; actor: Actor }) {
  return inTransaction(deps, async (tx) => {
    const email = normalEmail(input.email)
    const leadIds = await leads.leadIdsByEmail(tx.db, input.teamId, email)
    const { erased, integrationsTold } = await eraseLocked(tx, { teamId: input.teamId, leadIds })
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'lead.erased_by_email',
      target: { type: 'lead', id: null },
      data: {
        count: erased.length,
        emailHmac: emailHash(deps.config.AUDIT_HASH_KEY, email),
        integrationsTold,
        leads: erased.map((lead) => ({ id: lead.id, campaignId: lead.campaign_id })),
      },
    })
    return { erased: erased.length, integrationsTold, statsKept: true as const }
  })
}

/** Rows per FETCH: a batch is what the export holds in memory (a few hundred KB of CSV). */
const EXPORT_BATCH_ROWS = 500
/** Bytes of CSV buffered ahead of the client before the next FETCH waits for it to read. */
const EXPORT_BUFFER_BYTES = 64 * 1024
/** How long a download may stall (the client not reading) before the database gives up on it. */
const EXPORT_IDLE_TIMEOUT_MS = 5 * 60 * 1000

/**
 * The leads as CSV, streamed from a database cursor: read a batch at a time as the client takes
 * them, never the whole export in memory. Everything that can fail with a proper answer (the
 * campaign, the cursor, the first batch) has run when this returns; a failure after that ends
 * the download unfinished and is logged, since the 200 and the header row are already sent.
 */
export async function exportLeads(
  deps: Deps,
  input: { teamId: string; filters: leads.LeadFilters; log: FastifyBaseLogger },
): Promise<Readable> {
  const { teamId, filters, log } = input
  const campaigns = await leads.findExportCampaigns(deps.db, teamId, filters.campaignId)
  if (filters.campaignId && campaigns.length === 0) throw new NotFound('Campaign')
  const columns = formColumns(campaigns)
  const names = new Map(
    campaigns.map((campaign) => [
      campaign.id,
      {
        name: campaign.name,
        variants: new Map(campaign.variants.map((variant) => [variant.id ?? '', variant.name])),
      },
    ]),
  )
  const toLine = (row: leads.ExportRow) => {
    const campaign = row.campaign_id === null ? undefined : names.get(row.campaign_id)
    const fields = row.fields ?? {}
    return line([
      row.email,
      campaign?.name ?? '',
      campaign?.variants.get(row.variant_id) ?? row.variant_id,
      row.created_at.toISOString(),
      row.consent ? 'yes' : 'no',
      row.consent_version ?? '',
      row.country ?? '',
      row.page_url ?? '',
      ...columns.map((name) => text(Object.hasOwn(fields, name) ? fields[name] : undefined)),
    ])
  }

  const cursor = await leads.openLeadCursor(
    deps.db,
    teamId,
    filters,
    EXPORT_BATCH_ROWS,
    EXPORT_IDLE_TIMEOUT_MS,
  )
  let first: leads.ExportRow[]
  try {
    first = await cursor.next()
  } catch (error) {
    await cursor.close().catch(() => {})
    throw error
  }

  let rowsRead = first.length
  const body = new Readable({
    highWaterMark: EXPORT_BUFFER_BYTES,
    // Called only when the buffer has room again, and not again before this push: one FETCH
    // at a time, at the pace the client reads.
    read() {
      cursor.next().then(
        (rows) => {
          rowsRead += rows.length
          this.push(rows.length === 0 ? null : rows.map(toLine).join(''))
        },
        (error: unknown) => {
          if (this.destroyed) return
          log.error(
            { err: error, leadsRead: rowsRead },
            'lead export failed after it started: download cut short',
          )
          this.destroy(error as Error)
        },
      )
    },
    // At the end, on error, and when the client goes away: the cursor's connection goes back.
    destroy(error, callback) {
      cursor.close().then(
        () => callback(error),
        (closeError: unknown) => {
          log.warn({ err: closeError }, 'lead export: ending its cursor transaction failed')
          callback(error)
        },
      )
    },
  })
  body.push(line([...FIXED_COLUMNS, ...columns]) + first.map(toLine).join(''))
  return body
}
