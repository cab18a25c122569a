import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { depsOf } from '../../deps.ts'
import { SessionRouteErrors, sessionSecurity } from '../../errors.ts'
import { teamOf } from '../../plugins/team-access.ts'
import { CampaignParams } from '../campaigns/schemas.ts'
import { CampaignStats, StatsQuery } from './schemas.ts'
import { campaignStats } from './service.ts'

/** What visitors did with a campaign, for the dashboard. */
export const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'stats')
  app.get(
    '/v1/teams/:teamId/campaigns/:campaignId/stats',
    {
      config: { permission: 'campaign:read' },
      schema: {
        tags: ['stats'],
        operationId: 'getCampaignStats',
        summary: 'A campaign’s impressions, closes, conversions and leads per UTC day, variant and country',
        description:
          'Counts are kept per UTC day: `from` and `to` are dates in `tz`, answered with the UTC days that ' +
          'overlap them (`utcFrom`..`utcTo`, `dayBoundary: "UTC"`). With two or more variants, `comparison` ' +
          'names the variant ahead and whether the difference is significant at 5%, and by which test.',
        security: sessionSecurity,
        params: CampaignParams,
        querystring: StatsQuery,
        response: { 200: CampaignStats, ...SessionRouteErrors },
      },
    },
    async (request) =>
      campaignStats(deps, {
        ...request.query,
        teamId: teamOf(request).id,
        campaignId: request.params.campaignId,
      }),
  )
}
