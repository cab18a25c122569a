import type { FastifyPluginAsync } from 'fastify'
import { depsOf } from './deps.ts'
import { registerLayers } from './layers.ts'
import { auditRoutes } from './modules/audit/routes.ts'
import { billingJobs } from './modules/billing/jobs.ts'
import { quotaJobs } from './modules/billing/quotas.ts'
import { billingRoutes } from './modules/billing/routes.ts'
import { stripeWebhookRoutes } from './modules/billing/webhook.ts'
import { campaignRoutes } from './modules/campaigns/routes.ts'
import { flagRoutes } from './modules/flags/routes.ts'
import { healthRoutes } from './modules/health/routes.ts'
import { integrationsModule } from './modules/integrations/index.ts'
import { inviteRoutes } from './modules/invites/routes.ts'
import { leadsModule } from './modules/leads/index.ts'
import { maintenanceJobs } from './modules/operations/jobs.ts'
import { operationsRoutes } from './modules/operations/routes.ts'
import { publishingModule } from './modules/publishing/index.ts'
import { siteRoutes } from './modules/sites/routes.ts'
import { statsRoutes } from './modules/stats/routes.ts'
import { teamRoutes } from './modules/teams/routes.ts'
import { userRoutes } from './modules/users/routes.ts'
import { signInPlugin } from './modules/users/sign-in.ts'
import { eventRoutes } from './modules/visitors/events.ts'
import { leadIntakeRoutes } from './modules/visitors/lead-intake.ts'
import { visitorOrigins } from './modules/visitors/origin.ts'
import { siteDocumentRoutes } from './modules/visitors/site-document.ts'
import { docsPlugin } from './plugins/docs.ts'
import { drainPlugin } from './plugins/drain.ts'
import { httpPlugin } from './plugins/http.ts'
import { teamAccessPlugin } from './plugins/team-access.ts'
import type { AppConfig } from './server.ts'

/** The root plugin: registers the layers, then the modules, in order. Nothing else. */
export const app: FastifyPluginAsync<{ config: AppConfig; worker: boolean }> = async (
  instance,
  { config, worker },
) => {
  await registerLayers(instance, { config, worker })
  await instance.register(signInPlugin)
  await instance.register(httpPlugin, { visitorOrigins: visitorOrigins(depsOf(instance, 'visitors')) })
  await instance.register(teamAccessPlugin)
  await instance.register(drainPlugin)
  await instance.register(docsPlugin)

  await instance.register(healthRoutes)
  await instance.register(userRoutes)
  await instance.register(teamRoutes)
  await instance.register(inviteRoutes)
  await instance.register(auditRoutes)
  await instance.register(siteRoutes)
  await instance.register(campaignRoutes)
  await instance.register(publishingModule)
  await instance.register(siteDocumentRoutes)
  await instance.register(eventRoutes)
  await instance.register(leadIntakeRoutes)
  await instance.register(leadsModule)
  await instance.register(statsRoutes)
  await instance.register(integrationsModule)
  await instance.register(billingRoutes)
  await instance.register(stripeWebhookRoutes)
  await instance.register(billingJobs)
  await instance.register(quotaJobs)
  await instance.register(operationsRoutes)
  await instance.register(maintenanceJobs)
  await instance.register(flagRoutes)
}
