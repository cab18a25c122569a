import type { Cache } from '@nudge/cache'
import type { AfterCommit, Role } from '@nudge/db'
import { type Deps, inTransaction, type TxDeps } from '../../deps.ts'
import { LastOwner, NotFound, RoleNotAllowed, TeamHasSubscription } from '../../errors.ts'
import { can, canGrant } from '../../permissions.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import * as teams from './repository.ts'
import { type MemberView, toMember } from './schemas.ts'

const MEMBERS_TTL_SECONDS = 300
const membersKey = (teamId: string) => `members:${teamId}`

/**
 * After a change that takes a role away or changes it commits: the teams' member lists, on every
 * worker, and the change answers only once no worker can still answer with the old role.
 */
export function forgetMembership(
  tx: Pick<TxDeps, 'cache' | 'memberships' | 'afterCommit'>,
  teamIds: string[],
) {
  forgetMemberLists(tx.cache, tx.afterCommit, teamIds)
  tx.afterCommit(() => tx.memberships.settled())
}

/** After a change that shows in member lists (a member joining, a name or email changed) commits. */
export function forgetMemberLists(cache: Cache, afterCommit: AfterCommit, teamIds: string[]) {
  for (const teamId of teamIds) afterCommit(() => cache.del(membersKey(teamId)))
}

/** The caller's teams, each with the caller's role in it, oldest first. */
export async function listTeamsOf(deps: Deps, input: { userId: string }) {
  return teams.listTeamsOf(deps.db, input.userId)
}

export async function getTeam(deps: Deps, input: { teamId: string }) {
  const team = await teams.findTeam(deps.db, input.teamId)
  if (!team) throw new NotFound('Team')
  return team
}

/** A team's members in response shape, cached until a membership or a member's profile changes. */
export async function listMembers(deps: Deps, input: { teamId: string }): Promise<MemberView[]> {
  return deps.cache.wrap(membersKey(input.teamId), MEMBERS_TTL_SECONDS, async () =>
    (await teams.listMembers(deps.db, input.teamId)).map(toMember),
  )
}

/** A team and its owner, in the caller's transaction (first sign-in, POST /v1/teams). */
export async function createTeamIn(
  tx: TxDeps,
  input: { name: string; personal?: boolean; ownerId: string; actor: Actor },
) {
  const team = await teams.insertTeam(tx.db, { name: input.name, personal: input.personal ?? false })
  await teams.insertMember(tx.db, { teamId: team.id, userId: input.ownerId, role: 'owner' })
  await recordAudit(tx.db, {
    teamId: team.id,
    actor: input.actor,
    action: 'team.created',
    target: { type: 'team', id: team.id },
    data: { name: team.name, personal: team.personal },
  })
  // A new member: nobody held an answer for them (see memberships.ts), only the list changes.
  forgetMemberLists(tx.cache, tx.afterCommit, [team.id])
  return team
}

export async function createTeam(deps: Deps, input: { name: string; actor: Actor & { type: 'user' } }) {
  return inTransaction(deps, (tx) =>
    createTeamIn(tx, { name: input.name.trim(), ownerId: input.actor.id, actor: input.actor }),
  )
}

/** Renames a team; returns it as it now is. */
export async function renameTeam(deps: Deps, input: { teamId: string; name: string; actor: Actor }) {
  return inTransaction(deps, async (tx) => {
    const team = await teams.lockTeam(tx.db, input.teamId)
    if (!team) throw new NotFound('Team')
    const renamed = await teams.updateTeamName(tx.db, input.teamId, input.name.trim())
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'team.renamed',
      target: { type: 'team', id: input.teamId },
      data: { from: team.name, to: renamed.name },
    })
    return renamed
  })
}

const PAID_STATUSES = new Set(['active', 'trialing', 'past_due', 'unpaid'])

/** Deleting a team deletes its data (the database cascades); a paid subscription must end first. */
export async function deleteTeam(deps: Deps, input: { teamId: string }) {
  return inTransaction(deps, async (tx) => {
    const team = await teams.lockTeam(tx.db, input.teamId)
    if (!team) throw new NotFound('Team')
    if (team.stripe_subscription_id && PAID_STATUSES.has(team.subscription_status ?? '')) {
      throw new TeamHasSubscription()
    }
    await teams.deleteTeam(tx.db, input.teamId)
    forgetMembership(tx, [input.teamId])
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
  return inTransaction(deps, async (tx) => {
    await teams.lockTeam(tx.db, input.teamId)
    const current = await teams.findRole(tx.db, input.teamId, input.userId)
    if (!current) throw new NotFound('Member')
    checkManages(input.by.role, current, input.role)
    if (current === input.role) return
    if (current === 'owner' && (await teams.countOwners(tx.db, input.teamId)) === 1) {
      throw new LastOwner('the last owner cannot be demoted')
    }
    await teams.setRole(tx.db, input.teamId, input.userId, input.role)
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'member.role_changed',
      target: { type: 'user', id: input.userId },
      data: { from: current, to: input.role },
    })
    forgetMembership(tx, [input.teamId])
  })
}

/** Removes a member, or lets a member leave (`userId` is the caller's own id). */
export async function removeMember(
  deps: Deps,
  input: { teamId: string; userId: string; by: { id: string; role: Role }; actor: Actor },
) {
  const leaving = input.userId === input.by.id
  return inTransaction(deps, async (tx) => {
    await teams.lockTeam(tx.db, input.teamId)
    const current = await teams.findRole(tx.db, input.teamId, input.userId)
    if (!current) throw new NotFound('Member')
    if (!leaving) {
      if (!can(input.by.role, 'member:remove')) throw new RoleNotAllowed('Your role may not remove members')
      checkManages(input.by.role, current, current)
    }
    if (current === 'owner' && (await teams.countOwners(tx.db, input.teamId)) === 1) {
      throw new LastOwner(leaving ? 'the last owner cannot leave' : 'the last owner cannot be removed')
    }
    await teams.deleteMember(tx.db, input.teamId, input.userId)
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: leaving ? 'member.left' : 'member.removed',
      target: { type: 'user', id: input.userId },
      data: { role: current },
    })
    forgetMembership(tx, [input.teamId])
  })
}

/** Whether `by` may move a member from role `from` to role `to`. */
function checkManages(by: Role, from: Role, to: Role) {
  if (by === 'owner') return
  if (from === 'owner') throw new RoleNotAllowed('Only an owner can change or remove an owner')
  if (!canGrant(by, to)) throw new RoleNotAllowed(`An ${by} cannot make anyone ${to}`)
}
