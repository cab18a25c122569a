import formbody from '@fastify/formbody'
import fastifyJwt from '@fastify/jwt'
import type {} from '@nudge/cache'
import { dashboardOrigin } from '@nudge/config'
import type {} from '@nudge/edge'
import type {} from '@nudge/mailer'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import buildGetJwks from 'get-jwks'
import { LRUCache } from 'lru-cache'
import supertokens from 'supertokens-node'
import { plugin as superTokensPlugin } from 'supertokens-node/framework/fastify'
import Session from 'supertokens-node/recipe/session'
import { checkAuthInput } from './auth-input.ts'
import { AuthUnavailable, InvalidServiceToken, NotSignedIn, ServiceNotAllowed } from './errors.ts'
import { magicLinkEmail } from './magic-link-email.ts'
import { fromCoreFailure } from './sdk-errors.ts'
import { SERVICE_AUDIENCES, SERVICE_ISSUER, type ServiceAudience } from './service-tokens.ts'
import { connectBridge, initSuperTokens } from './supertokens.ts'

/** The signed-in person behind a dashboard request. */
export interface AuthUser {
  /** Our `users.id`. */
  id: string
  supertokensUserId: string
  sessionHandle: string
}

export interface ServiceCaller {
  audience: ServiceAudience
}

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler: a valid, unrevoked SuperTokens session; sets `request.user`. */
    authenticate: preHandlerAsyncHookHandler
    /** preHandler factory: a valid service token for one of `audiences`; sets `request.serviceCaller`. */
    authenticateService(audiences: ServiceAudience[]): preHandlerAsyncHookHandler
  }
  interface FastifyRequest {
    serviceCaller: ServiceCaller | null
    accessToken: string | null
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    /** Set by `app.authenticate`; null on routes without it. */
    user: AuthUser | null
  }
}

/** The signed-in user of a route that ran `app.authenticate`. */
export function signedInUser(request: FastifyRequest): AuthUser {
  if (!request.user) throw new NotSignedIn()
  return request.user
}

export interface AuthPluginOptions {
  /** Called on every successful sign-in (first one creates the user). */
  onSignIn(user: { supertokensUserId: string; email: string }): Promise<void>
  /** Our user id for a SuperTokens user id (cached by the caller). */
  resolveUserId(supertokensUserId: string): Promise<string | undefined>
  /**
   * The 'sessions' epoch in PostgreSQL: `read` by every worker's lease, `bump`ed by each
   * revocation after the core revoked (the layer has no database of its own).
   */
  sessionEpoch: { read(): Promise<number>; bump(): Promise<void> }
}

