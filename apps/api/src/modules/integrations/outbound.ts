import dns from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'

/** `dns.promises.lookup(name, { all: true })`, injectable so tests can resolve names as they like. */
export type LookupFn = (
  hostname: string,
  options: { all: true },
) => Promise<Array<{ address: string; family: number }>>

export interface OutboundPolicy {
  allowLoopback: boolean
  requireHttps: boolean
  lookup?: LookupFn | undefined
}

export type UrlCheck = { ok: true; url: URL; addresses: string[] } | { ok: false; reason: string }

/*
 * Only addresses ipaddr.js classes as `unicast` are reachable: an allowlist, so a range nobody
 * listed (IPv4-compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d, local-use NAT64 64:ff9b:1::/48, the
 * next special-purpose block) is refused rather than forgotten. Each refused class has words for a
 * person; anything else not unicast is "reserved".
 */
const RANGE_REASONS: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address (cloud metadata lives here)',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private network address',
  uniqueLocal: 'a unique-local address',
  deprecatedSiteLocal: 'a site-local address',
  rfc6145: 'an IPv4-translated (SIIT) address',
  rfc6052: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
  discard: 'a discard address',
  benchmarking: 'a benchmarking address',
}
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data'])

/** Whether an IPv6 address is in ::/96 (IPv4-compatible ::a.b.c.d, deprecated; ::1 and :: too). */
function isIpv4Compatible(address: ipaddr.IPv6): boolean {
  return address.parts.slice(0, 6).every((part) => part === 0)
}

/** Why an address is refused, or null when a webhook may go there. */
export function refusedAddress(raw: string, allowLoopback: boolean): string | null {
  const version = isIP(raw)
  if (version === 0) return 'not an IP address'
  // ipaddr.js reads a dotted tail as IPv4-mapped (::127.0.0.1 as ::ffff:127.0.0.1): give it the
  // canonical hex form, as a URL writes it, so ::127.0.0.1 is judged as the ::7f00:1 it is.
  let canonical = raw
  if (version === 6) {
    try {
      canonical = new URL(`http://[${raw}]/`).hostname.slice(1, -1)
    } catch {
      return 'not an IP address'
    }
  }
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is its IPv4 address.
  const address = ipaddr.process(canonical)
  const range = address.range()
  if (range === 'unicast') {
    if (address.kind() === 'ipv6' && isIpv4Compatible(address as ipaddr.IPv6)) {
      return `the address ${raw} is an IPv4-compatible address (it may reach an IPv4 address)`
    }
    return null
  }
  if (range === 'loopback' && allowLoopback) return null
  return `the address ${raw} is ${RANGE_REASONS[range] ?? 'a reserved address'}`
}

const systemLookup: LookupFn = (hostname, options) => dns.promises.lookup(hostname, options)

/**
 * Whether a webhook URL may be used: scheme, no credentials in it, and every address its name
 * resolves to (checked after DNS, so a name pointing inside our network is refused).
 */
export async function checkWebhookUrl(raw: string, policy: OutboundPolicy): Promise<UrlCheck> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: 'is not a URL' }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { ok: false, reason: 'webhook URLs must use https' }
  if (policy.requireHttps && url.protocol !== 'https:')
    return { ok: false, reason: 'webhook URLs must use https' }
  if (url.username || url.password) return { ok: false, reason: 'must not carry a user name or password' }
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase()
  if (METADATA_NAMES.has(host)) return { ok: false, reason: `${host} is a cloud metadata service` }
  let addresses: string[]
  if (isIP(host) !== 0) {
    addresses = [host]
  } else {
    try {
      addresses = (await (policy.lookup ?? systemLookup)(host, { all: true })).map((a) => a.address)
    } catch {
      return { ok: false, reason: `the host name ${host} does not resolve` }
    }
    if (addresses.length === 0) return { ok: false, reason: `the host name ${host} does not resolve` }
  }
  for (const address of addresses) {
    const reason = refusedAddress(address, policy.allowLoopback)
    if (reason) return { ok: false, reason }
  }
  return { ok: true, url, addresses }
}

