import type { EdgeRequest } from './env.ts'

/** The response header that tells the popup script where its visitor is. */
export const COUNTRY_HEADER = 'x-nudge-country'

/**
 * The visitor's ISO 3166 alpha-2 country, or null when Cloudflare does not know it: `XX` is
 * unknown and `T1` is Tor, neither a country a campaign can target. The same rule as the API's
 * CF-IPCountry reader (libs/edge/src/client.ts), so both ends agree on what "unknown" is.
 */
export function countryOf(request: EdgeRequest): string | null {
  const code = request.cf?.country
  if (typeof code !== 'string' || !/^[A-Z]{2}$/.test(code) || code === 'XX') return null
  return code
}

/** Unknown leaves the header out (rather than empty), so the script tests for presence only. */
export function withCountry(headers: Headers, request: EdgeRequest): Headers {
  const country = countryOf(request)
  if (country !== null) headers.set(COUNTRY_HEADER, country)
  else headers.delete(COUNTRY_HEADER)
  return headers
}
