import supertokens from 'supertokens-node'
import Session from 'supertokens-node/recipe/session'
import { type Deps, inTransaction } from '../../deps.ts'
import { LastOwner, NotFound } from '../../errors.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import * as teams from '../teams/repository.ts'
import { forgetMembership } from '../teams/service.ts'
import { deleteUser, lockUser, membershipSummaries, teamIdsOf } from './repository.ts'
import { forgetUser } from './service.ts'

/**
 * Deletes a user's account: every team they were alone in goes with it, every other team keeps
 * its data and records that they left. Refused while they are the last owner of a team that has
 * other members (it would be left without an owner). Then their sign-in identity and every
 * session are removed from SuperTokens.
 */
export async function deleteAccount(
  deps: Deps,
  input: {
    userId: string
    actor: Actor
    /** Sign-in cleanup that failed after the account was deleted: reported, not answered. */
    onCleanupError(error: unknown, step: 'revoke sessions' | 'delete sign-in user'): void
  },
) {
  const { supertokensUserId } = await inTransaction(deps, async (tx) => {
    const user = await lockUser(tx.db, input.userId)
    if (!user) throw new NotFound('User')
    // Teams are locked in id order, as every change to a team's members locks it: an owner leaving
    // at the same time waits for us (or we for them), so the last-owner check cannot race.
    for (const teamId of await teamIdsOf(tx.db, user.id)) await teams.lockTeam(tx.db, teamId)
    const memberships = await membershipSummaries(tx.db, user.id)
    const orphaned = memberships.filter((m) => m.role === 'owner' && m.owners === 1 && m.members > 1)
    if (orphaned.length > 0) {
      const names = orphaned.map((m) => `"${m.teamName}"`).join(', ')
      const error = new LastOwner(
        `you are the last owner of ${names}, which ${orphaned.length === 1 ? 'has' : 'have'} other members`,
      )
      Object.assign(error, { details: { teams: orphaned.map((m) => ({ id: m.teamId, name: m.teamName })) } })
      throw error
    }
    for (const membership of memberships) {
      if (membership.members === 1) {
        await teams.deleteTeam(tx.db, membership.teamId)
      } else {
        await teams.deleteMember(tx.db, membership.teamId, user.id)
        await recordAudit(tx.db, {
          teamId: membership.teamId,
          actor: input.actor,
          action: 'member.left',
          target: { type: 'user', id: user.id },
          data: { reason: 'account deleted', role: membership.role },
        })
      }
    }
    forgetMembership(
      tx,
      memberships.map((membership) => membership.teamId),
    )
    await deleteUser(tx.db, user.id)
    // Our own mailing list forgets them too (a job of this transaction).
    await deps.marketing.userDeleted(tx.db, { email: user.email })
    forgetUser(deps.cache, tx.afterCommit, { id: user.id, supertokensUserId: user.supertokens_user_id })
    return { supertokensUserId: user.supertokens_user_id }
  })

  // Sessions first: revoking them is what tells every worker to refuse their tokens (the core
  // drops a deleted user's sessions silently, so deleting first would leave nothing to revoke).
  // Their tokens are refused already either way: no user resolves from them any more.
  try {
    await Session.revokeAllSessionsForUser(supertokensUserId)
  } catch (error) {
    input.onCleanupError(error, 'revoke sessions')
  }
  try {
    await supertokens.deleteUser(supertokensUserId)
  } catch (error) {
    input.onCleanupError(error, 'delete sign-in user')
  }
}

/**
 * Ends every session of a user (sign out on every device). Through the Session recipe's own
 * `revokeAllSessionsForUser`, whose override tells every worker to refuse those sessions' tokens
 * at once, as a single sign-out does.
 */
export async function signOutEverywhere(input: { supertokensUserId: string }): Promise<number> {
  const revoked = await Session.revokeAllSessionsForUser(input.supertokensUserId)
  return revoked.length
}
