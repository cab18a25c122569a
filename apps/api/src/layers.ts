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
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'

/**
 * The layers, in order: everything a service reaches through `Deps`. The one list, registered by
 * the app (before its plugins and modules), by the job worker and by the CLIs that run services
 * without serving. The error handler is not a layer: the app passes it in, and a process that never
 * serves (the job worker, the CLIs) does not load the sign-in SDK it replies through.
 *
 * It is registered right after logging, where it always was. Registered after the last layer
 * instead, the site document row of `npm run bench` went from 24 to 34 µs of CPU per request, its
 * p99 from 3 to 10–20 ms, and the heap grew by about 100 MB a second under load (Mark-Compacts of
 * 10–18 ms, `--node-args=--trace-gc`), measured back to back; why the order matters is not
 * understood yet (issue 21's note).
 */
export async function registerLayers(
  instance: FastifyInstance,
  { config, worker, errorHandler }: { config: Config; worker: boolean; errorHandler?: FastifyPluginAsync },
) {
  await instance.register(configPlugin, { config })
  await instance.register(loggingPlugin)
  if (errorHandler) await instance.register(errorHandler)
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
