import { type DB, newId, type Role } from '@nudge/db'
import { type Kysely, sql } from 'kysely'
import { type PageRequest, page } from '../../pagination.ts'

export async function insertInvite(
  db: Kysely<DB>,
  invite: {
    teamId: string
    email: string
    role: Role
    tokenHash: Buffer
    invitedBy: string
    expiresAt: Date
  },
) {
  return db
    .insertInto('team_invites')
    .values({
      id: newId(),
      team_id: invite.teamId,
      email: invite.email,
      role: invite.role,
      token_hash: invite.tokenHash,
      invited_by: invite.invitedBy,
      expires_at: invite.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** The invite that is neither accepted nor revoked for this address (at most one: a unique index). */
export async function findPendingByEmail(db: Kysely<DB>, teamId: string, email: string) {
  return db
    .selectFrom('team_invites')
    .selectAll()
    .where('team_id', '=', teamId)
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .forUpdate()
    .executeTakeFirst()
}

export async function findInviteByTokenHash(db: Kysely<DB>, tokenHash: Buffer) {
  return db.selectFrom('team_invites').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
}

/** Locks the invite row: accepting or revoking it runs once at a time. */
export async function lockInvite(db: Kysely<DB>, teamId: string, inviteId: string) {
  return db
    .selectFrom('team_invites')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('id', '=', inviteId)
    .forUpdate()
    .executeTakeFirst()
}

/** Pending invites (neither accepted nor revoked, expired ones included), newest first. */
export async function listPendingInvites(db: Kysely<DB>, teamId: string, request: PageRequest) {
  return page(
    db
      .selectFrom('team_invites')
      .select(['id', 'email', 'role', 'invited_by', 'expires_at', 'created_at'])
      .where('team_id', '=', teamId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null),
    request,
  ).execute()
}

/** Marks a pending invite revoked; false when it was no longer pending. */
export async function revokeInvite(db: Kysely<DB>, inviteId: string): Promise<boolean> {
  const result = await db
    .updateTable('team_invites')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', inviteId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows === 1n
}

/** Marks a pending invite accepted; false when it was no longer pending (it works once). */
export async function markAccepted(db: Kysely<DB>, inviteId: string): Promise<boolean> {
  const result = await db
    .updateTable('team_invites')
    .set({ accepted_at: sql<Date>`now()` })
    .where('id', '=', inviteId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows === 1n
}

/** The role of the team member with this email (users keep emails in lower case), if any. */
export async function memberRoleByEmail(db: Kysely<DB>, teamId: string, email: string) {
  const row = await db
    .selectFrom('team_members')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select('team_members.role')
    .where('team_members.team_id', '=', teamId)
    .where('users.email', '=', email.toLowerCase())
    .executeTakeFirst()
  return row?.role
}

export async function findUserEmailAndName(db: Kysely<DB>, userId: string) {
  return db.selectFrom('users').select(['email', 'name']).where('id', '=', userId).executeTakeFirst()
}
