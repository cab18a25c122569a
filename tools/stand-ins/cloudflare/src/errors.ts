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
    super(errors.map((e) => `${e.code} ${e.message}`).join('; '))
    this.statusCode = statusCode
    this.errors = errors
  }
}

/** The v4 envelope, as every answer of api.cloudflare.com/client/v4 has it. */
export function envelope(
  reply: FastifyReply,
  statusCode: number,
  result: unknown,
  errors: CloudflareErrorEntry[],
) {
  return reply
    .code(statusCode)
    .type('application/json')
    .send({ result, success: errors.length === 0, errors, messages: [] })
}

/*
 * Cloudflare's answers, as public reports of the real API show them (see README). The one for too
 * many files is not documented anywhere we could find: its code is the stand-in's own.
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
  /** What `failNext` makes the API answer: Cloudflare having a bad moment. */
  simulated: (statusCode: number) =>
    new CloudflareError(statusCode, {
      code: 10001,
      message: 'Service unavailable (simulated by the Cloudflare stand-in)',
    }),
}
