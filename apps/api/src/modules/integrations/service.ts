import { createHash } from 'node:crypto'
import { type DeliveryStatus, type Integration, type IntegrationDelivery, newId } from '@nudge/db'
import { MailerliteError } from '@nudge/marketing'
import { type Deps, inTransaction, type TxDeps } from '../../deps.ts'
import {
  DeliveryNotRedeliverable,
  IntegrationCredentialsRejected,
  IntegrationNotActive,
  IntegrationUnavailable,
  invalidInput,
  NotFound,
} from '../../errors.ts'
import type { PageRequest } from '../../pagination.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { checkPlanLimit } from '../billing/plan-limits.ts'
import { findCampaign } from '../campaigns/repository.ts'
import { attemptJob, DELIVERY_JOB, recordOutcome, send } from './delivery-attempts.ts'
import * as deliveries from './delivery-repository.ts'
import { checkWebhookUrl } from './outbound.ts'
import { mailerlitePayload, sampleLead, webhookPayload } from './payloads.ts'
import * as integrations from './repository.ts'
import { decryptSecret, encryptSecret, lastFour } from './secrets.ts'
import { deliverySettings, mailerliteClient } from './settings.ts'
import { generateWebhookSecret, type WebhookSecrets } from './webhook-signing.ts'

/** Mailerlite accounts are told apart by their key, never stored in the clear for it. */
export const accountKeyOf = (apiKey: string) => createHash('sha256').update(apiKey).digest('hex').slice(0, 32)

/** A Mailerlite failure while a person waits: their key refused is theirs to fix, the rest is ours (502). */
function mailerliteProblem(error: unknown, field: string | null): Error {
  if (!(error instanceof MailerliteError)) return error as Error
  if (error.code === 'unauthenticated' || error.status === 403) {
    const message = 'Mailerlite refused this API key'
    return field
      ? invalidInput([{ field, message }])
      : new IntegrationCredentialsRejected(`${message}; save a new key for this integration`)
  }
  return new IntegrationUnavailable(
    `Mailerlite could not be reached (${error.status || error.code}); try again shortly`,
  )
}

/** Refused webhook addresses are the sender's to fix: a 400 naming the field and the reason. */
async function checkedUrl(deps: Deps, url: string, field: string): Promise<string> {
  const check = await checkWebhookUrl(url, deliverySettings(deps.config).policy)
  if (!check.ok) throw invalidInput([{ field, message: check.reason }])
  return check.url.toString()
}

export async function listIntegrations(deps: Deps, input: { teamId: string; page: PageRequest }) {
  return integrations.listIntegrations(deps.db, input.teamId, input.page)
}

export async function getIntegration(deps: Deps, input: { teamId: string; integrationId: string }) {
  const row = await integrations.findIntegration(deps.db, input.teamId, input.integrationId)
  if (!row) throw new NotFound('Integration')
  return row
}

