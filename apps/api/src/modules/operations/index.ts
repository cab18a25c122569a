import type { FastifyInstance } from 'fastify'
import { maintenanceJobs } from './jobs.ts'
import { operationsRoutes } from './routes.ts'

/** Operators' view of the job queue, and the scheduled maintenance. */
export const operationsModule = async (app: FastifyInstance) => {
  await app.register(operationsRoutes)
  await app.register(maintenanceJobs)
}
