import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { BadRequest, requireString, route } from './routes.ts'
import { type CoreStore, normaliseEmail } from './store.ts'

const EMAIL_VERIFICATION_TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000

export function registerMiscRoutes(app: FastifyInstance, store: CoreStore): void {
  route(app, 'get', '/apiversion', () => ({ versions: ['5.4'] }))

  // The SDK fetches keys here (jose's remote JWK set); /recipe/jwt/jwks is the older
  // recipe-scoped spelling of the same set.
  route(app, 'get', '/.well-known/jwks.json', () => ({
    keys: store.keys.jwks(),
  }))
  route(app, 'get', '/recipe/jwt/jwks', () => ({
    status: 'OK',
    keys: store.keys.jwks(),
  }))

  // A fresh core's public tenant: no firstFactors stored (so the SDK derives them from
  // the initialised recipes, which is how Passwordless becomes a first factor) and no
  // third-party providers.
  route(app, 'get', '/<tenantId>/recipe/multitenancy/tenant/v2', ({ tenantId }) => ({
    status: 'OK',
    tenantId,
    thirdParty: { providers: [] },
    coreConfig: {},
  }))
  route(app, 'get', '/recipe/multitenancy/tenant/list/v2', () => ({
    status: 'OK',
    tenants: [
      {
        tenantId: 'public',
        thirdParty: { providers: [] },
        coreConfig: {},
      },
    ],
  }))

  route(app, 'get', '/recipe/user/email/verify', ({ query }) => {
    const userId = requireString(query.userId, 'userId')
    const email = normaliseEmail(requireString(query.email, 'email'))
    return { status: 'OK', isVerified: store.isEmailVerified(userId, email) }
  })

  route(app, 'post', '/recipe/user/email/verify/remove', ({ body }) => {
    const userId = requireString(body?.userId, 'userId')
    const email = normaliseEmail(requireString(body?.email, 'email'))
    store.setEmailVerified(userId, email, false)
    return { status: 'OK' }
  })

  route(app, 'post', '/<tenantId>/recipe/user/email/verify/token', ({ body, tenantId }) => {
    const userId = requireString(body?.userId, 'userId')
    const email = normaliseEmail(requireString(body?.email, 'email'))
    if (store.isEmailVerified(userId, email)) {
      return { status: 'EMAIL_ALREADY_VERIFIED_ERROR' }
    }
    const token = randomBytes(48).toString('base64url')
    store.emailVerificationTokens.set(token, {
      tenantId,
      userId,
      email,
      expiry: Date.now() + EMAIL_VERIFICATION_TOKEN_LIFETIME_MS,
    })
    return { status: 'OK', token }
  })

  route(app, 'post', '/<tenantId>/recipe/user/email/verify', ({ body, tenantId }) => {
    const input = (body ?? {}) as { method?: unknown; token?: unknown }
    if (input.method !== 'token') {
      throw new BadRequest('Unsupported method for email verification')
    }
    const token = requireString(input.token, 'token')
    const entry = store.emailVerificationTokens.get(token)
    if (entry === undefined || entry.tenantId !== tenantId || entry.expiry < Date.now()) {
      return { status: 'EMAIL_VERIFICATION_INVALID_TOKEN_ERROR' }
    }
    // Verifying an address invalidates every other token issued for it.
    for (const [other, e] of store.emailVerificationTokens) {
      if (e.userId === entry.userId && e.email === entry.email) {
        store.emailVerificationTokens.delete(other)
      }
    }
    store.setEmailVerified(entry.userId, entry.email, true)
    return { status: 'OK', userId: entry.userId, email: entry.email }
  })

  route(app, 'post', '/<tenantId>/recipe/user/email/verify/token/remove', ({ body, tenantId }) => {
    const userId = requireString(body?.userId, 'userId')
    const email = normaliseEmail(requireString(body?.email, 'email'))
    for (const [token, entry] of store.emailVerificationTokens) {
      if (entry.tenantId === tenantId && entry.userId === userId && entry.email === email) {
        store.emailVerificationTokens.delete(token)
      }
    }
    return { status: 'OK' }
  })

  route(app, 'get', '/recipe/user/metadata', ({ query }) => {
    const userId = requireString(query.userId, 'userId')
    return { status: 'OK', metadata: store.metadata.get(userId) ?? {} }
  })

  // Shallow merge with null deleting a key, as the core's UserMetadata.updateUserMetadata.
  route(app, 'put', '/recipe/user/metadata', ({ body }) => {
    const userId = requireString(body?.userId, 'userId')
    const update = body?.metadataUpdate
    if (typeof update !== 'object' || update === null || Array.isArray(update)) {
      throw new BadRequest("Field name 'metadataUpdate' is invalid in JSON input")
    }
    const metadata = { ...(store.metadata.get(userId) ?? {}) }
    for (const [key, value] of Object.entries(update)) {
      if (value === null) delete metadata[key]
      else metadata[key] = value
    }
    store.metadata.set(userId, metadata)
    return { status: 'OK', metadata }
  })

  route(app, 'post', '/recipe/user/metadata/remove', ({ body }) => {
    store.metadata.delete(requireString(body?.userId, 'userId'))
    return { status: 'OK' }
  })
}
