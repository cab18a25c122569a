import { isIP } from 'node:net'
import { domainToASCII, domainToUnicode } from 'node:url'
import { Type } from 'typebox'

/** What the add-site route accepts: a hostname or a pasted URL, reduced by normaliseHostname. */
export const HostnameInput = Type.String({
  minLength: 1,
  maxLength: 300,
  description:
    'the site’s hostname, e.g. "shop.example.com"; a pasted URL (https://shop.example.com/path) is reduced to it',
  examples: ['shop.example.com'],
})

const ENTER_DOMAIN = 'enter the site’s domain name, e.g. shop.example.com'

/**
 * The hostname a site is stored and served under (domains/{hostname}.json, the Origin check of
 * visitors' requests): lower case, punycode, no scheme, port, path or trailing dot. Takes what
 * people paste, so `https://Shop.Example.com:8443/path?q#x` and `Shop.Example.COM.` both give
 * `shop.example.com`, and `bücher.de` gives `xn--bcher-kva.de`. Problems are phrased to follow
 * the field's name ("is an IP address: …").
 */
export function normaliseHostname(input: string): { hostname: string } | { problem: string } {
  let host = input.trim()
  if (host === '') return { problem: `is empty: ${ENTER_DOMAIN}` }
  if ([...host].some((char) => /\s/.test(char) || char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) {
    return { problem: `must not contain spaces: ${ENTER_DOMAIN}` }
  }

  // scheme://, or a protocol-relative //
  host = host.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '').replace(/^\/\//, '')
  // path, query, fragment (a backslash ends the host for browsers too)
  host = host.split(/[/?#\\]/, 1)[0]!
  // user:password@
  host = host.slice(host.lastIndexOf('@') + 1)
  if (host.startsWith('[')) return { problem: `is an IP address: ${ENTER_DOMAIN}` }
  if (isIP(host) === 6) return { problem: `is an IP address: ${ENTER_DOMAIN}` }
  const port = /:([^:]*)$/.exec(host)
  if (port) {
    if (!/^[0-9]{1,5}$/.test(port[1]!)) return { problem: `has a ":" that is not followed by a port number` }
    host = host.slice(0, port.index)
  }
  if (host.endsWith('.')) host = host.slice(0, -1)
  if (host === '') return { problem: `has no hostname in it: ${ENTER_DOMAIN}` }
  if (host.includes('%')) {
    return { problem: 'must not contain % (write the hostname as it is, not URL-encoded)' }
  }
  if (host.includes('*')) {
    return { problem: 'must not contain wildcards (*): add each hostname as its own site' }
  }
  if (isIP(host) === 4) return { problem: `is an IP address: ${ENTER_DOMAIN}` }

  const lower = host.toLowerCase()
  const ascii = /^[\x21-\x7e]*$/.test(lower) ? lower : domainToASCII(lower)
  if (ascii === '') return { problem: `is not a valid international domain name: ${ENTER_DOMAIN}` }
  if (ascii === 'localhost' || ascii.endsWith('.localhost')) {
    return { problem: `is localhost, which visitors cannot reach: ${ENTER_DOMAIN}` }
  }
  if (isIP(ascii) !== 0) return { problem: `is an IP address: ${ENTER_DOMAIN}` }
  if (ascii.length > 253) return { problem: 'is longer than 253 characters' }

  const labels = ascii.split('.')
  if (labels.length < 2) {
    return { problem: `must have at least two parts (like example.com): ${ENTER_DOMAIN}` }
  }
  for (const label of labels) {
    if (label === '') return { problem: 'has an empty part between dots' }
    if (label.length > 63)
      return { problem: `has a part longer than 63 characters ("${label.slice(0, 20)}…")` }
    if (!/^[a-z0-9-]+$/.test(label)) {
      return {
        problem: `has a part with characters other than letters, digits and - ("${label.slice(0, 63)}")`,
      }
    }
    if (label.startsWith('-') || label.endsWith('-')) {
      return { problem: `has a part that starts or ends with - ("${label}")` }
    }
    if (label.startsWith('xn--') && !isPunycode(label)) {
      return { problem: `has a part that starts with xn-- but is not valid punycode ("${label}")` }
    }
  }
  const top = labels.at(-1)!
  if (!/^[a-z]+$/.test(top) && !/^xn--[a-z0-9-]+$/.test(top)) {
    return { problem: `ends in "${top}", which is not a top-level domain: ${ENTER_DOMAIN}` }
  }
  return { hostname: ascii }
}

/**
 * An `xn--` label is an international name written in punycode: it must decode, and encode back
 * to itself. domainToASCII passes ASCII through untouched, so `xn--zz` would otherwise be stored
 * as a hostname no browser sends as an Origin (domainToUnicode leaves undecodable labels as they are).
 */
function isPunycode(label: string): boolean {
  const unicode = domainToUnicode(label)
  return unicode !== '' && unicode !== label && domainToASCII(unicode) === label
}
