export type { Job } from 'pg-boss'
export { JobsUnavailableError } from './errors.ts'
export { type JobDefinition, type JobSendOptions, Jobs, type QueueSummary, queueSummaries } from './jobs.ts'
export { type JobsPluginOptions, jobsPlugin } from './plugin.ts'
