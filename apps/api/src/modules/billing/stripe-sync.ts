import { effectivePlan } from '@nudge/payments'
import type Stripe from 'stripe'
import { type Deps, inTransaction, type TxDeps } from '../../deps.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { lockTeam, memberEmails } from '../teams/repository.ts'
import { BILLING_NOTICE_JOB } from './notice-email.ts'
import { QUOTA_JOB } from './quotas.ts'
import * as billing from './repository.ts'

const STRIPE: Actor = { type: 'stripe' }

/** The subscription an event is about, and the team, as far as the event says. */
function subjectOf(event: Stripe.Event): { subscriptionId?: string; customerId?: string; teamId?: string } {
  const id = (value: unknown) => (typeof value === 'string' ? value : (value as { id?: string } | null)?.id)
  const object = event.data.object as unknown as Record<string, unknown>
  switch (event.type) {
    case 'checkout.session.completed': {
      const session = event.data.object
      return {
        subscriptionId: id(session.subscription),
        customerId: id(session.customer),
        teamId: session.client_reference_id ?? undefined,
      }
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
    case 'customer.subscription.trial_will_end': {
      const subscription = event.data.object
      return {
        subscriptionId: subscription.id,
        customerId: id(subscription.customer),
        teamId: subscription.metadata?.team_id,
      }
    }
    case 'invoice.paid':
    case 'invoice.payment_failed': {
      const invoice = event.data.object
      const details = invoice.parent?.subscription_details
      return {
        subscriptionId: id(details?.subscription) ?? id(object.subscription),
        customerId: id(invoice.customer),
        teamId: details?.metadata?.team_id,
      }
    }
    default:
      return {}
  }
}

export const HANDLED_EVENTS = new Set([
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.trial_will_end',
  'invoice.paid',
  'invoice.payment_failed',
])

/**
 * Applies a verified Stripe event. Neither the payload's state nor the event's type is trusted
 * (events come late, twice and out of order): the subscription is read from Stripe now, stored
 * unless a newer read is already stored, and every effect (a grace starting or ending, an owner
 * told, the plan's limits enforced) follows from what that read changed. The event id is recorded
 * in the same transaction, so a duplicate does nothing. Returns what happened, for the log.
 */
export async function applyStripeEvent(deps: Deps, input: { event: Stripe.Event }): Promise<string> {
  const { event } = input
  if (!HANDLED_EVENTS.has(event.type)) return 'ignored'
  const subject = subjectOf(event)
  const readAt = new Date()
  let subscription: Stripe.Subscription | undefined
  if (subject.subscriptionId) {
    subscription = await (await deps.payments.stripe()).subscriptions
      .retrieve(subject.subscriptionId)
      .catch((error: unknown) => {
        // Stripe forgets nothing it answered for: a missing subscription is a bad event, not ours to retry.
        if ((error as { code?: string }).code === 'resource_missing') return undefined
        throw error
      })
  }
  return inTransaction(deps, async (tx) => {
    const recorded = await billing.recordStripeEvent(tx.db, event)
    if (!recorded) return 'duplicate'
    const team = await findTeam(tx, {
      ...subject,
      teamId: subject.teamId ?? subscription?.metadata?.team_id,
    })
    if (!team) {
      deps.log.warn({ event: event.id, type: event.type }, 'Stripe event for no team of ours')
      return 'no team'
    }
    if (!subscription) return 'no subscription'
    // An older read than the one stored says nothing about now: no effect at all.
    if (team.billing_synced_at && team.billing_synced_at > readAt) return 'stale'
    // Nor does a subscription that ended after the team took another (a late event about it).
    if (
      team.stripe_subscription_id &&
      team.stripe_subscription_id !== subscription.id &&
      hasEnded(subscription)
    )
      return 'superseded'
    const before = effectivePlan(team)
    const stored = await storeSubscription(tx, { teamId: team.id, subscription, readAt })
    // Told once per grace, by whichever event first finds the subscription past due. The grace
    // ends by the clock, not by a commit: the free limits are enforced the moment it ends.
    if (stored.graceStarted) {
      await tx.jobs.send(
        BILLING_NOTICE_JOB,
        { teamId: team.id, kind: 'payment_failed', graceEndsAt: stored.graceStarted.toISOString() },
        { db: tx.db },
      )
      await tx.jobs.send(
        QUOTA_JOB,
        { teamId: team.id },
        { db: tx.db, startAfter: new Date(stored.graceStarted.getTime() + 1000) },
      )
    }
    if (event.type === 'customer.subscription.trial_will_end' && subscription.status === 'trialing')
      await tx.jobs.send(BILLING_NOTICE_JOB, { teamId: team.id, kind: 'trial_will_end' }, { db: tx.db })
    const after = effectivePlan(await lockedTeam(tx, team.id))
    if (after.plan.id !== before.plan.id || after.status !== before.status) {
      await recordAudit(tx.db, {
        teamId: team.id,
        actor: STRIPE,
        action: 'billing.plan_changed',
        target: { type: 'team', id: team.id },
        data: { from: before.plan.id, to: after.plan.id, status: after.status, event: event.id },
      })
      // The new plan's limits (live campaigns, impressions) apply as soon as this commits, not at
      // the next round of every team.
      await tx.jobs.send(QUOTA_JOB, { teamId: team.id }, { db: tx.db })
      for (const email of await memberEmails(tx.db, team.id, ['owner']))
        await tx.marketing.planChanged(tx.db, { email, plan: after.plan.id })
    }
    return 'applied'
  })
}

const hasEnded = (subscription: Stripe.Subscription) =>
  subscription.status === 'canceled' || subscription.status === 'incomplete_expired'

/** The team's row, locked; the caller found and locked it earlier in the transaction. */
async function lockedTeam(tx: TxDeps, teamId: string) {
  const team = await lockTeam(tx.db, teamId)
  if (!team) throw new Error(`team ${teamId} vanished while its row was locked`)
  return team
}

async function findTeam(
  tx: TxDeps,
  subject: { customerId?: string | undefined; teamId?: string | undefined },
) {
  if (subject.customerId) {
    const byCustomer = await billing.lockTeamByCustomer(tx.db, subject.customerId)
    if (byCustomer) return byCustomer
  }
  if (subject.teamId && /^[0-9a-f-]{36}$/i.test(subject.teamId)) {
    const byId = await lockTeam(tx.db, subject.teamId)
    if (byId && subject.customerId && !byId.stripe_customer_id)
      await billing.setStripeCustomer(tx.db, byId.id, subject.customerId)
    return byId
  }
  return undefined
}

/**
 * Stripe's subscription, as the team's billing state (period from its first item: API 2026-10-28).
 * Returns when the grace ends if this read started one.
 */
async function storeSubscription(
  tx: TxDeps,
  input: { teamId: string; subscription: Stripe.Subscription; readAt: Date },
): Promise<{ graceStarted: Date | null }> {
  const { teamId, subscription, readAt } = input
  const item = subscription.items.data[0]
  const price = item?.price?.id
  const known = price ? tx.payments.planOfPrice(price) : undefined
  const ended = hasEnded(subscription)
  const current = await lockedTeam(tx, teamId)
  const graceDays = tx.config.BILLING_GRACE_DAYS
  // Past due starts the grace (unpaid, its end, keeps it); any other state ends it, so a later
  // failure never inherits an old date.
  const graceEndsAt =
    subscription.status === 'past_due'
      ? (current.payment_grace_ends_at ?? new Date(Date.now() + graceDays * 86_400_000))
      : subscription.status === 'unpaid'
        ? current.payment_grace_ends_at
        : null
  await billing.storeSubscription(tx.db, teamId, {
    payment_grace_ends_at: graceEndsAt,
    plan: ended || !known ? 'free' : known.plan,
    stripe_subscription_id: subscription.id,
    subscription_status: subscription.status,
    current_period_start: item ? new Date(item.current_period_start * 1000) : null,
    current_period_end: item ? new Date(item.current_period_end * 1000) : null,
    cancel_at_period_end: subscription.cancel_at_period_end,
    billing_synced_at: readAt,
  })
  return { graceStarted: graceEndsAt && !current.payment_grace_ends_at ? graceEndsAt : null }
}