export async function connectIntegration(
  deps: Deps,
  input: {
    teamId: string
    actor: Actor
    body: { kind: 'mailerlite' | 'webhook'; name: string; apiKey?: string; url?: string; secret?: string }
  },
): Promise<{ integration: Integration; shownSecret?: string }> {
  const { body } = input
  let url: string | null = null
  let secret: string
  let last4: string
  let accountKey: string | null = null
  let shownSecret: string | undefined
  if (body.kind === 'mailerlite') {
    const problems = [
      ...(body.apiKey ? [] : [{ field: 'body.apiKey', message: 'is required for Mailerlite' }]),
      ...(body.url ? [{ field: 'body.url', message: 'is for webhooks only' }] : []),
      ...(body.secret ? [{ field: 'body.secret', message: 'is for webhooks only' }] : []),
    ]
    if (problems.length > 0 || !body.apiKey) throw invalidInput(problems)
    await mailerliteClient(deps.config, body.apiKey)
      .listGroups({ limit: 1 })
      .catch((error: unknown) => {
        throw mailerliteProblem(error, 'body.apiKey')
      })
    secret = encryptSecret(deliverySettings(deps.config).keyring, body.apiKey)
    last4 = lastFour(body.apiKey)
    accountKey = accountKeyOf(body.apiKey)
  } else {
    const problems = [
      ...(body.url ? [] : [{ field: 'body.url', message: 'is required for webhooks' }]),
      ...(body.apiKey ? [{ field: 'body.apiKey', message: 'is for Mailerlite only' }] : []),
    ]
    if (problems.length > 0 || !body.url) throw invalidInput(problems)
    url = await checkedUrl(deps, body.url, 'body.url')
    const signing = body.secret ?? generateWebhookSecret()
    if (!body.secret) shownSecret = signing
    secret = encryptSecret(
      deliverySettings(deps.config).keyring,
      JSON.stringify({ current: signing } satisfies WebhookSecrets),
    )
    last4 = lastFour(signing)
  }
  const integration = await inTransaction(deps, async (tx) => {
    await checkPlanLimit(tx, { teamId: input.teamId, resource: 'integrations' })
    const row = await integrations.insertIntegration(tx.db, {
      teamId: input.teamId,
      kind: body.kind,
      name: body.name.trim(),
      url,
      secret,
      secretLast4: last4,
      accountKey,
    })
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'integration.created',
      target: { type: 'integration', id: row.id },
      data: { kind: row.kind, name: row.name, ...(url ? { url } : {}) },
    })
    return row
  })
  return { integration, ...(shownSecret ? { shownSecret } : {}) }
}

async function lockTeamIntegration(tx: TxDeps, input: { teamId: string; integrationId: string }) {
  const row = await integrations.lockIntegration(tx.db, input.integrationId)
  if (!row || row.team_id !== input.teamId) throw new NotFound('Integration')
  return row
}

/**
 * Renames, re-points (URL, API key), pauses or resumes an integration. Resuming (status active,
 * also after a 410 disabled it) sends everything held while it was stopped.
 */
export async function updateIntegration(
  deps: Deps,
  input: {
    teamId: string
    integrationId: string
    actor: Actor
    body: { name?: string; url?: string; apiKey?: string; status?: 'active' | 'paused' }
  },
) {
  const { body } = input
  const current = await integrations.findIntegration(deps.db, input.teamId, input.integrationId)
  if (!current) throw new NotFound('Integration')
  const problems = [
    ...(body.url && current.kind !== 'webhook'
      ? [{ field: 'body.url', message: 'is for webhooks only' }]
      : []),
    ...(body.apiKey && current.kind !== 'mailerlite'
      ? [{ field: 'body.apiKey', message: 'is for Mailerlite only' }]
      : []),
  ]
  if (problems.length > 0) throw invalidInput(problems)
  // Outside the transaction: DNS and Mailerlite may take seconds.
  const url = body.url ? await checkedUrl(deps, body.url, 'body.url') : undefined
  if (body.apiKey) {
    await mailerliteClient(deps.config, body.apiKey)
      .listGroups({ limit: 1 })
      .catch((error: unknown) => {
        throw mailerliteProblem(error, 'body.apiKey')
      })
  }
  return inTransaction(deps, async (tx) => {
    const row = await lockTeamIntegration(tx, input)
    const values: Parameters<typeof integrations.updateIntegration>[2] = {}
    if (body.name !== undefined) values.name = body.name.trim()
    if (url !== undefined) values.url = url
    if (body.apiKey) {
      values.secret = encryptSecret(deliverySettings(deps.config).keyring, body.apiKey)
      values.secret_last4 = lastFour(body.apiKey)
      values.account_key = accountKeyOf(body.apiKey)
    }
    const resuming = body.status === 'active' && row.status !== 'active'
    if (body.status === 'paused' && row.status === 'active') {
      values.status = 'paused'
      values.status_reason = 'paused by a team member'
    }
    if (resuming) {
      values.status = 'active'
      values.status_reason = null
      values.consecutive_failures = 0
    }
    const updated = await integrations.updateIntegration(tx.db, row.id, values)
    let redelivered = 0
    if (resuming) {
      const held = await deliveries.releaseHeldDeliveries(tx.db, row.id)
      await tx.jobs.insert(
        DELIVERY_JOB,
        held.map((d) => attemptJob(d)),
        { db: tx.db },
      )
      redelivered = held.length
    }
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: resuming ? 'integration.resumed' : 'integration.updated',
      target: { type: 'integration', id: row.id },
      data: {
        ...(body.name !== undefined ? { name: updated.name } : {}),
        ...(url !== undefined ? { url } : {}),
        ...(body.apiKey ? { apiKeyLast4: updated.secret_last4 } : {}),
        ...(values.status ? { status: values.status } : {}),
        ...(resuming ? { redelivered } : {}),
      },
    })
    return updated
  })
}

