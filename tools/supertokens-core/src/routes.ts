// The core's request pipeline: PathRouter picks the API, WebserverAPI.service checks the
// cdi-version header, then the API's doGet/doPost/doPut runs and reads its own input and
// its own tenant. Fastify only hands every request to this router, so that paths match
// as in the core (case-insensitive, optional trailing slash, an optional /appid-<id> and
// /<tenantId> prefix on any API) and the answers to bad requests are the core's.
import { posix } from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BadPermission, BadRequest, JavaException, TenantOrAppNotFound } from './errors.ts'
import { JsonInput, parseJsonBody, QueryInput } from './input.ts'
import type { Body, CorePath, QueryField, Reply } from './schema.ts'
import { PUBLIC_TENANT } from './store.ts'

type Method = 'get' | 'post' | 'put' | 'delete'

// The CDI versions a core whose newest is 5.4 accepts in the cdi-version header.
const SUPPORTED_CDI_VERSIONS = [
  ...Array.from({ length: 15 }, (_, i) => `2.${i + 7}`),
  ...['3.0', '3.1', '4.0', '5.0', '5.1', '5.2', '5.3', '5.4'],
]
const LATEST_CDI_VERSION = '5.4'

// Path segments the core never reads as a tenant id (webserver Utils.INVALID_WORDS_FOR_TENANTID).
const NOT_TENANT_IDS = ['recipe', 'config', 'users', 'hello']

/**
 * The app and tenant named in the path. Only the default app and its public tenant exist
 * here, as in a core without a multitenancy license. Each API resolves them at its own
 * point, so a malformed body is reported before an unknown tenant, as in the core.
 */
export class PathTenant {
  readonly appId: string
  /** The tenant segment, lower-cased; undefined when absent or "public". */
  readonly tenantId: string | undefined

  constructor(appId: string, tenantId: string | undefined) {
    this.appId = appId
    this.tenantId = tenantId
  }

  /** getTenantIdentifier: tenant-specific APIs need the tenant to exist. */
  existing(): string {
    if (this.appId !== PUBLIC_TENANT || this.tenantId !== undefined) {
      throw new TenantOrAppNotFound(this.appId, this.tenantId ?? PUBLIC_TENANT)
    }
    return PUBLIC_TENANT
  }

  /** getAppIdentifier: app-specific APIs ignore the tenant segment but need the app. */
  app(): void {
    if (this.appId !== PUBLIC_TENANT) throw new TenantOrAppNotFound(this.appId, PUBLIC_TENANT)
  }

  /** enforcePublicTenant...: from CDI 5.0, app-wide APIs refuse a tenant in the path. */
  publicOnly(): void {
    if (this.tenantId !== undefined) {
      throw new BadPermission('Only public tenantId can call this app specific API')
    }
    this.app()
  }
}

export interface CoreRequest<P extends CorePath, M extends Method, X extends string = never> {
  /** The JSON object body of a POST or PUT (anything else was already a 400). */
  body: JsonInput<Body<P, M>, X>
  query: QueryInput<QueryField<P, M> | X>
  tenant: PathTenant
}

/** A plain-text 200, as /hello answers. */
export class TextReply {
  readonly text: string

  constructor(text: string) {
    this.text = text
  }
}

type AnyHandler = (req: CoreRequest<never, never>) => unknown

interface Api {
  path: string
  prefixed: RegExp
  versionNeeded: boolean
  handlers: Map<string, AnyHandler>
}

