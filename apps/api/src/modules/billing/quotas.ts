import { effectivePlan } from '@nudge/payments'
import { type Deps, inTransaction } from '../../deps.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { changeStatus } from '../campaigns/service.ts'
import { lockSiteForPublish } from '../publishing/repository.ts'
import { publishSite } from '../publishing/service.ts'
import { BILLING_NOTICE_JOB } from './notice-email.ts'
import { planOf } from './plan-limits.ts'
import * as billing from './repository.ts'
import { impressionQuota, periodStart } from './service.ts'

/** One team's plan limits, impression quota and trial notice, checked now (jobs.ts runs it). */
export const QUOTA_JOB = 'billing.impression-quota'
/** Every team's, every five minutes. */
export const QUOTAS_JOB = 'billing.impression-quotas'

const SYSTEM: Actor = { type: 'system' }

/**
 * Compares a team's impressions this period with its plan (policy: `impressionQuota`): tells the
 * owners at 80 % and at 100 % (once each per period; the 100 % email names the grace's end), and
 * only when the grace has ended with the team still past the quota and its margin stops its sites
 * serving campaigns, telling the owners (the documents are republished, on every worker and at
 * the edge). Under the line again (a new period, an upgrade), they come back the same way.
 */
export async function checkImpressionQuota(deps: Deps, input: { teamId: string }): Promise<string> {
  const { db, config } = deps
  const { teamId } = input
  const graceDays = config.IMPRESSION_QUOTA_GRACE_DAYS
  const gracePercent = config.IMPRESSION_QUOTA_GRACE_PERCENT
  const team = await billing.findTeamQuota(db, teamId)
  if (!team) return 'no team'
  const limit = effectivePlan(team).plan.limits.monthlyImpressions
  const start = periodStart(team)
  const used = await billing.impressionsSince(db, teamId, start)
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
      kind === 'impressions_100' ? new Date(at.getTime() + graceDays * 86_400_000).toISOString() : undefined
    const claimed = await inTransaction(deps, async (tx) => {
      // Once per period even with two workers checking at once: only the one that sets it sends.
      const claimed = await billing.claimQuotaNotice(tx.db, teamId, column, at, start)
      if (claimed) await tx.jobs.send(BILLING_NOTICE_JOB, { teamId, kind, graceEndsAt }, { db: tx.db })
      return claimed
    })
    // The grace runs from when the owners were told, by this worker or another.
    notified[column] = claimed ? at : thisPeriod(await billing.findQuotaNotice(db, teamId, column))
  }
  const { suspend } = impressionQuota({
    used,
    limit,
    usedUpNotifiedAt: notified.impressions_100_notified_at,
    suspendedAt: team.campaigns_suspended_at,
    graceDays,
    gracePercent,
  })
  // Suspended stays suspended until under the quota and its margin again (a new period, an
  // upgrade): not merely because another grace would run.
  const over = limit !== null && used > limit * (1 + gracePercent / 100)
  const suspended = team.campaigns_suspended_at !== null
  if (suspended ? over : !suspend) return suspended ? 'suspended' : over ? 'in grace' : 'ok'
  const suspending = !suspended
  await inTransaction(deps, async (tx) => {
    // Another worker made the same change a moment ago: it republishes and tells the owners.
    if (!(await billing.setCampaignsSuspended(tx.db, teamId, suspending))) return
    for (const site of await billing.teamSites(tx.db, teamId)) {
      await lockSiteForPublish(tx.db, site.id)
      await publishSite(tx, {
        siteId: site.id,
        hostname: site.hostname,
        campaignIds: [],
      })
    }
    if (suspending)
      await tx.jobs.send(BILLING_NOTICE_JOB, { teamId, kind: 'impressions_suspended' }, { db: tx.db })
    await recordAudit(tx.db, {
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
export async function enforceLiveCampaignLimit(deps: Deps, input: { teamId: string }) {
  const { db } = deps
  const { teamId } = input
  const { plan } = await planOf(deps, { teamId })
  const limit = plan.limits.liveCampaigns
  const live = await billing.liveCampaigns(db, teamId)
  let paused = 0
  let resumed = 0
  if (limit !== null && live.length > limit) {
    for (const campaign of live.slice(0, live.length - limit)) {
      await changeStatus(deps, {
        teamId,
        campaignId: campaign.id,
        ifMatch: `"${campaign.version}"`,
        status: 'paused',
        actor: SYSTEM,
      })
      await billing.markPausedByPlan(db, campaign.id)
      paused++
    }
    return { paused, resumed }
  }
  const room = limit === null ? Number.POSITIVE_INFINITY : limit - live.length
  if (room <= 0) return { paused, resumed }
  const waiting = await billing.campaignsPausedByPlan(db, teamId, Math.min(room, 1000))
  for (const campaign of waiting) {
    await changeStatus(deps, {
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
export async function noticeTrialEnd(deps: Deps, input: { teamId: string }): Promise<boolean> {
  const { teamId } = input
  const { status, team } = await planOf(deps, { teamId })
  const endsAt = team.trial_ends_at?.getTime() ?? 0
  if (status !== 'trialing' || endsAt - Date.now() > TRIAL_NOTICE_DAYS * 86_400_000) return false
  return inTransaction(deps, async (tx) => {
    const claimed = await billing.claimTrialNotice(tx.db, teamId)
    if (claimed) await tx.jobs.send(BILLING_NOTICE_JOB, { teamId, kind: 'trial_will_end' }, { db: tx.db })
    return claimed
  })
}

/** The plan's live-campaign limit, the impression quota and the trial's end notice of one team. */
export async function checkPlanLimits(deps: Deps, input: { teamId: string }) {
  await enforceLiveCampaignLimit(deps, input)
  await checkImpressionQuota(deps, input)
  await noticeTrialEnd(deps, input)
}

/**
 * `checkPlanLimits` for every team with campaigns or a trial ending (a trial ends by the clock),
 * in batches. One team's failure (a campaign changed meanwhile: 412) must not stop the round.
 */
export async function checkEveryTeamsPlanLimits(deps: Deps) {
  let after = '00000000-0000-0000-0000-000000000000'
  for (;;) {
    const teams = await billing.teamsToCheck(deps.db, after, TRIAL_NOTICE_DAYS * 86_400_000, 200)
    if (teams.length === 0) return
    for (const team of teams) {
      try {
        await checkPlanLimits(deps, { teamId: team.id })
      } catch (error) {
        deps.log.warn(
          { err: error, teamId: team.id },
          'plan limits not enforced for a team; next round retries',
        )
      }
    }
    after = teams.at(-1)?.id ?? after
  }
}
