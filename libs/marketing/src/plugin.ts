import type {} from '@nudge/config'
import type { Jobs } from '@nudge/jobs'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { createMailerliteClient, MailerliteError } from './mailerlite.ts'

export const MARKETING_JOB = 'marketing.sync'

/** A database handle: `app.db` or the transaction of the change being announced. */
// biome-ignore lint/suspicious/noExplicitAny: any Kysely database or transaction will do
type Executor = Kysely<any>

export type MarketingSync =
  | { action: 'subscribe'; email: string; name: string | null; signedUpAt: string }
  | { action: 'remove'; email: string }
  | { action: 'plan'; email: string; plan: string }

/** Our own users in our own Mailerlite account, through jobs: Mailerlite never slows a request. */
export interface Marketing {
  /** False without MAILERLITE_API_KEY: every call is then a no-op. */
  readonly enabled: boolean
  /** A new user joins the users group with their name and sign-up date. */
  userSignedUp(db: Executor, user: { email: string; name: string | null; createdAt: Date }): Promise<void>
  /** A deleted account leaves our Mailerlite account. */
  userDeleted(db: Executor, user: { email: string }): Promise<void>
  /** A team owner's plan, in the subscriber's `plan` field (created in our account when missing). */
  planChanged(db: Executor, user: { email: string; plan: string }): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    marketing: Marketing
  }
}

/**
 * Decorates `app.marketing`. Changes are jobs sent in the caller's transaction (a sign-up that
 * rolls back announces nothing); the worker process sends them to Mailerlite, retrying with
 * backoff while it is slow, down or rate limiting us.
 */
export const marketingPlugin = fp(
  async (app) => {
    const { config } = app
    const apiKey = config.MAILERLITE_API_KEY
    const jobs: Jobs = app.jobs
    const enqueue = async (db: Executor, sync: MarketingSync) => {
      if (!apiKey) return
      await jobs.send(MARKETING_JOB, sync, { db })
    }
    app.decorate('marketing', {
      enabled: Boolean(apiKey),
      userSignedUp: (db, user) =>
        enqueue(db, {
          action: 'subscribe',
          email: user.email,
          name: user.name,
          signedUpAt: user.createdAt.toISOString(),
        }),
      userDeleted: (db, user) => enqueue(db, { action: 'remove', email: user.email }),
      planChanged: (db, user) => enqueue(db, { action: 'plan', email: user.email, plan: user.plan }),
    } satisfies Marketing)
    if (!apiKey) return

    const client = createMailerliteClient({
      apiKey,
      baseUrl: config.MAILERLITE_API_URL,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    })
    let usersGroupId: string | undefined
    let planField: string | undefined
    jobs.define<MarketingSync>({
      name: MARKETING_JOB,
      deadLetter: true,
      // About a day of retries: 30 s doubling, at most an hour apart.
      queue: { retryLimit: 30, retryDelay: 30, retryBackoff: true, retryDelayMax: 3600 },
      handler: async ([job]) => {
        if (!job) return
        const sync = job.data
        try {
          if (sync.action === 'subscribe') {
            usersGroupId ??= String((await client.findOrCreateGroup(config.MAILERLITE_USERS_GROUP)).id)
            await client.upsertSubscriber({
              email: sync.email,
              ...(sync.name ? { fields: { name: sync.name } } : {}),
              groups: [usersGroupId],
              subscribed_at: sync.signedUpAt.slice(0, 19).replace('T', ' '),
            })
          } else if (sync.action === 'plan') {
            planField ??= (await client.findOrCreateField('plan')).key
            await client.upsertSubscriber({ email: sync.email, fields: { [planField]: sync.plan } })
          } else {
            const subscriber = await client.getSubscriber(sync.email)
            if (subscriber) await client.deleteSubscriber(String(subscriber.id))
          }
        } catch (error) {
          // A refused address will be refused again: logged, not retried.
          if (error instanceof MailerliteError && error.code === 'validation') {
            app.log.warn(
              { layer: 'marketing', action: sync.action, problem: error.message },
              'Mailerlite refused a user',
            )
            return
          }
          if (error instanceof MailerliteError && error.code === 'not_found') usersGroupId = undefined
          throw error
        }
      },
    })
  },
  { name: 'marketing', dependencies: ['config', 'logging', 'jobs'], fastify: '5.x' },
)
