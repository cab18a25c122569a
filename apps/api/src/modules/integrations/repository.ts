import { type DB, type DeliveryStatus, type IntegrationKind, newId } from '@nudge/db'
import { type Kysely, sql } from 'kysely'
import { after } from '../../pagination.ts'

export async function insertIntegration(
  db: Kysely<DB>,
  input: {
    teamId: string
    kind: IntegrationKind
    name: string
    url: string | null
    secret: string
    secretLast4: string
    accountKey: string | null
  },
) {
  return db
    .insertInto('integrations')
    .values({
      id: newId(),
      team_id: input.teamId,
      kind: input.kind,
      name: input.name,
      url: input.url,
      secret: input.secret,
      secret_last4: input.secretLast4,
      account_key: input.accountKey,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findIntegration(db: Kysely<DB>, teamId: string, integrationId: string) {
  return db
    .selectFrom('integrations')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('id', '=', integrationId)
    .executeTakeFirst()
}

/** The row, locked for a change that depends on what it holds (status, secrets). */
export async function lockIntegration(db: Kysely<DB>, integrationId: string) {
  return db
    .selectFrom('integrations')
    .selectAll()
    .where('id', '=', integrationId)
    .forUpdate()
    .executeTakeFirst()
}

export async function listIntegrations(
  db: Kysely<DB>,
  teamId: string,
  query: { limit: number; cursor?: string | undefined },
) {
  let select = db
    .selectFrom('integrations')
    .selectAll()
    .where('team_id', '=', teamId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
  if (query.cursor) select = select.where(after(query.cursor, 'created_at', 'id'))
  return select.execute()
}

export async function updateIntegration(
  db: Kysely<DB>,
  integrationId: string,
  values: Partial<{
    name: string
    url: string | null
    secret: string
    secret_last4: string
    account_key: string | null
    status: 'active' | 'paused' | 'disabled'
    status_reason: string | null
    consecutive_failures: number
  }>,
) {
  return db
    .updateTable('integrations')
    .set({ ...values, updated_at: sql`date_trunc('milliseconds', now())` })
    .where('id', '=', integrationId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function deleteIntegration(db: Kysely<DB>, integrationId: string) {
  await db.deleteFrom('integrations').where('id', '=', integrationId).execute()
}

export async function upsertCampaignIntegration(
  db: Kysely<DB>,
  input: { teamId: string; campaignId: string; integrationId: string; settings: Record<string, unknown> },
) {
  await db
    .insertInto('campaign_integrations')
    .values({
      team_id: input.teamId,
      campaign_id: input.campaignId,
      integration_id: input.integrationId,
      settings: JSON.stringify(input.settings),
    })
    .onConflict((oc) =>
      oc.columns(['campaign_id', 'integration_id']).doUpdateSet({ settings: JSON.stringify(input.settings) }),
    )
    .execute()
}

export async function deleteCampaignIntegration(db: Kysely<DB>, campaignId: string, integrationId: string) {
  const result = await db
    .deleteFrom('campaign_integrations')
    .where('campaign_id', '=', campaignId)
    .where('integration_id', '=', integrationId)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}

export async function listCampaignIntegrations(db: Kysely<DB>, teamId: string, campaignId: string) {
  return db
    .selectFrom('campaign_integrations as ci')
    .innerJoin('integrations as i', 'i.id', 'ci.integration_id')
    .select(['ci.campaign_id', 'ci.integration_id', 'ci.settings', 'i.kind', 'i.name', 'i.status'])
    .where('ci.team_id', '=', teamId)
    .where('ci.campaign_id', '=', campaignId)
    .orderBy('ci.created_at')
    .execute()
}

export async function listDeliveries(
  db: Kysely<DB>,
  integrationId: string,
  query: { limit: number; cursor?: string | undefined; status?: DeliveryStatus | undefined },
) {
  let select = db
    .selectFrom('integration_deliveries')
    .selectAll()
    .where('integration_id', '=', integrationId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
  if (query.status) select = select.where('status', '=', query.status)
  if (query.cursor) select = select.where(after(query.cursor, 'created_at', 'id'))
  return select.execute()
}

export async function findDelivery(db: Kysely<DB>, integrationId: string, deliveryId: string) {
  return db
    .selectFrom('integration_deliveries')
    .selectAll()
    .where('integration_id', '=', integrationId)
    .where('id', '=', deliveryId)
    .executeTakeFirst()
}

export async function listAttempts(db: Kysely<DB>, deliveryId: string) {
  return db
    .selectFrom('integration_delivery_attempts')
    .selectAll()
    .where('delivery_id', '=', deliveryId)
    .orderBy('attempt')
    .execute()
}

/** An integration that received a lead (an attempt was made), and what its erasure needs. */
export interface ErasureReceiver {
  team_id: string
  integration_id: string
  kind: IntegrationKind
  status: 'active' | 'paused' | 'disabled'
  lead_id: string
  email: string
  campaign_id: string | null
  /** an attempt of the lead's was under way: it may still land */
  in_flight: boolean
}

/**
 * The integrations the leads were sent to, one row per (integration, lead), for telling them of
 * an erasure, whatever the integration's status (a stopped one keeps what it is sent, and gets it
 * when it is active again). Run after lockLeadDeliveries and before the deliveries are cancelled
 * (which ends the in-flight ones) and the leads deleted.
 */
export async function erasureReceivers(
  db: Kysely<DB>,
  teamId: string,
  leadIds: string[],
): Promise<ErasureReceiver[]> {
  if (leadIds.length === 0) return []
  return db
    .selectFrom('integration_deliveries as d')
    .innerJoin('integrations as i', 'i.id', 'd.integration_id')
    .innerJoin('leads as l', 'l.id', 'd.lead_id')
    .select([
      'd.team_id',
      'd.integration_id',
      'i.kind',
      'i.status',
      'l.id as lead_id',
      'l.email',
      'l.campaign_id',
      sql<boolean>`bool_or(d.status = 'delivering')`.as('in_flight'),
    ])
    .where('d.team_id', '=', teamId)
    .where('d.lead_id', 'in', leadIds)
    .where('d.attempts', '>', 0)
    .where('d.event', 'in', ['lead.created', 'lead.updated'])
    .groupBy(['d.team_id', 'd.integration_id', 'i.kind', 'i.status', 'l.id', 'l.email', 'l.campaign_id'])
    .orderBy('d.integration_id')
    .orderBy('l.id')
    .execute()
}

/**
 * Erasure: the leads' deliveries still to run are cancelled, and every payload of theirs (which
 * holds the person's data) is cleared, along with what receivers answered. Runs before the leads
 * are deleted (which then sets lead_id null).
 */
/**
 * Locks the leads' deliveries, so no attempt is claimed between reading who received the leads and
 * cancelling what is left: a claim that committed first is seen (attempts, in flight), a later one
 * waits and finds its delivery cancelled.
 */
export async function lockLeadDeliveries(db: Kysely<DB>, teamId: string, leadIds: string[]) {
  if (leadIds.length === 0) return
  await db
    .selectFrom('integration_deliveries')
    .select('id')
    .where('team_id', '=', teamId)
    .where('lead_id', 'in', leadIds)
    .forUpdate()
    .execute()
}

export async function cancelLeadDeliveries(db: Kysely<DB>, teamId: string, leadIds: string[]) {
  if (leadIds.length === 0) return
  await db
    .updateTable('integration_deliveries')
    .set({
      status: sql`CASE WHEN status IN ('pending', 'retrying', 'held', 'delivering', 'failed') THEN 'cancelled' ELSE status END`,
      payload: null,
      next_attempt_at: null,
      last_error: sql`CASE WHEN status IN ('pending', 'retrying', 'held', 'delivering', 'failed') THEN 'the lead was erased' ELSE last_error END`,
      updated_at: sql`now()`,
    })
    .where('team_id', '=', teamId)
    .where('lead_id', 'in', leadIds)
    .execute()
  await db
    .updateTable('integration_delivery_attempts')
    .set({ response_body: null })
    .where(
      'delivery_id',
      'in',
      db
        .selectFrom('integration_deliveries')
        .select('id')
        .where('team_id', '=', teamId)
        .where('lead_id', 'in', leadIds),
    )
    .execute()
}
