import { createRequire } from 'node:module'

/** The part of the NewRelic agent API the bridge uses. */
interface Agent {
  addCustomAttributes(attributes: Record<string, string | number | boolean>): void
  noticeError(error: Error, attributes?: Record<string, string | number | boolean>): void
}

/**
 * The agent is preloaded by PM2 (`node_args`) only when NEW_RELIC_LICENSE_KEY is set; in that
 * case requiring it returns the running agent. Otherwise nothing is loaded and the bridge is a no-op.
 */
export function loadAgent(licenseKey: string | undefined): Agent | undefined {
  if (!licenseKey) return undefined
  try {
    return createRequire(import.meta.url)('newrelic') as Agent
  } catch {
    return undefined
  }
}
