/** Who asked for a link, so the recipient can tell a request of theirs from someone else's. */
export interface Requester {
  ip?: string | undefined
  userAgent?: string | undefined
  at: Date
}

const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )

function minutes(ms: number): string {
  const value = Math.round(ms / 60000)
  return value === 1 ? '1 minute' : `${value} minutes`
}

/** The sign-in email: an HTML and a plain-text part with the link, its lifetime and who asked. */
export function magicLinkEmail(input: {
  to: string
  link: string
  lifetimeMs: number
  requester: Requester
}) {
  const { link, lifetimeMs, requester } = input
  const asked = [
    `at ${requester.at.toUTCString()}`,
    requester.ip ? `from IP address ${requester.ip}` : undefined,
    requester.userAgent ? `using ${requester.userAgent}` : undefined,
  ]
    .filter(Boolean)
    .join(', ')
  const text = [
    'Sign in to nudge',
    '',
    `Open this link to sign in. It works once and expires in ${minutes(lifetimeMs)}:`,
    '',
    link,
    '',
    `The link was requested ${asked}.`,
    'If this was not you, ignore this email: nobody can sign in without the link.',
  ].join('\n')
  const html = `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2937">
  <h1 style="font-size: 20px">Sign in to nudge</h1>
  <p>Click the button to sign in. The link works once and expires in ${minutes(lifetimeMs)}.</p>
  <p><a href="${escapeHtml(link)}" style="display: inline-block; padding: 10px 18px; background: #4f46e5; color: #fff; border-radius: 6px; text-decoration: none">Sign in</a></p>
  <p style="font-size: 13px; color: #6b7280">Or paste this address into your browser:<br>${escapeHtml(link)}</p>
  <p style="font-size: 13px; color: #6b7280">The link was requested ${escapeHtml(asked)}.
  If this was not you, ignore this email: nobody can sign in without the link.</p>
</body></html>`
  return { to: input.to, subject: 'Your nudge sign-in link', text, html }
}
