import { type Config, dashboardOrigin, durationsMs } from '@nudge/config'
import { createMailerliteClient } from '@nudge/marketing'
import type { OutboundPolicy } from './outbound.ts'
import { DEV_SECRETS_KEYRING, type Keyring, parseKeyring } from './secrets.ts'

/** What the integrations module reads from config, in the shape it uses. */
export interface DeliverySettings {
  keyring: Keyring
  /** Waits before each retry; attempts = retries + 1. */
  retrySchedule: number[]
  timeoutMs: number
  pauseAfterFailedLeads: number
  policy: OutboundPolicy
  mailerliteUrl: string
  mailerliteRequestsPerMinute: number
  dashboardOrigin: string
}

const parsed = new WeakMap<Config, DeliverySettings>()

/** The module's settings, derived once per config object (parsing the keyring is not free). */
export function deliverySettings(config: Config): DeliverySettings {
  let settings = parsed.get(config)
  if (!settings) {
    settings = {
      keyring: parseKeyring(config.SECRETS_ENCRYPTION_KEYS ?? DEV_SECRETS_KEYRING),
      retrySchedule: durationsMs(config.DELIVERY_RETRY_SCHEDULE),
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      pauseAfterFailedLeads: config.DELIVERY_PAUSE_AFTER_FAILED_LEADS,
      policy: {
        allowLoopback: config.OUTBOUND_ALLOW_LOOPBACK,
        requireHttps: config.NODE_ENV === 'production',
      },
      mailerliteUrl: config.MAILERLITE_API_URL,
      mailerliteRequestsPerMinute: config.MAILERLITE_REQUESTS_PER_MINUTE,
      dashboardOrigin: dashboardOrigin(config),
    }
    parsed.set(config, settings)
  }
  return settings
}

/** A Mailerlite client for one account's API key, with the module's base URL and timeout. */
export function mailerliteClient(config: Config, apiKey: string) {
  const { mailerliteUrl, timeoutMs } = deliverySettings(config)
  return createMailerliteClient({ apiKey, baseUrl: mailerliteUrl, timeoutMs })
}

/** How long after its claim an attempt can still be running: past it, its worker is taken as dead. */
export function claimStaleMs(config: Config): number {
  return deliverySettings(config).timeoutMs + 5000
}