/**
 * A new signing secret for a webhook. The previous one keeps signing beside it for
 * `overlapHours`, so receivers can switch without refusing a delivery.
 */
export async function rotateWebhookSecret(
  deps: Deps,
  input: {
    teamId: string
    integrationId: string
    actor: Actor
    overlapHours: number
    secret?: string | undefined
  },
) {
  return inTransaction(deps, async (tx) => {
    const row = await lockTeamIntegration(tx, input)
    if (row.kind !== 'webhook')
      throw invalidInput([{ field: 'params.integrationId', message: 'only webhooks have signing secrets' }])
    const stored = JSON.parse(
      decryptSecret(deliverySettings(deps.config).keyring, row.secret),
    ) as WebhookSecrets
    const next = input.secret ?? generateWebhookSecret()
    const until = new Date(Date.now() + input.overlapHours * 3600 * 1000)
    const secrets: WebhookSecrets = {
      current: next,
      ...(input.overlapHours > 0 ? { previous: { secret: stored.current, until: until.toISOString() } } : {}),
    }
    const updated = await integrations.updateIntegration(tx.db, row.id, {
      secret: encryptSecret(deliverySettings(deps.config).keyring, JSON.stringify(secrets)),
      secret_last4: lastFour(next),
    })
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'integration.secret_rotated',
      target: { type: 'integration', id: row.id },
      data: { secretLast4: lastFour(next), overlapHours: input.overlapHours },
    })
    return { integration: updated, shownSecret: input.secret ? undefined : next }
  })
}

/** Until when a webhook's previous secret still signs (null: none). */
export function overlapUntil(deps: Deps, row: Integration): string | null {
  if (row.kind !== 'webhook') return null
  const { previous } = JSON.parse(
    decryptSecret(deliverySettings(deps.config).keyring, row.secret),
  ) as WebhookSecrets
  return previous && Date.parse(previous.until) > Date.now() ? previous.until : null
}

export async function deleteIntegration(
  deps: Deps,
  input: { teamId: string; integrationId: string; actor: Actor },
) {
  await inTransaction(deps, async (tx) => {
    const row = await lockTeamIntegration(tx, input)
    await integrations.deleteIntegration(tx.db, row.id)
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'integration.deleted',
      target: { type: 'integration', id: row.id },
      data: { kind: row.kind, name: row.name },
    })
  })
}

async function mailerliteOf(deps: Deps, input: { teamId: string; integrationId: string }) {
  const row = await integrations.findIntegration(deps.db, input.teamId, input.integrationId)
  if (!row) throw new NotFound('Integration')
  if (row.kind !== 'mailerlite')
    throw invalidInput([{ field: 'params.integrationId', message: 'is not a Mailerlite integration' }])
  return mailerliteClient(deps.config, decryptSecret(deliverySettings(deps.config).keyring, row.secret))
}

