// TEMPORARY stand-in for gousers' importUser (h/gousers owns this file): same signature, writes
// the users row and its legacy ids but creates no SuperTokens user. Deleted on merge.
import { newId } from '@nudge/db'
import type { FastifyInstance } from 'fastify'
import { newIdFor, recordLegacyIds } from './legacy-ids-repository.ts'

export async function importUser(
  app: Pick<FastifyInstance, 'db'>,
  input: {
    email: string
    name?: string | null
    createdAt: Date
    auth0UserId?: string | null
    emailVerified?: boolean
  },
): Promise<{ userId: string; created: boolean }> {
  const key = input.email.trim().toLowerCase()
  const known = await newIdFor(app.db, 'user', key)
  if (known) return { userId: known, created: false }
  return app.db.transaction().execute(async (trx) => {
    const id = newId()
    await trx
      .insertInto('users')
      .values({
        id,
        email: input.email.trim(),
        supertokens_user_id: `pending-${id}`,
        name: input.name ?? null,
        created_at: input.createdAt,
      })
      .execute()
    await recordLegacyIds(trx, [
      { kind: 'user', legacyId: key, newId: id },
      ...(input.auth0UserId ? [{ kind: 'auth0' as const, legacyId: input.auth0UserId, newId: id }] : []),
    ])
    return { userId: id, created: true }
  })
}
