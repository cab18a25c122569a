import type { Device, Targeting, Verdict } from './types.ts'
import { describeRule, pageUrl, urlRuleMatches } from './url-rules.ts'

export interface Visitor {
  /** the page's URL (location.href) */
  url: string
  device: Device
  /** ISO 3166-1 alpha-2, from the edge's response header; null when unknown */
  country: string | null
  /** whether this browser has seen the site before */
  returning: boolean
  /** navigator.languages, most preferred first */
  languages: readonly string[]
}

/**
 * Whether the campaign's targeting lets this visitor see it, naming the first rule that does not.
 * Each missing rule means "everyone", as content.ts documents; an empty targeting shows to all.
 */
export function matchesTargeting(targeting: Targeting | undefined, visitor: Visitor): Verdict {
  const checks = [urlsVerdict, devicesVerdict, countriesVerdict, visitorsVerdict, languagesVerdict]
  for (const check of checks) {
    const verdict = check(targeting ?? {}, visitor)
    if (!verdict.show) return verdict
  }
  return { show: true, reason: 'targeting: every rule matches' }
}

function urlsVerdict({ urls }: Targeting, visitor: Visitor): Verdict {
  const include = urls?.include ?? []
  const exclude = urls?.exclude ?? []
  if (include.length === 0 && exclude.length === 0) return { show: true, reason: 'urls: every page' }
  const page = pageUrl(visitor.url)
  if (!page) return { show: false, reason: `urls: the page URL "${visitor.url}" cannot be read` }
  const excluded = exclude.find((rule) => urlRuleMatches(rule, page))
  if (excluded) return { show: false, reason: `urls: excluded by ${describeRule(excluded)}` }
  if (include.length > 0 && !include.some((rule) => urlRuleMatches(rule, page))) {
    return { show: false, reason: `urls: no include rule matches (${include.map(describeRule).join(', ')})` }
  }
  return { show: true, reason: 'urls: the page matches' }
}

function devicesVerdict({ devices }: Targeting, visitor: Visitor): Verdict {
  if (!devices || devices.length === 0) return { show: true, reason: 'devices: all' }
  if (devices.includes(visitor.device)) return { show: true, reason: `devices: ${visitor.device} is listed` }
  return { show: false, reason: `devices: ${visitor.device} is not one of ${devices.join(', ')}` }
}

function countriesVerdict({ countries }: Targeting, visitor: Visitor): Verdict {
  if (!countries) return { show: true, reason: 'countries: all' }
  const country = visitor.country?.toUpperCase() ?? null
  const listed = country !== null && countries.codes.includes(country)
  const named = country ?? 'unknown country'
  if (countries.mode === 'allow') {
    // "only these countries": a visitor whose country is unknown is not one of them.
    return listed
      ? { show: true, reason: `countries: ${named} is allowed` }
      : { show: false, reason: `countries: ${named} is not in the allow list` }
  }
  return listed
    ? { show: false, reason: `countries: ${named} is in the deny list` }
    : { show: true, reason: `countries: ${named} is not denied` }
}

function visitorsVerdict({ visitors }: Targeting, visitor: Visitor): Verdict {
  const kind = visitor.returning ? 'returning' : 'new'
  if (!visitors || visitors === 'all') return { show: true, reason: 'visitors: all' }
  if (visitors === kind) return { show: true, reason: `visitors: ${kind}` }
  return { show: false, reason: `visitors: only ${visitors} visitors (this one is ${kind})` }
}

/**
 * BCP 47 tags compare without case; a rule "de" covers "de-AT" (its region), "pt-BR" covers
 * only Brazilian Portuguese. Any of the browser's languages may match, not only the first.
 */
export function languageMatches(rule: string, tag: string): boolean {
  const r = rule.toLowerCase()
  const t = tag.toLowerCase()
  return t === r || t.startsWith(`${r}-`)
}

function languagesVerdict({ languages }: Targeting, visitor: Visitor): Verdict {
  if (!languages || languages.length === 0) return { show: true, reason: 'languages: any' }
  const match = visitor.languages.find((tag) => languages.some((rule) => languageMatches(rule, tag)))
  if (match) return { show: true, reason: `languages: ${match} matches` }
  const spoken = visitor.languages.length > 0 ? visitor.languages.join(', ') : 'none known'
  return { show: false, reason: `languages: ${spoken} not in ${languages.join(', ')}` }
}
