import { escapeHtml, type MailMessage, oneLine } from '@nudge/mailer'

export type BillingNoticeKind = 'payment_failed' | 'trial_will_end' | 'impressions_80' | 'impressions_100'

/** Billing news for a team's owners: a failed payment, a trial ending, the impression quota. */
export function billingNoticeEmail(input: {
  to: string
  teamName: string
  kind: BillingNoticeKind
  link: string
  graceEndsAt?: string | undefined
}): MailMessage {
  const until = input.graceEndsAt ? new Date(input.graceEndsAt).toUTCString() : 'a few days'
  const notices: Record<BillingNoticeKind, [string, string]> = {
    payment_failed: [
      `nudge: a payment for ${input.teamName} failed`,
      `Stripe could not take the payment for the team ${input.teamName}. Your plan stays as it is until ${until}; after that the free plan's limits apply. Update the card in the billing page to keep it.`,
    ],
    trial_will_end: [
      `nudge: the trial of ${input.teamName} ends soon`,
      `The trial of the team ${input.teamName} ends in a few days. Choose a plan in the billing page to keep your campaigns and limits.`,
    ],
    impressions_80: [
      `nudge: ${input.teamName} has used 80% of its impressions`,
      `The team ${input.teamName} has used 80% of this period's impressions. At 100% (and a short grace) the popups stop showing until the period renews or the plan is upgraded.`,
    ],
    impressions_100: [
      `nudge: ${input.teamName} has used all its impressions`,
      `The team ${input.teamName} has used all of this period's impressions. After a short grace the popups stop showing until the period renews or the plan is upgraded.`,
    ],
  }
  const [rawSubject, body] = notices[input.kind]
  const subject = oneLine(rawSubject)
  const text = `${body}\n\n${input.link}\n`
  const html = `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2937">
  <p>${escapeHtml(body)}</p>
  <p><a href="${escapeHtml(input.link)}">Open billing</a></p>
</body></html>`
  return { to: input.to, subject, text, html }
}
