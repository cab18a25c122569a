import type { FastifyInstance } from 'fastify'
import { depsOf } from '../../deps.ts'
import { type AttemptJob, attemptDelivery, DELIVERY_JOB } from './delivery-attempts.ts'
import { OUTBOX_JOB, relayOutbox } from './outbox-relay.ts'
import { reencryptSecrets } from './secrets-rotation.ts'
import { deliverySettings } from './settings.ts'
import { NOTICE_JOB, type StopNotice, sendNotice } from './stop-notice.ts'

/**
 * The integrations' jobs: relaying stored leads into deliveries (woken after each lead batch, and
 * every minute for anything a lost wake-up left), attempting deliveries, telling a team that an
 * integration stopped.
 */
export const integrationJobs = async (app: FastifyInstance) => {
  const deps = depsOf(app, 'integrations')
  const expireInSeconds = Math.ceil(deliverySettings(deps.config).timeoutMs / 1000) + 5
  app.jobs.define({
    name: OUTBOX_JOB,
    cron: '* * * * *',
    queue: { retryLimit: 3, retryDelay: 5, expireInSeconds: 300, notify: true },
    handler: async () => {
      await relayOutbox(deps)
    },
  })
  app.jobs.define<AttemptJob>({
    name: DELIVERY_JOB,
    deadLetter: true,
    // pg-boss retries cover a worker dying mid-attempt (the job expires) or the database failing;
    // the delivery's own schedule (DELIVERY_RETRY_SCHEDULE) covers receivers failing.
    queue: { retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds, notify: true },
    // Pairs of jobs: a worker whose fetch came back full fetches again at once (pg-boss bursts
    // only for batches above one), instead of waiting out the polling interval after each job.
    work: {
      batchSize: 2,
      localConcurrency: Math.max(1, Math.ceil(app.config.WORKER_CONCURRENCY / 2)),
      burstWhenBatchFull: true,
    },
    handler: async (jobs) => {
      await Promise.all(jobs.map((job) => attemptDelivery(deps, job.data)))
    },
  })
  app.jobs.define({
    // After SECRETS_ENCRYPTION_KEYS gets a new first key, stored secrets move to it, so the old
    // key can be dropped once this has run.
    name: 'integrations.reencrypt-secrets',
    cron: '45 3 * * *',
    queue: { retryLimit: 3, retryDelay: 300 },
    handler: async () => {
      await reencryptSecrets(deps)
    },
  })
  app.jobs.define<StopNotice>({
    name: NOTICE_JOB,
    deadLetter: true,
    queue: { retryLimit: 5, retryDelay: 30, retryBackoff: true },
    handler: async ([job]) => {
      if (job) await sendNotice(deps, job.data)
    },
  })
}
