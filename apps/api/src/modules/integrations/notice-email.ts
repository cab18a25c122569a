import { escapeHtml, type MailMessage, oneLine } from '@nudge/mailer'

/** "Your integration stopped": sent to a team's owners and admins when deliveries pause or stop. */
export function noticeEmail(input: {
  to: string
  teamName: string
  integrationName: string
  status: string
  reason: string
  link: string
}): MailMessage {
  const what = input.status === 'disabled' ? 'was disabled' : 'was paused'
  const next =
    input.status === 'disabled'
      ? 'Leads that arrive meanwhile are kept, not sent. Fix the receiver, then set the integration active again: the kept leads are delivered then, and leads that failed can be redelivered.'
      : 'Leads keep being stored and wait for it. Fix the cause, then resume it: what piled up is delivered then.'
  const subject = oneLine(`nudge: "${input.integrationName}" ${what}`)
  const text = `The integration "${input.integrationName}" of the team ${input.teamName} ${what}: ${input.reason}.

${next}

${input.link}
`
  const html = `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2937">
  <h1 style="font-size: 20px">"${escapeHtml(input.integrationName)}" ${what}</h1>
  <p>The integration <strong>${escapeHtml(input.integrationName)}</strong> of the team ${escapeHtml(input.teamName)} ${what}: ${escapeHtml(input.reason)}.</p>
  <p>${escapeHtml(next)}</p>
  <p><a href="${escapeHtml(input.link)}">Open the integration</a></p>
</body></html>`
  return { to: input.to, subject, text, html }
}
