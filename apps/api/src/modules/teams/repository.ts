import { type DB, newId, type Role } from '@nudge/db'
import type { Kysely } from 'kysely'

export async function insertTeam(db: Kysely<DB>, team: { name: string; personal?: boolean }) {
  return db
    .insertInto('teams')
    .values({ id: newId(), name: team.name, personal: team.personal ?? false })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function insertMember(db: Kysely<DB>, member: { teamId: string; userId: string; role: Role }) {
  await db
    .insertInto('team_members')
    .values({ team_id: member.teamId, user_id: member.userId, role: member.role })
    .execute()
}

export async function findRole(db: Kysely<DB>, teamId: string, userId: string): Promise<Role | undefined> {
  const row = await db
    .selectFrom('team_members')
    .select('role')
    .where('team_id', '=', teamId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return row?.role
}

/** The membership epoch: bumped by every change that can take a role away or change it. */
export async function membershipEpoch(db: Kysely<DB>): Promise<number> {
  const row = await db
    .selectFrom('epochs')
    .select('epoch')
    .where('name', '=', 'memberships')
    .executeTakeFirstOrThrow()
  return row.epoch
}

/** A member's role (null for a non-member) and the epoch it holds at: one statement, one snapshot. */
export async function findRoleAtEpoch(
  db: Kysely<DB>,
  teamId: string,
  userId: string,
): Promise<{ epoch: number; role: Role | null }> {
  return db
    .selectFrom('epochs')
    .where('epochs.name', '=', 'memberships')
    .select((eb) => [
      'epochs.epoch',
      eb
        .selectFrom('team_members')
        .select('team_members.role')
        .where('team_members.team_id', '=', teamId)
        .where('team_members.user_id', '=', userId)
        .as('role'),
    ])
    .executeTakeFirstOrThrow()
}

/** The caller's teams with their role, oldest first. */
export async function listTeamsOf(db: Kysely<DB>, userId: string) {
  return db
    .selectFrom('team_members')
    .innerJoin('teams', 'teams.id', 'team_members.team_id')
    .select([
      'teams.id',
      'teams.name',
      'teams.personal',
      'teams.plan',
      'teams.subscription_status',
      'teams.trial_ends_at',
      'teams.payment_grace_ends_at',
      'teams.current_period_end',
      'teams.created_at',
      'team_members.role',
    ])
    .where('team_members.user_id', '=', userId)
    .orderBy('teams.created_at')
    .orderBy('teams.id')
    .execute()
}

export async function findTeam(db: Kysely<DB>, teamId: string) {
  return db.selectFrom('teams').selectAll().where('id', '=', teamId).executeTakeFirst()
}

/**
 * Locks the team row for the rest of the transaction, and returns it (its plan columns too): the
 * one lock on a team. Membership changes of one team run one at a time, so two owners demoting
 * each other at once cannot leave it with none; a plan limit is checked under it, so two requests
 * cannot both take the last slot; Stripe's events for a team apply one at a time.
 */
export async function lockTeam(db: Kysely<DB>, teamId: string) {
  return db.selectFrom('teams').selectAll().where('id', '=', teamId).forUpdate().executeTakeFirst()
}

export async function updateTeamName(db: Kysely<DB>, teamId: string, name: string) {
  return db
    .updateTable('teams')
    .set({ name, updated_at: new Date() })
    .where('id', '=', teamId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function deleteTeam(db: Kysely<DB>, teamId: string) {
  await db.deleteFrom('teams').where('id', '=', teamId).execute()
}

export async function listMembers(db: Kysely<DB>, teamId: string) {
  return db
    .selectFrom('team_members')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select([
      'users.id as user_id',
      'users.email',
      'users.name',
      'team_members.role',
      'team_members.created_at',
    ])
    .where('team_members.team_id', '=', teamId)
    .orderBy('team_members.created_at')
    .orderBy('users.id')
    .execute()
}

/** The addresses of the team's members with these roles, longest-standing first (who to tell). */
export async function memberEmails(db: Kysely<DB>, teamId: string, roles: Role[]): Promise<string[]> {
  const rows = await db
    .selectFrom('team_members')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select('users.email')
    .where('team_members.team_id', '=', teamId)
    .where('team_members.role', 'in', roles)
    .orderBy('team_members.created_at')
    .orderBy('users.id')
    .execute()
  return rows.map((row) => row.email)
}

export async function countOwners(db: Kysely<DB>, teamId: string): Promise<number> {
  const row = await db
    .selectFrom('team_members')
    .select((eb) => eb.fn.countAll<number>().as('owners'))
    .where('team_id', '=', teamId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow()
  return Number(row.owners)
}

export async function setRole(db: Kysely<DB>, teamId: string, userId: string, role: Role) {
  await db
    .updateTable('team_members')
    .set({ role, updated_at: new Date() })
    .where('team_id', '=', teamId)
    .where('user_id', '=', userId)
    .execute()
}

export async function deleteMember(db: Kysely<DB>, teamId: string, userId: string) {
  await db.deleteFrom('team_members').where('team_id', '=', teamId).where('user_id', '=', userId).execute()
}
