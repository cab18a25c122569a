import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { IntegrationDelivery, Integration as IntegrationRow } from '@nudge/db'
import { actorOf } from '../../actor.ts'
import { depsOf } from '../../deps.ts'
import { ErrorResponse, SessionRouteErrors, sessionSecurity } from '../../errors.ts'
import { toPage } from '../../pagination.ts'
import { teamOf } from '../../plugins/team-access.ts'
import { CampaignParams } from '../campaigns/schemas.ts'
import { TeamParams } from '../teams/schemas.ts'
import {
  CampaignIntegration,
  CampaignIntegrationInput,
  CampaignIntegrationParams,
  CampaignIntegrations,
  Delivery,
  DeliveryPage,
  DeliveryParams,
  DeliveryQuery,
  DeliveryWithAttempts,
  Integration,
  IntegrationPage,
  IntegrationParams,
  IntegrationQuery,
  IntegrationUpdate,
  IntegrationWithSecret,
  MailerliteFields,
  MailerliteGroups,
  NewIntegration,
  RedeliverReport,
  SecretRotation,
} from './schemas.ts'
import {
  type Attempt,
  connectIntegration,
  deleteIntegration,
  getDelivery,
  getIntegration,
  linkCampaign,
  listCampaignIntegrations,
  listDeliveries,
  listIntegrations,
  mailerliteFields,
  mailerliteGroups,
  overlapUntil,
  redeliver,
  redeliverFailed,
  rotateWebhookSecret,
  testIntegration,
  unlinkCampaign,
  updateIntegration,
} from './service.ts'

const errors = SessionRouteErrors
const security = sessionSecurity
const tags = ['integrations']
// Mailerlite down or failing while a person waits.
const upstream = { 502: ErrorResponse }

/**
 * Where a team's leads go: Mailerlite and signed webhooks, per campaign, with the delivery log.
 * Secrets are write-only: answers carry their last four characters, and a generated webhook
 * secret once, in the answer that created it.
 */