export interface DeliveryResult {
  /** 2xx */
  ok: boolean
  /** 0 when no answer came */
  status: number
  latencyMs: number
  /** the first `maxBodyBytes` of the answer */
  bodyExcerpt: string
  retryAfterSeconds?: number | undefined
  /** why there was no answer (timeout, refused address, connection error) or a redirect */
  error?: string | undefined
}

const MAX_RETRY_AFTER_SECONDS = 86400

export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed), MAX_RETRY_AFTER_SECONDS)
  const at = Date.parse(trimmed)
  if (Number.isNaN(at)) return undefined
  return Math.min(Math.max(0, Math.ceil((at - now) / 1000)), MAX_RETRY_AFTER_SECONDS)
}

/**
 * The resolver the connection uses: every address is checked again, so a name that resolved to
 * a public address when saved cannot be turned to an internal one by the time we connect (DNS
 * rebinding). The connection goes only to addresses this returns.
 */
function pinnedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    ;(policy.lookup ?? systemLookup)(hostname, { all: true }).then(
      (found) => {
        const addresses = found.filter((a) => !options.family || a.family === options.family)
        const refused = addresses.map((a) => refusedAddress(a.address, policy.allowLoopback)).find(Boolean)
        if (refused || addresses.length === 0) {
          const error = Object.assign(new Error(refused ?? `${hostname} does not resolve`), {
            code: 'EREFUSEDADDRESS',
          })
          callback(error, '', 0)
          return
        }
        if (options.all) callback(null, addresses)
        else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4)
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    )
  }
}

/**
 * POSTs a JSON body to a customer's URL: checked addresses only, no redirects followed, one
 * deadline for connect and answer, and at most `maxBodyBytes` of the answer read. Never throws:
 * every way it can go wrong is a result.
 */
export async function postJson(
  target: URL | string,
  body: string,
  headers: Record<string, string>,
  options: { policy: OutboundPolicy; timeoutMs: number; maxBodyBytes?: number },
): Promise<DeliveryResult> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const check = await checkWebhookUrl(String(target), options.policy)
  if (!check.ok)
    return { ok: false, status: 0, latencyMs: elapsed(), bodyExcerpt: '', error: `refused: ${check.reason}` }
  const { url } = check
  const maxBody = options.maxBodyBytes ?? 1024
  return new Promise<DeliveryResult>((resolve) => {
    let settled = false
    const finish = (result: Omit<DeliveryResult, 'latencyMs'>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...result, latencyMs: elapsed() })
    }
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'nudge-webhooks/1',
      },
      lookup: pinnedLookup(options.policy),
      agent: false,
    })
    const timer = setTimeout(() => {
      finish({ ok: false, status: 0, bodyExcerpt: '', error: `timed out after ${options.timeoutMs} ms` })
      request.destroy()
    }, options.timeoutMs)
    request.on('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EREFUSEDADDRESS'
          ? `refused: ${error.message}`
          : error.code === 'ECONNREFUSED'
            ? 'connection refused'
            : error.code === 'ECONNRESET'
              ? 'connection reset'
              : error.code === 'ENOTFOUND'
                ? 'the host name does not resolve'
                : `connection failed (${error.code ?? error.message})`
      finish({ ok: false, status: 0, bodyExcerpt: '', error: reason })
    })
    request.on('response', (response) => {
      const status = response.statusCode ?? 0
      const chunks: Buffer[] = []
      let size = 0
      const done = () => {
        const excerpt = Buffer.concat(chunks).subarray(0, maxBody).toString('utf8')
        const location = response.headers.location
        finish({
          ok: status >= 200 && status < 300,
          status,
          bodyExcerpt: excerpt,
          retryAfterSeconds: parseRetryAfter(response.headers['retry-after']),
          ...(status >= 300 && status < 400
            ? { error: `redirect${location ? ` to ${location.slice(0, 200)}` : ''} not followed` }
            : {}),
        })
        response.destroy()
      }
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        size += chunk.length
        if (size >= maxBody) done()
      })
      response.on('end', done)
      response.on('error', done)
    })
    request.end(body)
  })
}