interface RouteOptions {
  /** /apiversion and the JWKS answer whatever cdi-version was asked for. */
  versionNeeded?: boolean
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export class CoreRouter {
  private readonly apis = new Map<string, Api>()

  /**
   * Registers one method of a core API. Schema paths that start with /<tenantId>/ name
   * tenant-specific APIs; the core serves every API with or without a tenant prefix, and
   * each handler decides what the tenant means to it. Handlers may answer with statuses
   * the schema leaves out (Extra), e.g. RESTART_FLOW_ERROR on create-code, because the
   * SDK handles them, and read body fields or query parameters the schema leaves out (X).
   */
  route<P extends CorePath, M extends Method, Extra = never, X extends string = never>(
    method: M,
    path: P,
    handler: (req: CoreRequest<P, M, X>) => Reply<P, M> | Extra | Promise<Reply<P, M> | Extra>,
    options: RouteOptions = {},
  ): void {
    const template: string = path
    const apiPath = template.startsWith('/<tenantId>/') ? template.slice('/<tenantId>'.length) : template
    this.add(method.toUpperCase(), apiPath, handler as AnyHandler, options)
  }

  /** A path outside the CDI schema that answers plain text (/hello). */
  text(path: string, methods: Method[], handler: (req: { tenant: PathTenant }) => TextReply): void {
    for (const method of methods) {
      this.add(method.toUpperCase(), path, handler as AnyHandler, { versionNeeded: false })
    }
  }

  private add(httpMethod: string, path: string, handler: AnyHandler, options: RouteOptions): void {
    const apiPath = path.toLowerCase()
    let api = this.apis.get(apiPath)
    if (api === undefined) {
      api = {
        path: apiPath,
        prefixed: new RegExp(
          `^(/appid-[a-z0-9-]*)?(/(?!${NOT_TENANT_IDS.join('/|')}/)[a-z0-9-]+)?${escapeRegExp(apiPath)}/?$`,
        ),
        versionNeeded: options.versionNeeded ?? true,
        handlers: new Map(),
      }
      this.apis.set(apiPath, api)
    }
    if (api.handlers.has(httpMethod)) throw new Error(`${httpMethod} ${apiPath} is registered twice`)
    api.handlers.set(httpMethod, handler)
  }

  /** PathRouter.getAPIThatMatchesPath: an exact match first, then one with prefixes. */
  private match(path: string): Api | undefined {
    for (const api of this.apis.values()) {
      if (path === api.path || path === `${api.path}/`) return api
    }
    for (const api of this.apis.values()) {
      if (api.prefixed.test(path)) return api
    }
    return undefined
  }

  register(app: FastifyInstance): void {
    app.route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE'],
      url: '*',
      exposeHeadRoute: false,
      handler: (request, reply) => this.dispatch(request, reply),
    })
  }

  private async dispatch(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const path = servletPath(request.url)
    const api = this.match(path)
    const tenant = api === undefined ? helloTenant(path) : tenantInPath(path, api.path)

    const version = cdiVersion(request.headers['cdi-version'])
    // Tenants came with CDI 3.0; older drivers do not get to name one.
    if (version !== undefined && compareVersions(version, '3.0') < 0 && tenant.tenantId !== undefined) {
      return text(reply, 404, 'Not found')
    }
    if ((api?.versionNeeded ?? true) && version !== undefined && !SUPPORTED_CDI_VERSIONS.includes(version)) {
      throw new BadRequest(`cdi-version ${version} not supported`)
    }

    if (api === undefined) {
      // NotFoundOrHelloAPI (GET, POST, PUT and DELETE): "Hello" for the root of an
      // existing app and tenant, else 404.
      if (!['GET', 'POST', 'PUT', 'DELETE'].includes(request.method)) {
        return text(reply, 405, 'Method not supported')
      }
      tenant.app()
      if (tenant.tenantId === undefined && isRoot(path)) return text(reply, 200, 'Hello')
      request.log.warn(
        { method: request.method, url: request.url },
        'SuperTokens core stand-in: unimplemented core path',
      )
      return text(reply, 404, 'Not found')
    }

    const handler = api.handlers.get(request.method)
    if (handler === undefined) {
      // The core's answer for a method an API lacks; it may also be one the stand-in lacks.
      request.log.warn(
        { method: request.method, url: request.url },
        'SuperTokens core stand-in: unimplemented core path or method',
      )
      return text(reply, 405, 'Method not supported')
    }
    const hasBody = request.method === 'POST' || request.method === 'PUT'
    const body = hasBody ? parseJsonBody(typeof request.body === 'string' ? request.body : '') : {}
    const result = await handler({
      body: new JsonInput(body),
      query: new QueryInput(request.query as Record<string, string | string[] | undefined>),
      tenant,
    })
    if (result instanceof TextReply) return text(reply, 200, result.text)
    return reply
      .code(200)
      .type('application/json; charset=UTF-8')
      .send(`${JSON.stringify(result)}\n`)
  }
}

