import type { DB, DeliveryStatus, Integration, IntegrationDelivery, IntegrationKind } from '@nudge/db'
import { type Insertable, type Kysely, sql } from 'kysely'
import { type PageRequest, page } from '../../pagination.ts'

type NewDelivery = Insertable<DB['integration_deliveries']>

/**
 * The oldest outbox rows (up to `limit`), locked for relaying. SKIP LOCKED lets several workers
 * relay at once without taking the same rows. Each row's lead is locked too (key share: a visitor
 * updating the lead does not stop it), and a lead that an erasure holds is skipped.
 */
export async function lockOutboxBatch(db: Kysely<DB>, limit: number) {
  const { rows } = await sql<{ id: string; lead_id: string; event: 'created' | 'updated' }>`
    SELECT o.id, o.lead_id, o.event FROM lead_outbox o JOIN leads l ON l.id = o.lead_id
    ORDER BY o.created_at, o.id LIMIT ${limit}
    FOR UPDATE OF o SKIP LOCKED FOR KEY SHARE OF l SKIP LOCKED`.execute(db)
  return rows
}

/** The leads with what a delivery's payload needs of them (their campaign's name included). */
export async function leadsForDelivery(db: Kysely<DB>, leadIds: string[]) {
  return db
    .selectFrom('leads')
    .leftJoin('campaigns', 'campaigns.id', 'leads.campaign_id')
    .select([
      'leads.id',
      'leads.team_id',
      'leads.email',
      'leads.fields',
      'leads.consent',
      'leads.consent_version',
      'leads.country',
      'leads.page_url',
      'leads.campaign_id',
      'campaigns.name as campaign_name',
      'leads.variant_id',
      'leads.created_at',
      'leads.updated_at',
    ])
    .where('leads.id', 'in', leadIds)
    .execute()
}

/** The integrations the campaigns send their leads to, with each link's settings. */
export async function integrationsOfCampaigns(db: Kysely<DB>, campaignIds: string[]) {
  if (campaignIds.length === 0) return []
  return db
    .selectFrom('campaign_integrations as ci')
    .innerJoin('integrations as i', 'i.id', 'ci.integration_id')
    .select(['ci.campaign_id', 'ci.integration_id', 'ci.settings', 'i.kind', 'i.status'])
    .where('ci.campaign_id', 'in', campaignIds)
    .execute()
}

/** Deliveries of outbox rows; one already made of a row for an integration is not made twice. */
export async function insertLeadDeliveries(db: Kysely<DB>, deliveries: NewDelivery[]) {
  return db
    .insertInto('integration_deliveries')
    .values(deliveries)
    .onConflict((oc) => oc.columns(['source_id', 'integration_id']).doNothing())
    .returning(['id', 'status', 'attempts'])
    .execute()
}

export async function insertDeliveries(db: Kysely<DB>, deliveries: NewDelivery[]) {
  return db
    .insertInto('integration_deliveries')
    .values(deliveries)
    .returning(['id', 'status', 'attempts'])
    .execute()
}

export async function insertTestDelivery(db: Kysely<DB>, delivery: NewDelivery) {
  return db.insertInto('integration_deliveries').values(delivery).returningAll().executeTakeFirstOrThrow()
}

export async function deleteOutboxRows(db: Kysely<DB>, ids: string[]) {
  await db.deleteFrom('lead_outbox').where('id', 'in', ids).execute()
}

/** A delivery with what sending it needs of its integration. */
export type DeliveryToSend = IntegrationDelivery & {
  kind: Integration['kind']
  url: string | null
  secret: string
  account_key: string | null
}

/** The delivery with its integration, locked for claiming an attempt of it. */
export async function lockDeliveryToSend(db: Kysely<DB>, deliveryId: string) {
  return (await db
    .selectFrom('integration_deliveries as d')
    .innerJoin('integrations as i', 'i.id', 'd.integration_id')
    .selectAll('d')
    .select(['i.kind', 'i.url', 'i.secret', 'i.account_key', 'i.status as integration_status'])
    .where('d.id', '=', deliveryId)
    .forUpdate('d')
    .executeTakeFirst()) as (DeliveryToSend & { integration_status: Integration['status'] }) | undefined
}

