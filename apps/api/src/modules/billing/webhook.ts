import type { FastifyInstance } from 'fastify'
import { ErrorResponse, InvalidStripeSignature, NotFound } from '../../errors.ts'
import { applyStripeEvent, billingDeps } from './stripe-sync.ts'

/**
 * `POST /webhooks/stripe`: Stripe's events, verified on the raw bytes with the signing secret
 * (a forged or replayed-old signature is a 400 and writes nothing). This plugin keeps its own
 * body parser; every other route keeps the JSON one.
 */
export const stripeWebhookRoutes = async (app: FastifyInstance) => {
  const deps = billingDeps(app)
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
      let event: ReturnType<typeof deps.payments.stripe.webhooks.constructEvent>
      try {
        event = deps.payments.stripe.webhooks.constructEvent(
          request.body,
          signature,
          deps.payments.webhookSecret,
        )
      } catch {
        throw new InvalidStripeSignature('The Stripe signature does not match, or it is too old')
      }
      const result = await applyStripeEvent(deps, event)
      request.log.info({ event: event.id, type: event.type, result }, 'Stripe event')
      return { received: true, result }
    },
  )
}