/** The Mailerlite account's groups, for the dashboard's picker (first 1000 by name). */
export async function mailerliteGroups(deps: Deps, input: { teamId: string; integrationId: string }) {
  const client = await mailerliteOf(deps, input)
  try {
    const groups = await client.listGroups({ limit: 1000 })
    return groups.map((g) => ({ id: String(g.id), name: g.name, activeCount: g.active_count ?? 0 }))
  } catch (error) {
    throw mailerliteProblem(error, null)
  }
}

export async function mailerliteFields(deps: Deps, input: { teamId: string; integrationId: string }) {
  const client = await mailerliteOf(deps, input)
  try {
    const fields = await client.listFields()
    return fields.map((f) => ({ key: f.key, name: f.name, type: f.type }))
  } catch (error) {
    throw mailerliteProblem(error, null)
  }
}

/**
 * Connects an integration to a campaign (or changes how): its leads go there from now on.
 * Returns the link as it is now.
 */
export async function linkCampaign(
  deps: Deps,
  input: {
    teamId: string
    campaignId: string
    integrationId: string
    actor: Actor
    body: { groupId?: string; fieldMap?: Record<string, string> }
  },
) {
  await inTransaction(deps, async (tx) => {
    const campaign = await findCampaign(tx.db, input.teamId, input.campaignId)
    if (!campaign) throw new NotFound('Campaign')
    const row = await lockTeamIntegration(tx, input)
    const { body } = input
    if (row.kind === 'mailerlite' && !body.groupId)
      throw invalidInput([
        { field: 'body.groupId', message: 'is required for Mailerlite (the group leads join)' },
      ])
    if (row.kind === 'webhook' && (body.groupId || body.fieldMap))
      throw invalidInput([
        { field: body.groupId ? 'body.groupId' : 'body.fieldMap', message: 'is for Mailerlite only' },
      ])
    const settings = row.kind === 'mailerlite' ? { groupId: body.groupId, fieldMap: body.fieldMap ?? {} } : {}
    await integrations.upsertCampaignIntegration(tx.db, {
      teamId: input.teamId,
      campaignId: campaign.id,
      integrationId: row.id,
      settings,
    })
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'campaign.integration_connected',
      target: { type: 'campaign', id: campaign.id },
      data: { integrationId: row.id, ...settings },
    })
  })
  const links = await integrations.listCampaignIntegrations(deps.db, input.teamId, input.campaignId)
  const link = links.find((r) => r.integration_id === input.integrationId)
  if (!link) throw new NotFound('Campaign integration')
  return link
}

export async function unlinkCampaign(
  deps: Deps,
  input: { teamId: string; campaignId: string; integrationId: string; actor: Actor },
) {
  await inTransaction(deps, async (tx) => {
    const campaign = await findCampaign(tx.db, input.teamId, input.campaignId)
    if (!campaign) throw new NotFound('Campaign')
    const removed = await integrations.deleteCampaignIntegration(tx.db, campaign.id, input.integrationId)
    if (!removed) throw new NotFound('Campaign integration')
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'campaign.integration_disconnected',
      target: { type: 'campaign', id: campaign.id },
      data: { integrationId: input.integrationId },
    })
  })
}

/** Sends one delivery again, now, with the same webhook-id and payload. */
export async function redeliver(
  deps: Deps,
  input: { teamId: string; integrationId: string; deliveryId: string; actor: Actor },
) {
  return inTransaction(deps, async (tx) => {
    const integration = await lockTeamIntegration(tx, input)
    if (integration.status !== 'active') throw new IntegrationNotActive(integration.status)
    const delivery = await deliveries.lockDelivery(tx.db, integration.id, input.deliveryId)
    if (!delivery) throw new NotFound('Delivery')
    if (delivery.payload === null)
      throw new DeliveryNotRedeliverable('The lead of this delivery was erased: there is nothing to send')
    if (delivery.event === 'test')
      throw new DeliveryNotRedeliverable('Test deliveries are not redelivered; send another test')
    if (delivery.status === 'delivering' || delivery.status === 'pending')
      throw new DeliveryNotRedeliverable(`This delivery is ${delivery.status} already`)
    const updated = await deliveries.requeueDelivery(tx.db, delivery.id)
    await tx.jobs.insert(DELIVERY_JOB, [attemptJob(updated)], { db: tx.db })
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'integration.redelivered',
      target: { type: 'integration', id: integration.id },
      data: { deliveryId: delivery.id },
    })
    return updated
  })
}

