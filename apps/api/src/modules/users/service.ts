import type { Cache } from '@nudge/cache'
import { type AfterCommit, type DB, transaction, type User } from '@nudge/db'
import type { Marketing } from '@nudge/marketing'
import type { Kysely } from 'kysely'
import { createTeamIn, forgetMemberLists } from '../teams/service.ts'
import {
  findUserById,
  findUserIdBySuperTokensId,
  teamIdsOf,
  updateUserName,
  upsertSignedInUser,
} from './repository.ts'

const USER_TTL_SECONDS = 300
const userKey = (id: string) => `user:${id}`
const supertokensKey = (supertokensUserId: string) => `user-id-by-st:${supertokensUserId}`

/** Every sign-in records itself; the first one also creates the user's personal team, atomically. */
export async function recordSignIn(
  db: Kysely<DB>,
  cache: Cache,
  marketing: Marketing,
  user: { supertokensUserId: string; email: string },
) {
  return transaction(db, async (trx, afterCommit) => {
    const row = await upsertSignedInUser(trx, user)
    if (row.created) {
      await createTeamIn(trx, cache, afterCommit, {
        name: 'Personal',
        personal: true,
        ownerId: row.id,
        actor: { type: 'user', id: row.id, ip: null },
      })
      await marketing.userSignedUp(trx, { email: row.email, name: row.name, createdAt: row.created_at })
    }
    // last_login_at (and possibly the email) changed: every worker must re-read the user.
    afterCommit(() => cache.del(userKey(row.id)))
    return row
  })
}

export async function userIdForSuperTokensUser(db: Kysely<DB>, cache: Cache, supertokensUserId: string) {
  const id = await cache.wrap(supertokensKey(supertokensUserId), USER_TTL_SECONDS, async () => {
    return (await findUserIdBySuperTokensId(db, supertokensUserId)) ?? null
  })
  return id ?? undefined
}

export interface Profile {
  id: string
  email: string
  name: string | null
  lastLoginAt: string | null
  createdAt: string
}

function toProfile(user: User): Profile {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    lastLoginAt: user.last_login_at?.toISOString() ?? null,
    createdAt: user.created_at.toISOString(),
  }
}

/** The signed-in user as the API shows it; cached in that shape, ready to send. */
export async function getProfile(db: Kysely<DB>, cache: Cache, id: string): Promise<Profile | undefined> {
  const profile = await cache.wrap(userKey(id), USER_TTL_SECONDS, async (): Promise<Profile | null> => {
    const user = await findUserById(db, id)
    return user ? toProfile(user) : null
  })
  return profile ?? undefined
}

/** Sets (or, with null, clears) the user's name; every worker re-reads the profile after commit. */
export async function updateName(
  db: Kysely<DB>,
  cache: Cache,
  id: string,
  name: string | null,
): Promise<Profile | undefined> {
  return transaction(db, async (trx, afterCommit) => {
    const user = await updateUserName(trx, id, name === null ? null : name.trim())
    if (!user) return undefined
    afterCommit(() => cache.del(userKey(id)))
    // The name shows in the member list of every team the user is in.
    forgetMemberLists(cache, afterCommit, await teamIdsOf(trx, id))
    return toProfile(user)
  })
}

/** After a user is deleted: no worker may serve their profile or resolve their sessions to them. */
export function forgetUser(
  cache: Cache,
  afterCommit: AfterCommit,
  user: { id: string; supertokensUserId: string },
) {
  afterCommit(() => cache.del(userKey(user.id)))
  afterCommit(() => cache.del(supertokensKey(user.supertokensUserId)))
}
