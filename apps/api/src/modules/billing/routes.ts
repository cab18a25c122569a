import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorResponse, SessionRouteErrors, sessionSecurity } from '../../errors.ts'
import { teamOf } from '../../plugins/team-access.ts'
import { TeamParams } from '../teams/schemas.ts'
import { Billing, CheckoutRequest, RedirectUrl } from './schemas.ts'
import { billingOf } from './service.ts'
import { billingDeps, openPortal, startCheckout } from './stripe-sync.ts'

const errors = SessionRouteErrors
const security = sessionSecurity
// Stripe failing (502) or not configured on this server (503).
const stripeErrors = { 502: ErrorResponse, 503: ErrorResponse }

/** The team's plan and what it uses of it; checkout and the billing portal, through Stripe. */
export const billingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = billingDeps(app)
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
    async (request) =>
      billingOf(app.db, teamOf(request).id, {
        graceDays: app.config.IMPRESSION_QUOTA_GRACE_DAYS,
        gracePercent: app.config.IMPRESSION_QUOTA_GRACE_PERCENT,
      }),
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
    async (request, reply) => reply.code(201).send(await openPortal(deps, teamOf(request).id)),
  )
}
