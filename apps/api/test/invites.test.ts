import { createHash } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { buildTestApp, captureLogs } from './helpers/app.ts'
import { signInAs } from './helpers/session.ts'
import { createTeam } from './helpers/teams.ts'
import { clearOfWindowEdge } from './helpers/windows.ts'

type App = Awaited<ReturnType<typeof buildTestApp>>
type Headers = Record<string, string>
interface Signed {
  id: string
  email: string
  headers: Headers
}

// Every sign-in of a test comes from 127.0.0.1: room for all of them.
const MANY_SIGN_INS = { AUTH_LINK_LIMIT_PER_IP: '1000' }

const signIn = signInAs

async function mailbox(app: App, to: string) {
  const res = await app.inject({ method: 'GET', url: `/dev/mailbox?to=${encodeURIComponent(to)}` })
  return res.json().messages as Array<{ subject: string; text: string; html: string }>
}

/** The token of the newest invite email to `to`, read from its link as the dashboard would. */
async function inviteTokenFor(app: App, to: string): Promise<string> {
  const mail = (await mailbox(app, to)).find((m) => m.subject.includes('invited you'))
  const link = mail?.text.match(/https:\/\/app\.nudge\.test\/invites\/accept#([A-Za-z0-9_-]+)/)
  if (!link?.[1]) throw new Error(`no invite link in the mailbox of ${to}`)
  return link[1]
}

function invite(app: App, by: Signed, teamId: string, email: string, role = 'editor') {
  return app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/invites`,
    headers: by.headers,
    payload: { email, role },
  })
}

function accept(app: App, user: Signed, token: string) {
  return app.inject({ method: 'POST', url: '/v1/invites/accept', headers: user.headers, payload: { token } })
}

/** Invites `email` and has them accept: a member with `role`, as a real invitee joins. */
async function inviteMember(app: App, owner: Signed, teamId: string, email: string, role: string) {
  const invited = await invite(app, owner, teamId, email, role)
  if (invited.statusCode !== 201) throw new Error(`invite failed: ${invited.body}`)
  const user = await signIn(app, email)
  const accepted = await accept(app, user, await inviteTokenFor(app, email))
  if (accepted.statusCode !== 200) throw new Error(`accept failed: ${accepted.body}`)
  return user
}

function code(res: LightMyRequestResponse) {
  return `${res.statusCode} ${res.json().code ?? ''}`.trim()
}

async function auditActions(app: App, teamId: string) {
  const rows = await app.db
    .selectFrom('audit_events')
    .select(['action', 'actor_id', 'target_type', 'target_id', 'data'])
    .where('team_id', '=', teamId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  return rows
}

async function membershipCount(app: App, teamId: string, userId: string) {
  const rows = await app.db
    .selectFrom('team_members')
    .select('user_id')
    .where('team_id', '=', teamId)
    .where('user_id', '=', userId)
    .execute()
  return rows.length
}

t.test('an owner invites, the invitee signs in with the magic link and accepts', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(t, { ...MANY_SIGN_INS, LOG_LEVEL: 'trace' }, { logStream: logs.stream })
  const owner = await signIn(app, 'owner@example.com')
  const teamId = await createTeam(app, owner, 'Growth <&> team')

  const created = await invite(app, owner, teamId, 'Invitee@Example.com', 'editor')
  t.equal(created.statusCode, 201, created.body)
  const body = created.json()
  t.match(body, {
    id: String,
    email: 'invitee@example.com',
    role: 'editor',
    invitedBy: owner.id,
    expired: false,
  })
  t.notOk('token' in body, 'the token is never in a response')
  const days = (Date.parse(body.expiresAt) - Date.now()) / 86_400_000
  t.ok(days > 6.99 && days <= 7, `expires in 7 days by default (${days})`)

  const mail = (await mailbox(app, 'invitee@example.com')).find((m) => m.subject.includes('invited you'))
  t.ok(mail, 'the invite email arrived')
  t.match(mail?.subject, /owner@example\.com invited you to Growth <&> team on nudge/)
  t.match(mail?.text, /as an editor/)
  t.match(mail?.html, /Growth &lt;&amp;&gt; team/, 'the team name is escaped in HTML')
  t.notMatch(mail?.html, /Growth <&> team/)
  const token = await inviteTokenFor(app, 'invitee@example.com')
  t.ok(token.length >= 43, 'the token carries 256 random bits')
  t.match(
    mail?.html,
    `href="https://app.nudge.test/invites/accept#${token}"`,
    'the HTML part has the link too',
  )

  const stored = await app.db
    .selectFrom('team_invites')
    .selectAll()
    .where('id', '=', body.id)
    .executeTakeFirstOrThrow()
  t.same(
    stored.token_hash,
    createHash('sha256').update(token).digest(),
    'only the sha256 of the token is stored',
  )
  t.notOk(JSON.stringify(stored).includes(token), 'the token itself is stored nowhere')

  const pending = await app.inject({
    method: 'GET',
    url: `/v1/teams/${teamId}/invites`,
    headers: owner.headers,
  })
  t.equal(pending.statusCode, 200)
  t.same(
    pending.json().items.map((i: { id: string }) => i.id),
    [body.id],
  )

  const before = await app.inject({
    method: 'GET',
    url: `/v1/teams/${teamId}/members`,
    headers: owner.headers,
  })
  t.equal(before.json().items.length, 1, 'one member before (and the list is now cached)')

  const invitee = await signIn(app, 'invitee@example.com')
  const accepted = await accept(app, invitee, token)
  t.equal(accepted.statusCode, 200, accepted.body)
  t.match(accepted.json(), { team: { id: teamId, name: 'Growth <&> team', role: 'editor' }, joined: true })

  const teams = await app.inject({ method: 'GET', url: '/v1/teams', headers: invitee.headers })
  t.match(
    teams.json().items.find((team: { id: string }) => team.id === teamId),
    { role: 'editor', name: 'Growth <&> team' },
    "the team is among the invitee's teams with the invited role",
  )
  const members = await app.inject({
    method: 'GET',
    url: `/v1/teams/${teamId}/members`,
    headers: invitee.headers,
  })
  t.equal(members.statusCode, 200, 'the new member passes the permission hook at once')
  t.same(
    members
      .json()
      .items.map((m: { email: string; role: string }) => `${m.email}:${m.role}`)
      .sort(),
    ['invitee@example.com:editor', 'owner@example.com:owner'],
  )
  const after = await app.inject({
    method: 'GET',
    url: `/v1/teams/${teamId}/invites`,
    headers: owner.headers,
  })
  t.same(after.json().items, [], 'an accepted invite is no longer pending')

  const audit = await auditActions(app, teamId)
  t.match(
    audit.filter((row) => row.action !== 'team.created'),
    [
      { action: 'member.invited', actor_id: owner.id, target_type: 'invite', target_id: body.id },
      { action: 'member.joined', actor_id: invitee.id, target_type: 'user', target_id: invitee.id },
    ],
  )
  t.match(audit.at(-1)?.data, { role: 'editor', inviteId: body.id })

  const raw = logs.raw.join('')
  t.ok(logs.lines.length > 0, 'logs were captured')
  t.notOk(raw.includes(token), 'the invite token is in no log line')
  t.notOk(raw.toLowerCase().includes('invitee@example.com'), 'nor is the invited email')
})

t.test('refusals: each with its status and code, and nothing written', async (t) => {
  const app = await buildTestApp(t, MANY_SIGN_INS)
  const owner = await signIn(app, 'owner@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  const admin = await inviteMember(app, owner, teamId, 'admin@example.com', 'admin')
  const viewer = await inviteMember(app, owner, teamId, 'viewer@example.com', 'viewer')
  const stranger = await signIn(app, 'stranger@example.com')
  const auditBefore = (await auditActions(app, teamId)).length
  const invitesBefore = (await app.db.selectFrom('team_invites').select('id').execute()).length

  t.equal(code(await invite(app, viewer, teamId, 'x@example.com')), '403 FORBIDDEN', 'a viewer cannot invite')
  t.equal(
    code(await app.inject({ method: 'GET', url: `/v1/teams/${teamId}/invites`, headers: viewer.headers })),
    '403 FORBIDDEN',
    'nor list invites',
  )
  t.equal(
    code(await invite(app, stranger, teamId, 'x@example.com')),
    '404 NOT_FOUND',
    'a stranger sees no team',
  )
  t.equal(
    code(await invite(app, admin, teamId, 'x@example.com', 'owner')),
    '403 ROLE_NOT_ALLOWED',
    'an admin cannot invite an owner',
  )
  t.equal(
    code(await invite(app, owner, teamId, 'VIEWER@example.com', 'editor')),
    '409 ALREADY_MEMBER',
    'an existing member (any case) cannot be invited',
  )
  t.equal(code(await invite(app, owner, teamId, 'not-an-email', 'editor')), '400 VALIDATION_ERROR')
  t.equal(code(await invite(app, owner, teamId, 'x@example.com', 'king')), '400 VALIDATION_ERROR')
  t.equal((await auditActions(app, teamId)).length, auditBefore, 'no audit row for a refused invite')
  t.equal(
    (await app.db.selectFrom('team_invites').select('id').execute()).length,
    invitesBefore,
    'and no invite row',
  )
  t.same(await mailbox(app, 'x@example.com'), [], 'and no email')

  t.equal(
    code(await invite(app, admin, teamId, 'by-admin@example.com', 'admin')),
    '201',
    'an admin invites up to admin',
  )
})

t.test('accepting: mismatch, used, revoked, expired, replaced and tampered tokens', async (t) => {
  const app = await buildTestApp(t, MANY_SIGN_INS)
  const owner = await signIn(app, 'owner@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  const member = await inviteMember(app, owner, teamId, 'member@example.com', 'editor')
  const admin = await inviteMember(app, owner, teamId, 'admin@example.com', 'admin')
  const other = await signIn(app, 'other@example.com')

  // Email mismatch: someone else holding the link cannot use it.
  await invite(app, owner, teamId, 'Someone@Example.com', 'viewer')
  const someoneToken = await inviteTokenFor(app, 'someone@example.com')
  t.equal(code(await accept(app, other, someoneToken)), '403 INVITE_EMAIL_MISMATCH')
  const someone = await signIn(app, 'SOMEONE@example.com')
  t.equal(code(await accept(app, someone, someoneToken)), '200', 'the invited address accepts, in any case')

  // Used: it works once.
  t.equal(code(await accept(app, someone, someoneToken)), '410 INVITE_USED')
  t.equal(await membershipCount(app, teamId, someone.id), 1)

  // Revoked.
  const revokedInvite = (await invite(app, owner, teamId, 'revoked@example.com', 'viewer')).json()
  const revokedToken = await inviteTokenFor(app, 'revoked@example.com')
  const revoked = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/invites/${revokedInvite.id}`,
    headers: admin.headers,
  })
  t.equal(revoked.statusCode, 204, revoked.body)
  const revokedUser = await signIn(app, 'revoked@example.com')
  t.equal(code(await accept(app, revokedUser, revokedToken)), '410 INVITE_REVOKED')
  t.equal(await membershipCount(app, teamId, revokedUser.id), 0)
  t.match((await auditActions(app, teamId)).at(-1), {
    action: 'invite.revoked',
    actor_id: admin.id,
    target_id: revokedInvite.id,
  })
  const again = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/invites/${revokedInvite.id}`,
    headers: owner.headers,
  })
  t.equal(again.statusCode, 204, 'revoking twice is a no-op')

  // Expired (INVITE_TTL_DAYS is at least 1: the clock is moved in the database).
  const expiring = (await invite(app, owner, teamId, 'late@example.com', 'viewer')).json()
  const lateToken = await inviteTokenFor(app, 'late@example.com')
  await app.db
    .updateTable('team_invites')
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where('id', '=', expiring.id)
    .execute()
  const list = await app.inject({ method: 'GET', url: `/v1/teams/${teamId}/invites`, headers: owner.headers })
  t.match(
    list.json().items.find((i: { id: string }) => i.id === expiring.id),
    { expired: true },
    'the list flags an expired invite',
  )
  const late = await signIn(app, 'late@example.com')
  t.equal(code(await accept(app, late, lateToken)), '410 INVITE_EXPIRED')
  t.equal(await membershipCount(app, teamId, late.id), 0)

  // Re-inviting a pending address replaces the invite: the old link is revoked, the new one works.
  const first = (await invite(app, owner, teamId, 'twice@example.com', 'viewer')).json()
  const oldToken = await inviteTokenFor(app, 'twice@example.com')
  const second = await invite(app, owner, teamId, 'TWICE@example.com', 'editor')
  t.equal(second.statusCode, 201, second.body)
  const newToken = await inviteTokenFor(app, 'twice@example.com')
  t.not(newToken, oldToken)
  const pending = (
    await app.inject({ method: 'GET', url: `/v1/teams/${teamId}/invites`, headers: owner.headers })
  ).json().items as Array<{ id: string; email: string }>
  t.same(
    pending.filter((i) => i.email === 'twice@example.com').map((i) => i.id),
    [second.json().id],
    'one pending invite for the address',
  )
  const audit = await auditActions(app, teamId)
  t.match(audit.slice(-2), [
    { action: 'invite.revoked', target_id: first.id, data: { reason: 'replaced' } },
    { action: 'member.invited', target_id: second.json().id, data: { role: 'editor', replaces: first.id } },
  ])
  const twice = await signIn(app, 'twice@example.com')
  t.equal(code(await accept(app, twice, oldToken)), '410 INVITE_REVOKED', 'the replaced link is revoked')
  const joined = await accept(app, twice, newToken)
  t.equal(joined.statusCode, 200, joined.body)
  t.equal(joined.json().team.role, 'editor', 'with the role of the new invite')

  // Tampered and unknown tokens.
  await invite(app, owner, teamId, 'tamper@example.com', 'viewer')
  const good = await inviteTokenFor(app, 'tamper@example.com')
  const tampered = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`
  const tamperer = await signIn(app, 'tamper@example.com')
  t.equal(code(await accept(app, tamperer, tampered)), '404 NOT_FOUND', 'a tampered token')
  t.equal(code(await accept(app, tamperer, 'x'.repeat(43))), '404 NOT_FOUND', 'an unknown token')
  t.equal(code(await accept(app, tamperer, 'not a token!')), '400 VALIDATION_ERROR')
  t.equal(await membershipCount(app, teamId, tamperer.id), 0)
  t.equal(code(await accept(app, tamperer, good)), '200', 'the real one still works')

  // Revoking: admins cannot touch an owner's invite; unknown ids and other teams' invites are 404.
  const ownerInvite = (await invite(app, owner, teamId, 'co-owner@example.com', 'owner')).json()
  const byAdmin = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/invites/${ownerInvite.id}`,
    headers: admin.headers,
  })
  t.equal(code(byAdmin), '403 ROLE_NOT_ALLOWED', 'an admin cannot revoke an owner invite')
  t.equal(
    code(await invite(app, admin, teamId, 'co-owner@example.com', 'viewer')),
    '403 ROLE_NOT_ALLOWED',
    'nor replace it',
  )
  const otherTeam = await createTeam(app, member, 'Elsewhere')
  const foreign = (await invite(app, member, otherTeam, 'foreign@example.com', 'viewer')).json()
  const cross = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/invites/${foreign.id}`,
    headers: owner.headers,
  })
  t.equal(code(cross), '404 NOT_FOUND', "another team's invite is not found through this team")
  const used = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/invites/${second.json().id}`,
    headers: owner.headers,
  })
  t.equal(code(used), '410 INVITE_USED', 'an accepted invite cannot be revoked')
})

t.test('two concurrent accepts of one invite make one membership', async (t) => {
  const app = await buildTestApp(t, MANY_SIGN_INS)
  const owner = await signIn(app, 'owner@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  await invite(app, owner, teamId, 'race@example.com', 'editor')
  const token = await inviteTokenFor(app, 'race@example.com')
  const racer = await signIn(app, 'race@example.com')
  const answers = await Promise.all([1, 2, 3, 4].map(() => accept(app, racer, token)))
  t.same(answers.map(code).sort(), ['200', '410 INVITE_USED', '410 INVITE_USED', '410 INVITE_USED'])
  t.equal(await membershipCount(app, teamId, racer.id), 1, 'exactly one membership')
  const joins = (await auditActions(app, teamId)).filter((row) => row.action === 'member.joined')
  t.equal(joins.length, 1, 'and one member.joined row')
})

t.test('accepting while already a member marks the invite used and keeps the role', async (t) => {
  const app = await buildTestApp(t, MANY_SIGN_INS)
  const owner = await signIn(app, 'owner@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  await invite(app, owner, teamId, 'both@example.com', 'admin')
  const token = await inviteTokenFor(app, 'both@example.com')
  const both = await signIn(app, 'both@example.com')
  // Joined some other way meanwhile (no route does that today; the rule must hold anyway).
  await app.db
    .insertInto('team_members')
    .values({ team_id: teamId, user_id: both.id, role: 'viewer' })
    .execute()
  const res = await accept(app, both, token)
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { team: { id: teamId, role: 'viewer' }, joined: false })
  t.equal(await membershipCount(app, teamId, both.id), 1)
  t.equal(code(await accept(app, both, token)), '410 INVITE_USED')
})

t.test('invites are limited per team', async (t) => {
  const app = await buildTestApp(t, { ...MANY_SIGN_INS, INVITE_LIMIT_PER_HOUR: '3' })
  const owner = await signIn(app, 'owner@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  const otherTeam = await createTeam(app, owner, 'Other')
  await clearOfWindowEdge(60_000)
  const answers = []
  for (const n of [1, 2, 3, 4]) answers.push(await invite(app, owner, teamId, `n${n}@example.com`))
  t.same(answers.map(code), ['201', '201', '201', '429 RATE_LIMITED'])
  t.ok(answers[3]?.headers['retry-after'], 'with retry-after')
  t.same(await mailbox(app, 'n4@example.com'), [], 'no email past the limit')
  t.equal(
    code(await invite(app, owner, otherTeam, 'n4@example.com')),
    '201',
    'another team has its own count',
  )
})
