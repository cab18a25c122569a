import { randomBytes } from 'node:crypto'
import { BadRequest, TenantOrAppNotFound } from './errors.ts'
import { type CoreRouter, TextReply } from './routes.ts'
import { type CoreStore, normaliseEmail } from './store.ts'

const EMAIL_VERIFICATION_TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000

export function registerMiscRoutes(router: CoreRouter, store: CoreStore): void {
  router.route(
    'get',
    '/apiversion',
    ({ tenant }) => {
      tenant.app()
      tenant.publicOnly()
      return { versions: ['5.4'] }
    },
    { versionNeeded: false },
  )

  // HelloAPI: what monitors call to see that the core is up.
  router.text('/hello', ['get', 'post', 'put', 'delete'], ({ tenant }) => {
    tenant.app()
    return new TextReply('Hello')
  })

  // The SDK fetches keys here (jose's remote JWK set); /recipe/jwt/jwks is the older
  // recipe-scoped spelling of the same set, and only for the public tenant.
  router.route(
    'get',
    '/.well-known/jwks.json',
    ({ tenant }) => {
      tenant.app()
      return { keys: store.keys.jwks() }
    },
    { versionNeeded: false },
  )
  router.route('get', '/recipe/jwt/jwks', ({ tenant }) => {
    tenant.publicOnly()
    return { status: 'OK', keys: store.keys.jwks() }
  })

  // A fresh core's public tenant: no firstFactors stored (so the SDK derives them from
  // the initialised recipes, which is how Passwordless becomes a first factor) and no
  // third-party providers. Any other tenant is not an error here but a status.
  router.route<'/<tenantId>/recipe/multitenancy/tenant/v2', 'get', { status: 'TENANT_NOT_FOUND_ERROR' }>(
    'get',
    '/<tenantId>/recipe/multitenancy/tenant/v2',
    ({ tenant }) => {
      let tenantId: string
      try {
        tenantId = tenant.existing()
      } catch (error) {
        if (error instanceof TenantOrAppNotFound) return { status: 'TENANT_NOT_FOUND_ERROR' }
        throw error
      }
      return {
        status: 'OK',
        tenantId,
        thirdParty: { providers: [] },
        coreConfig: {},
      }
    },
  )
  router.route('get', '/recipe/multitenancy/tenant/list/v2', ({ tenant }) => {
    tenant.existing()
    return {
      status: 'OK',
      tenants: [
        {
          tenantId: 'public',
          thirdParty: { providers: [] },
          coreConfig: {},
        },
      ],
    }
  })

  // VerifyEmailAPI.doGet is app-wide and compares the address as given: only the
  // token and unverify APIs normalise it.
  router.route('get', '/recipe/user/email/verify', ({ query, tenant }) => {
    const userId = query.required('userId')
    const email = query.required('email')
    tenant.app()
    tenant.publicOnly()
    return { status: 'OK', isVerified: store.isEmailVerified(userId, email) }
  })

  router.route('post', '/recipe/user/email/verify/remove', ({ body, tenant }) => {
    const userId = body.string('userId')
    const email = normaliseEmail(body.string('email'))
    tenant.app()
    tenant.publicOnly()
    store.setEmailVerified(userId, email, false)
    return { status: 'OK' }
  })

  router.route('post', '/<tenantId>/recipe/user/email/verify/token', ({ body, tenant }) => {
    const userId = body.string('userId')
    const email = normaliseEmail(body.string('email'))
    const tenantId = tenant.existing()
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

  router.route('post', '/<tenantId>/recipe/user/email/verify', ({ body, tenant }) => {
    const method = body.string('method')
    const token = body.string('token')
    if (method !== 'token') {
      throw new BadRequest('Unsupported method for email verification')
    }
    const tenantId = tenant.existing()
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

  router.route('post', '/<tenantId>/recipe/user/email/verify/token/remove', ({ body, tenant }) => {
    const userId = body.string('userId')
    const email = normaliseEmail(body.string('email'))
    const tenantId = tenant.existing()
    for (const [token, entry] of store.emailVerificationTokens) {
      if (entry.tenantId === tenantId && entry.userId === userId && entry.email === email) {
        store.emailVerificationTokens.delete(token)
      }
    }
    return { status: 'OK' }
  })

  router.route('get', '/recipe/user/metadata', ({ query, tenant }) => {
    const userId = query.required('userId')
    tenant.app()
    tenant.publicOnly()
    return { status: 'OK', metadata: store.metadata.get(userId) ?? {} }
  })

  // Shallow merge with null deleting a key, as the core's UserMetadata.updateUserMetadata.
  router.route('put', '/recipe/user/metadata', ({ body, tenant }) => {
    const userId = body.string('userId')
    const update = body.object('metadataUpdate')
    tenant.app()
    tenant.publicOnly()
    const metadata = { ...(store.metadata.get(userId) ?? {}) }
    for (const [key, value] of Object.entries(update)) {
      if (value === null) delete metadata[key]
      else metadata[key] = value
    }
    store.metadata.set(userId, metadata)
    return { status: 'OK', metadata }
  })

  router.route('post', '/recipe/user/metadata/remove', ({ body, tenant }) => {
    const userId = body.string('userId')
    tenant.app()
    tenant.publicOnly()
    store.metadata.delete(userId)
    return { status: 'OK' }
  })
}
