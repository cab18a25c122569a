import type { FastifyInstance } from 'fastify'
import { memberEmails } from '../teams/repository.ts'
import { type BillingNoticeKind, billingNoticeEmail } from './notice-email.ts'
import { BILLING_NOTICE_JOB, billingDeps } from './stripe-sync.ts'

/** Billing emails to a team's owners, by a job sent in the transaction that decided them. */
export const billingJobs = async (app: FastifyInstance) => {
  const deps = billingDeps(app)
  app.jobs.define<{ teamId: string; kind: BillingNoticeKind; graceEndsAt?: string }>({
    name: BILLING_NOTICE_JOB,
    deadLetter: true,
    queue: { retryLimit: 5, retryDelay: 30, retryBackoff: true },
    handler: async ([job]) => {
      if (!job) return
      const { teamId, kind, graceEndsAt } = job.data
      const team = await app.db.selectFrom('teams').select('name').where('id', '=', teamId).executeTakeFirst()
      if (!team) return
      const owners = await memberEmails(app.db, teamId, ['owner'])
      for (const email of owners) {
        await app.mailer.send(
          billingNoticeEmail({
            to: email,
            teamName: team.name,
            kind,
            graceEndsAt,
            link: `${deps.dashboardOrigin}/teams/${teamId}/billing`,
          }),
        )
      }
    },
  })
}
