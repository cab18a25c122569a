import { randomUUID } from 'node:crypto'
import { signServiceToken } from '@nudge/auth'
import t from 'tap'
import { buildTestApp, captureLogs } from './helpers/app.ts'
import { personalTeam } from './helpers/campaigns.ts'
import { emptyDatabase, migratedDatabase } from './helpers/database.ts'
import { BOOLEAN_OFF, flagsApi, within } from './helpers/flags.ts'
import { signInAs } from './helpers/session.ts'

/*
 * Feature flags (issue 23): definitions in PostgreSQL, evaluated in-process by flagd-core through
 * OpenFeature, changed by operators through /internal/v1/flags, reloaded by every worker.
 */

t.test('every change is audited: who, before, after', async (t) => {
  const app = await buildTestApp(t)
  const ops = flagsApi(app)
  await ops.ok(ops.rollout('audited', 5))
  await ops.ok(ops.rollout('audited', 25))
  await ops.ok(ops.disable('audited'))
  await ops.ok(ops.disable('audited'))
  const { changes } = await ops.ok(ops.changes('audited'))
  t.equal(changes.length, 3, 'a change that changes nothing is not recorded')
  t.same(
    changes.map((change: { actor: string }) => change.actor),
    ['service:ops', 'service:ops', 'service:ops'],
  )
  const [disabled, widened, created] = changes
  t.equal(created.before, null, 'created from nothing')
  t.same(created.after.targeting, {
    fractional: [
      ['on', 5],
      ['off', 95],
    ],
  })
  t.same(widened.before, created.after)
  t.same(widened.after.targeting, {
    fractional: [
      ['on', 25],
      ['off', 75],
    ],
  })
  t.equal(disabled.before.state, 'ENABLED')
  t.equal(disabled.after.state, 'DISABLED')
  t.equal((await ops.ok(ops.get('audited'))).updatedBy, 'service:ops')
  // The same definition with its keys in another order (jsonb keeps none) is no change either.
  await ops.ok(ops.set('reordered', BOOLEAN_OFF))
  await ops.ok(
    ops.set('reordered', { defaultVariant: 'off', variants: { off: false, on: true }, state: 'ENABLED' }),
  )
  t.equal((await ops.ok(ops.changes('reordered'))).changes.length, 1, 'a reordered definition is no change')
  const erase = app.db.deleteFrom('feature_flag_changes').execute()
  await t.rejects(erase, /append-only/, 'the audit cannot be erased')
})

t.test('the internal routes need an ops service token', async (t) => {
  const app = await buildTestApp(t)
  const none = await app.inject({ method: 'GET', url: '/internal/v1/flags' })
  t.equal(none.statusCode, 401)
  const cron = await app.inject({
    method: 'PUT',
    url: '/internal/v1/flags/sneaky',
    headers: { authorization: `Bearer ${signServiceToken(app.config.SERVICE_JWT_SECRET, 'cron', 60)}` },
    payload: BOOLEAN_OFF,
  })
  t.equal(cron.statusCode, 403, 'a cron token cannot change flags')
  const ops = flagsApi(app)
  t.same((await ops.ok(ops.list())).flags, [], 'nothing was written')
  t.equal((await ops.get('missing')).json().code, 'FLAG_NOT_FOUND')
  t.equal((await ops.disable('missing')).statusCode, 404)
  await ops.ok(ops.set('custom', { ...BOOLEAN_OFF, targeting: { '==': [{ var: 'plan' }, 'pro'] } }))
  const managed = await ops.rollout('custom', 10)
  t.equal(managed.statusCode, 409, 'rollout does not overwrite a hand-written rule')
  t.equal(managed.json().code, 'FLAG_NOT_MANAGED')
})

t.test('a change reaches every worker within a second', async (t) => {
  const DATABASE_URL = await migratedDatabase(t)
  const writer = await buildTestApp(t, { DATABASE_URL })
  const others = [
    await buildTestApp(t, { DATABASE_URL }),
    await buildTestApp(t, { DATABASE_URL }, { worker: true }),
  ]
  const ops = flagsApi(writer)
  const teamId = randomUUID()
  const everywhere = (value: boolean) =>
    within(1000, async () => {
      for (const app of [writer, ...others]) {
        if (app.flags.boolean('fast', false, { teamId }) !== value) return false
      }
      return true
    })
  await ops.ok(ops.rollout('fast', 100))
  const on = await everywhere(true)
  t.ok(on >= 0, `on in every worker after ${on.toFixed(0)} ms`)
  await ops.ok(ops.disable('fast'))
  const off = await everywhere(false)
  t.ok(off >= 0, `off in every worker after ${off.toFixed(0)} ms`)
})

