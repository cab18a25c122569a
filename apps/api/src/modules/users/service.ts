import type { Cache } from '@nudge/cache'
import type { DB, User } from '@nudge/db'
import type { Kysely } from 'kysely'
import { findUserById, findUserIdBySuperTokensId, upsertSignedInUser } from './repository.ts'

const USER_TTL_SECONDS = 300
const userKey = (id: string) => `user:${id}`
const supertokensKey = (supertokensUserId: string) => `user-id-by-st:${supertokensUserId}`

export async function recordSignIn(
  db: Kysely<DB>,
  cache: Cache,
  user: { supertokensUserId: string; email: string },
) {
  const row = await upsertSignedInUser(db, user)
  // last_login_at (and possibly the email) changed: every worker must re-read the user.
  await cache.del(userKey(row.id))
  return row
}

export async function userIdForSuperTokensUser(db: Kysely<DB>, cache: Cache, supertokensUserId: string) {
  const id = await cache.wrap(supertokensKey(supertokensUserId), USER_TTL_SECONDS, async () => {
    return (await findUserIdBySuperTokensId(db, supertokensUserId)) ?? null
  })
  return id ?? undefined
}

export async function getUser(db: Kysely<DB>, cache: Cache, id: string): Promise<User | undefined> {
  const user = await cache.wrap(
    userKey(id),
    USER_TTL_SECONDS,
    async () => (await findUserById(db, id)) ?? null,
  )
  if (!user) return undefined
  // Cached copies come back from JSON: dates as strings.
  return {
    ...user,
    last_login_at: user.last_login_at ? new Date(user.last_login_at) : null,
    created_at: new Date(user.created_at),
    updated_at: new Date(user.updated_at),
  }
}
