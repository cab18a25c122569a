import { startMailerliteStandIn } from '@nudge/mailerlite-stand-in'
import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { eventually } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

// Our own users in our own Mailerlite account (libs/marketing), through jobs.
const KEY = 'mlsk-our-own-account-0123456789'
const mailerlite = await startMailerliteStandIn({ apiKeys: [KEY] })
t.teardown(() => mailerlite.close())
const app = await buildTestApp(
  t,
  { MAILERLITE_API_KEY: KEY, MAILERLITE_API_URL: mailerlite.url, JOBS_POLL_SECONDS: '0.5' },
  { worker: true },
)
await app.ready()

t.test('a new user joins the users group; Mailerlite down never slows sign-in', async (t) => {
  t.equal(app.marketing.enabled, true)
  await signInAs(app, 'new.user@example.com')
  const subscriber = await eventually(async () => mailerlite.state.subscriber(KEY, 'new.user@example.com'))
  const groups = mailerlite.state.accounts.get(KEY)?.groups
  const users = [...(groups?.values() ?? [])].find((group) => group.name === 'users')
  t.ok(users, 'the users group was created')
  t.same(subscriber.groups, [users?.id])

  await signInAs(app, 'new.user@example.com')
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(mailerlite.state.subscribersOf(KEY).length, 1, 'a returning user is not sent again')

  mailerlite.state.setDown(true)
  const started = Date.now()
  await signInAs(app, 'while.down@example.com')
  t.ok(Date.now() - started < 3000, 'signed in while Mailerlite is down')
  await eventually(
    async () => {
      const { rows } = await sql<{ state: string }>`
      SELECT state FROM pgboss.job WHERE name = 'marketing.sync' AND data->>'email' = 'while.down@example.com'`.execute(
        app.db,
      )
      return rows[0]?.state === 'retry' && rows
    },
    10000,
    'the job waiting to retry',
  )
  t.equal(mailerlite.state.subscriber(KEY, 'while.down@example.com'), undefined)
  mailerlite.state.setDown(false)
})

t.test('a deleted account leaves our Mailerlite account', async (t) => {
  const gone = await signInAs(app, 'leaving@example.com')
  await eventually(async () => mailerlite.state.subscriber(KEY, 'leaving@example.com'))
  const deleted = await app.inject({ method: 'DELETE', url: '/v1/me', headers: gone.headers })
  t.equal(deleted.statusCode, 204, deleted.body)
  await eventually(
    async () => mailerlite.state.subscriber(KEY, 'leaving@example.com') === undefined,
    10000,
    'the subscriber removed',
  )
  t.pass('removed')
})

t.test('without MAILERLITE_API_KEY the layer is off and sends nothing', async (t) => {
  const off = await buildTestApp(t, { MAILERLITE_API_URL: mailerlite.url })
  t.equal(off.marketing.enabled, false)
  await off.ready()
  t.notOk(off.jobs.names.includes('marketing.sync'))
})
