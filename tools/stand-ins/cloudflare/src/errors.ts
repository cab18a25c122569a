import type { FastifyReply } from 'fastify'

/** One entry of the v4 envelope's `errors`; `error_chain` carries the detail of a header error. */
export interface CloudflareErrorEntry {
  code: number
  message: string
  error_chain?: Array<{ code: number; message: string }>
}

/** An answer the API gives instead of a result: HTTP status and the envelope's `errors`. */
export class CloudflareError extends Error {
  readonly statusCode: number
  readonly errors: CloudflareErrorEntry[]

  constructor(statusCode: number, ...errors: CloudflareErrorEntry[]) {
    const chain = (e: CloudflareErrorEntry) =>
      e.error_chain === undefined ? '' : ` (${e.error_chain.map((c) => `${c.code} ${c.message}`).join('; ')})`
    super(errors.map((e) => `${e.code} ${e.message}${chain(e)}`).join('; '))
    this.statusCode = statusCode
    this.errors = errors
  }
}

/** A list's paging, as `V4PagePaginationArray` in the SDK reads it. */
export interface ResultInfo {
  page: number
  per_page: number
  count: number
  total_count: number
  total_pages: number
}

/** The v4 envelope, as every answer of api.cloudflare.com/client/v4 has it; lists add `result_info`. */
export function envelope(
  reply: FastifyReply,
  statusCode: number,
  result: unknown,
  errors: CloudflareErrorEntry[],
  resultInfo?: ResultInfo,
) {
  const body = { result, success: errors.length === 0, errors, messages: [] }
  return reply
    .code(statusCode)
    .type('application/json')
    .send(resultInfo === undefined ? body : { ...body, result_info: resultInfo })
}

/** Where the DNS answers about records sharing a name send the reader. */
const SAME_NAME_HELP =
  'For more details, refer to <https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/>.'

/** Validation errors the real API has been seen to wrap in `1004 DNS Validation Error`. */
function dnsValidation(code: number, message: string): CloudflareError {
  return new CloudflareError(400, {
    code: 1004,
    message: 'DNS Validation Error',
    error_chain: [{ code, message }],
  })
}

/*
 * Cloudflare's answers, as public reports of the real API show them (see README). The codes for too
 * many files (1018) and the 99xxx ones are not documented anywhere we could find: they are the
 * stand-in's own.
 */
export const errors = {
  missingCredentials: () =>
    new CloudflareError(400, {
      code: 9106,
      message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers',
    }),
  malformedAuthorization: () =>
    new CloudflareError(400, {
      code: 6003,
      message: 'Invalid request headers',
      error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
    }),
  /** A token Cloudflare does not know (revoked, expired, mistyped). */
  unknownToken: () => new CloudflareError(401, { code: 10000, message: 'Authentication error' }),
  /** A valid token without Cache Purge on this zone, or a zone it cannot see. */
  forbiddenZone: () => new CloudflareError(403, { code: 10000, message: 'Authentication error' }),
  invalidIdentifier: (path: string) =>
    new CloudflareError(400, {
      code: 7003,
      message: `Could not route to ${path}, perhaps your object identifier is invalid?`,
    }),
  noRoute: () => new CloudflareError(404, { code: 7000, message: 'No route for that URI' }),
  malformedJson: () => new CloudflareError(400, { code: 6007, message: 'Malformed JSON in request body' }),
  noPurgeMode: () =>
    new CloudflareError(400, {
      code: 1012,
      message: 'Request must contain one of "purge_everything", "files", "tags", "hosts" or "prefixes"',
    }),
  notAnArray: () =>
    new CloudflareError(400, {
      code: 1014,
      message: '"files", "tags", "hosts" or "prefixes" must be an array',
    }),
  tooMany: (field: string, max: number) =>
    new CloudflareError(400, {
      code: 1018,
      message: `You may only purge up to ${max} ${field} per request`,
    }),
  /** DNS records: a body that is not JSON, or a field of the wrong JSON type or missing. */
  invalidBody: () => new CloudflareError(400, { code: 9207, message: 'Request body is invalid.' }),
  invalidName: () => new CloudflareError(400, { code: 9000, message: 'DNS name is invalid.' }),
  invalidIPv4: () =>
    new CloudflareError(400, { code: 9005, message: 'Content for A record must be a valid IPv4 address.' }),
  invalidIPv6: () =>
    new CloudflareError(400, {
      code: 9006,
      message: 'Content for AAAA record must be a valid IPv6 address.',
    }),
  invalidCnameTarget: () => dnsValidation(9007, 'Content for CNAME record is invalid.'),
  invalidTtl: () => dnsValidation(9021, 'TTL must be between 60 and 86400 seconds, or 1 for Automatic.'),
  notProxiableType: () =>
    new CloudflareError(400, { code: 9004, message: 'This record type cannot be proxied.' }),
  notProxiableTarget: (content: string) =>
    new CloudflareError(400, {
      code: 9003,
      message: `Target ${content} is not allowed for a proxied record.`,
    }),
  /** A CNAME where an A, AAAA or CNAME record has that name. */
  nameTaken: () =>
    new CloudflareError(400, {
      code: 81053,
      message: `An A, AAAA, or CNAME record with that host already exists. ${SAME_NAME_HELP}`,
    }),
  /** An A or AAAA record where a CNAME has that name. */
  cnameTaken: () =>
    new CloudflareError(400, {
      code: 81054,
      message: `A CNAME record with that host already exists. ${SAME_NAME_HELP}`,
    }),
  identicalRecord: () =>
    new CloudflareError(400, { code: 81058, message: 'An identical record already exists.' }),
  recordNotFound: () => new CloudflareError(404, { code: 81044, message: 'Record does not exist.' }),
  /** A type the API knows that the stand-in does not serve (MX, NS, SRV...): the stand-in's own. */
  unsupportedType: (type: string) =>
    new CloudflareError(400, {
      code: 99001,
      message: `The Cloudflare stand-in does not serve ${type} records, only A, AAAA, CNAME and TXT`,
    }),
  /** A list filter or paging parameter out of the API reference's range: the stand-in's own. */
  invalidListParameter: (name: string, expected: string) =>
    new CloudflareError(400, {
      code: 99002,
      message: `Invalid ${name} (expected ${expected}), as the Cloudflare stand-in reads the API reference`,
    }),
  /** What `failNext` makes the API answer: Cloudflare having a bad moment. */
  simulated: (statusCode: number) =>
    new CloudflareError(statusCode, {
      code: 10001,
      message: 'Service unavailable (simulated by the Cloudflare stand-in)',
    }),
}
