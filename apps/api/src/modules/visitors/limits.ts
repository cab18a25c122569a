import type { Deps } from '../../deps.ts'

/**
 * The limits every visitor-facing route counts against: per client address, per route (the
 * edge layer's per-route counter, as `config.rateLimit`), and per site (all its visitors
 * together), so one busy or abusive page cannot take the API from every other customer.
 */
export function visitorLimits(deps: Deps) {
  const { config } = deps
  return {
    perClient: { max: config.VISITOR_LIMIT_PER_CLIENT_PER_MINUTE, timeWindow: 60_000 },
    perSite: deps.limiter('visitor-site', {
      max: config.VISITOR_LIMIT_PER_SITE_PER_MINUTE,
      windowSeconds: 60,
      what: 'visitor requests for this site',
    }),
  }
}
