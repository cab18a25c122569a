import type { FastifyPluginAsync } from 'fastify'
import { depsOf } from './deps.ts'
import { registerLayers } from './layers.ts'
import { auditModule } from './modules/audit/index.ts'
import { billingModule } from './modules/billing/index.ts'
import { campaignsModule } from './modules/campaigns/index.ts'
import { flagsModule } from './modules/flags/index.ts'
import { healthModule } from './modules/health/index.ts'
import { integrationsModule } from './modules/integrations/index.ts'
import { invitesModule } from './modules/invites/index.ts'
import { leadsModule } from './modules/leads/index.ts'
import { operationsModule } from './modules/operations/index.ts'
import { publishingModule } from './modules/publishing/index.ts'
import { sitesModule } from './modules/sites/index.ts'
import { statsModule } from './modules/stats/index.ts'
import { teamsModule } from './modules/teams/index.ts'
import { membershipsPlugin } from './modules/teams/memberships.ts'
import { usersModule } from './modules/users/index.ts'
import { signInPlugin } from './modules/users/sign-in.ts'
import { visitorsModule } from './modules/visitors/index.ts'
import { visitorOrigins } from './modules/visitors/origin.ts'
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
  await registerLayers(instance, { config, worker, errorHandler: errorHandlerPlugin })
  await instance.register(membershipsPlugin)
  await instance.register(signInPlugin)
  await instance.register(httpPlugin, { visitorOrigins: visitorOrigins(depsOf(instance, 'visitors')) })
  await instance.register(teamAccessPlugin)
  await instance.register(drainPlugin)
  await instance.register(docsPlugin)

  await instance.register(healthModule)
  await instance.register(usersModule)
  await instance.register(teamsModule)
  await instance.register(invitesModule)
  await instance.register(auditModule)
  await instance.register(sitesModule)
  await instance.register(campaignsModule)
  await instance.register(publishingModule)
  await instance.register(visitorsModule)
  await instance.register(leadsModule)
  await instance.register(statsModule)
  await instance.register(integrationsModule)
  await instance.register(billingModule)
  await instance.register(operationsModule)
  await instance.register(flagsModule)
}
