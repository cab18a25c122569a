import type { FastifyInstance } from 'fastify'
import { depsOf } from '../../deps.ts'
import { BILLING_NOTICE_JOB, type BillingNoticeKind } from './notice-email.ts'
import { checkEveryTeamsPlanLimits, checkPlanLimits, QUOTA_JOB, QUOTAS_JOB } from './quotas.ts'
import { sendBillingNotice } from './service.ts'

/** Billing emails to a team's owners, by a job sent in the transaction that decided them. */
export const billingJobs = async (app: FastifyInstance) => {
  const deps = depsOf(app, 'billing')
  app.jobs.define<{ teamId: string; kind: BillingNoticeKind; graceEndsAt?: string }>({
    name: BILLING_NOTICE_JOB,
    deadLetter: true,
    queue: { retryLimit: 5, retryDelay: 30, retryBackoff: true },
    handler: async ([job]) => {
      if (!job) return
      await sendBillingNotice(deps, job.data)
    },
  })
}

/**
 * The plan's live-campaign limit, the impression quota and the trial's end notice, every five
 * minutes for every team with campaigns or a trial ending (a trial ends by the clock), and at
 * once for a team whose plan changed.
 */
export const quotaJobs = async (app: FastifyInstance) => {
  const deps = depsOf(app, 'billing')
  app.jobs.define<{ teamId: string }>({
    name: QUOTA_JOB,
    queue: { retryLimit: 3, retryDelay: 30 },
    handler: async ([job]) => {
      if (!job) return
      await checkPlanLimits(deps, { teamId: job.data.teamId })
    },
  })
  app.jobs.define({
    name: QUOTAS_JOB,
    cron: '*/5 * * * *',
    queue: { retryLimit: 1, expireInSeconds: 600 },
    handler: async () => checkEveryTeamsPlanLimits(deps),
  })
}
