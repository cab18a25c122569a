import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { publishDeps, republishAll } from '../publishing/publisher.ts'
import { ensureEventPartitions } from '../visitors/event-partitions.ts'
import { pruneLeadSubmissions } from '../visitors/lead-submissions.ts'

export const PRUNE_LEAD_SUBMISSIONS_JOB = 'maintenance.prune-lead-submissions'

/** Expired invites are kept this long (the dashboard shows them as expired), then deleted. */
const EXPIRED_INVITES_KEPT_DAYS = 30

/**
 * The scheduled work, run by the worker process (UTC cron). Stats need no roll-up job: events
 * and leads are counted into campaign_stats_daily as they are stored.
 */
export const maintenanceJobs = async (app: FastifyInstance) => {
  const log = app.log.child({ module: 'maintenance' })
  app.jobs.define({
    name: 'maintenance.republish-all',
    cron: '15 3 * * *',
    queue: { retryLimit: 3, retryDelay: 300, expireInSeconds: 3600 },
    handler: async () => {
      const report = await republishAll(publishDeps(app))
      log.info(
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
      const { created, dropped } = await ensureEventPartitions(app)
      if (created.length || dropped.length) log.info({ created, dropped }, 'event partitions')
    },
  })
  app.jobs.define({
    name: 'maintenance.expire-invites',
    cron: '30 3 * * *',
    queue: { retryLimit: 3, retryDelay: 300 },
    handler: async () => {
      const result = await app.db
        .deleteFrom('team_invites')
        .where('accepted_at', 'is', null)
        .where('expires_at', '<', sql<Date>`now() - make_interval(days => ${EXPIRED_INVITES_KEPT_DAYS})`)
        .executeTakeFirst()
      if (result.numDeletedRows > 0n)
        log.info({ deleted: Number(result.numDeletedRows) }, 'expired invites deleted')
    },
  })
  app.jobs.define({
    // Idempotency-Keys of lead submits, past their window (LEAD_IDEMPOTENCY_DAYS), in batches.
    name: PRUNE_LEAD_SUBMISSIONS_JOB,
    cron: '45 3 * * *',
    queue: { retryLimit: 3, retryDelay: 300 },
    handler: async () => {
      const { deleted, batches } = await pruneLeadSubmissions(app)
      if (deleted > 0) log.info({ deleted, batches }, 'lead idempotency keys past their window deleted')
    },
  })
  app.jobs.define({
    name: 'maintenance.prune-rate-windows',
    cron: '*/10 * * * *',
    queue: { retryLimit: 1 },
    handler: async () => {
      await app.db
        .deleteFrom('outbound_rate_windows')
        .where('window_start', '<', sql<Date>`now() - interval '1 hour'`)
        .execute()
    },
  })
}
