import type {} from '@nudge/config'
import type {} from '@nudge/db'
import fp from 'fastify-plugin'
import { PgBoss } from 'pg-boss'
import { Jobs } from './jobs.ts'

declare module 'fastify' {
  interface FastifyInstance {
    jobs: Jobs
  }
}

export interface JobsPluginOptions {
  /** The worker process: runs handlers, cron schedules and pg-boss maintenance. */
  worker?: boolean
}

/**
 * Decorates `app.jobs` (pg-boss on the app's PostgreSQL, schema `pgboss`). Modules `define` their
 * jobs while registering; the queues are created when the app is ready, and on close jobs in
 * progress finish (up to SHUTDOWN_GRACE_MS) or go back to the queue for another worker.
 */
export const jobsPlugin = fp<JobsPluginOptions>(
  async (app, options) => {
    const { config } = app
    if (!config.DATABASE_URL) throw new Error('DATABASE_URL is not set: the jobs layer needs PostgreSQL')
    const worker = options.worker === true
    const boss = new PgBoss({
      connectionString: config.DATABASE_URL,
      schema: 'pgboss',
      application_name: worker ? 'nudge-worker-jobs' : 'nudge-api-jobs',
      max: worker ? config.WORKER_CONCURRENCY + 4 : 3,
      // Only workers keep the queue: cron, expiry of jobs whose worker died, retention.
      supervise: worker,
      superviseIntervalSeconds: config.JOBS_SUPERVISE_SECONDS,
      monitorIntervalSeconds: config.JOBS_SUPERVISE_SECONDS,
      schedule: worker,
      migrate: true,
      useListenNotify: worker,
    })
    boss.on('error', (error) => app.log.error({ err: error, layer: 'jobs' }, 'job queue error'))
    const jobs = new Jobs(boss, config.JOBS_POLL_SECONDS)
    app.decorate('jobs', jobs)
    boss.on('warning', (warning) => app.log.warn({ layer: 'jobs', warning }, 'job queue warning'))
    app.addHook('onReady', async () => {
      // An API process serves (and answers /health/ready with 503) while the database is down; it
      // starts the queue in the background. The worker has nothing to do without it.
      const starting = jobs.start(worker ? 30 : Number.MAX_SAFE_INTEGER)
      if (worker) {
        await starting
        await jobs.work()
      } else {
        starting.catch((error) => app.log.error({ err: error, layer: 'jobs' }, 'job queue did not start'))
      }
    })
    app.addHook('onClose', async () => {
      jobs.stopWaking()
      await boss.stop({ graceful: true, timeout: config.SHUTDOWN_GRACE_MS, close: true })
    })
  },
  { name: 'jobs', dependencies: ['config', 'logging', 'db'], fastify: '5.x' },
)
