import { buildServer, CONTROL_PATH, type DeliveryOptions, type Price, StandInState } from './server.ts'

export { CONTROL_PATH, type DeliveryOptions, type Price, StandInState }

export const DEFAULT_API_KEY = 'sk_test_nudge_stand_in'
export const DEFAULT_WEBHOOK_SECRET = 'whsec_nudge_stand_in_0123456789abcdef'

/** The prices `npm start` and the tests use (the API's STRIPE_PRICE_* defaults). */
export const DEFAULT_PRICES: Price[] = [
  {
    id: 'price_pro_monthly',
    product: 'prod_pro',
    unit_amount: 1900,
    currency: 'eur',
    recurring: { interval: 'month' },
  },
  {
    id: 'price_pro_yearly',
    product: 'prod_pro',
    unit_amount: 19000,
    currency: 'eur',
    recurring: { interval: 'year' },
  },
  {
    id: 'price_business_monthly',
    product: 'prod_business',
    unit_amount: 7900,
    currency: 'eur',
    recurring: { interval: 'month' },
  },
  {
    id: 'price_business_yearly',
    product: 'prod_business',
    unit_amount: 79000,
    currency: 'eur',
    recurring: { interval: 'year' },
  },
]

export interface StripeStandIn {
  /** origin to set as STRIPE_API_URL */
  url: string
  state: StandInState
  close(): Promise<void>
}

/**
 * Starts an in-memory stand-in for the parts of Stripe's API this app calls (customers, checkout
 * and billing portal sessions, subscriptions, prices), driven by the real `stripe` SDK, and able
 * to send signed webhook events (duplicated, late, out of order). Development and tests only.
 */
export async function startStripeStandIn(
  options: {
    port?: number
    host?: string
    apiKey?: string
    webhookSecret?: string
    webhookUrl?: string
    prices?: Price[]
    logger?: boolean | Record<string, unknown>
  } = {},
): Promise<StripeStandIn> {
  if (process.env.NODE_ENV === 'production') throw new Error('the Stripe stand-in does not run in production')
  const state = new StandInState({
    apiKey: options.apiKey ?? DEFAULT_API_KEY,
    webhookSecret: options.webhookSecret ?? DEFAULT_WEBHOOK_SECRET,
    webhookUrl: options.webhookUrl,
    prices: options.prices ?? DEFAULT_PRICES,
  })
  const app = buildServer({ state, logger: options.logger ?? false })
  const url = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
  state.baseUrl = url
  return { url, state, close: () => app.close() }
}
