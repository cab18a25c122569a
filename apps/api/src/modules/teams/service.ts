import type { Cache } from '@nudge/cache'
import { type AfterCommit, type DB, type Role, transaction } from '@nudge/db'
import type { Kysely, Transaction } from 'kysely'
import { LastOwner, NotFound, RoleNotAllowed, TeamHasSubscription } from '../../errors.ts'
import { can, canGrant } from '../../permissions.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import * as teams from './repository.ts'

export interface Deps {
  db: Kysely<DB>
  cache: Cache
}

const MEMBERS_TTL_SECONDS = 300
const membersKey = (teamId: string) => `members:${teamId}`

/**
 * The caller's role in a team, or null for a non-member. A security answer, read from the
 * database on every request: a cached copy on another worker is dropped only when that worker
 * hears the invalidation (milliseconds later), and a demotion must hold on the very next request
 * (CI caught a worker still answering with the old role). One primary-key lookup.
 */
export async function membershipRole({ db }: Deps, teamId: string, userId: string) {
  return (await teams.findRole(db, teamId, userId)) ?? null
}

/** After a membership change commits: the team's member list, on every worker. */
export function forgetMembership(cache: Cache, afterCommit: AfterCommit, teamId: string, _userIds: string[]) {
  forgetMemberLists(cache, afterCommit, [teamId])
}

/** After a change that shows in member lists (a member's name or email) commits. */
export function forgetMemberLists(cache: Cache, afterCommit: AfterCommit, teamIds: string[]) {
  for (const teamId of teamIds) afterCommit(() => cache.del(membersKey(teamId)))
}

export interface MemberView {
  userId: string
  email: string
  name: string | null
  role: Role
  joinedAt: string
}

/** A team's members in response shape, cached until a membership or a member's profile changes. */
export async function listMembers({ db, cache }: Deps, teamId: string): Promise<MemberView[]> {
  return cache.wrap(membersKey(teamId), MEMBERS_TTL_SECONDS, async () =>
    (await teams.listMembers(db, teamId)).map((row) => ({
      userId: row.user_id,
      email: row.email,
      name: row.name,
      role: row.role,
      joinedAt: row.created_at.toISOString(),
    })),
  )
}

/** A team and its owner, in the caller's transaction (first sign-in, POST /v1/teams). */
export async function createTeamIn(
  trx: Transaction<DB>,
  cache: Cache,
  afterCommit: AfterCommit,
  input: { name: string; personal?: boolean; ownerId: string; actor: Actor },
) {
  const team = await teams.insertTeam(trx, { name: input.name, personal: input.personal ?? false })
  await teams.insertMember(trx, { teamId: team.id, userId: input.ownerId, role: 'owner' })
  await recordAudit(trx, {
    teamId: team.id,
    actor: input.actor,
    action: 'team.created',
    target: { type: 'team', id: team.id },
    data: { name: team.name, personal: team.personal },
  })
  // A cached "not a member" from a request made just before must not outlive the change.
  forgetMembership(cache, afterCommit, team.id, [input.ownerId])
  return team
}

export async function createTeam(deps: Deps, input: { name: string; actor: Actor & { type: 'user' } }) {
  return transaction(deps.db, (trx, afterCommit) =>
    createTeamIn(trx, deps.cache, afterCommit, {
      name: input.name.trim(),
      ownerId: input.actor.id,
      actor: input.actor,
    }),
  )
}

/** Renames a team; returns it as it now is. */
export async function renameTeam(deps: Deps, teamId: string, name: string, actor: Actor) {
  return transaction(deps.db, async (trx) => {
    const team = await teams.lockTeam(trx, teamId)
    if (!team) throw new NotFound('Team')
    const renamed = await teams.updateTeamName(trx, teamId, name.trim())
    await recordAudit(trx, {
      teamId,
      actor,
      action: 'team.renamed',
      target: { type: 'team', id: teamId },
      data: { from: team.name, to: renamed.name },
    })
    return renamed
  })
}

const PAID_STATUSES = new Set(['active', 'trialing', 'past_due', 'unpaid'])

/** Deleting a team deletes its data (the database cascades); a paid subscription must end first. */
export async function deleteTeam(deps: Deps, teamId: string) {
  return transaction(deps.db, async (trx, afterCommit) => {
    const team = await teams.lockTeam(trx, teamId)
    if (!team) throw new NotFound('Team')
    if (team.stripe_subscription_id && PAID_STATUSES.has(team.subscription_status ?? '')) {
      throw new TeamHasSubscription()
    }
    const members = await teams.memberIds(trx, teamId)
    await teams.deleteTeam(trx, teamId)
    forgetMembership(deps.cache, afterCommit, teamId, members)
  })
}

/**
 * Changes a member's role. Admins manage editors and viewers and may make admins, never owners;
 * only owners touch owners. The last owner cannot be demoted.
 */
export async function changeRole(
  deps: Deps,
  input: { teamId: string; userId: string; role: Role; by: { id: string; role: Role }; actor: Actor },
) {
  return transaction(deps.db, async (trx, afterCommit) => {
    await teams.lockTeam(trx, input.teamId)
    const current = await teams.findRole(trx, input.teamId, input.userId)
    if (!current) throw new NotFound('Member')
    checkManages(input.by.role, current, input.role)
    if (current === input.role) return
    if (current === 'owner' && (await teams.countOwners(trx, input.teamId)) === 1) {
      throw new LastOwner('the last owner cannot be demoted')
    }
    await teams.setRole(trx, input.teamId, input.userId, input.role)
    await recordAudit(trx, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'member.role_changed',
      target: { type: 'user', id: input.userId },
      data: { from: current, to: input.role },
    })
    forgetMembership(deps.cache, afterCommit, input.teamId, [input.userId])
  })
}

/** Removes a member, or lets a member leave (`userId` is the caller's own id). */
export async function removeMember(
  deps: Deps,
  input: { teamId: string; userId: string; by: { id: string; role: Role }; actor: Actor },
) {
  const leaving = input.userId === input.by.id
  return transaction(deps.db, async (trx, afterCommit) => {
    await teams.lockTeam(trx, input.teamId)
    const current = await teams.findRole(trx, input.teamId, input.userId)
    if (!current) throw new NotFound('Member')
    if (!leaving) {
      if (!can(input.by.role, 'member:remove')) throw new RoleNotAllowed('Your role may not remove members')
      checkManages(input.by.role, current, current)
    }
    if (current === 'owner' && (await teams.countOwners(trx, input.teamId)) === 1) {
      throw new LastOwner(leaving ? 'the last owner cannot leave' : 'the last owner cannot be removed')
    }
    await teams.deleteMember(trx, input.teamId, input.userId)
    await recordAudit(trx, {
      teamId: input.teamId,
      actor: input.actor,
      action: leaving ? 'member.left' : 'member.removed',
      target: { type: 'user', id: input.userId },
      data: { role: current },
    })
    forgetMembership(deps.cache, afterCommit, input.teamId, [input.userId])
  })
}

/** Whether `by` may move a member from role `from` to role `to`. */
function checkManages(by: Role, from: Role, to: Role) {
  if (by === 'owner') return
  if (from === 'owner') throw new RoleNotAllowed('Only an owner can change or remove an owner')
  if (!canGrant(by, to)) throw new RoleNotAllowed(`An ${by} cannot make anyone ${to}`)
}
