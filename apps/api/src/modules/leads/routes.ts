import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Lead as LeadRow } from '@nudge/db'
import { actorOf } from '../../actor.ts'
import { depsOf } from '../../deps.ts'
import {
  ErrorResponse,
  invalidInput,
  rateLimited,
  SessionRouteErrors,
  sessionSecurity,
} from '../../errors.ts'
import { toPage } from '../../pagination.ts'
import { teamOf } from '../../plugins/team-access.ts'
import { TeamParams } from '../teams/schemas.ts'
import { emailProblem } from '../visitors/lead-form.ts'
import {
  LeadCsv,
  LeadErasureBody,
  LeadExportQuery,
  LeadPage,
  LeadParams,
  LeadQuery,
  LeadsErased,
} from './schemas.ts'
import { eraseLead, eraseLeadsByEmail, exportLeads, listLeads } from './service.ts'

const errors = SessionRouteErrors
const security = sessionSecurity

function toLead(row: LeadRow) {
  return {
    id: row.id,
    campaignId: row.campaign_id,
    variantId: row.variant_id,
    email: row.email,
    fields: row.fields,
    consent: row.consent,
    consentVersion: row.consent_version,
    country: row.country,
    pageUrl: row.page_url,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }
}

/** `to` before `from` is a mistake worth naming, not an empty list. */
function checkRange(query: { from?: string | undefined; to?: string | undefined }) {
  if (query.from && query.to && new Date(query.to).getTime() < new Date(query.from).getTime()) {
    throw invalidInput([{ field: 'querystring.to', message: 'must not be before from' }])
  }
}

/**
 * The leads a team's campaigns collected, for the dashboard: list, CSV export and erasure (by
 * lead, or of one person across every campaign). Visitors submit them at /public/v1/leads.
 */
export const leadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // An export holds a pooled connection for as long as its download lasts: a few at a time per
  // worker, so exports never starve the rest of the API of connections.
  const maxExports = Math.max(1, Math.floor(app.config.DATABASE_POOL_MAX / 4))
  let exporting = 0
  const deps = depsOf(app, 'leads')

  app.get(
    '/v1/teams/:teamId/leads',
    {
      config: { permission: 'lead:read' },
      schema: {
        tags: ['leads'],
        operationId: 'listLeads',
        summary: 'Leads of the team’s campaigns, newest first, filtered by campaign, time and email',
        security,
        params: TeamParams,
        querystring: LeadQuery,
        response: { 200: LeadPage, ...errors },
      },
    },
    async (request) => {
      checkRange(request.query)
      const { limit = 20, cursor, ...filters } = request.query
      const rows = await listLeads(deps, { teamId: teamOf(request).id, filters, page: { limit, cursor } })
      return toPage(rows, limit, toLead)
    },
  )

  app.get(
    '/v1/teams/:teamId/leads/export',
    {
      config: { permission: 'lead:export' },
      // HEAD would run the whole export to throw it away.
      exposeHeadRoute: false,
      schema: {
        tags: ['leads'],
        operationId: 'exportLeads',
        summary: 'The leads as a CSV download (same filters as the list), streamed as it is read',
        security,
        params: TeamParams,
        querystring: LeadExportQuery,
        response: {
          200: { description: 'CSV file', content: { 'text/csv': { schema: LeadCsv } } },
          ...errors,
          429: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      checkRange(request.query)
      if (exporting >= maxExports) throw rateLimited('lead exports running at once', 5)
      exporting += 1
      let body: Awaited<ReturnType<typeof exportLeads>>
      try {
        body = await exportLeads(deps, {
          teamId: teamOf(request).id,
          filters: request.query,
          log: request.log,
        })
      } catch (error) {
        exporting -= 1
        throw error
      }
      body.once('close', () => {
        exporting -= 1
      })
      // Fastify lets go of a stream it never started sending (an onSend hook failing): whatever
      // happened, once the response is over the cursor and its connection go back.
      reply.raw.once('close', () => body.destroy())
      const date = new Date().toISOString().slice(0, 10)
      return (
        reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="leads-${date}.csv"`)
          .header('cache-control', 'no-store')
          // The stream is the CSV the schema documents (the type provider knows no streams).
          .send(body as never)
      )
    },
  )

  app.delete(
    '/v1/teams/:teamId/leads/:leadId',
    {
      config: { permission: 'lead:delete' },
      schema: {
        tags: ['leads'],
        operationId: 'eraseLead',
        summary:
          'Erase a lead, with its deliveries not yet made; integrations that received it are told ' +
          '(lead.erased webhook event, Mailerlite subscriber deleted); campaign statistics keep counting ' +
          'it (aggregates hold nothing about the person); audited without the email',
        security,
        params: LeadParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      await eraseLead(deps, {
        teamId: teamOf(request).id,
        leadId: request.params.leadId,
        actor: actorOf(request),
      })
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/v1/teams/:teamId/leads/erase',
    {
      config: { permission: 'lead:delete' },
      schema: {
        tags: ['leads'],
        operationId: 'eraseLeadsByEmail',
        summary:
          'Erase a person: their leads in every campaign of the team (any case of the email), with ' +
          'their deliveries not yet made; integrations that received them are told (lead.erased webhook ' +
          'event, Mailerlite subscriber deleted); campaign statistics keep counting them; audited once, ' +
          'with a keyed hash of the email, not the email. The address goes in the body, never the URL.',
        security,
        params: TeamParams,
        body: LeadErasureBody,
        response: { 200: LeadsErased, ...errors },
      },
    },
    async (request) => {
      const email = request.body.email?.trim()
      if (!email) throw invalidInput([{ field: 'body.email', message: 'is required' }])
      const problem = emailProblem(email)
      if (problem) throw invalidInput([{ field: 'body.email', message: problem }])
      return eraseLeadsByEmail(deps, { teamId: teamOf(request).id, email, actor: actorOf(request) })
    },
  )
}
