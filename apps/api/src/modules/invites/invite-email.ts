import type { Role } from '@nudge/db'
import { escapeHtml, oneLine } from '@nudge/mailer'

const article = (role: Role) => (role === 'admin' || role === 'owner' || role === 'editor' ? 'an' : 'a')

/**
 * The dashboard page that accepts an invite; the token goes in the fragment, which browsers
 * send neither to servers nor in Referer, so it stays out of every access log.
 */
export function inviteLink(dashboardOrigin: string, token: string): string {
  return `${dashboardOrigin.replace(/\/+$/, '')}/invites/accept#${token}`
}

/** The invite email: an HTML and a plain-text part with the link, the role, who invited and until when. */
export function inviteEmail(input: {
  to: string
  link: string
  teamName: string
  inviter: string
  role: Role
  expiresAt: Date
  ttlDays: number
}) {
  const team = oneLine(input.teamName)
  const inviter = oneLine(input.inviter)
  const days = input.ttlDays === 1 ? '1 day' : `${input.ttlDays} days`
  const role = `${article(input.role)} ${input.role}`
  const text = [
    `Join ${team} on nudge`,
    '',
    `${inviter} invited you to join the team ${team} on nudge as ${role}.`,
    `Open this link to accept. It works once and expires in ${days} (${input.expiresAt.toUTCString()}):`,
    '',
    input.link,
    '',
    `No nudge account yet? The link asks you to sign in with this address (${input.to}) first.`,
    'If you did not expect this invite, ignore this email: nothing happens without the link.',
  ].join('\n')
  const html = `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2937">
  <h1 style="font-size: 20px">Join ${escapeHtml(team)} on nudge</h1>
  <p>${escapeHtml(inviter)} invited you to join the team <strong>${escapeHtml(team)}</strong> on nudge as ${escapeHtml(role)}.</p>
  <p><a href="${escapeHtml(input.link)}" style="display: inline-block; padding: 10px 18px; background: #4f46e5; color: #fff; border-radius: 6px; text-decoration: none">Accept the invite</a></p>
  <p style="font-size: 13px; color: #6b7280">Or paste this address into your browser:<br>${escapeHtml(input.link)}</p>
  <p style="font-size: 13px; color: #6b7280">The link works once and expires in ${days} (${escapeHtml(input.expiresAt.toUTCString())}).
  No nudge account yet? You will be asked to sign in with this address (${escapeHtml(input.to)}) first.
  If you did not expect this invite, ignore this email: nothing happens without the link.</p>
</body></html>`
  return { to: input.to, subject: oneLine(`${inviter} invited you to ${team} on nudge`), text, html }
}
