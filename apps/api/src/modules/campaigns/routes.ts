import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Campaign as CampaignRow } from '@nudge/db'
import type { FastifyReply } from 'fastify'
import { actorOf } from '../../actor.ts'
import { depsOf } from '../../deps.ts'
import { ErrorResponse, invalidInput, SessionRouteErrors, sessionSecurity } from '../../errors.ts'
import { teamOf } from '../../plugins/team-access.ts'
import { checkReleasedTrigger } from '../flags/released.ts'
import { objectKey } from '../publishing/documents.ts'
import { TeamParams } from '../teams/schemas.ts'
import type { FrequencyInput, ScheduleInput, TargetingInput, VariantInput } from './content.ts'
import { firstPageOf, newestCampaigns } from './list-cache.ts'
import type { CampaignSummaryView } from './schemas.ts'
import {
  Campaign,
  CampaignPage,
  CampaignParams,
  CampaignPatch,
  CampaignQuery,
  IfMatchHeaders,
  NewCampaign,
  Preview,
  PreviewQuery,
  StatusChange,
} from './schemas.ts'
import type { CampaignInput } from './service.ts'
import {
  changeStatus,
  createCampaign,
  deleteCampaign,
  duplicateCampaign,
  etagOf,
  getCampaign,
  listCampaigns,
  previewTarget,
  updateCampaign,
} from './service.ts'

/** The query parameter the popup script reads to fetch a campaign's test document. */
export const PREVIEW_PARAMETER = 'nudge_preview'

const errors = SessionRouteErrors
const security = sessionSecurity
const publishErrors = { 502: ErrorResponse, 503: ErrorResponse }
const versionErrors = { 409: ErrorResponse, 412: ErrorResponse, 428: ErrorResponse }

function toCampaign(row: CampaignRow) {
  return {
    id: row.id,
    siteId: row.site_id,
    name: row.name,
    type: row.type,
    status: row.status,
    // Stored only after passing the same schema.
    variants: row.variants as VariantInput[],
    targeting: row.targeting as TargetingInput,
    frequency: row.frequency as FrequencyInput,
    schedule: row.schedule as ScheduleInput | null,
    version: row.version,
    publishedVersion: row.published_version,
    publishedAt: row.published_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }
}

/**
 * Popup campaigns: authoring with optimistic concurrency (If-Match on the version), the status
 * lifecycle that publishes to the edge, duplication and preview of the test version.
 */