/** WebserverAPI.sendTextResponse: text/html and println's newline. */
export function text(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/html; charset=UTF-8').send(`${message}\n`)
}

// HttpServletRequest.getServletPath, lower-cased as PathRouter compares it: decoded, with
// "." and ".." segments resolved and repeated slashes merged, as Tomcat normalises it.
// (Tomcat answers a path that escapes the root, or a bad escape, with its own 400 page
// before any API runs; the stand-in just routes what is left.)
function servletPath(url: string): string {
  let path = url.split('?', 1)[0] ?? ''
  try {
    path = decodeURIComponent(path)
  } catch {
    // Left as it came.
  }
  return posix.normalize(path).toLowerCase()
}

function tenantFromSegment(segment: string | undefined): string | undefined {
  if (segment === undefined || segment === PUBLIC_TENANT || NOT_TENANT_IDS.includes(segment)) return undefined
  return segment
}

function appFromSegment(segment: string): string {
  const appId = segment.slice('appid-'.length)
  return appId === '' ? PUBLIC_TENANT : appId
}

// WebserverAPI.getAppId and getTenantId for a path that matched apiPath.
function tenantInPath(path: string, apiPath: string): PathTenant {
  const api = escapeRegExp(apiPath)
  const segments = path.split('/')
  if (new RegExp(`^/appid-[a-z0-9-]*/[a-z0-9-]+${api}/?$`).test(path)) {
    return new PathTenant(appFromSegment(segments[1] ?? ''), tenantFromSegment(segments[2]))
  }
  if (new RegExp(`^/appid-[a-z0-9-]*${api}/?$`).test(path)) {
    return new PathTenant(appFromSegment(segments[1] ?? ''), undefined)
  }
  if (new RegExp(`^/[a-z0-9-]+${api}/?$`).test(path)) {
    return new PathTenant(PUBLIC_TENANT, tenantFromSegment(segments[1]))
  }
  return new PathTenant(PUBLIC_TENANT, undefined)
}

// The same for NotFoundOrHelloAPI, whose path is "/": only /appid-<app>/<tenant> can name them.
function helloTenant(path: string): PathTenant {
  const match = /^(\/appid-[a-z0-9-]*)?(\/[a-z0-9-]+)?\/?$/.exec(path)
  if (match === null) return new PathTenant(PUBLIC_TENANT, undefined)
  const appId = match[1] === undefined ? PUBLIC_TENANT : appFromSegment(match[1].slice(1))
  return new PathTenant(appId, tenantFromSegment(match[2]?.slice(1)))
}

function isRoot(path: string): boolean {
  return /^(\/appid-[a-z0-9-]*)?(\/public)?\/?$/.test(path)
}

// WebserverAPI.getVersionFromRequest: undefined means the header was not sent.
function cdiVersion(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined) return undefined
  if (!/^[0-9]+(\.[0-9]+)*$/.test(value)) throw new BadRequest('cdi-version header is invalid')
  if (compareVersions(value, LATEST_CDI_VERSION) > 0)
    throw new BadRequest(`cdi-version ${value} not supported`)
  return value
}

// SemVer.compareTo, including its Integer.parseInt, which fails on parts past 2^31 - 1.
function compareVersions(a: string, b: string): number {
  const toInt = (part: string) => {
    const value = Number(part)
    if (value > 2147483647) {
      throw new JavaException('java.lang.NumberFormatException', `For input string: "${part}"`)
    }
    return value
  }
  const left = a.split('.')
  const right = b.split('.')
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = i < left.length ? toInt(left[i] as string) : 0
    const y = i < right.length ? toInt(right[i] as string) : 0
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

export function parseBoolean(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback
  return value.toLowerCase() === 'true'
}
