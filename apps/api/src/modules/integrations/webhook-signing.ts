import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'

/** A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

/** A webhook integration's signing secrets: the current one first, then one still overlapping. */
export interface WebhookSecrets {
  current: string
  previous?: { secret: string; until: string } | undefined
}

export function activeWebhookSecrets(stored: string, now = Date.now()): string[] {
  const secrets = JSON.parse(stored) as WebhookSecrets
  const overlapping =
    secrets.previous && Date.parse(secrets.previous.until) > now ? [secrets.previous.secret] : []
  return [secrets.current, ...overlapping]
}

/**
 * The Standard Webhooks headers of one attempt: its id (the same for every retry), its time, and
 * one `v1,` signature of `id.timestamp.body` per secret (two during a rotation's overlap; a
 * receiver accepts the message when any of them matches its secret).
 */
export function webhookHeaders(input: { id: string; timestamp: Date; body: string; secrets: string[] }) {
  const signatures = input.secrets.map((secret) =>
    new Webhook(secret).sign(input.id, input.timestamp, input.body),
  )
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(Math.floor(input.timestamp.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  }
}
