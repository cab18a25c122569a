import type { DB, User } from '@nudge/db'
import { newId } from '@nudge/db'
import { type Kysely, sql } from 'kysely'

export async function findUserById(db: Kysely<DB>, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findUserIdBySuperTokensId(db: Kysely<DB>, supertokensUserId: string) {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('supertokens_user_id', '=', supertokensUserId)
    .executeTakeFirst()
  return row?.id
}

/** By email, as sign-in compares it: case-insensitively (the unique index is on lower(email)). */
export async function findUserIdByEmail(db: Kysely<DB>, email: string) {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where(sql<string>`lower(email)`, '=', email.trim().toLowerCase())
    .executeTakeFirst()
  return row?.id
}

/**
 * A user brought in by an import (Go-Live), under the id SuperTokens reports for them: their
 * SuperTokens user is mapped to `id`, so `supertokens_user_id` is `id` too and sessions resolve
 * by the same lookup as natively signed-up users'. False when the id or the email is taken.
 */
export async function insertImportedUser(
  db: Kysely<DB>,
  user: { id: string; email: string; name: string | null; createdAt: Date },
): Promise<boolean> {
  const rows = await db
    .insertInto('users')
    .values({
      id: user.id,
      email: user.email.trim().toLowerCase(),
      supertokens_user_id: user.id,
      name: user.name,
      created_at: user.createdAt,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .execute()
  return rows.length === 1
}

/** Creates the user on first sign-in, else records the sign-in; returns the row either way. */
export async function upsertSignedInUser(db: Kysely<DB>, user: { supertokensUserId: string; email: string }) {
  return (
    db
      .insertInto('users')
      .values({
        id: newId(),
        // One spelling per address: sign-in is case-insensitive, so we keep it in lower case.
        email: user.email.trim().toLowerCase(),
        supertokens_user_id: user.supertokensUserId,
        last_login_at: sql<Date>`now()`,
      })
      .onConflict((oc) =>
        oc.column('supertokens_user_id').doUpdateSet({
          email: (eb) => eb.ref('excluded.email'),
          last_login_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
        }),
      )
      .returningAll()
      // xmax is 0 on a row this statement inserted: the first sign-in.
      .returning(sql<boolean>`(xmax = 0)`.as('created'))
      .executeTakeFirstOrThrow()
  )
}

export async function updateUserName(db: Kysely<DB>, id: string, name: string | null) {
  return db
    .updateTable('users')
    .set({ name, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
}

/**
 * Locks the user row for the rest of the transaction. Adding a membership checks this row (its
 * foreign key), so while it is held the user joins no team: the set of teams stays as read.
 */
export async function lockUser(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('users')
    .select(['id', 'supertokens_user_id', 'email'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
}

/** Ids of the teams a user belongs to, in the order their rows are locked in. */
export async function teamIdsOf(db: Kysely<DB>, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('team_members')
    .select('team_id')
    .where('user_id', '=', userId)
    .orderBy('team_id')
    .execute()
  return rows.map((row) => row.team_id)
}

/** Each of the user's teams with the user's role and how many members and owners it has. */
export async function membershipSummaries(db: Kysely<DB>, userId: string) {
  const rows = await db
    .selectFrom('team_members as mine')
    .innerJoin('teams', 'teams.id', 'mine.team_id')
    .select((eb) => [
      'teams.id as teamId',
      'teams.name as teamName',
      'mine.role',
      eb
        .selectFrom('team_members as m')
        .select((inner) => inner.fn.countAll<string>().as('n'))
        .whereRef('m.team_id', '=', 'mine.team_id')
        .as('members'),
      eb
        .selectFrom('team_members as m')
        .select((inner) => inner.fn.countAll<string>().as('n'))
        .whereRef('m.team_id', '=', 'mine.team_id')
        .where('m.role', '=', 'owner')
        .as('owners'),
    ])
    .where('mine.user_id', '=', userId)
    .orderBy('teams.id')
    .execute()
  return rows.map((row) => ({ ...row, members: Number(row.members), owners: Number(row.owners) }))
}

export async function deleteUser(db: Kysely<DB>, id: string) {
  await db.deleteFrom('users').where('id', '=', id).execute()
}

/** The sessions epoch: bumped by every revocation, after the core revoked (libs/auth lease). */
export async function sessionEpoch(db: Kysely<DB>): Promise<number> {
  const row = await db
    .selectFrom('epochs')
    .select('epoch')
    .where('name', '=', 'sessions')
    .executeTakeFirstOrThrow()
  return row.epoch
}

export async function bumpSessionEpoch(db: Kysely<DB>): Promise<void> {
  await db
    .updateTable('epochs')
    .set((eb) => ({ epoch: eb('epoch', '+', 1) }))
    .where('name', '=', 'sessions')
    .executeTakeFirstOrThrow()
}