/** Sends every failed delivery of the integration again. */
export async function redeliverFailed(
  deps: Deps,
  input: { teamId: string; integrationId: string; actor: Actor },
) {
  return inTransaction(deps, async (tx) => {
    const integration = await lockTeamIntegration(tx, input)
    if (integration.status !== 'active') throw new IntegrationNotActive(integration.status)
    const failed = await deliveries.requeueFailedDeliveries(tx.db, integration.id)
    await tx.jobs.insert(
      DELIVERY_JOB,
      failed.map((d) => attemptJob(d)),
      { db: tx.db },
    )
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'integration.redelivered_failed',
      target: { type: 'integration', id: integration.id },
      data: { count: failed.length },
    })
    return failed.length
  })
}

/**
 * Sends a sample lead through the integration now and answers with what happened: the attempt
 * is in the delivery log as a 'test' delivery, never retried and never counted against it.
 */
export async function testIntegration(deps: Deps, input: { teamId: string; integrationId: string }) {
  const row = await integrations.findIntegration(deps.db, input.teamId, input.integrationId)
  if (!row) throw new NotFound('Integration')
  const now = new Date()
  const lead = sampleLead(now)
  const payload = row.kind === 'webhook' ? webhookPayload('test', lead, now) : mailerlitePayload(lead, {})
  const delivery = await deliveries.insertTestDelivery(deps.db, {
    id: newId(),
    team_id: row.team_id,
    integration_id: row.id,
    event: 'test',
    status: 'delivering',
    attempts: 1,
    claimed_at: now,
    payload,
  })
  const claimed = {
    ...delivery,
    kind: row.kind,
    url: row.url,
    secret: row.secret,
    account_key: row.account_key,
  }
  const outcome = await send(deps, claimed)
  await recordOutcome(deps, { delivery: claimed, outcome })
  // The integration may have been deleted meanwhile, its deliveries with it.
  const tested = await deliveries.findDelivery(deps.db, row.id, delivery.id)
  if (!tested) throw new NotFound('Integration')
  return { delivery: tested, attempts: await deliveries.listAttempts(deps.db, tested.id) }
}

/** The delivery log of the team's integration, newest first, optionally of one status. */
export async function listDeliveries(
  deps: Deps,
  input: { teamId: string; integrationId: string; page: PageRequest; status?: DeliveryStatus | undefined },
) {
  const integration = await getIntegration(deps, input)
  return deliveries.listDeliveries(deps.db, integration.id, { ...input.page, status: input.status })
}

/** A delivery of the team's integration, with its attempts. */
export async function getDelivery(
  deps: Deps,
  input: { teamId: string; integrationId: string; deliveryId: string },
): Promise<{ delivery: IntegrationDelivery; attempts: Attempt[] }> {
  const integration = await getIntegration(deps, input)
  const delivery = await deliveries.findDelivery(deps.db, integration.id, input.deliveryId)
  if (!delivery) throw new NotFound('Delivery')
  return { delivery, attempts: await deliveries.listAttempts(deps.db, delivery.id) }
}

export type Attempt = Awaited<ReturnType<typeof deliveries.listAttempts>>[number]

export async function listCampaignIntegrations(deps: Deps, input: { teamId: string; campaignId: string }) {
  return integrations.listCampaignIntegrations(deps.db, input.teamId, input.campaignId)
}
