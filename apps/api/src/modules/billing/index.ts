import type { FastifyInstance } from 'fastify'
import { billingJobs, quotaJobs } from './jobs.ts'
import { billingRoutes, stripeWebhookRoutes } from './routes.ts'

/** Billing: the plan and its checkout, Stripe's events, the notices and the plan limits' rounds. */
export const billingModule = async (app: FastifyInstance) => {
  await app.register(billingRoutes)
  await app.register(stripeWebhookRoutes)
  await app.register(billingJobs)
  await app.register(quotaJobs)
}
