import type { FastifyInstance } from 'fastify'
import { depsOf } from '../../deps.ts'
import { republishAll } from '../publishing/service.ts'
import { ensureEventPartitions } from '../visitors/event-partitions.ts'
import { pruneLeadSubmissions } from '../visitors/lead-submissions.ts'
import { deleteExpiredInvites, pruneRateWindows } from './service.ts'

export const PRUNE_LEAD_SUBMISSIONS_JOB = 'maintenance.prune-lead-submissions'

/**
 * The scheduled work, run by the worker process (UTC cron). Stats need no roll-up job: events
 * and leads are counted into campaign_stats_daily as they are stored.
 */
export const maintenanceJobs = async (app: FastifyInstance) => {
  const deps = depsOf(app, 'maintenance')
  app.jobs.define({
    name: 'maintenance.republish-all',
    cron: '15 3 * * *',
    queue: { retryLimit: 3, retryDelay: 300, expireInSeconds: 3600 },
    handler: async () => {
      const report = await republishAll(deps)
      deps.log.info(
        { sites: report.sites, written: report.written.length, deleted: report.deleted.length },
        'nightly republish',
      )
    },
  })
  app.jobs.define({
    // Raw events: daily partitions made ahead and old days dropped (API workers also run it at start).
    name: 'maintenance.event-partitions',
    cron: '5 * * * *',
    queue: { retryLimit: 3, retryDelay: 60 },
    handler: async () => {
      const { created, dropped } = await ensureEventPartitions(deps)
      if (created.length || dropped.length) deps.log.info({ created, dropped }, 'event partitions')
    },
  })
  app.jobs.define({
    name: 'maintenance.expire-invites',
    cron: '30 3 * * *',
    queue: { retryLimit: 3, retryDelay: 300 },
    handler: async () => {
      const deleted = await deleteExpiredInvites(deps)
      if (deleted > 0) deps.log.info({ deleted }, 'expired invites deleted')
    },
  })
  app.jobs.define({
    // Idempotency-Keys of lead submits, past their window (LEAD_IDEMPOTENCY_DAYS), in batches.
    name: PRUNE_LEAD_SUBMISSIONS_JOB,
    cron: '45 3 * * *',
    queue: { retryLimit: 3, retryDelay: 300 },
    handler: async () => {
      const { deleted, batches } = await pruneLeadSubmissions(deps)
      if (deleted > 0) deps.log.info({ deleted, batches }, 'lead idempotency keys past their window deleted')
    },
  })
  app.jobs.define({
    name: 'maintenance.prune-rate-windows',
    cron: '*/10 * * * *',
    queue: { retryLimit: 1 },
    handler: async () => pruneRateWindows(deps),
  })
}
