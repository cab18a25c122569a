import cors, { type FastifyCorsOptions } from '@fastify/cors'
import underPressure from '@fastify/under-pressure'
import { authCorsHeaders } from '@nudge/auth'
import { list } from '@nudge/config'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import { OriginNotAllowed, overloaded } from '../errors.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A visitors' route that answers CORS itself from what it reads anyway (the site document
     * knows its site's origins): this plugin adds `Vary: Origin` and answers preflights, but looks
     * nothing up for its requests.
     */
    corsFromRoute?: boolean
  }
}

/**
 * Which pages may call `/public/v1`: a question about sites, answered by the module that knows
 * them (visitors/origin.ts), passed in by app.ts since a plugin imports no module.
 */
export interface VisitorOrigins {
  /** The host of an `Origin` header, lower case and bounded; null when it has none a site could match. */
  hostOf(origin: string): string | null
  /**
   * Whether pages on this host may call `/public/v1` (cached); `beforeQuery` runs before a
   * database read, not before a cached answer.
   */
  allows(host: string, beforeQuery?: () => Promise<void>): Promise<boolean>
}

/**
 * HTTP basics every route gets: security headers, CORS (the dashboard's, and per site for the
 * visitors' routes), JSON bodies, load shedding. Request limits live in the edge layer, which
 * knows the client's real address.
 */
