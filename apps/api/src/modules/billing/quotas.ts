import { transaction } from '@nudge/db'
import { effectivePlan } from '@nudge/payments'
import type { FastifyInstance } from 'fastify'
import { type Deps, depsOf } from '../../deps.ts'
import { planOf } from '../../plan-limits.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { changeStatus } from '../campaigns/service.ts'
import { lockSiteForPublish, publishSite } from '../publishing/publisher.ts'
import { impressionQuota, impressionsSince, periodStart } from './service.ts'
import { BILLING_NOTICE_JOB, type BillingDeps, billingDeps, QUOTA_JOB } from './stripe-sync.ts'

export { QUOTA_JOB }
export const QUOTAS_JOB = 'billing.impression-quotas'

interface QuotaDeps {
  billing: BillingDeps
  publish: Deps
  gracePercent: number
  graceDays: number
}

const SYSTEM: Actor = { type: 'system' }

/**
 * Compares a team's impressions this period with its plan (policy: `impressionQuota`): tells the
 * owners at 80 % and at 100 % (once each per period; the 100 % email names the grace's end), and
 * only when the grace has ended with the team still past the quota and its margin stops its sites
 * serving campaigns, telling the owners (the documents are republished, on every worker and at
 * the edge). Under the line again (a new period, an upgrade), they come back the same way.
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
  const thisPeriod = (at: Date | null) => (at !== null && at >= start ? at : null)
  const notified = {
    impressions_80_notified_at: thisPeriod(team.impressions_80_notified_at),
    impressions_100_notified_at: thisPeriod(team.impressions_100_notified_at),
  }
  for (const [share, column, kind] of [
    [0.8, 'impressions_80_notified_at', 'impressions_80'],
    [1, 'impressions_100_notified_at', 'impressions_100'],
  ] as const) {
    if (limit === null || used < limit * share || notified[column]) continue
    const at = new Date()
    const graceEndsAt =
      kind === 'impressions_100'
        ? new Date(at.getTime() + deps.graceDays * 86_400_000).toISOString()
        : undefined
    const claimed = await transaction(db, async (trx) => {
      // Once per period even with two workers checking at once: only the one that sets it sends.
      const claimed = await trx
        .updateTable('teams')
        .set({ [column]: at })
        .where('id', '=', teamId)
        .where((eb) => eb.or([eb(column, 'is', null), eb(column, '<', start)]))
        .returning(column)
        .executeTakeFirst()
      if (claimed) await jobs.send(BILLING_NOTICE_JOB, { teamId, kind, graceEndsAt }, { db: trx })
      return claimed
    })
    // The grace runs from when the owners were told, by this worker or another.
    notified[column] = claimed
      ? at
      : thisPeriod(
          (await db.selectFrom('teams').select(column).where('id', '=', teamId).executeTakeFirst())?.[
            column
          ] ?? null,
        )
  }
  const { suspend } = impressionQuota({
    used,
    limit,
    usedUpNotifiedAt: notified.impressions_100_notified_at,
    suspendedAt: team.campaigns_suspended_at,
    graceDays: deps.graceDays,
    gracePercent: deps.gracePercent,
  })
  // Suspended stays suspended until under the quota and its margin again (a new period, an
  // upgrade): not merely because another grace would run.
  const over = limit !== null && used > limit * (1 + deps.gracePercent / 100)
  const suspended = team.campaigns_suspended_at !== null
  if (suspended ? over : !suspend) return suspended ? 'suspended' : over ? 'in grace' : 'ok'
  const suspending = !suspended
  await transaction(db, async (trx, afterCommit) => {
    const changed = await trx
      .updateTable('teams')
      .set({ campaigns_suspended_at: suspending ? new Date() : null })
      .where('id', '=', teamId)
      .where('campaigns_suspended_at', suspending ? 'is' : 'is not', null)
      .returning('id')
      .executeTakeFirst()
    // Another worker made the same change a moment ago: it republishes and tells the owners.
    if (!changed) return
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
    if (suspending)
      await jobs.send(BILLING_NOTICE_JOB, { teamId, kind: 'impressions_suspended' }, { db: trx })
    await recordAudit(trx, {
      teamId,
      actor: SYSTEM,
      action: suspending ? 'billing.campaigns_suspended' : 'billing.campaigns_resumed',
      target: { type: 'team', id: teamId },
      data: { impressions: used, limit, periodStart: start.toISOString() },
    })
  })
  return suspending ? 'suspended now' : 'resumed now'
}

/**
 * Keeps a team's live campaigns within its plan: on a smaller plan (a trial ended, a subscription
 * lapsed) the newest beyond the limit are paused, not deleted; on a bigger one those are put live
 * again, oldest pause first. Changes go through the campaigns' own status change (published,
 * audited as the system). Returns how many were paused and resumed.
 */
