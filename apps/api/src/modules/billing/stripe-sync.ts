import { dashboardOrigin } from '@nudge/config'
import { type DB, transaction } from '@nudge/db'
import type { Jobs } from '@nudge/jobs'
import type { Marketing } from '@nudge/marketing'
import { effectivePlan, type Interval, type Payments, type PlanId } from '@nudge/payments'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Kysely, Transaction } from 'kysely'
import type Stripe from 'stripe'
import { AlreadySubscribed, BillingNotConfigured, NotFound, PaymentsUnavailable } from '../../errors.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'

export const BILLING_NOTICE_JOB = 'billing.notice'
/** One team's plan limits, impression quota and trial notice, checked now (quotas.ts runs it). */
export const QUOTA_JOB = 'billing.impression-quota'

export interface BillingDeps {
  db: Kysely<DB>
  payments: Payments
  jobs: Jobs
  marketing: Marketing
  log: FastifyBaseLogger
  dashboardOrigin: string
  graceDays: number
}

export function billingDeps(app: FastifyInstance): BillingDeps {
  return {
    db: app.db,
    payments: app.payments,
    jobs: app.jobs,
    marketing: app.marketing,
    log: app.log.child({ module: 'billing' }),
    dashboardOrigin: dashboardOrigin(app.config),
    graceDays: app.config.BILLING_GRACE_DAYS,
  }
}

function enabled(deps: BillingDeps) {
  if (!deps.payments.enabled) throw new BillingNotConfigured()
}

/** A Stripe failure while a person waits: ours to report as 502, with Stripe's words for the log. */
function stripeProblem(deps: BillingDeps, error: unknown): Error {
  deps.log.warn({ err: error }, 'Stripe call failed')
  return new PaymentsUnavailable('Stripe could not be reached or refused the request; try again shortly')
}

/**
 * The team's Stripe customer, created the first time. The team row stays locked while Stripe
 * creates it, and the create carries an idempotency key per team: two clicks at once make one
 * customer.
 */
async function customerOf(deps: BillingDeps, teamId: string): Promise<string> {
  return transaction(deps.db, async (trx) => {
    const team = await trx
      .selectFrom('teams')
      .select(['id', 'name', 'stripe_customer_id'])
      .where('id', '=', teamId)
      .forUpdate()
      .executeTakeFirst()
    if (!team) throw new NotFound('Team')
    if (team.stripe_customer_id) return team.stripe_customer_id
    const owner = await trx
      .selectFrom('team_members')
      .innerJoin('users', 'users.id', 'team_members.user_id')
      .select('users.email')
      .where('team_members.team_id', '=', teamId)
      .where('team_members.role', '=', 'owner')
      .orderBy('team_members.created_at')
      .executeTakeFirst()
    const customer = await deps.payments.stripe.customers
      .create(
        { name: team.name, ...(owner ? { email: owner.email } : {}), metadata: { team_id: teamId } },
        { idempotencyKey: `nudge-customer-${teamId}` },
      )
      .catch((error: unknown) => {
        throw stripeProblem(deps, error)
      })
    await trx.updateTable('teams').set({ stripe_customer_id: customer.id }).where('id', '=', teamId).execute()
    return customer.id
  })
}

/** A Stripe Checkout Session for a paid plan: the dashboard sends the person to its `url`. */
export async function startCheckout(
  deps: BillingDeps,
  input: { teamId: string; plan: PlanId; interval: Interval },
) {
  enabled(deps)
  // A second subscription would bill the team twice: plan changes go through the portal.
  const current = await deps.db
    .selectFrom('teams')
    .select('subscription_status')
    .where('id', '=', input.teamId)
    .executeTakeFirst()
  if (
    current?.subscription_status &&
    !['canceled', 'incomplete_expired'].includes(current.subscription_status)
  )
    throw new AlreadySubscribed()
  const customer = await customerOf(deps, input.teamId)
  const back = `${deps.dashboardOrigin}/teams/${input.teamId}/billing`
  const session = await deps.payments.stripe.checkout.sessions
    .create({
      mode: 'subscription',
      customer,
      client_reference_id: input.teamId,
      line_items: [{ price: deps.payments.priceId(input.plan, input.interval), quantity: 1 }],
      success_url: `${back}?checkout=success`,
      cancel_url: `${back}?checkout=canceled`,
      subscription_data: { metadata: { team_id: input.teamId } },
      metadata: { team_id: input.teamId },
    })
    .catch((error: unknown) => {
      throw stripeProblem(deps, error)
    })
  return { id: session.id, url: session.url ?? '' }
}

