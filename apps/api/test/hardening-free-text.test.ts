import { httpErrorFromDatabase } from '@nudge/db'
import { startMailerliteStandIn } from '@nudge/mailerlite-stand-in'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'

/*
 * Names people type, attacked with NUL and other control characters. PostgreSQL refuses NUL in
 * text (22021) and \u0000 in jsonb (22P05): each route must answer a 400 naming the field before
 * the database is asked, and the database's refusal itself, should a field slip through, is a 4xx.
 */

const MAILERLITE_KEY = 'mlk-test-account-one-0123456789'
const mailerlite = await startMailerliteStandIn({ apiKeys: [MAILERLITE_KEY] })
t.teardown(() => mailerlite.close())

const app = await buildTestApp(t, { MAILERLITE_API_URL: mailerlite.url })
await app.ready()
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT'
const call = (method: Method, url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: ann.headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  })

const fieldsOf = (res: LightMyRequestResponse) =>
  ((res.json().details ?? []) as Array<{ field: string }>).map((detail) => detail.field)

/** NUL, a C0 control, DEL, a C1 control (CSI), a line break. */
const HOSTILE = ['Ann\u0000', 'Ann\u0007', 'Ann\u007f', 'Ann\u009b[31m', 'Ann\nLee']

async function refused(
  t: Test,
  label: string,
  send: (value: string) => Promise<LightMyRequestResponse>,
  field: string,
) {
  for (const value of HOSTILE) {
    const res = await send(value)
    t.equal(res.statusCode, 400, `${label} ${JSON.stringify(value)}: 400 (${res.statusCode} ${res.body})`)
    if (res.statusCode === 400) t.ok(fieldsOf(res).includes(field), `names ${field}: ${res.body}`)
  }
}

t.test('PATCH /v1/me: a name with control characters is a 400 naming body.name', async (t) => {
  await refused(t, 'me', (name) => call('PATCH', '/v1/me', { name }), 'body.name')
  const res = await call('PATCH', '/v1/me', { name: 'Ann\u0000' })
  t.match(res.json().details, [{ field: 'body.name', message: /control characters/ }], 'says why')
  t.equal((await call('PATCH', '/v1/me', { name: 'Ann Lee' })).statusCode, 200, 'a plain name is fine')
})

t.test('team names: create and rename', async (t) => {
  await refused(t, 'create team', (name) => call('POST', '/v1/teams', { name }), 'body.name')
  await refused(t, 'rename team', (name) => call('PATCH', `/v1/teams/${teamId}`, { name }), 'body.name')
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM teams`.execute(app.db)
  t.equal(rows[0]?.n, 1, 'no team was created')
})

t.test('integration names and Mailerlite field-map keys', async (t) => {
  await refused(
    t,
    'connect',
    (name) =>
      call('POST', `/v1/teams/${teamId}/integrations`, { kind: 'mailerlite', name, apiKey: MAILERLITE_KEY }),
    'body.name',
  )
  const ml = await call('POST', `/v1/teams/${teamId}/integrations`, {
    kind: 'mailerlite',
    name: 'Newsletter',
    apiKey: MAILERLITE_KEY,
  })
  t.equal(ml.statusCode, 201, ml.body)
  const integrationId = ml.json().id as string
  await refused(
    t,
    'rename integration',
    (name) => call('PATCH', `/v1/teams/${teamId}/integrations/${integrationId}`, { name }),
    'body.name',
  )

  const group = await mailerlite.state.createGroup(MAILERLITE_KEY, 'Popup leads')
  const campaign = await newCampaign(app, ann, teamId, { siteId: site.id })
  const link = `/v1/teams/${teamId}/campaigns/${campaign.id}/integrations/${integrationId}`
  for (const key of ['first\u0000Name', 'first\u0007', 'a b', '']) {
    const res = await call('PUT', link, { groupId: String(group.id), fieldMap: { [key]: 'name' } })
    t.equal(res.statusCode, 400, `field-map key ${JSON.stringify(key)}: 400 (${res.statusCode} ${res.body})`)
    if (res.statusCode === 400) t.match(fieldsOf(res).join(' '), /body\.fieldMap/, res.body)
  }
  const fine = await call('PUT', link, { groupId: String(group.id), fieldMap: { firstName: 'name' } })
  t.equal(fine.statusCode, 200, fine.body)
})

t.test('query text reaching SQL: the audit action filter', async (t) => {
  const res = await call('GET', `/v1/teams/${teamId}/audit-events?action=team.%00`)
  t.equal(res.statusCode, 400, `${res.statusCode} ${res.body}`)
  t.same(fieldsOf(res), ['querystring.action'])
})

t.test('PostgreSQL’s own refusal of NUL is a 4xx, should a field ever slip through', async (t) => {
  const refusal = async (query: ReturnType<typeof sql>) => {
    try {
      await query.execute(app.db)
    } catch (error) {
      return error
    }
    throw new Error('PostgreSQL accepted it')
  }
  const text = httpErrorFromDatabase(await refusal(sql`SELECT ${'a\u0000b'}::text`))
  t.match(text, { statusCode: 422, code: 'INVALID_VALUE' }, 'NUL in text (22021)')
  const json = httpErrorFromDatabase(await refusal(sql`SELECT ${JSON.stringify({ k: 'a\u0000' })}::jsonb`))
  t.match(json, { statusCode: 422, code: 'INVALID_VALUE' }, '\\u0000 in jsonb (22P05)')
  t.notMatch(JSON.stringify([text, json]), /a\\u0000/, 'the value itself is not repeated')
})
