export {
  type BillingStatus,
  effectivePlan,
  isPlanId,
  PLANS,
  type Plan,
  type PlanId,
  type PlanLimits,
  type TeamBilling,
  TRIAL_DAYS,
  TRIAL_PLAN,
} from './plans.ts'
export { type Interval, type Payments, paymentsPlugin } from './plugin.ts'