/** A Billing Portal session: change the card or the plan, cancel. */
export async function openPortal(deps: BillingDeps, teamId: string) {
  enabled(deps)
  const customer = await customerOf(deps, teamId)
  const session = await deps.payments.stripe.billingPortal.sessions
    .create({ customer, return_url: `${deps.dashboardOrigin}/teams/${teamId}/billing` })
    .catch((error: unknown) => {
      throw stripeProblem(deps, error)
    })
  return { url: session.url }
}

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
export async function applyStripeEvent(deps: BillingDeps, event: Stripe.Event): Promise<string> {
  if (!HANDLED_EVENTS.has(event.type)) return 'ignored'
  const subject = subjectOf(event)
  const readAt = new Date()
  let subscription: Stripe.Subscription | undefined
  if (subject.subscriptionId) {
    subscription = await deps.payments.stripe.subscriptions
      .retrieve(subject.subscriptionId)
      .catch((error: unknown) => {
        // Stripe forgets nothing it answered for: a missing subscription is a bad event, not ours to retry.
        if ((error as { code?: string }).code === 'resource_missing') return undefined
        throw error
      })
  }
  return transaction(deps.db, async (trx) => {
    const recorded = await trx
      .insertInto('stripe_events')
      .values({ id: event.id, type: event.type })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (!recorded) return 'duplicate'
    const team = await findTeam(trx, {
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
    const stored = await storeSubscription(deps, trx, team.id, subscription, readAt)
    // Told once per grace, by whichever event first finds the subscription past due. The grace
    // ends by the clock, not by a commit: the free limits are enforced the moment it ends.
    if (stored.graceStarted) {
      await deps.jobs.send(
        BILLING_NOTICE_JOB,
        { teamId: team.id, kind: 'payment_failed', graceEndsAt: stored.graceStarted.toISOString() },
        { db: trx },
      )
      await deps.jobs.send(
        QUOTA_JOB,
        { teamId: team.id },
        { db: trx, startAfter: new Date(stored.graceStarted.getTime() + 1000) },
      )
    }
    if (event.type === 'customer.subscription.trial_will_end' && subscription.status === 'trialing')
      await deps.jobs.send(BILLING_NOTICE_JOB, { teamId: team.id, kind: 'trial_will_end' }, { db: trx })
    const after = effectivePlan(await lockTeam(trx, team.id))
    if (after.plan.id !== before.plan.id || after.status !== before.status) {
      await recordAudit(trx, {
        teamId: team.id,
        actor: STRIPE,
        action: 'billing.plan_changed',
        target: { type: 'team', id: team.id },
        data: { from: before.plan.id, to: after.plan.id, status: after.status, event: event.id },
      })
      // The new plan's limits (live campaigns, impressions) apply as soon as this commits, not at
      // the next round of every team.
      await deps.jobs.send(QUOTA_JOB, { teamId: team.id }, { db: trx })
      const owners = await trx
        .selectFrom('team_members')
        .innerJoin('users', 'users.id', 'team_members.user_id')
        .select('users.email')
        .where('team_members.team_id', '=', team.id)
        .where('team_members.role', '=', 'owner')
        .execute()
      for (const owner of owners)
        await deps.marketing.planChanged(trx, { email: owner.email, plan: after.plan.id })
    }
    return 'applied'
  })
}

const TEAM_BILLING = [
  'id',
  'plan',
  'subscription_status',
  'trial_ends_at',
  'payment_grace_ends_at',
  'current_period_end',
  'billing_synced_at',
  'stripe_customer_id',
  'stripe_subscription_id',
] as const

const hasEnded = (subscription: Stripe.Subscription) =>
  subscription.status === 'canceled' || subscription.status === 'incomplete_expired'

function lockTeam(trx: Transaction<DB>, teamId: string) {
  return trx
    .selectFrom('teams')
    .select(TEAM_BILLING)
    .where('id', '=', teamId)
    .forUpdate()
    .executeTakeFirstOrThrow()
}

async function findTeam(
  trx: Transaction<DB>,
  subject: { customerId?: string | undefined; teamId?: string | undefined },
) {
  if (subject.customerId) {
    const byCustomer = await trx
      .selectFrom('teams')
      .select(TEAM_BILLING)
      .where('stripe_customer_id', '=', subject.customerId)
      .forUpdate()
      .executeTakeFirst()
    if (byCustomer) return byCustomer
  }
  if (subject.teamId && /^[0-9a-f-]{36}$/i.test(subject.teamId)) {
    const byId = await trx
      .selectFrom('teams')
      .select(TEAM_BILLING)
      .where('id', '=', subject.teamId)
      .forUpdate()
      .executeTakeFirst()
    if (byId && subject.customerId && !byId.stripe_customer_id)
      await trx
        .updateTable('teams')
        .set({ stripe_customer_id: subject.customerId })
        .where('id', '=', byId.id)
        .execute()
    return byId
  }
  return undefined
}

/**
 * Stripe's subscription, as the team's billing state (period from its first item: API 2026-10-28).
 * Returns when the grace ends if this read started one.
 */
async function storeSubscription(
  deps: BillingDeps,
  trx: Transaction<DB>,
  teamId: string,
  subscription: Stripe.Subscription,
  readAt: Date,
): Promise<{ graceStarted: Date | null }> {
  const item = subscription.items.data[0]
  const price = item?.price?.id
  const known = price ? deps.payments.planOfPrice(price) : undefined
  const ended = hasEnded(subscription)
  const current = await lockTeam(trx, teamId)
  // Past due starts the grace (unpaid, its end, keeps it); any other state ends it, so a later
  // failure never inherits an old date.
  const graceEndsAt =
    subscription.status === 'past_due'
      ? (current.payment_grace_ends_at ?? new Date(Date.now() + deps.graceDays * 86_400_000))
      : subscription.status === 'unpaid'
        ? current.payment_grace_ends_at
        : null
  await trx
    .updateTable('teams')
    .set({
      payment_grace_ends_at: graceEndsAt,
      plan: ended || !known ? 'free' : known.plan,
      stripe_subscription_id: subscription.id,
      subscription_status: subscription.status,
      current_period_start: item ? new Date(item.current_period_start * 1000) : null,
      current_period_end: item ? new Date(item.current_period_end * 1000) : null,
      cancel_at_period_end: subscription.cancel_at_period_end,
      billing_synced_at: readAt,
      updated_at: new Date(),
    })
    .where('id', '=', teamId)
    .execute()
  return { graceStarted: graceEndsAt && !current.payment_grace_ends_at ? graceEndsAt : null }
}
