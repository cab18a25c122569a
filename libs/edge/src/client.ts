import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import { compile } from '@fastify/proxy-addr'
import type { FastifyRequest } from 'fastify'
import ipaddr from 'ipaddr.js'
import { LRUCache } from 'lru-cache'

/** Who is on the other end of a request, as far as we can trust the headers. */
export interface Edge {
  /** The request came through our edge (Cloudflare's addresses, or it carried the edge secret). */
  viaEdge: boolean
  /**
   * The visitor's address: X-Real-IP from our Worker (with the edge secret), else CF-Connecting-IP
   * through the edge, else Fastify's `request.ip`.
   */
  clientIp: string
  /** ISO 3166 alpha-2 from CF-IPCountry through the edge; null when unknown or not via the edge. */
  country: string | null
  /** What request limits count per: `clientKey(clientIp)`. */
  clientKey: string
}

export const EDGE_SECRET_HEADER = 'x-edge-secret'

/**
 * Builds the trusted-edge check. `request.ip` is already the peer as Fastify sees it: the socket
 * address, or the X-Forwarded-For hop behind one of TRUSTED_PROXIES (Fastify's `trustProxy`).
 * Only when that peer is the edge are the edge's own headers believed; anyone else can write them.
 */
export function edgeReader(options: { ranges: string[]; secret: string | undefined }) {
  const inRanges = options.ranges.length > 0 ? compile(options.ranges) : () => false
  // Parsing an address and matching it against every range costs more than the rest of a cached
  // request, so both answers are remembered per address (bounded: an LRU each).
  const edgePeers = new LRUCache<string, boolean>({ max: 10000 })
  const isEdgeAddress = (address: string) => {
    let known = edgePeers.get(address)
    if (known === undefined) {
      known = inRanges(address, 0)
      edgePeers.set(address, known)
    }
    return known
  }
  const clientKeys = new LRUCache<string, string>({ max: 10000 })
  const keyOf = (address: string) => {
    let key = clientKeys.get(address)
    if (key === undefined) {
      key = clientKey(address)
      clientKeys.set(address, key)
    }
    return key
  }
  const secretDigest = options.secret ? digest(options.secret) : undefined

  function carriesSecret(request: FastifyRequest): boolean {
    const given = request.headers[EDGE_SECRET_HEADER]
    if (!secretDigest || typeof given !== 'string') return false
    // Compared as digests: equal lengths, constant time, whatever the client sent.
    return timingSafeEqual(digest(given), secretDigest)
  }

  return (request: FastifyRequest): Edge => {
    const peer = request.ip
    const fromWorker = carriesSecret(request)
    const viaEdge = fromWorker || isEdgeAddress(peer)
    if (!viaEdge) return { viaEdge, clientIp: peer, country: null, clientKey: keyOf(peer) }
    // A Worker cannot set CF-Connecting-IP on its subrequest (Cloudflare writes its own), so ours
    // sends the visitor's address as X-Real-IP, after dropping any the visitor wrote. Cloudflare
    // itself passes a visitor's X-Real-IP through untouched: from a Cloudflare address without the
    // secret it is anyone's word, and only CF-Connecting-IP is Cloudflare's.
    const clientIp =
      (fromWorker ? addressIn(request.headers['x-real-ip']) : null) ??
      addressIn(request.headers['cf-connecting-ip']) ??
      peer
    return {
      viaEdge,
      clientIp,
      country: countryFrom(request.headers['cf-ipcountry']),
      clientKey: keyOf(clientIp),
    }
  }
}

/** A header that holds one IP address, or null (missing, repeated, or not an address). */
function addressIn(header: string | string[] | undefined): string | null {
  return typeof header === 'string' && isIP(header) ? header : null
}

/** CF-IPCountry is two letters; XX (unknown) and T1 (Tor) say nothing about a country. */
function countryFrom(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null
  const code = header.toUpperCase()
  return /^[A-Z]{2}$/.test(code) && code !== 'XX' ? code : null
}

/**
 * The part of an address that identifies one client for limits: the address itself for IPv4,
 * the /64 network for IPv6 (one subscriber gets a whole /64 and can rotate through it).
 */
export function clientKey(address: string): string {
  if (!ipaddr.isValid(address)) return digest(address).toString('base64url')
  const parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString()
    return `${v6.parts
      .slice(0, 4)
      .map((part) => part.toString(16))
      .join(':')}::/64`
  }
  return parsed.toString()
}

export function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
