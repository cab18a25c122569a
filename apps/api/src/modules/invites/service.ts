import { createHash, randomBytes } from 'node:crypto'
import { dashboardOrigin } from '@nudge/config'
import type { Role } from '@nudge/db'
import { type Deps, inTransaction } from '../../deps.ts'
import {
  AlreadyMember,
  InviteEmailMismatch,
  InviteExpired,
  InviteRevoked,
  InviteUsed,
  NotFound,
  RoleNotAllowed,
} from '../../errors.ts'
import type { PageRequest } from '../../pagination.ts'
import { canGrant } from '../../permissions.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { checkPlanLimit } from '../billing/plan-limits.ts'
import * as teams from '../teams/repository.ts'
import { forgetMemberLists } from '../teams/service.ts'
import { inviteEmail, inviteLink } from './invite-email.ts'
import * as invites from './repository.ts'

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
  },
) {
  checkMayGrant(input.by.role, input.role)
  const email = input.email.trim().toLowerCase()
  const ttlDays = deps.config.INVITE_TTL_DAYS
  return inTransaction(deps, async (tx) => {
    // The team row lock orders this against accepts and membership changes of the team.
    const team = await teams.lockTeam(tx.db, input.teamId)
    if (!team) throw new NotFound('Team')
    if (await invites.memberRoleByEmail(tx.db, input.teamId, email)) throw new AlreadyMember()
    const previous = await invites.findPendingByEmail(tx.db, input.teamId, email)
    if (previous) {
      checkMayGrant(input.by.role, previous.role)
      await invites.revokeInvite(tx.db, previous.id)
      await recordAudit(tx.db, {
        teamId: input.teamId,
        actor: input.actor,
        action: 'invite.revoked',
        target: { type: 'invite', id: previous.id },
        data: { email: previous.email, role: previous.role, reason: 'replaced' },
      })
    }
    await checkPlanLimit(tx, { teamId: input.teamId, resource: 'members' })
    const token = newToken()
    const expiresAt = new Date(Date.now() + ttlDays * DAY_MS)
    const invite = await invites.insertInvite(tx.db, {
      teamId: input.teamId,
      email,
      role: input.role,
      tokenHash: hashToken(token),
      invitedBy: input.by.id,
      expiresAt,
    })
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'member.invited',
      target: { type: 'invite', id: invite.id },
      data: { email, role: input.role, ...(previous ? { replaces: previous.id } : {}) },
    })
    const inviter = await invites.findUserEmailAndName(tx.db, input.by.id)
    await deps.mailer.send(
      inviteEmail({
        to: email,
        link: inviteLink(dashboardOrigin(deps.config), token),
        teamName: team.name,
        inviter: inviter?.name || inviter?.email || 'A teammate',
        role: input.role,
        expiresAt,
        ttlDays,
      }),
    )
    return invite
  })
}

/** Pending invites of a team (expired ones included), newest first: a page of rows. */
export async function listPendingInvites(deps: Deps, input: { teamId: string; page: PageRequest }) {
  return invites.listPendingInvites(deps.db, input.teamId, input.page)
}

/**
 * Revokes a pending invite. Revoking one already revoked is a no-op; an accepted one is gone
 * (remove the member instead). An admin cannot revoke an owner's invite.
 */
export async function revokeInvite(
  deps: Deps,
  input: { teamId: string; inviteId: string; by: { id: string; role: Role }; actor: Actor },
) {
  return inTransaction(deps, async (tx) => {
    await teams.lockTeam(tx.db, input.teamId)
    const invite = await invites.lockInvite(tx.db, input.teamId, input.inviteId)
    if (!invite) throw new NotFound('Invite')
    if (invite.accepted_at) throw new InviteUsed()
    if (invite.revoked_at) return
    checkMayGrant(input.by.role, invite.role)
    await invites.revokeInvite(tx.db, invite.id)
    await recordAudit(tx.db, {
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
  return inTransaction(deps, async (tx) => {
    // Team row, then invite row: the order createInvite and revokeInvite lock in, so two
    // accepts of one invite run one after the other and the second finds it used.
    const team = await teams.lockTeam(tx.db, found.team_id)
    const invite = await invites.lockInvite(tx.db, found.team_id, found.id)
    if (!team || !invite) throw new NotFound('Invite')
    const user = await invites.findUserEmailAndName(tx.db, input.userId)
    if (!user || user.email.toLowerCase() !== invite.email.toLowerCase()) throw new InviteEmailMismatch()
    if (invite.accepted_at) throw new InviteUsed()
    if (invite.revoked_at) throw new InviteRevoked()
    if (invite.expires_at.getTime() <= Date.now()) throw new InviteExpired()
    if (!(await invites.markAccepted(tx.db, invite.id))) throw new InviteUsed()
    const current = await teams.findRole(tx.db, invite.team_id, input.userId)
    if (current) {
      await recordAudit(tx.db, {
        teamId: invite.team_id,
        actor: input.actor,
        action: 'invite.accepted',
        target: { type: 'invite', id: invite.id },
        data: { role: current, invitedRole: invite.role, alreadyMember: true },
      })
      return { team, role: current, joined: false }
    }
    await teams.insertMember(tx.db, { teamId: invite.team_id, userId: input.userId, role: invite.role })
    await recordAudit(tx.db, {
      teamId: invite.team_id,
      actor: input.actor,
      action: 'member.joined',
      target: { type: 'user', id: input.userId },
      data: { role: invite.role, inviteId: invite.id, invitedBy: invite.invited_by },
    })
    // A new member: nobody held an answer for them (see teams/memberships.ts), only the list changes.
    forgetMemberLists(deps.cache, tx.afterCommit, [invite.team_id])
    return { team, role: invite.role, joined: true }
  })
}
