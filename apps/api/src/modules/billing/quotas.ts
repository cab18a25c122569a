import { transaction } from '@nudge/db'
import { effectivePlan } from '@nudge/payments'
import type { FastifyInstance } from 'fastify'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { lockSiteForPublish, type PublishDeps, publishDeps, publishSite } from '../publishing/publisher.ts'
import { impressionsSince, periodStart } from './service.ts'
import { BILLING_NOTICE_JOB, type BillingDeps, billingDeps } from './stripe-sync.ts'

export const QUOTA_JOB = 'billing.impression-quota'
export const QUOTAS_JOB = 'billing.impression-quotas'

interface QuotaDeps {
  billing: BillingDeps
  publish: PublishDeps
  gracePercent: number
}

const SYSTEM: Actor = { type: 'system' }

/**
 * Compares a team's impressions this period with its plan: tells the owners at 80 % and at 100 %
 * (once each per period), and past 100 % plus the grace stops its sites serving campaigns (the
 * documents are republished, on every worker and at the edge). Under the line again (a new
 * period, an upgrade), they come back the same way.
 */
export async function checkImpressionQuota(deps: QuotaDeps, teamId: string): Promise<string> {
  const { db, jobs } = deps.billing
  const team = await db
    .selectFrom('teams')
    .select([
      'plan',
      'subscription_status',
      'trial_ends_at',
      'payment_grace_ends_at',
      'current_period_end',
      'current_period_start',
      'impressions_80_notified_at',
      'impressions_100_notified_at',
      'campaigns_suspended_at',
    ])
    .where('id', '=', teamId)
    .executeTakeFirst()
  if (!team) return 'no team'
  const limit = effectivePlan(team).plan.limits.monthlyImpressions
  const start = periodStart(team)
  const used = await impressionsSince(db, teamId, start)
  const notifiedThisPeriod = (at: Date | null) => at !== null && at >= start
  for (const [share, column, kind] of [
    [0.8, 'impressions_80_notified_at', 'impressions_80'],
    [1, 'impressions_100_notified_at', 'impressions_100'],
  ] as const) {
    if (limit === null || used < limit * share || notifiedThisPeriod(team[column])) continue
    await transaction(db, async (trx) => {
      // Once per period even with two workers checking at once: only the one that sets it sends.
      const claimed = await trx
        .updateTable('teams')
        .set({ [column]: new Date() })
        .where('id', '=', teamId)
        .where((eb) => eb.or([eb(column, 'is', null), eb(column, '<', start)]))
        .returning('id')
        .executeTakeFirst()
      if (claimed) await jobs.send(BILLING_NOTICE_JOB, { teamId, kind }, { db: trx })
    })
  }
  const over = limit !== null && used > limit * (1 + deps.gracePercent / 100)
  const suspended = team.campaigns_suspended_at !== null
  if (over === suspended) return over ? 'suspended' : 'ok'
  await transaction(db, async (trx, afterCommit) => {
    await trx
      .updateTable('teams')
      .set({ campaigns_suspended_at: over ? new Date() : null })
      .where('id', '=', teamId)
      .execute()
    const sites = await trx
      .selectFrom('sites')
      .select(['id', 'hostname'])
      .where('team_id', '=', teamId)
      .execute()
    for (const site of sites) {
      await lockSiteForPublish(trx, site.id)
      await publishSite(trx, afterCommit, deps.publish, {
        siteId: site.id,
        hostname: site.hostname,
        campaignIds: [],
      })
    }
    await recordAudit(trx, {
      teamId,
      actor: SYSTEM,
      action: over ? 'billing.campaigns_suspended' : 'billing.campaigns_resumed',
      target: { type: 'team', id: teamId },
      data: { impressions: used, limit, periodStart: start.toISOString() },
    })
  })
  return over ? 'suspended now' : 'resumed now'
}

/** Every five minutes for every team with campaigns, and at once for a team whose plan changed. */
export const quotaJobs = async (app: FastifyInstance) => {
  const deps: QuotaDeps = {
    billing: billingDeps(app),
    publish: publishDeps(app),
    gracePercent: app.config.IMPRESSION_QUOTA_GRACE_PERCENT,
  }
  app.jobs.define<{ teamId: string }>({
    name: QUOTA_JOB,
    queue: { retryLimit: 3, retryDelay: 30 },
    handler: async ([job]) => {
      if (job) await checkImpressionQuota(deps, job.data.teamId)
    },
  })
  app.jobs.define({
    name: QUOTAS_JOB,
    cron: '*/5 * * * *',
    queue: { retryLimit: 1, expireInSeconds: 600 },
    handler: async () => {
      let after = ''
      for (;;) {
        const teams = await app.db
          .selectFrom('teams')
          .select('id')
          .where('id', '>', after || '00000000-0000-0000-0000-000000000000')
          .where((eb) =>
            eb.or([
              eb('campaigns_suspended_at', 'is not', null),
              eb.exists(
                eb.selectFrom('campaigns').select('id').whereRef('campaigns.team_id', '=', 'teams.id'),
              ),
            ]),
          )
          .orderBy('id')
          .limit(200)
          .execute()
        if (teams.length === 0) return
        for (const team of teams) await checkImpressionQuota(deps, team.id)
        after = teams.at(-1)?.id ?? after
      }
    },
  })
}
