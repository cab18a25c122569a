import { escapeHtml, type MailMessage, oneLine } from '@nudge/mailer'

/** The job that sends a billing notice, sent in the transaction that decided it (jobs.ts runs it). */
export const BILLING_NOTICE_JOB = 'billing.notice'

export type BillingNoticeKind =
  | 'payment_failed'
  | 'trial_will_end'
  | 'impressions_80'
  | 'impressions_100'
  | 'impressions_suspended'

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
      `The team ${input.teamName} has used 80% of this period's impressions. Your popups keep showing; to stay within your plan, upgrade it in the billing page.`,
    ],
    impressions_100: [
      `nudge: ${input.teamName} has used all its impressions`,
      `The team ${input.teamName} has used all of this period's impressions. Your popups keep showing until ${until}; if the team is still past its quota then, they stop showing until the period renews. Upgrade the plan in the billing page to keep them showing.`,
    ],
    impressions_suspended: [
      `nudge: the popups of ${input.teamName} have stopped showing`,
      `The team ${input.teamName} is past this period's impressions and its grace has ended, so its popups no longer show. They show again when the period renews, or at once when the plan is upgraded in the billing page.`,
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
