import createError from '@fastify/error'

/** The job queue has not started (the database was unreachable): a request asking for it fails fast. */
export const JobsUnavailableError = createError(
  'JOBS_UNAVAILABLE',
  'The job queue is not available right now; try again in a moment',
  503,
)
