import { IMPORT_CONTEXT } from '@nudge/auth'
import { newId } from '@nudge/db'
import { startMailerliteStandIn } from '@nudge/mailerlite-stand-in'
import { sql } from 'kysely'
import supertokens from 'supertokens-node'
import Passwordless from 'supertokens-node/recipe/passwordless'
import t from 'tap'
import { importUser } from '../src/modules/golive/users.ts'
import { buildTestApp } from './helpers/app.ts'
import { signInAs } from './helpers/session.ts'

// Go-Live's users: an imported person signs in with a magic link and lands in the account the
// migration made for them, with none of the first-sign-in work a new sign-up gets.
const KEY = 'mlsk-our-own-account-0123456789'
const mailerlite = await startMailerliteStandIn({ apiKeys: [KEY] })
t.teardown(() => mailerlite.close())
// No worker: the marketing sync a sign-up enqueues stays in the queue, where it is counted.
const app = await buildTestApp(t, { MAILERLITE_API_KEY: KEY, MAILERLITE_API_URL: mailerlite.url })
await app.ready()

type Headers = Record<string, string>

async function count(query: ReturnType<typeof sql<{ n: number }>>) {
  const { rows } = await query.execute(app.db)
  return rows[0]?.n ?? -1
}
const usersWithEmail = (email: string) =>
  count(sql<{ n: number }>`SELECT count(*)::int AS n FROM users WHERE lower(email) = lower(${email})`)
