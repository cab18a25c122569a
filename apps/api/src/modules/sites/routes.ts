import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Site as SiteRow } from '@nudge/db'
import { actorOf } from '../../actor.ts'
import { depsOf } from '../../deps.ts'
import { ErrorResponse, SessionRouteErrors, sessionSecurity } from '../../errors.ts'
import { toPage } from '../../pagination.ts'
import { teamOf } from '../../plugins/team-access.ts'
import { TeamParams } from '../teams/schemas.ts'
import { NewSite, Site, SitePage, SiteParams, SitePatch, SiteQuery } from './schemas.ts'
import { createSite, deleteSite, getSite, installSnippet, listSites, updateSite } from './service.ts'

const errors = SessionRouteErrors
const security = sessionSecurity
// A publish can fail at the storage (502) or find the database down (503).
const publishErrors = { 502: ErrorResponse, 503: ErrorResponse }

/** The hostnames a team's popups run on, with the snippet to install on each. */
export const siteRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'sites')
  const toSite = (row: SiteRow) => ({
    id: row.id,
    hostname: row.hostname,
    firstSeenAt: row.first_seen_at?.toISOString() ?? null,
    allowSubdomains: row.settings.allowSubdomains === true,
    snippet: installSnippet(app.config.EDGE_URL, row),
    createdAt: row.created_at.toISOString(),
  })

  app.post(
    '/v1/teams/:teamId/sites',
    {
      config: { permission: 'site:write' },
      schema: {
        tags: ['sites'],
        operationId: 'createSite',
        summary: 'Add a site (hostname) the team’s popups run on',
        security,
        params: TeamParams,
        body: NewSite,
        response: { 201: Site, ...errors, 402: ErrorResponse, 409: ErrorResponse, ...publishErrors },
      },
    },
    async (request, reply) => {
      const site = await createSite(deps, {
        teamId: teamOf(request).id,
        hostname: request.body.hostname,
        actor: actorOf(request),
      })
      return reply.code(201).send(toSite(site))
    },
  )

  app.get(
    '/v1/teams/:teamId/sites',
    {
      config: { permission: 'site:read' },
      schema: {
        tags: ['sites'],
        operationId: 'listSites',
        summary: 'The team’s sites, newest first',
        security,
        params: TeamParams,
        querystring: SiteQuery,
        response: { 200: SitePage, ...errors },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20
      const rows = await listSites(deps, {
        teamId: teamOf(request).id,
        page: { limit, cursor: request.query.cursor },
      })
      return toPage(rows, limit, toSite)
    },
  )

  app.get(
    '/v1/teams/:teamId/sites/:siteId',
    {
      config: { permission: 'site:read' },
      schema: {
        tags: ['sites'],
        operationId: 'getSite',
        summary: 'A site, with its install snippet and whether the snippet has been seen',
        security,
        params: SiteParams,
        response: { 200: Site, ...errors },
      },
    },
    async (request) => {
      return toSite(await getSite(deps, { teamId: teamOf(request).id, siteId: request.params.siteId }))
    },
  )

  app.patch(
    '/v1/teams/:teamId/sites/:siteId',
    {
      config: { permission: 'site:write' },
      schema: {
        tags: ['sites'],
        operationId: 'updateSite',
        summary: 'Change a site’s settings: whether its subdomains’ pages count as the site’s',
        security,
        params: SiteParams,
        body: SitePatch,
        response: { 200: Site, ...errors },
      },
    },
    async (request) => {
      const site = await updateSite(deps, {
        teamId: teamOf(request).id,
        siteId: request.params.siteId,
        allowSubdomains: request.body.allowSubdomains,
        actor: actorOf(request),
      })
      return toSite(site)
    },
  )

  app.delete(
    '/v1/teams/:teamId/sites/:siteId',
    {
      config: { permission: 'site:write' },
      schema: {
        tags: ['sites'],
        operationId: 'deleteSite',
        summary: 'Delete a site: its campaigns are unpublished and kept as drafts without a site',
        security,
        params: SiteParams,
        response: { 204: { type: 'null' }, ...errors, ...publishErrors },
      },
    },
    async (request, reply) => {
      await deleteSite(deps, {
        teamId: teamOf(request).id,
        siteId: request.params.siteId,
        actor: actorOf(request),
      })
      return reply.code(204).send(null)
    },
  )
}
