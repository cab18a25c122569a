import type { Deps } from '../../deps.ts'

/** What visitors' requests count against, made once per routes plugin (not per request). */
export type VisitorLimits = ReturnType<typeof visitorLimits>

/**
 * The limits every visitor-facing route counts against: per client address, per route (the
 * edge layer's per-route counter, as `config.rateLimit`), and per site (all its visitors
 * together), so one busy or abusive page cannot take the API from every other customer; and
 * how many impressions one client address may add to a site in an hour.
 *
 * Counting (see Counting in the edge layer): per client is batched (a flood costs no round trip
 * per request) except on the leads route, which says `limitCounting: 'exact'`; per site and the
 * impressions (a team's paid quota) are exact.
 */
export function visitorLimits(deps: Deps) {
  const { config } = deps
  return {
    perClient: { max: config.VISITOR_LIMIT_PER_CLIENT_PER_MINUTE, timeWindow: 60_000 },
    perSite: deps.limiter('visitor-site', {
      max: config.VISITOR_LIMIT_PER_SITE_PER_MINUTE,
      windowSeconds: 60,
      what: 'visitor requests for this site',
      // Leads count here too, and each can trigger deliveries (emails, webhooks): exact.
      counting: 'exact',
    }),
    impressions: deps.allowance('visitor-impressions', {
      max: config.VISITOR_IMPRESSIONS_PER_CLIENT_PER_HOUR,
      windowSeconds: 3600,
    }),
  }
}
