import type { Cache } from '@nudge/cache'
import type { AfterCommit } from '@nudge/db'
import { type Deps, inTransaction } from '../../deps.ts'
import { createTeamIn, forgetMemberLists } from '../teams/service.ts'
import {
  findUserById,
  findUserIdBySuperTokensId,
  teamIdsOf,
  updateUserName,
  upsertSignedInUser,
} from './repository.ts'
import { type Profile, toProfile } from './schemas.ts'

const USER_TTL_SECONDS = 300
const userKey = (id: string) => `user:${id}`
const supertokensKey = (supertokensUserId: string) => `user-id-by-st:${supertokensUserId}`

/** Every sign-in records itself; the first one also creates the user's personal team, atomically. */
export async function recordSignIn(
  deps: Deps,
  input: { user: { supertokensUserId: string; email: string } },
) {
  return inTransaction(deps, async (tx) => {
    const row = await upsertSignedInUser(tx.db, input.user)
    if (row.created) {
      await createTeamIn(tx, {
        name: 'Personal',
        personal: true,
        ownerId: row.id,
        actor: { type: 'user', id: row.id, ip: null },
      })
      await deps.marketing.userSignedUp(tx.db, {
        email: row.email,
        name: row.name,
        createdAt: row.created_at,
      })
    }
    // last_login_at (and possibly the email) changed: every worker must re-read the user.
    tx.afterCommit(() => deps.cache.del(userKey(row.id)))
    return row
  })
}

export async function userIdForSuperTokensUser(deps: Deps, input: { supertokensUserId: string }) {
  const id = await deps.cache.wrap(supertokensKey(input.supertokensUserId), USER_TTL_SECONDS, async () => {
    return (await findUserIdBySuperTokensId(deps.db, input.supertokensUserId)) ?? null
  })
  return id ?? undefined
}

/** The signed-in user as the API shows it; cached in that shape, ready to send. */
export async function getProfile(deps: Deps, input: { userId: string }): Promise<Profile | undefined> {
  const profile = await deps.cache.wrap(
    userKey(input.userId),
    USER_TTL_SECONDS,
    async (): Promise<Profile | null> => {
      const user = await findUserById(deps.db, input.userId)
      return user ? toProfile(user) : null
    },
  )
  return profile ?? undefined
}

/** Sets (or, with null, clears) the user's name; every worker re-reads the profile after commit. */
export async function updateName(
  deps: Deps,
  input: { userId: string; name: string | null },
): Promise<Profile | undefined> {
  return inTransaction(deps, async (tx) => {
    const user = await updateUserName(tx.db, input.userId, input.name === null ? null : input.name.trim())
    if (!user) return undefined
    tx.afterCommit(() => deps.cache.del(userKey(input.userId)))
    // The name shows in the member list of every team the user is in.
    forgetMemberLists(deps.cache, tx.afterCommit, await teamIdsOf(tx.db, input.userId))
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
