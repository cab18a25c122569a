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
