import { buildServer, StandInState } from './server.ts'

export type { Account, Field, Group, RequestRecord, Subscriber, SubscriberStatus } from './server.ts'
export { API_BASE_PATH, CONTROL_PATH, StandInState, SUBSCRIBER_STATUSES } from './server.ts'

/** The development key `npm start` gives the stand-in (and the README uses). */
export const DEFAULT_API_KEY = 'mlsk-dev-stand-in'
/** Mailerlite's documented limit: 120 requests a minute per API key. */
export const DEFAULT_REQUESTS_PER_MINUTE = 120

export interface StartMailerliteStandInOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  host?: string
  /** The keys it accepts, each its own account (own groups, fields, subscribers, rate limit). */
  apiKeys?: string[]
  /** Per key, in fixed one-minute windows; 120 as Mailerlite's. */
  requestsPerMinute?: number
  logger?: boolean | Record<string, unknown>
}

export interface MailerliteStandIn {
  /**
   * Scheme, host and port: MAILERLITE_API_URL, the client's `baseUrl` (the API is under `/api`,
   * the test controls under `/__stand-in`).
   */
  url: string
  /** Everything it remembers, with the controls (`failNext`, `setDown`, `revokeKey`, `reset`…). */
  state: StandInState
  close(): Promise<void>
}

/**
 * Starts an in-memory stand-in for Mailerlite's API: groups, fields, subscribers (upsert by
 * email), Mailerlite's error shapes and its per-key limit of 120 requests a minute.
 * Development and tests only.
 */
export async function startMailerliteStandIn(
  options: StartMailerliteStandInOptions = {},
): Promise<MailerliteStandIn> {
  // It accepts its own keys and sends no email: production must talk to connect.mailerlite.com.
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      'The Mailerlite API stand-in is for development and tests only; in production leave MAILERLITE_API_URL unset so calls reach connect.mailerlite.com',
    )
  }
  const state = new StandInState(
    options.apiKeys ?? [DEFAULT_API_KEY],
    options.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE,
  )
  const app = buildServer({ state, logger: options.logger ?? false })
  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') {
    await app.close()
    throw new Error('Mailerlite stand-in did not bind a TCP port')
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}`,
    state,
    close: async () => {
      await app.close()
    },
  }
}