export const campaignRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'campaigns')
  const firstPageBodies = new WeakMap<CampaignSummaryView[], Map<number, Buffer>>()

  app.post(
    '/v1/teams/:teamId/campaigns',
    {
      config: { permission: 'campaign:write' },
      schema: {
        tags: ['campaigns'],
        operationId: 'createCampaign',
        summary: 'Create a campaign (as a draft)',
        security,
        params: TeamParams,
        body: NewCampaign,
        response: { 201: Campaign, ...errors },
      },
    },
    async (request, reply) => {
      await checkReleasedTrigger(app, request, request.body.targeting)
      const campaign = await createCampaign(deps, {
        teamId: teamOf(request).id,
        campaign: request.body as CampaignInput,
        actor: actorOf(request),
      })
      return reply.code(201).header('etag', etagOf(campaign)).send(toCampaign(campaign))
    },
  )

  app.get(
    '/v1/teams/:teamId/campaigns',
    {
      config: { permission: 'campaign:read' },
      schema: {
        tags: ['campaigns'],
        operationId: 'listCampaigns',
        summary: 'The team’s campaigns, newest first, filtered by site, status or name',
        security,
        params: TeamParams,
        querystring: CampaignQuery,
        response: { 200: CampaignPage, ...errors },
      },
    },
    async (request, reply) => {
      const { limit = 20, cursor, siteId, status, search } = request.query
      const teamId = teamOf(request).id
      if (cursor || siteId || status || search) {
        return listCampaigns(deps, { teamId, filter: { limit, cursor, siteId, status, search } })
      }
      // The dashboard's opening list, the same bytes until a change: serialized once per page size
      // by this route's own compiled serializer, kept by the cached summaries they were cut from.
      // (Keyed by the cached array itself: not a field of it, which memcached would copy.)
      const newest = await newestCampaigns(deps, { teamId })
      let bodies = firstPageBodies.get(newest)
      if (!bodies) {
        bodies = new Map()
        firstPageBodies.set(newest, bodies)
      }
      let body = bodies.get(limit)
      if (!body) {
        body = Buffer.from(reply.serialize(firstPageOf(newest, limit)) as string)
        bodies.set(limit, body)
      }
      // The schema describes the JSON text sent here; the type provider's types want an object.
      return (reply as unknown as FastifyReply).type('application/json; charset=utf-8').send(body)
    },
  )

  app.get(
    '/v1/teams/:teamId/campaigns/:campaignId',
    {
      config: { permission: 'campaign:read' },
      schema: {
        tags: ['campaigns'],
        operationId: 'getCampaign',
        summary: 'A campaign with its content; the ETag is its version',
        security,
        params: CampaignParams,
        response: { 200: Campaign, ...errors },
      },
    },
    async (request, reply) => {
      const campaign = await getCampaign(deps, {
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
      })
      return reply.header('etag', etagOf(campaign)).send(toCampaign(campaign))
    },
  )

  app.patch(
    '/v1/teams/:teamId/campaigns/:campaignId',
    {
      config: { permission: 'campaign:write' },
      schema: {
        tags: ['campaigns'],
        operationId: 'updateCampaign',
        summary: 'Change a campaign at the version you edited (If-Match); a published one is republished',
        security,
        params: CampaignParams,
        headers: IfMatchHeaders,
        body: CampaignPatch,
        response: { 200: Campaign, ...errors, ...versionErrors, ...publishErrors },
      },
    },
    async (request, reply) => {
      await checkReleasedTrigger(app, request, request.body.targeting)
      const campaign = await updateCampaign(deps, {
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
        ifMatch: request.headers['if-match'],
        patch: request.body as Partial<CampaignInput>,
        actor: actorOf(request),
      })
      return reply.header('etag', etagOf(campaign)).send(toCampaign(campaign))
    },
  )

  app.post(
    '/v1/teams/:teamId/campaigns/:campaignId/status',
    {
      config: { permission: 'campaign:publish' },
      schema: {
        tags: ['campaigns'],
        operationId: 'changeCampaignStatus',
        summary:
          'Move a campaign along its lifecycle (test, live, paused, archived, draft); publishes to the edge',
        security,
        params: CampaignParams,
        headers: IfMatchHeaders,
        body: StatusChange,
        response: { 200: Campaign, ...errors, 402: ErrorResponse, ...versionErrors, ...publishErrors },
      },
    },
    async (request, reply) => {
      const campaign = await changeStatus(deps, {
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
        ifMatch: request.headers['if-match'],
        status: request.body.status,
        actor: actorOf(request),
      })
      return reply.header('etag', etagOf(campaign)).send(toCampaign(campaign))
    },
  )

  app.post(
    '/v1/teams/:teamId/campaigns/:campaignId/duplicate',
    {
      config: { permission: 'campaign:write' },
      schema: {
        tags: ['campaigns'],
        operationId: 'duplicateCampaign',
        summary: 'Copy a campaign into a new draft',
        security,
        params: CampaignParams,
        response: { 201: Campaign, ...errors },
      },
    },
    async (request, reply) => {
      const copy = await duplicateCampaign(deps, {
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
        actor: actorOf(request),
      })
      return reply.code(201).header('etag', etagOf(copy)).send(toCampaign(copy))
    },
  )

  app.delete(
    '/v1/teams/:teamId/campaigns/:campaignId',
    {
      config: { permission: 'campaign:write' },
      schema: {
        tags: ['campaigns'],
        operationId: 'deleteCampaign',
        summary: 'Delete a draft or archived campaign (If-Match optional)',
        security,
        params: CampaignParams,
        headers: IfMatchHeaders,
        response: { 204: { type: 'null' }, ...errors, ...versionErrors },
      },
    },
    async (request, reply) => {
      await deleteCampaign(deps, {
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
        ifMatch: request.headers['if-match'],
        actor: actorOf(request),
      })
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/teams/:teamId/campaigns/:campaignId/preview',
    {
      config: { permission: 'campaign:read' },
      schema: {
        tags: ['campaigns'],
        operationId: 'previewCampaign',
        summary: 'The URL that shows a campaign in test mode on its site',
        security,
        params: CampaignParams,
        querystring: PreviewQuery,
        response: { 200: Preview, ...errors, 409: ErrorResponse },
      },
    },
    async (request) => {
      const { campaign, site } = await previewTarget(deps, {
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
      })
      const url = new URL(request.query.path ?? '/', `https://${site.hostname}`)
      // "//elsewhere.example/" is a path too, to URL(): the preview stays on the campaign's site.
      if (url.hostname !== site.hostname) {
        throw invalidInput([{ field: 'querystring.path', message: 'must be a path on the campaign’s site' }])
      }
      url.searchParams.set(PREVIEW_PARAMETER, campaign.id)
      return {
        url: url.toString(),
        documentUrl: app.edgeCache.urlOf(objectKey.test(campaign.id)),
        apiDocumentUrl: new URL(
          `/public/v1/sites/${site.hostname}/preview/${campaign.id}`,
          app.config.API_DOMAIN,
        ).toString(),
      }
    },
  )
}
