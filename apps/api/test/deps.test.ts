import t from 'tap'
import { depsOf, inTransaction } from '../src/deps.ts'
import { buildTestApp, captureLogs } from './helpers/app.ts'

t.test(
  'inTransaction: after-commit work runs after the commit, and a failing one is logged, not thrown',
  async (t) => {
    const logs = captureLogs()
    const app = await buildTestApp(t, { LOG_LEVEL: 'error' }, { logStream: logs.stream })
    await app.ready()
    const deps = depsOf(app)
    const seen: string[] = []
    const result = await inTransaction(deps, async (tx) => {
      tx.afterCommit(() => {
        throw new Error('cache unreachable')
      })
      tx.afterCommit(async () => {
        // Outside the transaction now: the row it wrote is visible to another connection.
        const row = await tx.pool
          .selectFrom('feature_flags')
          .select('key')
          .where('key', '=', 'after-commit-probe')
          .executeTakeFirst()
        seen.push(row ? 'committed' : 'not yet')
      })
      await tx.db
        .insertInto('feature_flags')
        .values({ key: 'after-commit-probe', definition: JSON.stringify({}), updated_by: 'test' })
        .execute()
      return 'done'
    })
    t.equal(result, 'done', 'the caller gets the result: the change is committed')
    t.same(seen, ['committed'], 'later after-commit work still runs, and sees the commit')
    const logged = logs.lines.find((line) => String(line.msg).startsWith('after-commit work failed'))
    t.ok(logged, 'the failure is in the log')
    t.match(logged, { level: 50, err: { message: 'cache unreachable' } })

    await t.rejects(
      inTransaction(deps, async (tx) => {
        tx.afterCommit(() => seen.push('ran after a rollback'))
        throw new Error('refused')
      }),
      /refused/,
    )
    t.same(seen, ['committed'], 'nothing registered runs when the transaction rolls back')
  },
)
