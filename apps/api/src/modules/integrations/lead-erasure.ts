import { newId } from '@nudge/db'
import type { TxDeps } from '../../deps.ts'
import { attemptJob, DELIVERY_JOB } from './delivery-attempts.ts'
import {
  cancelLeadDeliveries,
  type ErasureReceiver,
  erasureReceivers,
  insertDeliveries,
  lockLeadDeliveries,
} from './delivery-repository.ts'
import { startingStatus } from './outbox-relay.ts'
import { erasedWebhookPayload, mailerliteErasurePayload } from './payloads.ts'
import { claimStaleMs } from './settings.ts'

/**
 * The integrations' part of erasing leads, in the erasure's transaction, on leads it has locked
 * (so no delivery of them appears meanwhile) and before it deletes them: tell the integrations that
 * received them, cancel their deliveries still to run and clear the log's copies. Returns how many
 * integrations are told.
 */
export async function eraseLeadDeliveries(tx: TxDeps, input: { teamId: string; leadIds: string[] }) {
  await lockLeadDeliveries(tx.db, input.teamId, input.leadIds)
  const receivers = await erasureReceivers(tx.db, input.teamId, input.leadIds)
  await cancelLeadDeliveries(tx.db, input.teamId, input.leadIds)
  return enqueueErasures(tx, receivers)
}

/**
 * Tells each integration that received a person that they were erased: a `lead.erased` webhook
 * event (signed like every delivery), or a subscriber delete at Mailerlite. Each is a delivery
 * with its own retries, made after any attempt still in flight could have landed (an attempt's
 * claim is taken over after the timeout and 5 s: see attemptDelivery), so a late upsert does not
 * bring the subscriber back. Held while the integration is stopped, like leads. Returns how many
 * were queued.
 */
async function enqueueErasures(tx: TxDeps, receivers: ErasureReceiver[]): Promise<number> {
  if (receivers.length === 0) return 0
  const now = new Date()
  const created = await insertDeliveries(
    tx.db,
    receivers.map((receiver) => ({
      id: newId(),
      team_id: receiver.team_id,
      integration_id: receiver.integration_id,
      lead_id: null,
      source_id: null,
      event: 'lead.erased' as const,
      status: startingStatus(receiver.status),
      payload:
        receiver.kind === 'webhook'
          ? erasedWebhookPayload(receiver, now)
          : mailerliteErasurePayload(receiver.email),
    })),
  )
  const startAfter = receivers.some((receiver) => receiver.in_flight)
    ? new Date(now.getTime() + claimStaleMs(tx.config))
    : undefined
  await tx.jobs.insert(
    DELIVERY_JOB,
    created.filter((d) => d.status === 'pending').map((d) => attemptJob(d, startAfter)),
    { db: tx.db },
  )
  return created.length
}
