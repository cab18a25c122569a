import { randomUUID } from 'node:crypto'
import type {} from '@nudge/cache'
import type {} from '@nudge/config'
import type { DB } from '@nudge/db'
import {
  type Client,
  type EvaluationContext,
  type JsonValue,
  NOOP_PROVIDER,
  OpenFeature,
} from '@openfeature/server-sdk'
import type { FastifyBaseLogger } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { definitionProblem, type FlagDefinition } from './definition.ts'
import { InProcessFlagProvider } from './provider.ts'

/** The cache key whose invalidation (on every worker) means: the definitions changed, read them again. */
export const FLAGS_INVALIDATION_KEY = 'flags:definitions'

/**
 * Who is asking, for targeting. `teamId` is also the targeting key, so `fractional` rollouts bucket
 * whole teams: every member of a team gets the same answer.
 */
export interface FlagContext {
  teamId?: string | undefined
  userId?: string | undefined
  plan?: string | undefined
  role?: string | undefined
}

export interface FlagsState {
  /** loaded: definitions from PostgreSQL; defaults: none could be read yet, every flag is its code default. */
  status: 'loaded' | 'defaults'
  flags: number
  loadedAt: Date | null
  /** Why the last read failed (for logs and operators, not for public answers). */
  error: string | null
}

export interface Flags {
  /** The OpenFeature client of this app instance (its own domain), for any flag type. */
  client: Client
  /**
   * A boolean flag for this context; `fallback` when the flag is unknown, disabled or cannot be
   * evaluated. Synchronous, no I/O: the same provider the OpenFeature client uses, called directly.
   */
  boolean(key: string, fallback: boolean, context: FlagContext): boolean
  /** Enabled flags whose metadata has `name: true`, evaluated for this context. No I/O. */
  evaluateMarked(name: 'clientVisible' | 'published', context: FlagContext): Record<string, JsonValue>
  /** Reads every definition from PostgreSQL again (what an invalidation triggers). */
  reload(): Promise<void>
  state(): FlagsState
}

declare module 'fastify' {
  interface FastifyInstance {
    flags: Flags
  }
}

export function evaluationContext(context: FlagContext): EvaluationContext {
  const values: EvaluationContext = {}
  for (const [name, value] of Object.entries(context)) if (value !== undefined) values[name] = value
  if (context.teamId !== undefined) values.targetingKey = context.teamId
  return values
}

/** Every stored definition that is valid; one that is not (written around the API) is left out and logged. */
async function readDefinitions(db: Kysely<DB>, log: FastifyBaseLogger) {
  const rows = await db.selectFrom('feature_flags').select(['key', 'definition']).execute()
  const definitions = new Map<string, FlagDefinition>()
  for (const row of rows) {
    const problem = definitionProblem(row.key, row.definition)
    if (problem) log.error({ flag: row.key, problem }, 'stored flag definition is invalid: not loaded')
    else definitions.set(row.key, row.definition as unknown as FlagDefinition)
  }
  return definitions
}

/**
 * Decorates `app.flags`: feature flags evaluated in-process by flagd-core through OpenFeature.
 * Every definition is held in memory, read at start, again within a second of any change (the
 * cache layer's invalidation broadcast) and every FLAGS_RELOAD_SECONDS as a fallback. A process
 * that cannot read them starts anyway, on each flag's code default, says so, and keeps trying.
 */
export const flagsPlugin = fp(
  async (app) => {
    const log = app.log.child({ layer: 'flags' })
    const flagdLog = {
      debug: (...args: unknown[]) => log.debug({ detail: args.map(String) }, 'flagd'),
      info: (...args: unknown[]) => log.info({ detail: args.map(String) }, 'flagd'),
      warn: (...args: unknown[]) => log.warn({ detail: args.map(String) }, 'flagd'),
      error: (...args: unknown[]) => log.error({ detail: args.map(String) }, 'flagd'),
    }
    const provider = new InProcessFlagProvider(flagdLog)
    // OpenFeature's API is one object per process; each app instance (tests run several workers
    // in one process) gets a domain of its own, so their providers never replace each other.
    const domain = `nudge-${randomUUID()}`
    await OpenFeature.setProviderAndWait(domain, provider)
    const client = OpenFeature.getClient(domain)

    const state: FlagsState = { status: 'defaults', flags: 0, loadedAt: null, error: null }
    let running: Promise<void> | undefined
    let next: Promise<void> | undefined
    let closed = false

    async function load() {
      try {
        provider.replace(await readDefinitions(app.db, log))
        if (state.status === 'defaults') log.info({ flags: provider.size }, 'feature flags loaded')
        Object.assign(state, { status: 'loaded', flags: provider.size, loadedAt: new Date(), error: null })
      } catch (error) {
        state.error = (error as Error).message
        if (state.status === 'defaults') {
          log.error(
            { err: error },
            'feature flags could not be loaded: every flag is at its default until they can',
          )
        } else {
          log.warn({ err: error }, 'feature flags could not be reloaded: keeping the ones loaded')
        }
      }
    }

    /**
     * One read at a time. A caller while a read runs gets the read after it (one, shared by every
     * such caller): the running one may have started before the change the caller heard of.
     */
    function reload(): Promise<void> {
      if (closed) return Promise.resolve()
      if (!running) {
        running = load().finally(() => {
          running = undefined
        })
        return running
      }
      next ??= running.then(() => {
        next = undefined
        return reload()
      })
      return next
    }

    await reload()
    const unsubscribe = app.cache.onInvalidate(FLAGS_INVALIDATION_KEY, () => void reload())
    const timer = setInterval(() => void reload(), app.config.FLAGS_RELOAD_SECONDS * 1000)
    timer.unref()

    app.decorate('flags', {
      client,
      boolean: (key, fallback, context) => provider.booleanValue(key, fallback, evaluationContext(context)),
      evaluateMarked: (name, context) =>
        provider.evaluateAll(evaluationContext(context), (metadata) => metadata[name] === true),
      reload,
      state: () => ({ ...state }),
    } satisfies Flags)

    app.addHook('onClose', async () => {
      closed = true
      clearInterval(timer)
      unsubscribe()
      await running
      // The domain keeps no provider of ours (and no reference to this app) once it is closed.
      await OpenFeature.setProviderAndWait(domain, NOOP_PROVIDER)
    })
  },
  { name: 'flags', dependencies: ['config', 'logging', 'db', 'cache'], fastify: '5.x' },
)