t.test(
  'readiness reports the flags; a worker that cannot read them starts on defaults and says so',
  async (t) => {
    const app = await buildTestApp(t)
    await flagsApi(app).ok(flagsApi(app).rollout('visible', 100))
    const ready = await app.inject({ method: 'GET', url: '/health/ready' })
    t.match(ready.json().checks.flags, { status: 'loaded', flags: 1 })

    // A database without the flags table (a worker started before its migration ran, say).
    const logs = captureLogs()
    const DATABASE_URL = await emptyDatabase(t)
    const early = await buildTestApp(
      t,
      { DATABASE_URL, FLAGS_RELOAD_SECONDS: '1', LOG_LEVEL: 'info' },
      { logStream: logs.stream },
    )
    await early.ready()
    t.equal(early.flags.state().status, 'defaults')
    t.equal(early.flags.boolean('visible', true, { teamId: randomUUID() }), true, 'the code default')
    const said = logs.lines.find((line) => String(line.msg).includes('feature flags could not be loaded'))
    t.ok(said, 'the log says flags are at their defaults')
    t.equal(said?.level, 50)
    const health = await early.inject({ method: 'GET', url: '/health/ready' })
    t.match(health.json().checks.flags, { status: 'defaults', flags: 0, loadedAt: null })
    t.notMatch(health.body, /relation|feature_flags/, 'why is in the log, not in the public answer')

    // It keeps trying: once the table exists, the periodic re-read loads it.
    await early.db.schema
      .createTable('feature_flags')
      .addColumn('key', 'text', (col) => col.primaryKey())
      .addColumn('definition', 'jsonb', (col) => col.notNull())
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo('now()'))
      .addColumn('updated_by', 'text', (col) => col.notNull())
      .execute()
    const loaded = await within(3000, () => early.flags.state().status === 'loaded')
    t.ok(loaded >= 0, 'loaded by the periodic re-read')
  },
)

t.test('GET /v1/teams/:teamId/flags: the client-visible flags evaluated for the team', async (t) => {
  const app = await buildTestApp(t)
  const ops = flagsApi(app)
  const owner = await signInAs(app, 'owner@example.com')
  const teamId = await personalTeam(app, owner)
  const viewer = await signInAs(app, 'viewer@example.com')
  await app.db
    .insertInto('team_members')
    .values({ team_id: teamId, user_id: viewer.id, role: 'viewer' })
    .execute()
  const stranger = await signInAs(app, 'stranger@example.com')

  await ops.ok(ops.set('new-dashboard', { ...BOOLEAN_OFF, metadata: { clientVisible: true } }))
  await ops.ok(ops.enable('new-dashboard', teamId))
  await ops.ok(ops.set('server-only', { ...BOOLEAN_OFF, defaultVariant: 'on' }))
  await ops.ok(
    ops.set('admins-banner', {
      ...BOOLEAN_OFF,
      metadata: { clientVisible: true },
      targeting: { if: [{ in: [{ var: 'role' }, ['owner', 'admin']] }, 'on', 'off'] },
    }),
  )
  const url = `/v1/teams/${teamId}/flags`
  const asOwner = await app.inject({ method: 'GET', url, headers: owner.headers })
  t.equal(asOwner.statusCode, 200)
  t.same(asOwner.json(), { flags: { 'new-dashboard': true, 'admins-banner': true } }, 'no server-only flag')
  const asViewer = await app.inject({ method: 'GET', url, headers: viewer.headers })
  t.same(asViewer.json(), { flags: { 'new-dashboard': true, 'admins-banner': false } }, 'the role counts')
  const other = await app.inject({ method: 'GET', url, headers: stranger.headers })
  t.equal(other.statusCode, 404, 'a stranger learns nothing')
  const strangersOwn = await personalTeam(app, stranger)
  const theirs = await app.inject({
    method: 'GET',
    url: `/v1/teams/${strangersOwn}/flags`,
    headers: stranger.headers,
  })
  t.same(theirs.json(), { flags: { 'new-dashboard': false, 'admins-banner': true } })
  const anonymous = await app.inject({ method: 'GET', url })
  t.equal(anonymous.statusCode, 401)
})
