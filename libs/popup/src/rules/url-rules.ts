import type { UrlRule } from './types.ts'

/*
 * URL rules as content.ts documents them: the value is "a path ("/products/"), text, or a full
 * URL matched against the page URL". So a rule is read by its shape:
 * - a full URL ("https://shop.example.com/sale", "//shop.example.com/sale") is matched against the
 *   whole page URL (scheme and host compared without case, as URLs treat them);
 * - a path ("/products/") is matched against the page's path (and query, when the rule has one);
 * - any other text is matched against the whole page URL.
 * The fragment (#…) never counts: it does not name another page. Paths keep their case.
 */

const ABSOLUTE = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?\/\/([^/?#]*)(.*)$/

interface PageUrl {
  /** scheme://host/path?query, scheme and host lower case, no fragment */
  full: string
  /** //host/path?query, for protocol-relative rules */
  noScheme: string
  path: string
  pathAndQuery: string
}

export function pageUrl(href: string): PageUrl | null {
  let url: URL
  try {
    url = new URL(href)
  } catch {
    return null
  }
  const pathAndQuery = url.pathname + url.search
  return {
    full: `${url.protocol}//${url.host}${pathAndQuery}`,
    noScheme: `//${url.host}${pathAndQuery}`,
    path: url.pathname,
    pathAndQuery,
  }
}

/** The rule's value and the part of the page URL it is compared with. */
function subject(rule: UrlRule, page: PageUrl): { value: string; against: string } {
  const value = rule.value.trim()
  const absolute = ABSOLUTE.exec(value)
  if (absolute) {
    const [, scheme, host = '', rest = ''] = absolute
    const head =
      scheme === undefined ? `//${host.toLowerCase()}` : `${scheme.toLowerCase()}://${host.toLowerCase()}`
    return { value: head + rest, against: scheme === undefined ? page.noScheme : page.full }
  }
  if (value.startsWith('/')) return { value, against: value.includes('?') ? page.pathAndQuery : page.path }
  return { value, against: page.full }
}

function globMatches(glob: string, text: string): boolean {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')
  return new RegExp(`^${escaped}$`).test(text)
}

export function urlRuleMatches(rule: UrlRule, page: PageUrl): boolean {
  const { value, against } = subject(rule, page)
  switch (rule.match) {
    case 'exact':
      return against === value
    case 'prefix':
      return against.startsWith(value)
    case 'contains':
      return against.includes(value)
    case 'glob':
      return globMatches(value, against)
    default:
      return false
  }
}

export const describeRule = (rule: UrlRule) => `${rule.match} "${rule.value}"`