export async function enforceLiveCampaignLimit(deps: QuotaDeps, teamId: string) {
  const { db } = deps.billing
  const { plan } = await planOf(db, teamId)
  const limit = plan.limits.liveCampaigns
  const live = await db
    .selectFrom('campaigns')
    .select(['id', 'version'])
    .where('team_id', '=', teamId)
    .where('status', '=', 'live')
    .orderBy('published_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
  let paused = 0
  let resumed = 0
  if (limit !== null && live.length > limit) {
    for (const campaign of live.slice(0, live.length - limit)) {
      await changeStatus(deps.publish, {
        teamId,
        campaignId: campaign.id,
        ifMatch: `"${campaign.version}"`,
        status: 'paused',
        actor: SYSTEM,
      })
      await db
        .updateTable('campaigns')
        .set({ paused_by_plan_at: new Date() })
        .where('id', '=', campaign.id)
        .execute()
      paused++
    }
    return { paused, resumed }
  }
  const room = limit === null ? Number.POSITIVE_INFINITY : limit - live.length
  if (room <= 0) return { paused, resumed }
  const waiting = await db
    .selectFrom('campaigns')
    .select(['id', 'version'])
    .where('team_id', '=', teamId)
    .where('status', '=', 'paused')
    .where('paused_by_plan_at', 'is not', null)
    .orderBy('paused_by_plan_at')
    .orderBy('id')
    .limit(Math.min(room, 1000))
    .execute()
  for (const campaign of waiting) {
    await changeStatus(deps.publish, {
      teamId,
      campaignId: campaign.id,
      ifMatch: `"${campaign.version}"`,
      status: 'live',
      actor: SYSTEM,
    })
    resumed++
  }
  return { paused, resumed }
}

/** Days before a trial ends that the owners are told (once), so they can choose a plan in time. */
const TRIAL_NOTICE_DAYS = 3

/** Tells a team's owners once that its trial ends within TRIAL_NOTICE_DAYS. */
export async function noticeTrialEnd(deps: QuotaDeps, teamId: string): Promise<boolean> {
  const { db, jobs } = deps.billing
  const { status, team } = await planOf(db, teamId)
  const endsAt = team.trial_ends_at?.getTime() ?? 0
  if (status !== 'trialing' || endsAt - Date.now() > TRIAL_NOTICE_DAYS * 86_400_000) return false
  return transaction(db, async (trx) => {
    const claimed = await trx
      .updateTable('teams')
      .set({ trial_notice_sent_at: new Date() })
      .where('id', '=', teamId)
      .where('trial_notice_sent_at', 'is', null)
      .returning('id')
      .executeTakeFirst()
    if (claimed) await jobs.send(BILLING_NOTICE_JOB, { teamId, kind: 'trial_will_end' }, { db: trx })
    return Boolean(claimed)
  })
}

/**
 * The plan's live-campaign limit, the impression quota and the trial's end notice, every five
 * minutes for every team with campaigns or a trial ending (a trial ends by the clock), and at
 * once for a team whose plan changed.
 */
export const quotaJobs = async (app: FastifyInstance) => {
  const deps: QuotaDeps = {
    billing: billingDeps(app),
    publish: depsOf(app, 'billing'),
    gracePercent: app.config.IMPRESSION_QUOTA_GRACE_PERCENT,
    graceDays: app.config.IMPRESSION_QUOTA_GRACE_DAYS,
  }
  const log = app.log.child({ module: 'billing' })
  app.jobs.define<{ teamId: string }>({
    name: QUOTA_JOB,
    queue: { retryLimit: 3, retryDelay: 30 },
    handler: async ([job]) => {
      if (!job) return
      await enforceLiveCampaignLimit(deps, job.data.teamId)
      await checkImpressionQuota(deps, job.data.teamId)
      await noticeTrialEnd(deps, job.data.teamId)
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
              eb.and([
                eb('trial_notice_sent_at', 'is', null),
                eb('trial_ends_at', '>', new Date()),
                eb('trial_ends_at', '<', new Date(Date.now() + TRIAL_NOTICE_DAYS * 86_400_000)),
              ]),
              eb.exists(
                eb.selectFrom('campaigns').select('id').whereRef('campaigns.team_id', '=', 'teams.id'),
              ),
            ]),
          )
          .orderBy('id')
          .limit(200)
          .execute()
        if (teams.length === 0) return
        for (const team of teams) {
          // One team's failure (a campaign changed meanwhile: 412) must not stop the round.
          try {
            await enforceLiveCampaignLimit(deps, team.id)
            await checkImpressionQuota(deps, team.id)
            await noticeTrialEnd(deps, team.id)
          } catch (error) {
            log.warn(
              { err: error, teamId: team.id },
              'plan limits not enforced for a team; next round retries',
            )
          }
        }
        after = teams.at(-1)?.id ?? after
      }
    },
  })
}
