import { cachePlugin } from '@nudge/cache'
import { configPlugin } from '@nudge/config'
import { dbPlugin } from '@nudge/db'
import { edgePlugin } from '@nudge/edge'
import { flagsPlugin } from '@nudge/flags'
import { jobsPlugin } from '@nudge/jobs'
import { loggingPlugin } from '@nudge/logging'
import { mailerPlugin } from '@nudge/mailer'
import { marketingPlugin } from '@nudge/marketing'
import { paymentsPlugin } from '@nudge/payments'
import { storagePlugin } from '@nudge/storage'
import type { FastifyPluginAsync } from 'fastify'
import { auditRoutes } from './modules/audit/routes.ts'
import { billingJobs } from './modules/billing/jobs.ts'
import { quotaJobs } from './modules/billing/quotas.ts'
import { billingRoutes } from './modules/billing/routes.ts'
import { stripeWebhookRoutes } from './modules/billing/webhook.ts'
import { campaignRoutes } from './modules/campaigns/routes.ts'
import { flagRoutes } from './modules/flags/routes.ts'
import { healthRoutes } from './modules/health/routes.ts'
import { integrationJobs } from './modules/integrations/jobs.ts'
import { integrationRoutes } from './modules/integrations/routes.ts'
import { inviteRoutes } from './modules/invites/routes.ts'
import { leadRoutes } from './modules/leads/routes.ts'
import { maintenanceJobs } from './modules/operations/jobs.ts'
import { operationsRoutes } from './modules/operations/routes.ts'
import { publishingRoutes } from './modules/publishing/routes.ts'
import { siteRoutes } from './modules/sites/routes.ts'
import { statsRoutes } from './modules/stats/routes.ts'
import { teamRoutes } from './modules/teams/routes.ts'
import { userRoutes } from './modules/users/routes.ts'
import { signInPlugin } from './modules/users/sign-in.ts'
import { visitorsModule } from './modules/visitors/index.ts'
import { docsPlugin } from './plugins/docs.ts'
import { drainPlugin } from './plugins/drain.ts'
import { errorHandlerPlugin } from './plugins/error-handler.ts'
import { httpPlugin } from './plugins/http.ts'
import { teamAccessPlugin } from './plugins/team-access.ts'
import type { AppConfig } from './server.ts'

/** The root plugin: registers the layers, then the modules, in order. Nothing else. */
export const app: FastifyPluginAsync<{ config: AppConfig; worker: boolean }> = async (
  instance,
  { config, worker },
) => {
  await instance.register(configPlugin, { config })
  await instance.register(loggingPlugin)
  await instance.register(errorHandlerPlugin)
  await instance.register(dbPlugin)
  await instance.register(cachePlugin)
  await instance.register(flagsPlugin)
  await instance.register(edgePlugin)
  await instance.register(mailerPlugin)
  await instance.register(storagePlugin)
  await instance.register(jobsPlugin, { worker })
  await instance.register(marketingPlugin)
  await instance.register(paymentsPlugin)
  await instance.register(signInPlugin)
  await instance.register(httpPlugin)
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
  await instance.register(publishingRoutes)
  await instance.register(visitorsModule)
  await instance.register(leadRoutes)
  await instance.register(statsRoutes)
  await instance.register(integrationRoutes)
  await instance.register(billingRoutes)
  await instance.register(stripeWebhookRoutes)
  await instance.register(billingJobs)
  await instance.register(quotaJobs)
  await instance.register(integrationJobs)
  await instance.register(operationsRoutes)
  await instance.register(maintenanceJobs)
  await instance.register(flagRoutes)
}
