import { loggerOptions } from '@nudge/logging'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { registerLayers } from './layers.ts'
import { billingJobs, quotaJobs } from './modules/billing/jobs.ts'
import { integrationJobs } from './modules/integrations/jobs.ts'
import { maintenanceJobs } from './modules/operations/jobs.ts'
import type { AppConfig } from './server.ts'

/**
 * The job worker process (worker.ts): the layers and the modules' job definitions, nothing that
 * serves HTTP. No routes, schemas, validators, serializers, OpenAPI document or sign-in (the
 * SuperTokens SDK): the worker never answers a request; not building them took its old space
 * from 42 to 24 MB (README.md, "Memory"). The same job plugins the modules register in the API, so a job
 * has one definition; test/worker-app.test.ts fails when a module defines a job missing here.
 */
export async function buildWorker(
  config: AppConfig,
  { logStream }: { logStream?: { write(line: string): void } } = {},
) {
  const instance = Fastify(loggerOptions(config, logStream))
  await instance.register(
    fp(async (app) => {
      await registerLayers(app, { config, worker: true })
      await app.register(billingJobs)
      await app.register(quotaJobs)
      await app.register(integrationJobs)
      await app.register(maintenanceJobs)
    }),
  )
  return instance
}
