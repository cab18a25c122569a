import type {} from '@nudge/config'
import fp from 'fastify-plugin'
import type Stripe from 'stripe'
import { PLANS, type PlanId } from './plans.ts'

export type Interval = 'month' | 'year'

/** Stripe, and our plans' Stripe prices. */
export interface Payments {
  /** False without STRIPE_SECRET_KEY: checkout and the portal answer 503, webhooks 404. */
  readonly enabled: boolean
  /**
   * The Stripe SDK client, loaded on first use: the SDK is ~6 MB of heap that most processes never
   * touch (only billing routes, Stripe webhooks and the billing jobs call it).
   */
  stripe(): Promise<Stripe>
  readonly webhookSecret: string
  /** The Stripe price of a paid plan and interval. */
  priceId(plan: PlanId, interval: Interval): string
  /** Which plan a Stripe price is (undefined: not one of ours). */
  planOfPrice(priceId: string): { plan: PlanId; interval: Interval } | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    payments: Payments
  }
}

/**
 * Decorates `app.payments`: the Stripe SDK (pointed at STRIPE_API_URL when set: the stand-in in
 * development and tests) and the price of every paid plan.
 */
export const paymentsPlugin = fp(
  async (app) => {
    const { config } = app
    const prices: Array<[PlanId, Interval, string]> = [
      ['pro', 'month', config.STRIPE_PRICE_PRO_MONTHLY],
      ['pro', 'year', config.STRIPE_PRICE_PRO_YEARLY],
      ['business', 'month', config.STRIPE_PRICE_BUSINESS_MONTHLY],
      ['business', 'year', config.STRIPE_PRICE_BUSINESS_YEARLY],
    ]
    const endpoint = config.STRIPE_API_URL ? new URL(config.STRIPE_API_URL) : undefined
    let client: Promise<Stripe> | undefined
    const stripe = () => {
      client ??= import('stripe').then(
        ({ default: Stripe }) =>
          new Stripe(config.STRIPE_SECRET_KEY ?? 'sk_test_billing_not_configured', {
            maxNetworkRetries: 2,
            timeout: 10000,
            ...(endpoint
              ? {
                  host: endpoint.hostname,
                  port: endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80),
                  protocol: endpoint.protocol === 'https:' ? 'https' : 'http',
                }
              : {}),
          }),
      )
      return client
    }
    app.decorate('payments', {
      enabled: Boolean(config.STRIPE_SECRET_KEY),
      stripe,
      webhookSecret: config.STRIPE_WEBHOOK_SECRET ?? '',
      priceId(plan, interval) {
        const found = prices.find(([p, i]) => p === plan && i === interval)
        if (!found || !PLANS[plan].paid) throw new Error(`no Stripe price for ${plan}/${interval}`)
        return found[2]
      },
      planOfPrice(priceId) {
        const found = prices.find(([, , id]) => id === priceId)
        return found ? { plan: found[0], interval: found[1] } : undefined
      },
    } satisfies Payments)
  },
  { name: 'payments', dependencies: ['config'], fastify: '5.x' },
)