async function marketingJobsFor(email: string) {
  // pg-boss makes its tables with the first job sent: none yet, none for this email.
  const queue = await count(sql<{ n: number }>`SELECT count(to_regclass('pgboss.job'))::int AS n`)
  if (queue === 0) return 0
  return count(sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job
    WHERE name = 'marketing.sync' AND lower(data->>'email') = lower(${email})`)
}
async function mailTo(email: string) {
  const res = await app.inject({ url: `/dev/mailbox?to=${encodeURIComponent(email)}` })
  return (res.json().messages as unknown[]).length
}
async function legacyIdsOf(userId: string) {
  return app.db
    .selectFrom('legacy_ids')
    .select(['kind', 'legacy_id'])
    .where('new_id', '=', userId)
    .orderBy('kind')
    .execute()
}
/** What the migration does for an account's owner: a team, not personal, with them as owner. */
async function teamOwnedBy(userId: string, name: string) {
  const id = newId()
  await app.db.insertInto('teams').values({ id, name, personal: false }).execute()
  await app.db.insertInto('team_members').values({ team_id: id, user_id: userId, role: 'owner' }).execute()
  return id
}
async function teamsOf(headers: Headers) {
  const res = await app.inject({ url: '/v1/teams', headers })
  return (res.json().items as Array<{ id: string; name: string; personal: boolean; role: string }>).map(
    (team) => ({ id: team.id, name: team.name, personal: team.personal, role: team.role }),
  )
}

t.test('an imported user signs in by magic link into the account made for them', async (t) => {
  const email = 'Ann.Owner@Example.com'
  const createdAt = new Date('2021-03-04T05:06:07Z')
  const first = await importUser(app, {
    email,
    name: 'Ann Owner',
    createdAt,
    auth0UserId: 'email|5f1c0000000000000000000a',
    emailVerified: true,
  })
  t.equal(first.created, true)
  const again = await importUser(app, {
    email: ' ann.owner@example.COM ',
    createdAt,
    auth0UserId: 'email|5f1c0000000000000000000a',
  })
  t.same(again, { userId: first.userId, created: false }, 'a second import (any case) finds the same user')
  t.equal(await usersWithEmail(email), 1, 'one users row')
  const row = await app.db
    .selectFrom('users')
    .selectAll()
    .where('id', '=', first.userId)
    .executeTakeFirstOrThrow()
  t.equal(row.email, 'ann.owner@example.com')
  t.equal(row.name, 'Ann Owner')
  t.equal(row.created_at.toISOString(), createdAt.toISOString(), 'the old account keeps its age')
  t.same(await legacyIdsOf(first.userId), [
    { kind: 'auth0', legacy_id: 'email|5f1c0000000000000000000a' },
    { kind: 'user', legacy_id: 'ann.owner@example.com' },
  ])
  t.equal(await mailTo(email), 0, 'the import sends no email')
  t.equal(await marketingJobsFor(email), 0, 'the import syncs nothing to marketing')
  t.equal(await count(sql<{ n: number }>`SELECT count(*)::int AS n FROM teams`), 0, 'and creates no team')

  const st = await supertokens.getUser(first.userId)
  t.equal(st?.id, first.userId, 'SuperTokens knows the person by our user id')
  t.same(st?.emails, ['ann.owner@example.com'])
  const mapping = await supertokens.getUserIdMapping({ userId: first.userId, userIdType: 'EXTERNAL' })
  t.equal(
    mapping.status === 'OK' && mapping.externalUserIdInfo,
    'email|5f1c0000000000000000000a',
    'Auth0 id kept',
  )

  const teamId = await teamOwnedBy(first.userId, 'Ann’s Shop')
  const signedIn = await signInAs(app, 'ann.owner@example.com')
  t.equal(signedIn.id, first.userId, 'the sign-in lands in the imported user')
  const me = await app.inject({ url: '/v1/me', headers: signedIn.headers })
  t.equal(me.json().email, 'ann.owner@example.com')
  t.same(
    await teamsOf(signedIn.headers),
    [{ id: teamId, name: 'Ann’s Shop', personal: false, role: 'owner' }],
    'exactly the migrated team: no personal team was made',
  )
  t.equal(await marketingJobsFor(email), 0, 'no welcome/marketing work for the first sign-in')
  t.equal(await usersWithEmail(email), 1)

  const second = await signInAs(app, email)
  t.equal(second.id, first.userId, 'and every later sign-in too')
  t.equal((await teamsOf(second.headers)).length, 1)
})

t.test('a user who signed up natively before go-live keeps their user and keeps working', async (t) => {
  const email = 'early.bird@example.com'
  const native = await signInAs(app, email)
  const personal = await teamsOf(native.headers)
  t.equal(personal.length, 1, 'a native sign-up gets its personal team')
  t.equal(await marketingJobsFor(email), 1, 'and its marketing sync (what the imports must not get)')

  const imported = await importUser(app, {
    email: 'Early.Bird@Example.com',
    createdAt: new Date('2020-01-01T00:00:00Z'),
    auth0UserId: 'email|5f1c0000000000000000000b',
  })
  t.same(imported, { userId: native.id, created: false })
  t.same(
    (await legacyIdsOf(native.id)).map((r) => r.kind),
    ['auth0', 'user'],
    'the old ids point at the existing user',
  )
  const { supertokens_user_id } = await app.db
    .selectFrom('users')
    .select('supertokens_user_id')
    .where('id', '=', native.id)
    .executeTakeFirstOrThrow()
  t.not(supertokens_user_id, native.id, 'a native user is known to SuperTokens by its own id')
  const mapping = await supertokens.getUserIdMapping({ userId: supertokens_user_id, userIdType: 'ANY' })
  t.equal(mapping.status, 'UNKNOWN_MAPPING_ERROR', 'a native user is left unmapped')

  const me = await app.inject({ url: '/v1/me', headers: native.headers })
  t.equal(me.statusCode, 200, 'their session still works')
  const again = await signInAs(app, email)
  t.equal(again.id, native.id, 'and so does signing in')
  t.same(await teamsOf(again.headers), personal)
  t.equal(await marketingJobsFor(email), 1)
})

t.test('resumes after a crash at any step', async (t) => {
  // Crashed after creating the SuperTokens user, before mapping it.
  const created = await Passwordless.signInUp({
    tenantId: 'public',
    email: 'crash.one@example.com',
    userContext: { ...IMPORT_CONTEXT },
  })
  if (created.status !== 'OK') throw new Error(created.status)
  t.equal(await usersWithEmail('crash.one@example.com'), 0, 'an import sign-up writes no users row')
  const one = await importUser(app, { email: 'crash.one@example.com', createdAt: new Date() })
  t.equal(one.created, true)
  t.not(one.userId, created.user.id)
  const mapped = await supertokens.getUserIdMapping({ userId: created.user.id, userIdType: 'SUPERTOKENS' })
  t.equal(
    mapped.status === 'OK' && mapped.externalUserId,
    one.userId,
    'the same SuperTokens user, now mapped',
  )

  // Crashed after mapping, before the users row: the id chosen then is the id.
  const other = await Passwordless.signInUp({
    tenantId: 'public',
    email: 'crash.two@example.com',
    userContext: { ...IMPORT_CONTEXT },
  })
  if (other.status !== 'OK') throw new Error(other.status)
  const chosen = newId()
  await supertokens.createUserIdMapping({ superTokensUserId: other.user.id, externalUserId: chosen })
  const two = await importUser(app, { email: 'crash.two@example.com', createdAt: new Date() })
  t.same(two, { userId: chosen, created: true })
  const signedIn = await signInAs(app, 'crash.two@example.com')
  t.equal(signedIn.id, chosen)
  t.same(await teamsOf(signedIn.headers), [], 'no personal team for a resumed import either')
  t.equal(await marketingJobsFor('crash.two@example.com'), 0)
})

t.test('deleting an imported account removes its SuperTokens user and mapping', async (t) => {
  const { userId } = await importUser(app, { email: 'leaver@example.com', createdAt: new Date() })
  const signedIn = await signInAs(app, 'leaver@example.com')
  const deleted = await app.inject({ method: 'DELETE', url: '/v1/me', headers: signedIn.headers })
  t.equal(deleted.statusCode, 204)
  t.equal(await supertokens.getUser(userId), undefined)
  t.same(await supertokens.getUserIdMapping({ userId }), { status: 'UNKNOWN_MAPPING_ERROR' })
  const gone = await app.inject({ url: '/v1/me', headers: signedIn.headers })
  t.equal(gone.statusCode, 401, 'the session ended with the account')
})

t.test('two imports of one person racing end as one user', async (t) => {
  // Each await is a chance to interleave: several trios, so the unlucky orders happen too.
  for (let i = 0; i < 5; i++) {
    const email = `racer.${i}@example.com`
    const input = { email: email.toUpperCase(), createdAt: new Date(), auth0UserId: `email|race${i}` }
    const results = await Promise.all([
      importUser(app, input),
      importUser(app, { ...input, email }),
      importUser(app, input),
    ])
    t.equal(new Set(results.map((r) => r.userId)).size, 1, `${email}: the same user id`)
    t.equal(results.filter((r) => r.created).length, 1, `${email}: created once`)
    t.equal(await usersWithEmail(email), 1)
    t.same(
      (await supertokens.listUsersByAccountInfo('public', { email })).map((u) => u.id),
      [results[0]?.userId],
      `${email}: one SuperTokens user, mapped to it`,
    )
  }
})

t.test('what is not an email address is refused, and nothing is written', async (t) => {
  for (const email of ['', '   ', 'no-at-sign', 'two words@example.com']) {
    await t.rejects(
      importUser(app, { email, createdAt: new Date() }),
      /not an address/,
      JSON.stringify(email),
    )
  }
  t.equal(await count(sql<{ n: number }>`SELECT count(*)::int AS n FROM users WHERE email NOT LIKE '%@%'`), 0)
})
