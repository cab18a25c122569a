export * from './mailerlite.ts'
export { MARKETING_JOB, type Marketing, type MarketingSync, marketingPlugin } from './plugin.ts'
