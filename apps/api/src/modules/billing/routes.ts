import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { depsOf } from '../../deps.ts'
import {
  ErrorResponse,
  InvalidStripeSignature,
  NotFound,
  SessionRouteErrors,
  sessionSecurity,
} from '../../errors.ts'
import { teamOf } from '../../plugins/team-access.ts'
import { TeamParams } from '../teams/schemas.ts'
import { Billing, CheckoutRequest, RedirectUrl } from './schemas.ts'
import { type BillingView, billingOf, openPortal, startCheckout } from './service.ts'
import { applyStripeEvent } from './stripe-sync.ts'

const errors = SessionRouteErrors
const security = sessionSecurity
// Stripe failing (502) or not configured on this server (503).
const stripeErrors = { 502: ErrorResponse, 503: ErrorResponse }

function toBilling({ team, plan, status, usage, impressions }: BillingView) {
  const { limits } = plan
  return {
    plan: { id: plan.id, name: plan.name, removeBranding: limits.removeBranding },
    status,
    trialEndsAt: status === 'trialing' ? (team.trial_ends_at?.toISOString() ?? null) : null,
    currentPeriodEnd: team.current_period_end?.toISOString() ?? null,
    cancelAtPeriodEnd: team.cancel_at_period_end,
    graceEndsAt: status === 'past_due' ? (team.payment_grace_ends_at?.toISOString() ?? null) : null,
    usage: {
      sites: { used: usage.sites, limit: limits.sites },
      liveCampaigns: { used: usage.liveCampaigns, limit: limits.liveCampaigns },
      members: { used: usage.members, limit: limits.members },
      integrations: { used: usage.integrations, limit: limits.integrations },
      impressions: {
        used: usage.impressions,
        limit: limits.monthlyImpressions,
        periodStart: impressions.periodStart.toISOString(),
        state: impressions.state,
        graceEndsAt: impressions.graceEndsAt?.toISOString() ?? null,
        suspendedAt: team.campaigns_suspended_at?.toISOString() ?? null,
        upgradeTo: impressions.upgrade
          ? { id: impressions.upgrade.id, name: impressions.upgrade.name }
          : null,
      },
    },
  }
}

/** The team's plan and what it uses of it; checkout and the billing portal, through Stripe. */
export const billingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'billing')
  app.get(
    '/v1/teams/:teamId/billing',
    {
      config: { permission: 'billing:read' },
      schema: {
        tags: ['billing'],
        operationId: 'getBilling',
        summary: 'The plan, its status (trial, active, past due), and the use of every limit this period',
        security,
        params: TeamParams,
        response: { 200: Billing, ...errors },
      },
    },
    async (request) => toBilling(await billingOf(deps, { teamId: teamOf(request).id })),
  )

  app.post(
    '/v1/teams/:teamId/billing/checkout',
    {
      config: { permission: 'billing:manage' },
      schema: {
        tags: ['billing'],
        operationId: 'startCheckout',
        summary: 'A Stripe Checkout page for a paid plan (monthly or yearly); the answer is its URL',
        security,
        params: TeamParams,
        body: CheckoutRequest,
        response: { 201: RedirectUrl, ...errors, 409: ErrorResponse, ...stripeErrors },
      },
    },
    async (request, reply) => {
      const session = await startCheckout(deps, {
        teamId: teamOf(request).id,
        plan: request.body.plan,
        interval: request.body.interval ?? 'month',
      })
      return reply.code(201).send({ url: session.url })
    },
  )

  app.post(
    '/v1/teams/:teamId/billing/portal',
    {
      config: { permission: 'billing:manage' },
      schema: {
        tags: ['billing'],
        operationId: 'openBillingPortal',
        summary: 'A Stripe Billing Portal page: change the card or the plan, or cancel',
        security,
        params: TeamParams,
        response: { 201: RedirectUrl, ...errors, ...stripeErrors },
      },
    },
    async (request, reply) => reply.code(201).send(await openPortal(deps, { teamId: teamOf(request).id })),
  )
}

/**
 * `POST /webhooks/stripe`: Stripe's events, verified on the raw bytes with the signing secret
 * (a forged or replayed-old signature is a 400 and writes nothing). This plugin keeps its own
 * body parser; every other route keeps the JSON one.
 */
export const stripeWebhookRoutes = async (app: FastifyInstance) => {
  const deps = depsOf(app, 'billing')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  )
  app.post(
    '/webhooks/stripe',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['webhooks'],
        operationId: 'stripeWebhook',
        summary: 'Stripe events (signed): subscriptions, checkouts, invoices',
        response: {
          200: { type: 'object', properties: { received: { type: 'boolean' }, result: { type: 'string' } } },
          400: ErrorResponse,
          404: ErrorResponse,
        },
      },
    },
    async (request) => {
      if (!deps.payments.enabled) throw new NotFound('Route')
      const signature = request.headers['stripe-signature']
      if (typeof signature !== 'string' || !Buffer.isBuffer(request.body))
        throw new InvalidStripeSignature('A signed JSON body is required (Stripe-Signature header)')
      const stripe = await deps.payments.stripe()
      let event: ReturnType<typeof stripe.webhooks.constructEvent>
      try {
        event = stripe.webhooks.constructEvent(request.body, signature, deps.payments.webhookSecret)
      } catch {
        throw new InvalidStripeSignature('The Stripe signature does not match, or it is too old')
      }
      const result = await applyStripeEvent(deps, { event })
      request.log.info({ event: event.id, type: event.type, result }, 'Stripe event')
      return { received: true, result }
    },
  )
}
