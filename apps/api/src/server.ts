import AjvCompiler from '@fastify/ajv-compiler'
import SerializerCompiler from '@fastify/fast-json-stringify-compiler'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { type Config, list } from '@nudge/config'
import { loggerOptions } from '@nudge/logging'
import Fastify, { type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { app } from './app.ts'

export type AppConfig = Config

/** The built API, as `buildApp` returns it. */
export type App = Awaited<ReturnType<typeof buildApp>>

/**
 * Builds the whole API for a given config: what `main.ts` listens with and what every test
 * calls. Nothing is read from process.env here.
 */
export async function buildApp(
  config: AppConfig,
  {
    logStream,
    worker = false,
    ...options
  }: Partial<FastifyServerOptions> & {
    logStream?: { write(line: string): void }
    /** The job worker process (worker.ts): runs job handlers and cron schedules. */
    worker?: boolean
  } = {},
) {
  const schemas = new Set<{ compile(): unknown }>()
  const instance = Fastify({
    ...loggerOptions(config, logStream),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A hostname in a path (GET /public/v1/sites/:hostname) may be 253 characters long.
    routerOptions: { maxParamLength: 256 },
    // Requests arriving during a reload are served, not refused: see plugins/drain.ts.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // X-Forwarded-For is believed from our own proxies only; anyone else could write it. The
    // edge layer then takes the visitor's address from CF-Connecting-IP when Cloudflare sent it.
    trustProxy: list(config.TRUSTED_PROXIES).length > 0 ? list(config.TRUSTED_PROXIES) : false,
    ajv: {
      // allowUnionTypes: a field of two types (`type: ['string', 'integer']`) is named once when wrong,
      // where `anyOf` would name it once per member (visitors' campaignId, see visitors/schemas.ts).
      customOptions: { allErrors: true, useDefaults: true, removeAdditional: false, allowUnionTypes: true },
      // ajv-formats' uuid also takes "urn:uuid:…", which PostgreSQL refuses: ids are plain UUIDs.
      onCreate: (ajv: { addFormat(name: string, format: RegExp): unknown }) => {
        ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)
      },
    },
    schemaController: {
      compilersFactory: {
        buildValidator: lazily(validatorsByPart(), schemas) as never,
        buildSerializer: lazily(SerializerCompiler() as never, schemas) as never,
      },
    },
    ...options,
  }).withTypeProvider<TypeBoxTypeProvider>()
  uncompiled.set(instance, schemas)
  // Not encapsulated: the layers' decorators, hooks and handlers reach every route, including
  // routes a test adds to the returned instance.
  await instance.register(fp(app), { config, worker })
  return instance
}

/**
 * Query strings, params and headers arrive as text, so they are coerced to the schema's types
 * (`?limit=10` → 10, `?id=a` → ['a']). Bodies are JSON and already typed: coercing them would turn
 * `null` into 0 or `""` and `"5"` into 5, accepting input a client got wrong. Two AJV setups, one
 * per kind of part.
 */
function validatorsByPart() {
  // Typed loosely: @fastify/ajv-compiler's declarations cover the JTD variant too.
  const compilers = AjvCompiler() as unknown as (
    externalSchemas: unknown,
    options: { customOptions?: object },
  ) => (route: { httpPart?: string }) => unknown
  return (externalSchemas: unknown, options: { customOptions?: object } = {}) => {
    const withCoercion = (coerceTypes: 'array' | false) =>
      compilers(externalSchemas, { ...options, customOptions: { ...options.customOptions, coerceTypes } })
    const coercing = withCoercion('array')
    const exact = withCoercion(false)
    return (route: { httpPart?: string }) => (route.httpPart === 'body' ? exact : coercing)(route)
  }
}

/** Each app's validators and serializers not compiled yet: what `compileEverySchema` compiles. */
const uncompiled = new WeakMap<object, Set<{ compile(): unknown }>>()

/**
 * A validator or serializer compiler factory whose compilers compile on the first call, not when
 * the route is added: a process compiles (and keeps the generated code of) only the routes it
 * serves (idle API worker: ~10 MB less RSS, README "Memory"). Each compiled function is a wrapper
 * that compiles on its first call and then forwards every call; it exposes `.errors` (AJV's, read
 * by fastify after a failed validation) and `.schemaEnv` (which tells fastify to pass the parent
 * data) from the compiled function. A schema that does not compile fails its first request instead
 * of the start: test/schemas.test.ts compiles every route's schemas (`compileEverySchema`), so none
 * reaches production.
 */
function lazily<Route>(
  factory: (...args: never[]) => (route: Route) => unknown,
  pending: Set<{ compile(): unknown }>,
) {
  return (...args: never[]) => {
    const compiler = factory(...args)
    return (route: Route) => {
      type Compiled = ((...args: unknown[]) => unknown) & { errors?: unknown; schemaEnv?: unknown }
      let compiled: Compiled | undefined
      const entry = {
        compile(): Compiled {
          if (!compiled) {
            compiled = compiler(route) as Compiled
            pending.delete(entry)
          }
          return compiled
        },
      }
      pending.add(entry)
      // Validators take (data, context), serializers (payload): no rest arguments on the hot path.
      const call = (data: unknown, context?: unknown) => (compiled ?? entry.compile())(data, context)
      Object.defineProperties(call, {
        errors: { get: () => entry.compile().errors },
        schemaEnv: { get: () => entry.compile().schemaEnv },
      })
      return call
    }
  }
}

/**
 * Compiles every validator and serializer of `app` still waiting for its first call, so that a
 * schema that does not compile throws here (test/schemas.test.ts). Returns how many it compiled.
 */
export function compileEverySchema(app: object): number {
  const pending = [...(uncompiled.get(app) ?? [])]
  for (const entry of pending) entry.compile()
  return pending.length
}
