import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { DevMailbox } from './dev-mailbox.ts'

const MailboxQuery = Type.Object(
  {
    to: Type.Optional(
      Type.String({ minLength: 1, maxLength: 320, description: 'only emails to this address (any case)' }),
    ),
  },
  { additionalProperties: false },
)

const MailboxMessage = Type.Object({
  id: Type.String(),
  to: Type.String(),
  subject: Type.String(),
  text: Type.String(),
  html: Type.String(),
  sentAt: Type.String({ format: 'date-time' }),
})

const MailboxResponse = Type.Object({ messages: Type.Array(MailboxMessage) })

/**
 * `GET /dev/mailbox`: what this worker's dev mailbox holds, newest first. Registered only with
 * the dev mailbox (never with SMTP, never in production).
 */
export function devMailboxRoutes(app: FastifyInstance, mailbox: DevMailbox): void {
  // Not a fresh literal, so `hide` (read by @fastify/swagger to keep the route out of /docs)
  // passes without importing swagger's type augmentation into this library.
  const schema = { hide: true, querystring: MailboxQuery, response: { 200: MailboxResponse } }
  app.withTypeProvider<TypeBoxTypeProvider>().get('/dev/mailbox', { schema }, async (request) => ({
    messages: await mailbox.list(request.query.to),
  }))
}
