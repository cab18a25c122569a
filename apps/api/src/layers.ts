import { cachePlugin } from '@nudge/cache'
import { type Config, configPlugin } from '@nudge/config'
import { dbPlugin } from '@nudge/db'
import { edgePlugin } from '@nudge/edge'
import { flagsPlugin } from '@nudge/flags'
import { jobsPlugin } from '@nudge/jobs'
import { loggingPlugin } from '@nudge/logging'
import { mailerPlugin } from '@nudge/mailer'
import { marketingPlugin } from '@nudge/marketing'
import { paymentsPlugin } from '@nudge/payments'
import { storagePlugin } from '@nudge/storage'
import type { FastifyInstance } from 'fastify'

/**
 * The layers, in order: everything a service reaches through `Deps`. The one list, registered by
 * the app (before its plugins and modules), by the job worker and by the CLIs that run services
 * without serving. Nothing here answers HTTP (the error handler is the app's first plugin): a
 * process that never serves does not load the sign-in SDK the error handler replies through.
 */
export async function registerLayers(
  instance: FastifyInstance,
  { config, worker }: { config: Config; worker: boolean },
) {
  await instance.register(configPlugin, { config })
  await instance.register(loggingPlugin)
  await instance.register(dbPlugin)
  await instance.register(cachePlugin)
  await instance.register(flagsPlugin)
  await instance.register(edgePlugin)
  await instance.register(mailerPlugin)
  await instance.register(storagePlugin)
  await instance.register(jobsPlugin, { worker })
  await instance.register(marketingPlugin)
  await instance.register(paymentsPlugin)
}
