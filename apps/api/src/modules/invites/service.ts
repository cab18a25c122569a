import { createHash, randomBytes } from 'node:crypto'
import type { Cache } from '@nudge/cache'
import { type DB, type Role, transaction } from '@nudge/db'
import type { Mailer } from '@nudge/mailer'
import type { Kysely } from 'kysely'
import {
  AlreadyMember,
  InviteEmailMismatch,
  InviteExpired,
  InviteRevoked,
  InviteUsed,
  NotFound,
  RoleNotAllowed,
} from '../../errors.ts'
import { canGrant } from '../../permissions.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { checkPlanLimit } from '../billing/plan-limits.ts'
import * as teams from '../teams/repository.ts'
import { forgetMembership } from '../teams/service.ts'
import { inviteEmail, inviteLink } from './invite-email.ts'
import * as invites from './repository.ts'

export interface Deps {
  db: Kysely<DB>
  cache: Cache
  mailer: Mailer
}

const DAY_MS = 24 * 60 * 60 * 1000

/** 256 random bits, base64url: what the link carries. Only its hash is stored. */
function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/** An admin invites (and replaces invites) up to admin; only owners invite owners. */
function checkMayGrant(by: Role, role: Role) {
  if (!canGrant(by, role)) throw new RoleNotAllowed(`An ${by} cannot invite anyone as ${role}`)
}

/**
 * Invites an address to a team and emails it the link. Inviting an address with a pending
 * invite replaces it (the old link stops working). The email is sent before the commit: a
 * failed send (503/422) leaves no invite behind, and a 201 means the email went out.
 */
export async function createInvite(
  deps: Deps,
  input: {
    teamId: string
    email: string
    role: Role
    by: { id: string; role: Role }
    actor: Actor
    ttlDays: number
    dashboardOrigin: string
  },
) {
  checkMayGrant(input.by.role, input.role)
  const email = input.email.trim().toLowerCase()
  return transaction(deps.db, async (trx) => {
    // The team row lock orders this against accepts and membership changes of the team.
    const team = await teams.lockTeam(trx, input.teamId)
    if (!team) throw new NotFound('Team')
    if (await invites.memberRoleByEmail(trx, input.teamId, email)) throw new AlreadyMember()
    const previous = await invites.findPendingByEmail(trx, input.teamId, email)
    if (previous) {
      checkMayGrant(input.by.role, previous.role)
      await invites.revokeInvite(trx, previous.id)
      await recordAudit(trx, {
        teamId: input.teamId,
        actor: input.actor,
        action: 'invite.revoked',
        target: { type: 'invite', id: previous.id },
        data: { email: previous.email, role: previous.role, reason: 'replaced' },
      })
    }
    await checkPlanLimit({ db: trx }, { teamId: input.teamId, resource: 'members' })
    const token = newToken()
    const expiresAt = new Date(Date.now() + input.ttlDays * DAY_MS)
    const invite = await invites.insertInvite(trx, {
      teamId: input.teamId,
      email,
      role: input.role,
      tokenHash: hashToken(token),
      invitedBy: input.by.id,
      expiresAt,
    })
    await recordAudit(trx, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'member.invited',
      target: { type: 'invite', id: invite.id },
      data: { email, role: input.role, ...(previous ? { replaces: previous.id } : {}) },
    })
    const inviter = await invites.findUserEmailAndName(trx, input.by.id)
    await deps.mailer.send(
      inviteEmail({
        to: email,
        link: inviteLink(input.dashboardOrigin, token),
        teamName: team.name,
        inviter: inviter?.name || inviter?.email || 'A teammate',
        role: input.role,
        expiresAt,
        ttlDays: input.ttlDays,
      }),
    )
    return invite
  })
}

/**
 * Revokes a pending invite. Revoking one already revoked is a no-op; an accepted one is gone
 * (remove the member instead). An admin cannot revoke an owner's invite.
 */
export async function revokeInvite(
  deps: Deps,
  input: { teamId: string; inviteId: string; by: { id: string; role: Role }; actor: Actor },
) {
  return transaction(deps.db, async (trx) => {
    await teams.lockTeam(trx, input.teamId)
    const invite = await invites.lockInvite(trx, input.teamId, input.inviteId)
    if (!invite) throw new NotFound('Invite')
    if (invite.accepted_at) throw new InviteUsed()
    if (invite.revoked_at) return
    checkMayGrant(input.by.role, invite.role)
    await invites.revokeInvite(trx, invite.id)
    await recordAudit(trx, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'invite.revoked',
      target: { type: 'invite', id: invite.id },
      data: { email: invite.email, role: invite.role },
    })
  })
}

/**
 * Accepts an invite for the signed-in user, whose email must be the invited one (any case).
 * Accepting while already a member (an address that joined otherwise) marks the invite used and
 * keeps the current role: idempotent, never a second membership row.
 */
export async function acceptInvite(deps: Deps, input: { token: string; userId: string; actor: Actor }) {
  const found = await invites.findInviteByTokenHash(deps.db, hashToken(input.token))
  if (!found) throw new NotFound('Invite')
  return transaction(deps.db, async (trx, afterCommit) => {
    // Team row, then invite row: the order createInvite and revokeInvite lock in, so two
    // accepts of one invite run one after the other and the second finds it used.
    const team = await teams.lockTeam(trx, found.team_id)
    const invite = await invites.lockInvite(trx, found.team_id, found.id)
    if (!team || !invite) throw new NotFound('Invite')
    const user = await invites.findUserEmailAndName(trx, input.userId)
    if (!user || user.email.toLowerCase() !== invite.email.toLowerCase()) throw new InviteEmailMismatch()
    if (invite.accepted_at) throw new InviteUsed()
    if (invite.revoked_at) throw new InviteRevoked()
    if (invite.expires_at.getTime() <= Date.now()) throw new InviteExpired()
    if (!(await invites.markAccepted(trx, invite.id))) throw new InviteUsed()
    const current = await teams.findRole(trx, invite.team_id, input.userId)
    if (current) {
      await recordAudit(trx, {
        teamId: invite.team_id,
        actor: input.actor,
        action: 'invite.accepted',
        target: { type: 'invite', id: invite.id },
        data: { role: current, invitedRole: invite.role, alreadyMember: true },
      })
      return { team, role: current, joined: false }
    }
    await teams.insertMember(trx, { teamId: invite.team_id, userId: input.userId, role: invite.role })
    await recordAudit(trx, {
      teamId: invite.team_id,
      actor: input.actor,
      action: 'member.joined',
      target: { type: 'user', id: input.userId },
      data: { role: invite.role, inviteId: invite.id, invitedBy: invite.invited_by },
    })
    forgetMembership(deps.cache, afterCommit, invite.team_id, [input.userId])
    return { team, role: invite.role, joined: true }
  })
}
