import { importSignInUser } from '@nudge/auth'
import { newId } from '@nudge/db'
import type { FastifyInstance } from 'fastify'
import { depsOf, inTransaction } from '../../deps.ts'
import { findUserIdByEmail, insertImportedUser } from '../users/repository.ts'
import { forgetUser } from '../users/service.ts'
import { type LegacyIdRow, recordLegacyIds } from './legacy-ids-repository.ts'

export interface ImportUserInput {
  email: string
  name?: string | null
  createdAt: Date
  /** Auth0's `user_id` (`email|5f1c…`): kept in legacy_ids and beside the SuperTokens mapping. */
  auth0UserId?: string | null
  /**
   * Auth0's flag. Not carried over: a magic link proves the address at every sign-in, and the
   * passwordless sign-up marks it verified in SuperTokens anyway.
   */
  emailVerified?: boolean
}

/**
 * One person of the old system as a nudge user who can sign in with the same email: a SuperTokens
 * user (no email sent) mapped to our own UUIDv7 user id, the `users` row under that id, and
 * legacy_ids ('user', lower(email)) and ('auth0', Auth0 user id). None of the first-sign-in work
 * runs (personal team, marketing sync): the migration creates the account's team itself, and the
 * person's later sign-ins find their row and create nothing.
 *
 * Idempotent by lower(email), and resumable after a crash between any two steps: the SuperTokens
 * side is found again by email (see importSignInUser), and the row is written with its legacy ids
 * in one transaction. Someone already a nudge user (signed up before go-live) keeps their user:
 * `created` is false and only the legacy ids are added. Needs the auth layer (signInPlugin), which
 * initialises the SuperTokens SDK.
 */
export async function importUser(
  app: FastifyInstance,
  input: ImportUserInput,
): Promise<{ userId: string; created: boolean }> {
  if (!app.hasPlugin('auth')) {
    throw new Error('importUser needs the auth layer (register signInPlugin): it creates SuperTokens users')
  }
  const deps = depsOf(app, 'golive')
  const email = input.email.trim().toLowerCase()
  // The converters skip what is no address; one reaching here would become a user nobody can be.
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new Error('importUser: the email is not an address')
  const legacyIds = (userId: string): LegacyIdRow[] => [
    { kind: 'user', legacyId: email, newId: userId },
    ...(input.auth0UserId ? [{ kind: 'auth0' as const, legacyId: input.auth0UserId, newId: userId }] : []),
  ]

  const known = await findUserIdByEmail(deps.db, email)
  if (known) {
    await recordLegacyIds(deps.db, legacyIds(known))
    return { userId: known, created: false }
  }

  const { userId } = await importSignInUser({
    email,
    externalUserId: newId(),
    externalUserIdInfo: input.auth0UserId ?? undefined,
  })
  return inTransaction(deps, async (tx) => {
    const created = await insertImportedUser(tx.db, {
      id: userId,
      email,
      name: input.name?.trim() || null,
      createdAt: input.createdAt,
    })
    // Not created: the person signed in between our look-up and now (their sign-in made the row).
    const id = created ? userId : await findUserIdByEmail(tx.db, email)
    if (!id) throw new Error('the imported user is neither new nor found by email')
    await recordLegacyIds(tx.db, legacyIds(id))
    // A session that reached us before the row existed may have cached "no such user".
    forgetUser(deps.cache, tx.afterCommit, { id, supertokensUserId: userId })
    return { userId: id, created }
  })
}