/** The delivery's status, locked while an attempt's outcome is written. */
export async function lockDeliveryStatus(db: Kysely<DB>, deliveryId: string) {
  return db
    .selectFrom('integration_deliveries')
    .select('status')
    .where('id', '=', deliveryId)
    .forUpdate()
    .executeTakeFirst()
}

export async function updateDelivery(
  db: Kysely<DB>,
  id: string,
  values: Partial<{
    status: IntegrationDelivery['status']
    attempts: number
    claimed_at: Date | null
    next_attempt_at: Date | null
    last_response_status: number | null
    last_error: string | null
    completed_at: Date | null
    payload: null
  }>,
) {
  await db
    .updateTable('integration_deliveries')
    .set({ ...values, updated_at: sql`now()` })
    .where('id', '=', id)
    .execute()
}

/**
 * One request of the account's per-minute allowance, counted in PostgreSQL so every worker
 * process shares it. False when this minute's allowance is used up.
 */
export async function takeRateSlot(db: Kysely<DB>, accountKey: string, perMinute: number): Promise<boolean> {
  const { rows } = await sql<{ used: number }>`
    INSERT INTO outbound_rate_windows (account_key, window_start, used)
    VALUES (${accountKey}, date_trunc('minute', now()), 1)
    ON CONFLICT (account_key, window_start)
    DO UPDATE SET used = outbound_rate_windows.used + 1 WHERE outbound_rate_windows.used < ${perMinute}
    RETURNING used`.execute(db)
  return rows.length > 0
}

/** An attempt's log row (written once: a retried write of the same attempt does nothing). */
export async function insertAttempt(
  db: Kysely<DB>,
  attempt: Insertable<DB['integration_delivery_attempts']>,
) {
  await db
    .insertInto('integration_delivery_attempts')
    .values(attempt)
    .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing())
    .execute()
}

/** The integration's held deliveries, pending again; returns them. */
export async function releaseHeldDeliveries(db: Kysely<DB>, integrationId: string) {
  return db
    .updateTable('integration_deliveries')
    .set({ status: 'pending', next_attempt_at: null, updated_at: new Date() })
    .where('integration_id', '=', integrationId)
    .where('status', '=', 'held')
    .returning(['id', 'attempts'])
    .execute()
}

/** The integration's delivery, locked for a change that depends on its status. */
export async function lockDelivery(db: Kysely<DB>, integrationId: string, deliveryId: string) {
  return db
    .selectFrom('integration_deliveries')
    .selectAll()
    .where('id', '=', deliveryId)
    .where('integration_id', '=', integrationId)
    .forUpdate()
    .executeTakeFirst()
}

/** The delivery pending again, as new (no next attempt time, not completed). */
export async function requeueDelivery(db: Kysely<DB>, deliveryId: string) {
  return db
    .updateTable('integration_deliveries')
    .set({ status: 'pending', next_attempt_at: null, completed_at: null, updated_at: new Date() })
    .where('id', '=', deliveryId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** The integration's failed deliveries that can be sent again (not erased, not tests), pending again. */
export async function requeueFailedDeliveries(db: Kysely<DB>, integrationId: string) {
  return db
    .updateTable('integration_deliveries')
    .set({ status: 'pending', next_attempt_at: null, completed_at: null, updated_at: new Date() })
    .where('integration_id', '=', integrationId)
    .where('status', '=', 'failed')
    .where('payload', 'is not', null)
    .where('event', '<>', 'test')
    .returning(['id', 'attempts'])
    .execute()
}

export async function listDeliveries(
  db: Kysely<DB>,
  integrationId: string,
  request: PageRequest & { status?: DeliveryStatus | undefined },
) {
  let select = db.selectFrom('integration_deliveries').selectAll().where('integration_id', '=', integrationId)
  if (request.status) select = select.where('status', '=', request.status)
  return page(select, request).execute()
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

/**
 * Erasure: the leads' deliveries still to run are cancelled, and every payload of theirs (which
 * holds the person's data) is cleared, along with what receivers answered. Runs before the leads
 * are deleted (which then sets lead_id null).
 */
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
