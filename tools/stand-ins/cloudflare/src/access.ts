import type { FastifyRequest } from 'fastify'
import { errors } from './errors.ts'
import type { StandInConfig } from './state.ts'

/**
 * What every zone route checks first, in Cloudflare's order: the credentials, then the zone id's
 * shape (`path` is what its 7003 answer names), then whether the token reaches that zone.
 */
export function authorize(
  request: FastifyRequest,
  config: StandInConfig,
  zoneId: string,
  path: string,
): void {
  authenticate(request, config.token)
  if (!isIdentifier(zoneId)) throw errors.invalidIdentifier(path)
  if (zoneId !== config.zoneId) throw errors.forbiddenZone()
}

/** Cloudflare's ids (zones, records, purges): 32 lowercase hex characters. */
export function isIdentifier(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id)
}

/** API tokens go in `Authorization: Bearer`; the legacy email + global key pair is not accepted here. */
function authenticate(request: FastifyRequest, token: string): void {
  const authorization = request.headers.authorization
  if (authorization === undefined) {
    if (request.headers['x-auth-key'] !== undefined || request.headers['x-auth-email'] !== undefined)
      throw errors.unknownToken()
    throw errors.missingCredentials()
  }
  const match = /^Bearer (\S+)$/.exec(authorization)
  if (!match) throw errors.malformedAuthorization()
  if (match[1] !== token) throw errors.unknownToken()
}
