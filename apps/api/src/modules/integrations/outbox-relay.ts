import { newId } from '@nudge/db'
import { type Deps, inTransaction } from '../../deps.ts'
import { attemptJob, DELIVERY_JOB } from './delivery-attempts.ts'
import {
  deleteOutboxRows,
  insertLeadDeliveries,
  integrationsOfCampaigns,
  leadsForDelivery,
  lockOutboxBatch,
} from './delivery-repository.ts'
import {
  type LeadForDelivery,
  type MailerliteSettings,
  mailerlitePayload,
  webhookPayload,
} from './payloads.ts'

export const OUTBOX_JOB = 'leads.outbox'

/** Outbox rows one relay transaction turns into deliveries. */
const RELAY_BATCH = 200

/** A stopped (paused or disabled) integration keeps what it is sent until it is active again. */
export function startingStatus(integrationStatus: string): 'pending' | 'held' {
  return integrationStatus === 'active' ? 'pending' : 'held'
}

/**
 * Turns stored leads (the outbox rows their transaction wrote) into one delivery per connected
 * integration, each with its payload fixed now, and their attempt jobs, in one transaction with
 * the rows' removal. SKIP LOCKED lets several workers relay at once without taking the same rows.
 * Each row's lead is locked too (key share: a visitor updating the lead does not stop it), and a
 * lead that an erasure holds is skipped: its rows go with it, and no delivery of it is made while
 * the erasure decides what to cancel (a delivery made then would keep the person's data, with
 * lead_id set null, out of that erasure's and every later one's reach).
 * Returns how many outbox rows were relayed.
 */
export async function relayOutbox(deps: Deps): Promise<number> {
  let relayed = 0
  for (;;) {
    const count = await inTransaction(deps, async (tx) => {
      const rows = await lockOutboxBatch(tx.db, RELAY_BATCH)
      if (rows.length === 0) return 0
      const leads = await leadsForDelivery(tx.db, [...new Set(rows.map((row) => row.lead_id))])
      const campaignIds = [...new Set(leads.flatMap((lead) => (lead.campaign_id ? [lead.campaign_id] : [])))]
      const links = await integrationsOfCampaigns(tx.db, campaignIds)
      const byLead = new Map(leads.map((lead) => [lead.id, lead]))
      const now = new Date()
      const deliveries = rows.flatMap((row) => {
        const lead = byLead.get(row.lead_id)
        if (!lead) return []
        const event = row.event === 'created' ? ('lead.created' as const) : ('lead.updated' as const)
        return links
          .filter((link) => link.campaign_id === lead.campaign_id)
          .map((link) => ({
            id: newId(),
            team_id: lead.team_id,
            integration_id: link.integration_id,
            lead_id: lead.id,
            source_id: row.id,
            event,
            status: startingStatus(link.status),
            payload:
              link.kind === 'webhook'
                ? webhookPayload(event, lead as LeadForDelivery, now)
                : mailerlitePayload(lead as LeadForDelivery, link.settings as MailerliteSettings),
          }))
      })
      if (deliveries.length > 0) {
        const created = await insertLeadDeliveries(tx.db, deliveries)
        await tx.jobs.insert(
          DELIVERY_JOB,
          created.filter((d) => d.status === 'pending').map((d) => attemptJob(d)),
          { db: tx.db },
        )
      }
      await deleteOutboxRows(
        tx.db,
        rows.map((row) => row.id),
      )
      return rows.length
    })
    relayed += count
    if (count < RELAY_BATCH) return relayed
  }
}
