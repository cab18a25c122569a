import { type AfterCommit, type DB, transaction } from '@nudge/db'
import type { FastifyInstance } from 'fastify'
import type { Kysely, Transaction } from 'kysely'

/**
 * What every service reaches the layers through: the app's decorators (their types live beside
 * each decorator, in its lib). One type for every module, so a service's signature is always
 * `(deps, input)`; a service uses what it needs of it.
 */
export type Deps = Pick<
  FastifyInstance,
  | 'config'
  | 'log'
  | 'observe'
  | 'db'
  | 'cache'
  | 'flags'
  | 'edgeCache'
  | 'limiter'
  | 'allowance'
  | 'mailer'
  | 'storage'
  | 'jobs'
  | 'marketing'
  | 'payments'
  | 'memberships'
>

/**
 * Deps inside a transaction a service opened with `inTransaction`: `db` is the transaction, and
 * `afterCommit` registers work (cache forgetting, edge purges) for after the commit. A function
 * that must run inside its caller's transaction takes `TxDeps` instead of `Deps`.
 */
export type TxDeps = Omit<Deps, 'db'> & {
  db: Transaction<DB>
  afterCommit: AfterCommit
  /**
   * The app's database outside the transaction, for after-commit work that still queries (an edge
   * purge's bookkeeping): by then the transaction is over and `db` refuses queries.
   */
  pool: Kysely<DB>
}

/**
 * The decorators, copied by name (a Fastify instance inherits its parent's decorators through its
 * prototype, so spreading `app` would lose them). `module` names the logger's child.
 */
export function depsOf(app: Deps, module?: string): Deps {
  return {
    config: app.config,
    log: module ? app.log.child({ module }) : app.log,
    observe: app.observe,
    db: app.db,
    cache: app.cache,
    flags: app.flags,
    edgeCache: app.edgeCache,
    limiter: app.limiter,
    allowance: app.allowance,
    mailer: app.mailer,
    storage: app.storage,
    jobs: app.jobs,
    marketing: app.marketing,
    payments: app.payments,
    memberships: app.memberships,
  }
}

/**
 * Runs `work` in a transaction that the calling service owns. After-commit work that fails is
 * logged and reported, not thrown: the change is committed, and a cache entry that was not
 * forgotten expires by its TTL.
 */
export function inTransaction<T>(deps: Deps, work: (tx: TxDeps) => Promise<T>): Promise<T> {
  return transaction(
    deps.db,
    (trx, afterCommit) => work({ ...depsOf(deps), db: trx, afterCommit, pool: deps.db }),
    (error) => {
      deps.log.error({ err: error }, 'after-commit work failed (the change itself is committed)')
      deps.observe.noticeError(error as Error)
    },
  )
}
