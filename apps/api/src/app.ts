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
import { auditModule } from './modules/audit/index.ts'
import { billingModule } from './modules/billing/index.ts'
import { campaignRoutes } from './modules/campaigns/routes.ts'
import { flagsModule } from './modules/flags/index.ts'
import { healthModule } from './modules/health/index.ts'
import { integrationJobs } from './modules/integrations/jobs.ts'
import { integrationRoutes } from './modules/integrations/routes.ts'
import { inviteRoutes } from './modules/invites/routes.ts'
import { leadRoutes } from './modules/leads/routes.ts'
import { operationsModule } from './modules/operations/index.ts'
import { publishingRoutes } from './modules/publishing/routes.ts'
import { siteRoutes } from './modules/sites/routes.ts'
import { statsModule } from './modules/stats/index.ts'
import { teamRoutes } from './modules/teams/routes.ts'
import { userRoutes } from './modules/users/routes.ts'
import { signInPlugin } from './modules/users/sign-in.ts'
import { eventRoutes } from './modules/visitors/events.ts'
import { leadIntakeRoutes } from './modules/visitors/lead-intake.ts'
import { siteDocumentRoutes } from './modules/visitors/site-document.ts'
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

  await instance.register(healthModule)
  await instance.register(userRoutes)
  await instance.register(teamRoutes)
  await instance.register(inviteRoutes)
  await instance.register(auditModule)
  await instance.register(siteRoutes)
  await instance.register(campaignRoutes)
  await instance.register(publishingRoutes)
  await instance.register(siteDocumentRoutes)
  await instance.register(eventRoutes)
  await instance.register(leadIntakeRoutes)
  await instance.register(leadRoutes)
  await instance.register(statsModule)
  await instance.register(integrationRoutes)
  await instance.register(billingModule)
  await instance.register(integrationJobs)
  await instance.register(operationsModule)
  await instance.register(flagsModule)
}
