import { buildServer, CONTROL_PATH, type RequestRecord, StandInState } from './server.ts'

export { CONTROL_PATH, type RequestRecord, StandInState }

/** The development key `npm start` gives the stand-in (and the README uses). */
export const DEFAULT_API_KEY = 'mlsk-dev-stand-in'

export interface MailerliteStandIn {
  /** Base URL to set as MAILERLITE_API_URL (the API is under /api). */
  url: string
  state: StandInState
  close(): Promise<void>
}

/**
 * Starts an in-memory stand-in for Mailerlite's API on 127.0.0.1: groups, fields, subscribers
 * (upsert by email), Mailerlite's error shapes and its per-key limit of 120 requests a minute.
 * Development and tests only.
 */
export async function startMailerliteStandIn(
  options: {
    port?: number
    host?: string
    apiKeys?: string[]
    requestsPerMinute?: number
    logger?: boolean | Record<string, unknown>
  } = {},
): Promise<MailerliteStandIn> {
  if (process.env.NODE_ENV === 'production')
    throw new Error('the Mailerlite stand-in does not run in production')
  const state = new StandInState(options.apiKeys ?? [DEFAULT_API_KEY], options.requestsPerMinute ?? 120)
  const app = buildServer({ state, logger: options.logger ?? false })
  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
  return { url: address, state, close: () => app.close() }
}
