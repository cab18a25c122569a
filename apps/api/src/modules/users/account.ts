import type { Cache } from '@nudge/cache'
import { type DB, transaction } from '@nudge/db'
import type { Marketing } from '@nudge/marketing'
import type { Kysely } from 'kysely'
import supertokens from 'supertokens-node'
import Session from 'supertokens-node/recipe/session'
import { LastOwner, NotFound } from '../../errors.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import * as teams from '../teams/repository.ts'
import { forgetMembership } from '../teams/service.ts'
import { deleteUser, lockUser, membershipSummaries, teamIdsOf } from './repository.ts'
import { forgetUser } from './service.ts'

export interface AccountDeps {
  db: Kysely<DB>
  cache: Cache
  marketing: Marketing
  /** Sign-in cleanup that failed after the account was deleted: reported, not answered. */
  onCleanupError(error: unknown, step: 'revoke sessions' | 'delete sign-in user'): void
}

/**
 * Deletes a user's account: every team they were alone in goes with it, every other team keeps
 * its data and records that they left. Refused while they are the last owner of a team that has
 * other members (it would be left without an owner). Then their sign-in identity and every
 * session are removed from SuperTokens.
 */
export async function deleteAccount(deps: AccountDeps, input: { userId: string; actor: Actor }) {
  const { supertokensUserId } = await transaction(deps.db, async (trx, afterCommit) => {
    const user = await lockUser(trx, input.userId)
    if (!user) throw new NotFound('User')
    // Teams are locked in id order, as every change to a team's members locks it: an owner leaving
    // at the same time waits for us (or we for them), so the last-owner check cannot race.
    for (const teamId of await teamIdsOf(trx, user.id)) await teams.lockTeam(trx, teamId)
    const memberships = await membershipSummaries(trx, user.id)
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
        await teams.deleteTeam(trx, membership.teamId)
      } else {
        await teams.deleteMember(trx, membership.teamId, user.id)
        await recordAudit(trx, {
          teamId: membership.teamId,
          actor: input.actor,
          action: 'member.left',
          target: { type: 'user', id: user.id },
          data: { reason: 'account deleted', role: membership.role },
        })
      }
      forgetMembership(deps.cache, afterCommit, membership.teamId, [user.id])
    }
    await deleteUser(trx, user.id)
    // Our own mailing list forgets them too (a job of this transaction).
    await deps.marketing.userDeleted(trx, { email: user.email })
    forgetUser(deps.cache, afterCommit, { id: user.id, supertokensUserId: user.supertokens_user_id })
    return { supertokensUserId: user.supertokens_user_id }
  })

  // Sessions first: revoking them is what tells every worker to refuse their tokens (the core
  // drops a deleted user's sessions silently, so deleting first would leave nothing to revoke).
  // Their tokens are refused already either way: no user resolves from them any more.
  try {
    await Session.revokeAllSessionsForUser(supertokensUserId)
  } catch (error) {
    deps.onCleanupError(error, 'revoke sessions')
  }
  try {
    await supertokens.deleteUser(supertokensUserId)
  } catch (error) {
    deps.onCleanupError(error, 'delete sign-in user')
  }
}