export const integrationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'integrations')
  const toIntegration = (row: IntegrationRow) => ({
    id: row.id,
    kind: row.kind,
    name: row.name,
    status: row.status,
    statusReason: row.status_reason,
    url: row.url,
    secretLast4: row.secret_last4,
    secretOverlapUntil: overlapUntil(deps, row),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  })
  const toDelivery = (row: IntegrationDelivery) => ({
    id: row.id,
    integrationId: row.integration_id,
    leadId: row.lead_id,
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
    lastResponseStatus: row.last_response_status,
    lastError: row.last_error,
    createdAt: row.created_at.toISOString(),
    completedAt: row.completed_at?.toISOString() ?? null,
  })
  const withAttempts = ({ delivery, attempts }: { delivery: IntegrationDelivery; attempts: Attempt[] }) => ({
    ...toDelivery(delivery),
    attemptLog: attempts.map((a) => ({
      attempt: a.attempt,
      at: a.at.toISOString(),
      responseStatus: a.response_status,
      latencyMs: a.latency_ms,
      responseBody: a.response_body,
      error: a.error,
    })),
  })
  const toCampaignIntegration = (row: Awaited<ReturnType<typeof listCampaignIntegrations>>[number]) => {
    const settings = row.settings as { groupId?: string; fieldMap?: Record<string, string> }
    return {
      campaignId: row.campaign_id,
      integrationId: row.integration_id,
      kind: row.kind,
      name: row.name,
      status: row.status,
      groupId: settings.groupId ?? null,
      fieldMap: settings.fieldMap ?? {},
    }
  }
  const base = '/v1/teams/:teamId/integrations'

  app.post(
    base,
    {
      config: { permission: 'integration:write' },
      schema: {
        tags,
        operationId: 'createIntegration',
        summary: 'Connect Mailerlite (the key is checked with Mailerlite) or a webhook (the URL is checked)',
        security,
        params: TeamParams,
        body: NewIntegration,
        response: { 201: IntegrationWithSecret, ...errors, 402: ErrorResponse, ...upstream },
      },
    },
    async (request, reply) => {
      const { integration, shownSecret } = await connectIntegration(deps, {
        teamId: teamOf(request).id,
        actor: actorOf(request),
        body: request.body,
      })
      return reply
        .code(201)
        .send({ ...toIntegration(integration), ...(shownSecret ? { secret: shownSecret } : {}) })
    },
  )

  app.get(
    base,
    {
      config: { permission: 'integration:read' },
      schema: {
        tags,
        operationId: 'listIntegrations',
        summary: 'The team’s integrations, newest first',
        security,
        params: TeamParams,
        querystring: IntegrationQuery,
        response: { 200: IntegrationPage, ...errors },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20
      const rows = await listIntegrations(deps, {
        teamId: teamOf(request).id,
        page: { limit, cursor: request.query.cursor },
      })
      return toPage(rows, limit, toIntegration)
    },
  )

  app.get(
    `${base}/:integrationId`,
    {
      config: { permission: 'integration:read' },
      schema: {
        tags,
        operationId: 'getIntegration',
        summary: 'An integration and its status (paused or disabled, and why)',
        security,
        params: IntegrationParams,
        response: { 200: Integration, ...errors },
      },
    },
    async (request) => {
      const row = await getIntegration(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
      })
      return toIntegration(row)
    },
  )

  app.patch(
    `${base}/:integrationId`,
    {
      config: { permission: 'integration:write' },
      schema: {
        tags,
        operationId: 'updateIntegration',
        summary: 'Rename, change the URL or API key, pause, or resume (redelivering what was held)',
        security,
        params: IntegrationParams,
        body: IntegrationUpdate,
        response: { 200: Integration, ...errors, ...upstream },
      },
    },
    async (request) => {
      const row = await updateIntegration(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
        actor: actorOf(request),
        body: request.body,
      })
      return toIntegration(row)
    },
  )

  app.delete(
    `${base}/:integrationId`,
    {
      config: { permission: 'integration:write' },
      schema: {
        tags,
        operationId: 'deleteIntegration',
        summary: 'Disconnect an integration: its campaigns stop sending to it, its delivery log goes',
        security,
        params: IntegrationParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      await deleteIntegration(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
        actor: actorOf(request),
      })
      return reply.code(204).send(null)
    },
  )

  app.post(
    `${base}/:integrationId/rotate-secret`,
    {
      config: { permission: 'integration:write' },
      schema: {
        tags,
        operationId: 'rotateWebhookSecret',
        summary: 'A new webhook signing secret (shown once); the old one also signs during the overlap',
        security,
        params: IntegrationParams,
        body: SecretRotation,
        response: { 200: IntegrationWithSecret, ...errors },
      },
    },
    async (request) => {
      const { integration, shownSecret } = await rotateWebhookSecret(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
        actor: actorOf(request),
        overlapHours: request.body?.overlapHours ?? 24,
        secret: request.body?.secret,
      })
      return { ...toIntegration(integration), ...(shownSecret ? { secret: shownSecret } : {}) }
    },
  )

  app.get(
    `${base}/:integrationId/groups`,
    {
      config: { permission: 'integration:read' },
      schema: {
        tags,
        operationId: 'listMailerliteGroups',
        summary: 'The Mailerlite account’s groups, for choosing where a campaign’s leads go',
        security,
        params: IntegrationParams,
        response: { 200: MailerliteGroups, ...errors, 409: ErrorResponse, ...upstream },
      },
    },
    async (request) => ({
      items: await mailerliteGroups(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
      }),
    }),
  )

  app.get(
    `${base}/:integrationId/fields`,
    {
      config: { permission: 'integration:read' },
      schema: {
        tags,
        operationId: 'listMailerliteFields',
        summary: 'The Mailerlite account’s subscriber fields, for mapping form fields to them',
        security,
        params: IntegrationParams,
        response: { 200: MailerliteFields, ...errors, 409: ErrorResponse, ...upstream },
      },
    },
    async (request) => ({
      items: await mailerliteFields(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
      }),
    }),
  )

  app.post(
    `${base}/:integrationId/test`,
    {
      config: { permission: 'integration:write' },
      schema: {
        tags,
        operationId: 'testIntegration',
        summary: 'Send a sample lead now and show what the receiver answered',
        security,
        params: IntegrationParams,
        response: { 200: DeliveryWithAttempts, ...errors },
      },
    },
    async (request) => {
      const tested = await testIntegration(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
      })
      return withAttempts(tested)
    },
  )

  app.get(
    `${base}/:integrationId/deliveries`,
    {
      config: { permission: 'integration:read' },
      schema: {
        tags,
        operationId: 'listDeliveries',
        summary: 'The delivery log, newest first, optionally one status',
        security,
        params: IntegrationParams,
        querystring: DeliveryQuery,
        response: { 200: DeliveryPage, ...errors },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20
      const rows = await listDeliveries(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
        page: { limit, cursor: request.query.cursor },
        status: request.query.status as IntegrationDelivery['status'] | undefined,
      })
      return toPage(rows, limit, toDelivery)
    },
  )

  app.get(
    `${base}/:integrationId/deliveries/:deliveryId`,
    {
      config: { permission: 'delivery:read' },
      schema: {
        tags,
        operationId: 'getDelivery',
        summary: 'One delivery with each attempt: time, status, latency, the first KB of the answer',
        security,
        params: DeliveryParams,
        response: { 200: DeliveryWithAttempts, ...errors },
      },
    },
    async (request) => {
      const found = await getDelivery(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
        deliveryId: request.params.deliveryId,
      })
      return withAttempts(found)
    },
  )

  app.post(
    `${base}/:integrationId/deliveries/:deliveryId/redeliver`,
    {
      config: { permission: 'integration:write' },
      schema: {
        tags,
        operationId: 'redeliver',
        summary: 'Send a delivery again now (same webhook-id, same payload)',
        security,
        params: DeliveryParams,
        response: { 202: Delivery, ...errors, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const delivery = await redeliver(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
        deliveryId: request.params.deliveryId,
        actor: actorOf(request),
      })
      return reply.code(202).send(toDelivery(delivery))
    },
  )

  app.post(
    `${base}/:integrationId/redeliver-failed`,
    {
      config: { permission: 'integration:write' },
      schema: {
        tags,
        operationId: 'redeliverFailed',
        summary: 'Send every failed delivery of the integration again',
        security,
        params: IntegrationParams,
        response: { 202: RedeliverReport, ...errors, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const redelivered = await redeliverFailed(deps, {
        teamId: teamOf(request).id,
        integrationId: request.params.integrationId,
        actor: actorOf(request),
      })
      return reply.code(202).send({ redelivered })
    },
  )

  const campaignBase = '/v1/teams/:teamId/campaigns/:campaignId/integrations'

  app.get(
    campaignBase,
    {
      config: { permission: 'integration:read' },
      schema: {
        tags,
        operationId: 'listCampaignIntegrations',
        summary: 'The integrations a campaign’s leads go to',
        security,
        params: CampaignParams,
        response: { 200: CampaignIntegrations, ...errors },
      },
    },
    async (request) => {
      const rows = await listCampaignIntegrations(deps, {
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
      })
      return { items: rows.map(toCampaignIntegration) }
    },
  )

  app.put(
    `${campaignBase}/:integrationId`,
    {
      config: { permission: 'integration:write' },
      schema: {
        tags,
        operationId: 'connectCampaignIntegration',
        summary: 'Send the campaign’s leads to this integration (Mailerlite: which group, which fields)',
        security,
        params: CampaignIntegrationParams,
        body: CampaignIntegrationInput,
        response: { 200: CampaignIntegration, ...errors },
      },
    },
    async (request) => {
      const link = await linkCampaign(deps, {
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
        integrationId: request.params.integrationId,
        actor: actorOf(request),
        body: request.body ?? {},
      })
      return toCampaignIntegration(link)
    },
  )

  app.delete(
    `${campaignBase}/:integrationId`,
    {
      config: { permission: 'integration:write' },
      schema: {
        tags,
        operationId: 'disconnectCampaignIntegration',
        summary: 'Stop sending the campaign’s leads to this integration',
        security,
        params: CampaignIntegrationParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      await unlinkCampaign(deps, {
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
        integrationId: request.params.integrationId,
        actor: actorOf(request),
      })
      return reply.code(204).send(null)
    },
  )
}