interface AccessTokenPayload {
  sub: string
  sessionHandle: string
  refreshTokenHash1: string
  parentRefreshTokenHash1?: string
  tId?: string
  exp: number
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
// Not the previous release's `session-active:` key: it held a boolean, this holds { active, epoch }.
const sessionKey = (handle: string) => `session-check:${handle}`

function tokenFrom(request: FastifyRequest): { token: string; from: 'header' | 'cookie' } | undefined {
  const authorization = request.headers.authorization
  if (authorization?.startsWith('Bearer ')) return { token: authorization.slice(7).trim(), from: 'header' }
  const cookie = request.headers.cookie?.match(/(?:^|;\s*)sAccessToken=([^;]+)/)
  if (!cookie?.[1]) return undefined
  try {
    return { token: decodeURIComponent(cookie[1]), from: 'cookie' }
  } catch {
    // Not valid percent-encoding: no token of ours, and no reason for a 500.
    return { token: '', from: 'cookie' }
  }
}

/** The SDK's own error, so its error handler answers exactly as the frontend SDK expects. */
function tryRefresh(message: string) {
  return new Session.Error({ type: Session.Error.TRY_REFRESH_TOKEN, message })
}

function unauthorised(message: string, clearTokens: boolean) {
  return new Session.Error({ type: Session.Error.UNAUTHORISED, message, payload: { clearTokens } })
}

/**
 * Sign-in (SuperTokens Passwordless magic links + sessions under /auth), fast local session
 * verification for dashboard routes, and service tokens for our Worker and Cron.
 */
export const authPlugin = fp<AuthPluginOptions>(
  async (app, options) => {
    const { config } = app
    const connectionURI = config.SUPERTOKENS_CONNECTION_URI
    if (!connectionURI) throw new Error('SUPERTOKENS_CONNECTION_URI is not set: the auth layer needs a core')
    initSuperTokens({
      connectionURI,
      apiKey: config.SUPERTOKENS_API_KEY,
      apiDomain: config.API_DOMAIN,
      websiteDomain: dashboardOrigin(config),
    })

    // Sign-in links are limited per address they go to and per client asking, counted where the
    // email is sent: whatever path, tenant prefix or resend led there, no email escapes the count.
    // Known and unknown emails are counted and answered alike.
    const window = config.AUTH_LINK_LIMIT_WINDOW_SECONDS
    const linksPerClient = app.limiter('auth-link-client', {
      max: config.AUTH_LINK_LIMIT_PER_IP,
      windowSeconds: window,
      what: 'sign-in links from this network',
      // Each one sends an email: exact (the same for the next two but the last).
      counting: 'exact',
    })
    const linksPerEmail = app.limiter('auth-link-email', {
      max: config.AUTH_LINK_LIMIT_PER_EMAIL,
      windowSeconds: window,
      what: 'sign-in links to this email',
      counting: 'exact',
    })
    // /auth/* is served by the SDK, outside the route table, so the per-route limit is applied here.
    const authRequests = app.limiter('auth-requests', {
      max: config.RATE_LIMIT_MAX,
      windowSeconds: Math.ceil(config.RATE_LIMIT_WINDOW_MS / 1000),
      // Like every route's limit; the emails among these requests are counted exactly above.
      counting: 'batched',
    })

    // Whether a session is still active is held by every worker (and memcached), tagged with the
    // sessions epoch read before the core was asked, and served only under the epoch's lease
    // (libs/cache lease.ts). A revocation bumps the epoch after the core revoked and answers only
    // once settled: from then on no worker accepts the session, not even before the invalidation
    // channel would have reached it.
    const sessions = app.cache.lease('sessions', options.sessionEpoch.read)

    const disconnect = connectBridge({
      sendSignInLink: async ({ to, link, lifetimeMs, request }) => {
        if (request) await linksPerClient(request.edge.clientKey)
        await linksPerEmail(to.trim().toLowerCase())
        const agent = request?.headers['user-agent']
        await app.mailer.send(
          magicLinkEmail({
            to,
            link,
            lifetimeMs,
            requester: {
              ip: request?.edge.clientIp,
              userAgent: typeof agent === 'string' ? agent.slice(0, 200) : undefined,
              at: new Date(),
            },
          }),
        )
      },
      onSignIn: options.onSignIn,
      // The database out of reach: the sign-out fails (503) before the core revokes, rather than
      // answering while other workers, never told, still accept the session.
      beforeSessionsRevoked: async () => {
        await options.sessionEpoch.read()
      },
      onSessionsRevoked: async (handles) => {
        // Nothing revoked (sign-out everywhere with no session left): no held answer changed.
        if (handles.length === 0) return
        await options.sessionEpoch.bump()
        await sessions.settled()
      },
    })
    app.addHook('onClose', async () => disconnect())

    await app.register(formbody)
    // The SDK's plugin runs its middleware on every request; we run it on /auth paths only, so
    // the rest of the API does not pay for it.
    const superTokensHook = captureHook(superTokensPlugin)
    const authHook = async (request: FastifyRequest, reply: FastifyReply) => {
      await authRequests(request.edge.clientKey)
      // The SDK trusts the shape of what it is sent; anything else it meets as a TypeError (500).
      checkAuthInput(request)
      try {
        await superTokensHook(request, reply)
      } catch (error) {
        const meant = fromCoreFailure(error)
        if (!meant) throw error
        request.log.warn({ err: error }, 'sign-in request failed at the core')
        throw meant
      }
    }
    // A callback hook: every request passes here, and all but /auth ones without waiting a tick.
    app.addHook('preHandler', (request, reply, done) => {
      if (!request.url.startsWith('/auth/')) return done()
      authHook(request, reply).then(() => done(), done)
    })

    const getJwks = buildGetJwks({ max: 100, ttl: 10 * 60 * 1000, providerDiscovery: false })
    // get-jwks caches the JWK but converts it to PEM on every call, which costs more than the
    // RSA check itself; the PEM of a key id never changes, so it is kept (a handful of keys).
    const pems = new Map<string, Promise<string>>()
    const publicKey = (kid: string | undefined, alg: string | undefined): Promise<string> => {
      const id = `${kid}:${alg}`
      let pem = pems.get(id)
      if (!pem) {
        if (pems.size >= 100) pems.clear()
        pem = getJwks.getPublicKey({ domain: connectionURI, kid, alg })
        // Unknown key ids are not remembered: a later JWKS may hold them (key rotation).
        pem.catch(() => pems.delete(id))
        pems.set(id, pem)
      }
      return pem
    }
    await app.register(fastifyJwt, {
      namespace: 'session',
      jwtVerify: 'accessTokenVerify',
      jwtDecode: 'accessTokenDecode',
      jwtSign: 'accessTokenSign',
      decoratorName: 'accessTokenPayload',
      decode: { complete: true },
      secret: (_request: FastifyRequest, token: { header: { kid?: string; alg?: string } }) =>
        publicKey(token.header.kid, token.header.alg),
      verify: {
        algorithms: ['RS256'],
        // fast-jwt's verified-token cache: a token seen before costs a hash lookup, not RSA.
        cache: 10000,
        cacheTTL: 60000,
        requiredClaims: ['sub', 'exp', 'iat', 'sessionHandle', 'refreshTokenHash1'],
        extractToken: (request: FastifyRequest) => request.accessToken ?? undefined,
      },
    } as never)
    await app.register(fastifyJwt, {
      namespace: 'service',
      jwtVerify: 'serviceJwtVerify',
      jwtDecode: 'serviceJwtDecode',
      jwtSign: 'serviceJwtSign',
      decoratorName: 'serviceTokenPayload',
      secret: config.SERVICE_JWT_SECRET,
      verify: {
        algorithms: ['HS256'],
        allowedIss: SERVICE_ISSUER,
        requiredClaims: ['aud', 'exp', 'iat'],
        maxAge: config.SERVICE_JWT_MAX_AGE_SECONDS * 1000,
      },
    } as never)
    app.decorateRequest('accessToken', null)
    app.decorateRequest('serviceCaller', null)
    app.decorateRequest('user', null)

    // A security answer: never served past its TTL, not even while the core is down (then 503),
    // and never once a revocation has settled (the tag and the lease above).
    const askCore = async (handle: string) => {
      // Read before the core is asked: a revocation after this read bumps past it.
      const epoch = sessions.current()
      try {
        return { active: (await Session.getSessionInformation(handle)) !== undefined, epoch }
      } catch (error) {
        throw fromCoreFailure(error) ?? new AuthUnavailable({ cause: error })
      }
    }
    // Held but read before the newest epoch (or with no fresh read of it): ask again.
    const recheck = async (key: string, handle: string) => {
      const fresh = await askCore(handle)
      await app.cache.set(key, fresh, config.SESSION_CHECK_TTL_SECONDS)
      return fresh.active
    }
    const isActive = (handle: string): Promise<boolean> => {
      const key = sessionKey(handle)
      let asked = false
      const load = () => {
        asked = true
        return askCore(handle)
      }
      return (
        app.cache
          .wrap(key, config.SESSION_CHECK_TTL_SECONDS, load, { serveStale: false })
          // Asked by this very request: the core's answer now, whatever the lease says.
          .then((held) => (asked || sessions.trusts(held.epoch) ? held.active : recheck(key, handle)))
      )
    }

    // Tokens that passed the full check above, by their exact text, until they expire. fast-jwt
    // has its own verified-token cache, but reaching it costs a decode and a SHA-256 of the token
    // per request through @fastify/jwt; this lookup is a third of the authenticated request.
    // Entries are checked against their own `exp` on every read: the LRU's TTL only frees memory
    // (lru-cache reads a TTL of 0 as "forever", which a token in its last millisecond would get).
    const verifiedTokens = new LRUCache<string, AccessTokenPayload>({ max: 10000 })
    const rememberedPayload = (token: string) => {
      const payload = verifiedTokens.get(token)
      return payload && payload.exp * 1000 > Date.now() ? payload : undefined
    }

    async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const found = tokenFrom(request)
      if (!found) throw unauthorised('No session: send the access token as a Bearer token or cookie', false)
      request.accessToken = found.token
      let payload = rememberedPayload(found.token)
      if (!payload) {
        try {
          payload = await (
            request as unknown as { accessTokenVerify(): Promise<AccessTokenPayload> }
          ).accessTokenVerify()
        } catch (error) {
          // Expired, tampered or signed by a key we do not know: the frontend refreshes, and a
          // refresh that fails signs the person out.
          throw tryRefresh((error as Error).message)
        }
        const lifetimeMs = payload.exp * 1000 - Date.now()
        if (lifetimeMs > 0) verifiedTokens.set(found.token, payload, { ttl: Math.ceil(lifetimeMs) })
      }
      let supertokensUserId = payload.sub
      let sessionHandle = payload.sessionHandle
      if (payload.parentRefreshTokenHash1 || (found.from === 'cookie' && !SAFE_METHODS.has(request.method))) {
        // First use after a refresh must reach the core to complete the rotation, and cookie
        // writes need the SDK's anti-CSRF check: both are the SDK's job.
        let session: Awaited<ReturnType<typeof Session.getSession>>
        try {
          session = await Session.getSession(request, reply)
        } catch (error) {
          throw fromCoreFailure(error) ?? error
        }
        supertokensUserId = session.getUserId()
        sessionHandle = session.getHandle()
      }
      // Every way in ends here: the SDK verifies cookie-mode tokens locally, which says nothing
      // about a sign-out since they were issued.
      if (!(await isActive(sessionHandle))) throw unauthorised('The session has been revoked', true)
      const id = await options.resolveUserId(supertokensUserId)
      if (!id) throw unauthorised('No user for this session', true)
      request.user = { id, supertokensUserId, sessionHandle }
      app.observe.annotate({ userId: id })
    }
    app.decorate('authenticate', authenticate)

    app.decorate('authenticateService', (audiences: ServiceAudience[]) => {
      return async (request: FastifyRequest) => {
        let claims: { aud?: unknown; iat?: number; exp?: number }
        try {
          claims = await (
            request as unknown as { serviceJwtVerify(): Promise<typeof claims> }
          ).serviceJwtVerify()
        } catch (error) {
          throw new InvalidServiceToken((error as Error).message)
        }
        const lifetime = (claims.exp ?? 0) - (claims.iat ?? 0)
        if (lifetime > config.SERVICE_JWT_MAX_AGE_SECONDS) {
          throw new InvalidServiceToken(
            `it lives ${lifetime} s; at most ${config.SERVICE_JWT_MAX_AGE_SECONDS} s is accepted`,
          )
        }
        const audience = SERVICE_AUDIENCES.find((known) => known === claims.aud)
        if (!audience) throw new InvalidServiceToken('unknown audience')
        if (!audiences.includes(audience)) throw new ServiceNotAllowed(audience)
        request.serviceCaller = { audience }
      }
    })
  },
  { name: 'auth', dependencies: ['config', 'logging', 'cache', 'edge', 'mailer'], fastify: '5.x' },
)

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** The preHandler a Fastify plugin would add, to be called where we choose. */
function captureHook(plugin: typeof superTokensPlugin): Hook {
  let hook: Hook | undefined
  const collector = { addHook: (_name: string, fn: Hook) => (hook = fn) }
  ;(plugin as unknown as (app: typeof collector, options: object, done: () => void) => void)(
    collector,
    {},
    () => {},
  )
  if (!hook) throw new Error('the SuperTokens Fastify plugin added no hook')
  return hook
}

/** Headers the dashboard may send cross-origin (SuperTokens' own plus ours). */
export function authCorsHeaders(): string[] {
  return supertokens.getAllCORSHeaders()
}