export const httpPlugin = fp(
  async (app: FastifyInstance, { visitorOrigins }: { visitorOrigins: VisitorOrigins }) => {
    const { config } = app
    // Security headers where a browser reads them. A JSON answer is never rendered, framed or
    // navigated: it needs `nosniff` (so no page can load it as script or style) and HSTS (the API's
    // host is HTTPS-only); helmet's other nine describe documents and go on the HTML of /docs
    // (docs.ts, with swagger-ui's own CSP). Both sets are the same on every response: computed once.
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(JSON_SECURITY_HEADERS)
      done()
    })
    // The dashboard's origins, with credentials, on every route but the visitors' ones.
    const dashboardCors: FastifyCorsOptions = {
      origin: list(config.DASHBOARD_ORIGINS),
      credentials: true,
      // @fastify/cors allows only GET, HEAD and POST by default: the dashboard edits and deletes.
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      // if-match: campaign edits send the version they were made on (a browser refused it until
      // the dashboard sent one); idempotency-key: writes a client may retry. Every header a /v1
      // route declares must be here (test/cors.test.ts reads them from /docs/json).
      allowedHeaders: ['content-type', 'x-request-id', 'if-match', 'idempotency-key', ...authCorsHeaders()],
      // Header-based sessions: the frontend SDK reads new tokens from these.
      exposedHeaders: [
        'x-request-id',
        'server-timing',
        // A campaign's version.
        'etag',
        // The lead export's file name.
        'content-disposition',
        'st-access-token',
        'st-refresh-token',
        'front-token',
        'anti-csrf',
      ],
      maxAge: 600,
    }
    // /public/v1 is called by pages of our customers' sites: the page's origin must be a site's
    // hostname (or a subdomain of a site that allows them). Anonymous, so no credentials.
    const visitorCors: FastifyCorsOptions = {
      credentials: false,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['content-type', 'idempotency-key'],
      maxAge: 600,
    }
    // With a delegator, `origin: false` sets Vary: Origin and nothing else.
    const refused: FastifyCorsOptions = { ...visitorCors, origin: false }
    // Which origins may call /public/v1 is a database question for every Origin not asked about
    // lately, and anyone can make up Origins: each client's lookups are counted before they are
    // made, as its visitor requests are (a flood of made-up Origins gets 429, not a query each).
    const originLookups = app.limiter('visitor-origin', {
      max: config.VISITOR_LIMIT_PER_CLIENT_PER_MINUTE,
      windowSeconds: 60,
      what: 'visitor requests from this address',
      // Against floods of made-up Origins: a few lookups over the limit cost nothing.
      counting: 'batched',
    })
    // A preflight from a page no site allows is refused in words (403 ORIGIN_NOT_ALLOWED), not
    // passed on to a 404 "route not found". Every preflight counts: browsers keep a granted one
    // for maxAge, so pages send few. Before @fastify/cors's own hook (hooks run in order).
    // A callback hook, so every other request passes through without waiting a tick.
    app.addHook('onRequest', (request, reply, done) => {
      if (request.method !== 'OPTIONS' || !isVisitorPath(request.url)) return done()
      reply.header('vary', 'Origin')
      const checked = async () => {
        await originLookups(request.edge.clientKey)
        const origin = request.headers.origin
        const host = origin === undefined ? null : visitorOrigins.hostOf(origin)
        if (host === null || !(await visitorOrigins.allows(host))) throw new OriginNotAllowed()
      }
      checked().then(() => done(), done)
    })
    await app.register(cors, {
      delegator: (request, callback) => {
        // No Origin: not a cross-origin browser request (a monitor, the Worker, curl). Vary: Origin
        // only; credentials and exposed headers mean nothing without an allowed origin. (A
        // preflight without one is still refused as @fastify/cors refuses it.)
        if (request.headers.origin === undefined && request.method !== 'OPTIONS')
          return callback(null, refused)
        if (!isVisitorPath(request.url)) return callback(null, dashboardCors)
        if (request.routeOptions.config.corsFromRoute && request.method !== 'OPTIONS')
          return callback(null, refused)
        const origin = request.headers.origin
        const host = origin === undefined ? null : visitorOrigins.hostOf(origin)
        if (origin === undefined || host === null) return callback(null, refused)
        // A preflight was counted by the hook above; other requests count the lookups that
        // reach the database (an Origin the cache already answers costs nothing).
        const counted = request.method === 'OPTIONS' ? undefined : () => originLookups(request.edge.clientKey)
        visitorOrigins.allows(host, counted).then(
          (allowed) => callback(null, allowed ? { ...visitorCors, origin } : refused),
          (error: Error) => callback(error),
        )
      },
    })
    // Some HTTP clients send `content-type: application/json` on every POST, bodiless ones too
    // (sign-out, refresh): an empty body is no body. Anything else is parsed as Fastify does.
    const parseJson = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (body === '') return done(null, undefined)
      parseJson(request, body as string, done)
    })
    // Off in tests: building an app blocks the loop for a second on a busy machine, and a
    // window without a single loop sample reads as an infinite delay.
    if (config.LOAD_SHED_EVENT_LOOP_DELAY_MS === 0) return
    // The first samples after listening still hold the boot (building the app blocks the loop
    // for a second or more): a worker fresh from `pm2 reload` would shed its first requests
    // (check:reload saw 1,903 of them). Readings older than serving are not load.
    const sampleIntervalMs = 1000
    const retryAfterSeconds = 5
    let servingSince = Number.POSITIVE_INFINITY
    app.addHook('onListen', async () => {
      servingSince = Date.now()
    })
    await app.register(underPressure, {
      maxEventLoopDelay: config.LOAD_SHED_EVENT_LOOP_DELAY_MS,
      sampleInterval: sampleIntervalMs,
      retryAfter: retryAfterSeconds,
      exposeStatusRoute: false,
      // A rejected promise is how under-pressure hands an error on, to the one error handler.
      pressureHandler: async (_request, _reply, type, value) => {
        if (Date.now() - servingSince < 2 * sampleIntervalMs) return
        throw overloaded(type, value, retryAfterSeconds)
      },
    })
  },
  { name: 'http', dependencies: ['config', 'error-handler', 'db', 'cache', 'edge', 'auth'], fastify: '5.x' },
)

/**
 * The visitors' routes, whatever the case of the prefix: `/PUBLIC/…` routes nowhere, but its
 * preflight is answered as the visitors' are, not with the dashboard's origins.
 */
function isVisitorPath(url: string): boolean {
  return url.slice(0, 8).toLowerCase() === '/public/'
}

/** What every answer carries: enough for JSON, which a browser never renders. */
export const JSON_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
}

/**
 * What an HTML page (the API reference at /docs) carries on top: helmet's headers, read off one
 * run of its middleware, but its Content-Security-Policy, which swagger-ui sets for its own page.
 */
export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = helmetHeaders({
  contentSecurityPolicy: false,
})

function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader: (name: string, value: string | number) => {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader: () => {},
  }
  helmet(options)({} as never, response as never, () => {})
  return headers
}
