import { createHmac } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { signServiceToken } from '@nudge/auth'
import { DEV_SERVICE_JWT_SECRET } from '@nudge/config'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import t from 'tap'
import { buildTestApp, storageDir } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, objectsIn, personalTeam } from './helpers/campaigns.ts'
import { dashboard } from './helpers/dashboard.ts'
import { migratedDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'
import { addMember, createTeam } from './helpers/teams.ts'

/*
 * The sites and campaigns routes and republish, attacked: path variants, hostile bodies and
 * headers, other teams' ids, revoked sessions, two workers racing, storage down. What is asserted
 * is what a user would see: status, error code and field, the rows, and the files at the edge.
 *
 * Sign-ins go through the app built last: the SuperTokens SDK is one per process, and sends its
 * emails through the last app's dev mailbox.
 */

type App = Awaited<ReturnType<typeof buildTestApp>>
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
type Who = { headers: Record<string, string> }

const JSON_TYPE = { 'content-type': 'application/json' }

/** Everything a refused request must leave as it was: rows that matter, audit rows, edge files. */
async function snapshot(app: App, dir: string) {
  const { rows } = await sql<Record<string, string | number>>`SELECT
    (SELECT count(*)::int FROM audit_events) AS audit,
    (SELECT count(*)::int FROM team_members) AS members,
    (SELECT coalesce(string_agg(id::text || ' ' || team_id::text || ' ' || hostname, ',' ORDER BY id), '')
       FROM sites) AS sites,
    (SELECT coalesce(string_agg(concat_ws(' ', id, team_id, site_id, name, status, version, published_version,
       md5(variants::text)), ',' ORDER BY id), '') FROM campaigns) AS campaigns`.execute(app.db)
  const objects = [...(await objectsIn(dir))].map(([key, object]) => `${key} ${object.sha}`).sort()
  return { ...rows[0], objects }
}

function send(app: App, who: Who, method: Method, url: string, payload?: unknown, headers = {}) {
  return app.inject({
    method,
    url,
    headers: { ...who.headers, ...headers },
    ...(payload === undefined ? {} : { payload: payload as string }),
  })
}

/** A raw JSON text as the body, exactly as written. */
function raw(app: App, who: Who, method: Method, url: string, body: string, headers = {}) {
  return app.inject({ method, url, headers: { ...who.headers, ...JSON_TYPE, ...headers }, payload: body })
}

const fields = (res: LightMyRequestResponse) =>
  ((res.json().details ?? []) as Array<{ field: string }>).map((detail) => detail.field)

/** Signs in through the magic link in cookie mode, as a dashboard on the API's own site would. */
async function cookieSignIn(app: App, email: string) {
  const client = dashboard(app, 'cookie')
  await client.requestLink(email)
  const mailbox = (
    await app.inject({ method: 'GET', url: `/dev/mailbox?to=${encodeURIComponent(email)}` })
  ).json()
  const found = (mailbox.messages as Array<{ text: string }>)
    .map((message) => message.text.match(/https?:\/\/\S+\/auth\/verify\?\S+/))
    .find((match) => match !== null)
  if (!found) throw new Error('no magic link in the dev mailbox')
  const link = new URL(found[0])
  const consumed = await client.consumeLink({
    preAuthSessionId: link.searchParams.get('preAuthSessionId') ?? '',
    linkCode: link.hash.slice(1),
  })
  const cookie = ([] as string[])
    .concat(consumed.headers['set-cookie'] ?? [])
    .map((header) => header.split(';')[0])
    .join('; ')
  if (!cookie.includes('sAccessToken=')) throw new Error(`no session cookie: ${consumed.body}`)
  return {
    cookie,
    headers: { cookie, rid: 'session', origin: 'https://app.nudge.test', 'st-auth-mode': 'cookie' },
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
function hs256(payload: Record<string, unknown>) {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`
  return `${head}.${createHmac('sha256', DEV_SERVICE_JWT_SECRET).update(head).digest('base64url')}`
}

t.test('path variants: a 404 or the same resource, never another one and never a write', async (t) => {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir })
  const ann = await signInAs(app, 'ann@example.com')
  const bob = await signInAs(app, 'bob@example.com')
  const teamId = await personalTeam(app, ann)
  const bobTeam = await personalTeam(app, bob)
  const site = await addSite(app, ann, teamId, 'shop.example')
  const c = await newCampaign(app, ann, teamId, { siteId: site.id })
  const base = `/v1/teams/${teamId}`
  const any = { 'if-match': '*' }
  const before = await snapshot(app, dir)

  const variants: Array<[Method, string, unknown?]> = [
    ['POST', `${base}/sites/`, { hostname: 'slash.example' }],
    ['GET', `${base}/sites/${site.id}/`],
    ['DELETE', `${base}/sites/${site.id}/`],
    ['POST', `${base}/campaigns/`, { name: 'Slash', type: 'modal', siteId: site.id }],
    ['GET', `${base}/campaigns/${c.id}/`],
    ['PATCH', `${base}/campaigns/${c.id}/`, { name: 'Slash' }],
    ['POST', `${base}/campaigns/${c.id}/status/`, { status: 'test' }],
    ['POST', `${base}/campaigns/${c.id}/duplicate/`],
    ['DELETE', `${base}/campaigns/${c.id}/`],
    ['GET', `${base}/campaigns/${c.id}/preview/`],
    ['POST', `/v1/teams/${teamId}//sites`, { hostname: 'double.example' }],
    ['DELETE', `/v1//teams/${teamId}/sites/${site.id}`],
    ['DELETE', `${base}//sites/${site.id}`],
    ['PATCH', `${base}/campaigns//${c.id}`, { name: 'Double' }],
    ['POST', `${base}/campaigns/${c.id}//status`, { status: 'test' }],
    ['POST', `/${base}/campaigns/${c.id}/status`, { status: 'test' }],
  ]
  for (const [method, url, payload] of variants) {
    const res = await send(app, ann, method, url, payload, any)
    t.equal(res.statusCode, 404, `${method} ${url}: 404`)
    t.equal(res.json().code, 'NOT_FOUND')
  }
  // An empty last segment is an empty id, not the list: a 400 naming it.
  for (const url of [`${base}/sites/`, `${base}/campaigns/`]) {
    const res = await send(app, ann, 'GET', url)
    t.equal(res.statusCode, 400, `GET ${url}: 400`)
    t.same(fields(res), [url.includes('sites') ? 'params.siteId' : 'params.campaignId'])
  }
  t.same(await snapshot(app, dir), before, 'no variant wrote anything')

  // Upper-case and percent-encoded ids name the same rows; the edge keys stay lower case.
  const upper = `/v1/teams/${teamId.toUpperCase()}`
  const got = await send(app, ann, 'GET', `${upper}/campaigns/${c.id.toUpperCase()}`)
  t.equal(got.statusCode, 200)
  t.equal(got.json().id, c.id, 'the id comes back as stored')
  const gotSite = await send(app, ann, 'GET', `${upper}/sites/${site.id.toUpperCase()}`)
  t.equal(gotSite.json().id, site.id)
  const encoded = await send(app, ann, 'GET', `${base}/campaigns/${c.id.replaceAll('-', '%2D')}`)
  t.equal(encoded.statusCode, 200)
  t.equal(encoded.json().id, c.id)
  const twice = await send(app, ann, 'GET', `${base}/campaigns/${c.id.replaceAll('-', '%252D')}`)
  t.equal(twice.statusCode, 400, 'double encoding is not an id')
  t.same(fields(twice), ['params.campaignId'])
  const moved = await send(
    app,
    ann,
    'POST',
    `${upper}/campaigns/${c.id.toUpperCase()}/status`,
    { status: 'test' },
    { 'if-match': '"1"' },
  )
  t.equal(moved.statusCode, 200)
  const keys = [...(await objectsIn(dir)).keys()]
  t.ok(keys.includes(`campaigns/test/${c.id}.json`), 'published under the lower-case id')
  t.same(
    keys.filter((key) => key !== key.toLowerCase()),
    [],
    'no upper-case key at the edge',
  )

  // Ids used where they do not belong.
  const afterMove = await snapshot(app, dir)
  const misplaced: Array<[Who, Method, string, unknown?]> = [
    [bob, 'GET', `/v1/teams/${bobTeam}/campaigns/${c.id}`],
    [bob, 'POST', `/v1/teams/${bobTeam}/campaigns/${c.id}/status`, { status: 'live' }],
    [ann, 'GET', `/v1/teams/${bobTeam}/campaigns/${c.id}`],
    [ann, 'PATCH', `/v1/teams/${bobTeam}/campaigns/${c.id}`, { name: 'x' }],
    [ann, 'GET', `${base}/campaigns/${site.id}`],
    [ann, 'PATCH', `${base}/campaigns/${site.id}`, { name: 'x' }],
    [ann, 'POST', `${base}/campaigns/${site.id}/status`, { status: 'live' }],
    [ann, 'POST', `${base}/campaigns/${site.id}/duplicate`],
    [ann, 'DELETE', `${base}/campaigns/${site.id}`],
    [ann, 'GET', `${base}/sites/${c.id}`],
    [ann, 'DELETE', `${base}/sites/${c.id}`],
    [ann, 'GET', `${base}/sites/${teamId}`],
    [ann, 'GET', `/v1/teams/${site.id}/campaigns/${c.id}`],
    [ann, 'GET', `/v1/teams/${c.id}/sites/${site.id}`],
  ]
  for (const [who, method, url, payload] of misplaced) {
    const res = await send(app, who, method, url, payload, any)
    t.equal(res.statusCode, 404, `${method} ${url}: 404`)
    t.equal(res.json().code, 'NOT_FOUND')
  }
  t.same(await snapshot(app, dir), afterMove, 'nothing changed')
})

t.test('hostile bodies and headers: 4xx naming the field, never a 500, nothing stored', async (t) => {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const site = await addSite(app, ann, teamId, 'shop.example')
  const c = await newCampaign(app, ann, teamId, { siteId: site.id })
  const base = `/v1/teams/${teamId}`
  const v1 = { 'if-match': '"1"' }
  const before = await snapshot(app, dir)

  const writes: Array<[Method, string, Record<string, string>]> = [
    ['POST', `${base}/sites`, {}],
    ['POST', `${base}/campaigns`, {}],
    ['PATCH', `${base}/campaigns/${c.id}`, v1],
    ['POST', `${base}/campaigns/${c.id}/status`, v1],
  ]
  for (const [method, url, headers] of writes) {
    for (const body of ['null', '[]', '[{"status":"live"}]', '"shop.example"', '123', 'true']) {
      const res = await raw(app, ann, method, url, body, headers)
      t.equal(res.statusCode, 400, `${method} ${url} ${body}: 400`)
      t.same(fields(res), ['body'], 'names the body')
    }
    const invalid = await raw(app, ann, method, url, '{"name":', headers)
    t.equal(invalid.statusCode, 400, 'invalid JSON')
  }
  const empty = async (method: Method, url: string, headers = {}) =>
    fields(await raw(app, ann, method, url, '{}', headers))
  t.same(await empty('POST', `${base}/sites`), ['body.hostname'])
  t.same((await empty('POST', `${base}/campaigns`)).sort(), ['body.name', 'body.siteId', 'body.type'])
  t.same(await empty('POST', `${base}/campaigns/${c.id}/status`, v1), ['body.status'])

  // Deep nesting, where an object or a list is expected and inside a list.
  const deepObject = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`
  const deepArray = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
  for (const [what, deep, field] of [
    ['object', deepObject, 'body.variants'],
    ['array', deepArray, 'body.variants.0'],
  ]) {
    const res = await raw(
      app,
      ann,
      'POST',
      `${base}/campaigns`,
      `{"name":"Deep","type":"modal","siteId":"${site.id}","variants":${deep}}`,
    )
    t.equal(res.statusCode, 400, `deeply nested ${what}`)
    t.same(fields(res), [field])
  }

  // Strings: very long, NUL, other control characters, lone surrogates. PostgreSQL refuses NUL in
  // text and \u0000 in jsonb, and replaces or refuses lone surrogates: the API must say which field.
  const step = (extra: Record<string, unknown> = {}) => ({
    blocks: [{ type: 'text', text: 'Hello' }],
    buttons: [{ label: 'Close', action: 'close' }],
    ...extra,
  })
  const variant = (extra: Record<string, unknown> = {}, stepExtra: Record<string, unknown> = {}) => [
    { name: 'A', weight: 100, steps: [step(stepExtra)], ...extra },
  ]
  const form = (version: string) => ({
    form: {
      fields: [{ name: 'email', type: 'email', label: 'Email', required: true }],
      consent: { text: 'I agree', required: true, version },
    },
    buttons: [{ label: 'Send', action: 'submit' }],
  })
  const urlRule = (value: string) => ({
    urls: { include: [{ match: 'contains', value }] },
    trigger: { type: 'delay', seconds: 3 },
  })
  const strings: Array<[string, string, Record<string, unknown>, string]> = [
    ['a very long name', 'POST', { name: 'x'.repeat(100_000) }, 'body.name'],
    ['a NUL in the name', 'POST', { name: 'Spring\u0000sale' }, 'body.name'],
    ['a bell in the name', 'POST', { name: 'Spring\u0007sale' }, 'body.name'],
    ['a newline in the name', 'POST', { name: 'Spring\nsale' }, 'body.name'],
    ['a lone surrogate in the name', 'POST', { name: 'Spring \ud800 sale' }, 'body.name'],
    ['a NUL in a variant name', 'POST', { variants: variant({ name: 'A\u0000' }) }, 'body.variants.0.name'],
    [
      'a lone surrogate in a variant name',
      'POST',
      { variants: variant({ name: 'A\udc00' }) },
      'body.variants.0.name',
    ],
    [
      'a NUL in text',
      'POST',
      { variants: variant({}, { blocks: [{ type: 'text', text: 'Hi\u0000' }] }) },
      'body.variants.0.steps.0.blocks.0.text',
    ],
    [
      'a NUL in a consent version',
      'POST',
      { variants: variant({}, form('2025\u0000')) },
      'body.variants.0.steps.0.form.consent.version',
    ],
    [
      'a NUL in a URL rule',
      'POST',
      { targeting: urlRule('/checkout\u0000') },
      'body.targeting.urls.include.0.value',
    ],
    [
      'a lone surrogate in a URL rule',
      'POST',
      { targeting: urlRule('/\ud800') },
      'body.targeting.urls.include.0.value',
    ],
    ['a NUL in the name of an edit', 'PATCH', { name: 'Renamed\u0000' }, 'body.name'],
    [
      'a NUL in a variant name of an edit',
      'PATCH',
      { variants: variant({ name: '\u0000' }) },
      'body.variants.0.name',
    ],
  ]
  for (const [what, method, body, field] of strings) {
    const res =
      method === 'POST'
        ? await send(app, ann, 'POST', `${base}/campaigns`, {
            name: 'Hostile',
            type: 'modal',
            siteId: site.id,
            ...body,
          })
        : await send(app, ann, 'PATCH', `${base}/campaigns/${c.id}`, body, v1)
    t.equal(res.statusCode, 400, `${what}: 400`)
    t.ok(fields(res).includes(field), `${what}: names ${field} (got ${fields(res).join(', ')})`)
  }
  for (const hostname of [
    'x'.repeat(100_000),
    'shop\u0000.example',
    'shop.example\u0000',
    '\ud800.example',
  ]) {
    const res = await send(app, ann, 'POST', `${base}/sites`, { hostname })
    t.equal(res.statusCode, 400, `hostname ${JSON.stringify(hostname.slice(0, 20))}: 400`)
    t.same(fields(res), ['body.hostname'])
  }
  for (const search of ['%00', 'sale%00', '%07', 'x'.repeat(101)]) {
    const res = await send(app, ann, 'GET', `${base}/campaigns?search=${search}`)
    t.equal(res.statusCode, 400, `search=${search.slice(0, 10)}: 400`)
    t.same(fields(res), ['querystring.search'])
  }

  // Prototype pollution: refused whole, at any depth; nothing reaches Object.prototype.
  const polluting = [
    '{"hostname":"proto.example","__proto__":{"polluted":true}}',
    '{"hostname":"proto.example","constructor":{"prototype":{"polluted":true}}}',
    '{"hostname":{"__proto__":{"polluted":true}}}',
  ]
  for (const body of polluting) {
    const res = await raw(app, ann, 'POST', `${base}/sites`, body)
    t.equal(res.statusCode, 400, body)
  }
  const nested = await raw(
    app,
    ann,
    'POST',
    `${base}/campaigns`,
    `{"name":"Proto","type":"modal","siteId":"${site.id}","variants":[{"name":"A","weight":100,"steps":[{"blocks":[],"buttons":[],"__proto__":{"polluted":true}}]}]}`,
  )
  t.equal(nested.statusCode, 400, '__proto__ deep in a campaign')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')

  // Content types that are not JSON.
  const typed = (type: string, payload: string) =>
    app.inject({
      method: 'POST',
      url: `${base}/sites`,
      headers: { ...ann.headers, 'content-type': type },
      payload,
    })
  t.equal((await typed('text/plain', '{"hostname":"typed.example"}')).statusCode, 400, 'text/plain')
  t.equal((await typed('application/xml', '<hostname>typed.example</hostname>')).statusCode, 415)
  t.equal(
    (await typed('multipart/form-data; boundary=x', '--x\r\n\r\ntyped.example\r\n--x--')).statusCode,
    415,
  )

  t.same(await snapshot(app, dir), before, 'nothing stored or published by any of them')

  // Bodies on GET and DELETE change nothing about what the route does.
  const plain = await send(app, ann, 'GET', `${base}/campaigns/${c.id}`)
  const withBody = await raw(app, ann, 'GET', `${base}/campaigns/${c.id}`, '{"name":"From a GET body"}')
  t.equal(withBody.statusCode, 200)
  t.same(withBody.json(), plain.json(), 'a GET body is ignored')
  const nullGet = await raw(app, ann, 'GET', `${base}/sites`, 'null')
  t.equal(nullGet.statusCode, 200)
  const doomed = await addSite(app, ann, teamId, 'doomed.example')
  const deleted = await raw(app, ann, 'DELETE', `${base}/sites/${doomed.id}`, `{"siteId":"${site.id}"}`)
  t.equal(deleted.statusCode, 204)
  t.equal((await send(app, ann, 'GET', `${base}/sites/${site.id}`)).statusCode, 200, 'the body named no site')
  const draft = await newCampaign(app, ann, teamId, { siteId: site.id })
  t.equal((await raw(app, ann, 'DELETE', `${base}/campaigns/${draft.id}`, 'null')).statusCode, 204)

  // The longest name, in characters outside the BMP: its copy is cut between characters.
  const emoji = await newCampaign(app, ann, teamId, { name: '😀'.repeat(120), siteId: site.id })
  const copy = await send(app, ann, 'POST', `${base}/campaigns/${emoji.id}/duplicate`)
  t.equal(copy.statusCode, 201)
  t.equal(copy.json().name, `${'😀'.repeat(113)} (copy)`, 'no half character in the copy’s name')

  // If-Match garbage: nothing changes unless it names the current version.
  const api = campaignApi(app, ann, teamId)
  const ifMatch = (value: string) =>
    send(
      app,
      ann,
      'PATCH',
      `${base}/campaigns/${c.id}`,
      { name: `If-Match ${value.slice(0, 20)}` },
      {
        'if-match': value,
      },
    )
  const version = (await api.get(c.id)).json().version as number
  for (const value of [
    '"abc"',
    `W/"${version - 1}"`,
    `"${version - 1}", "${version + 5}"`,
    '""',
    '"1" x',
    ',,,',
  ]) {
    const res = await ifMatch(value)
    t.equal(res.statusCode, 412, `If-Match ${value}: 412`)
    t.equal(res.json().code, 'VERSION_CONFLICT')
    t.equal(res.json().details.currentVersion, version)
  }
  const long = await ifMatch(`"${'9'.repeat(10_000)}"`)
  t.equal(long.statusCode, 400, 'a 10k If-Match')
  t.same(fields(long), ['headers.if-match'])
  t.equal((await ifMatch(' ')).json().code, 'VERSION_REQUIRED', 'blank is missing')
  const staleDelete = await send(app, ann, 'DELETE', `${base}/campaigns/${c.id}`, undefined, {
    'if-match': '"abc"',
  })
  t.equal(staleDelete.statusCode, 412)
  t.match((await api.get(c.id)).json(), { version, name: 'Welcome' }, 'none of them changed the campaign')
  t.equal((await ifMatch(`"${version - 1}", "${version}"`)).statusCode, 200, 'a list naming the version')
  // Cloudflare weakens ETags it compresses: the dashboard may send back W/"<version>".
  t.equal((await ifMatch(`W/"${version + 1}"`)).statusCode, 200, 'a weak tag of the version')
  t.equal((await ifMatch('*')).statusCode, 200, '* is any version')
})

t.test('content near the body limit is taken; over it, or over the schema’s counts, refused', async (t) => {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const site = await addSite(app, ann, teamId, 'shop.example')
  const base = `/v1/teams/${teamId}`
  // 2 000 characters (the most a text block holds), about 2 300 bytes: ü and ß take two each.
  const text = `${'Grüße aus München! '.repeat(103)}<b>bold</b> &amp; <i>more</i>`
  const step = (blocks = 20) => ({
    blocks: Array.from({ length: blocks }, () => ({ type: 'text', text })),
    buttons: [{ label: 'Close', action: 'close' }],
  })
  const variants = (steps = 5, blocks = 20) =>
    Array.from({ length: 4 }, (_, i) => ({
      name: `V${i}`,
      weight: 25,
      steps: Array.from({ length: steps }, () => step(blocks)),
    }))
  const body = { name: 'Big', type: 'modal', siteId: site.id, variants: variants() }
  const size = Buffer.byteLength(JSON.stringify(body))
  t.ok(size > 900_000 && size < app.config.BODY_LIMIT_BYTES, `${size} bytes, under the limit`)
  const started = Date.now()
  const big = await send(app, ann, 'POST', `${base}/campaigns`, body)
  t.equal(big.statusCode, 201)
  const published = await campaignApi(app, ann, teamId).status(big.json().id, 1, 'test')
  t.equal(published.statusCode, 200)
  t.ok(Date.now() - started < 5000, `created and published in ${Date.now() - started} ms`)
  const object = (await objectsIn(dir)).get(`campaigns/test/${big.json().id}.json`)?.json as {
    variants: Array<{ steps: Array<{ blocks: unknown[] }> }>
  }
  t.equal(object.variants.length, 4, 'the edge has every variant')
  t.equal(object.variants[3]?.steps[4]?.blocks.length, 20, 'and every block')

  const before = await snapshot(app, dir)
  const over = await send(app, ann, 'POST', `${base}/campaigns`, {
    ...body,
    padding: 'x'.repeat(app.config.BODY_LIMIT_BYTES - size),
  })
  t.equal(over.statusCode, 413)
  t.equal(over.json().code, 'PAYLOAD_TOO_LARGE')
  const tooMany: Array<[string, unknown, string]> = [
    ['6 steps', variants(6, 1), 'body.variants.0.steps'],
    ['21 blocks', variants(1, 21), 'body.variants.0.steps.0.blocks'],
  ]
  for (const [what, list, field] of tooMany) {
    const res = await send(app, ann, 'POST', `${base}/campaigns`, { ...body, variants: list })
    t.equal(res.statusCode, 400, what)
    t.ok(fields(res).includes(field), `${what}: names ${field}`)
  }

  // Every problem of every item is listed: a 120 kB body of empty variants gets megabytes back
  // (and 250 000 of them, within the body limit, hold the event loop for seconds).
  const items = `[${Array.from({ length: 20_000 }, () => '{}').join(',')}]`
  const many = await raw(
    app,
    ann,
    'POST',
    `${base}/campaigns`,
    `{"name":"Many","type":"modal","siteId":"${site.id}","variants":${items}}`,
  )
  t.equal(many.statusCode, 400)
  t.ok(many.body.length < 100_000, `a 120 kB body answered with ${many.body.length} bytes`)
  t.same(await snapshot(app, dir), before, 'nothing stored')
})

t.test('other teams, viewers, editors and removed members', async (t) => {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir, RATE_LIMIT_MAX: '100000' })
  const ann = await signInAs(app, 'ann@example.com')
  const bob = await signInAs(app, 'bob@example.com')
  const vic = await signInAs(app, 'vic@example.com')
  const ed = await signInAs(app, 'ed@example.com')
  const teamA = await createTeam(app, ann, 'Acme')
  const teamB = await personalTeam(app, bob)
  await addMember(app, teamA, vic.id, 'viewer')
  await addMember(app, teamA, ed.id, 'editor')
  const site = await addSite(app, ann, teamA, 'acme.example')
  const testing = await newCampaign(app, ann, teamA, { name: 'In test', siteId: site.id })
  await campaignApi(app, ann, teamA).walk(testing.id, 1, 'test')
  const draft = await newCampaign(app, ann, teamA, { name: 'Draft', siteId: site.id })
  const bobSite = await addSite(app, bob, teamB, 'bob.example')
  const bobDraft = await newCampaign(app, bob, teamB, { siteId: bobSite.id })
  const before = await snapshot(app, dir)

  const any = { 'if-match': '*' }
  const routesOf = (team: string): Array<[Method, string, unknown?]> => [
    ['GET', `/v1/teams/${team}/sites/${site.id}`],
    ['DELETE', `/v1/teams/${team}/sites/${site.id}`],
    ...[testing.id, draft.id].flatMap(
      (id): Array<[Method, string, unknown?]> => [
        ['GET', `/v1/teams/${team}/campaigns/${id}`],
        ['PATCH', `/v1/teams/${team}/campaigns/${id}`, { name: 'Taken over' }],
        ['POST', `/v1/teams/${team}/campaigns/${id}/status`, { status: 'live' }],
        ['POST', `/v1/teams/${team}/campaigns/${id}/status`, { status: 'draft' }],
        ['POST', `/v1/teams/${team}/campaigns/${id}/duplicate`],
        ['DELETE', `/v1/teams/${team}/campaigns/${id}`],
        ['GET', `/v1/teams/${team}/campaigns/${id}/preview`],
      ],
    ),
  ]
  for (const [method, url, payload] of [
    ...routesOf(teamB),
    ...routesOf(teamA),
    ['GET', `/v1/teams/${teamA}/sites`],
    ['GET', `/v1/teams/${teamA}/campaigns`],
    ['POST', `/v1/teams/${teamA}/sites`, { hostname: 'bob-in-acme.example' }],
    ['POST', `/v1/teams/${teamA}/campaigns`, { name: 'x', type: 'modal', siteId: bobSite.id }],
  ] as Array<[Method, string, unknown?]>) {
    const res = await send(app, bob, method, url, payload, any)
    t.equal(res.statusCode, 404, `bob: ${method} ${url.replace(teamA, 'A').replace(teamB, 'B')}: 404`)
    t.equal(res.json().code, 'NOT_FOUND')
  }
  const foreignSite = await send(app, bob, 'POST', `/v1/teams/${teamB}/campaigns`, {
    name: 'On their site',
    type: 'modal',
    siteId: site.id,
  })
  t.equal(foreignSite.statusCode, 400)
  t.same(fields(foreignSite), ['body.siteId'])
  const moveToForeign = await campaignApi(app, bob, teamB).patch(bobDraft.id, 1, { siteId: site.id })
  t.equal(moveToForeign.statusCode, 400)
  t.same(fields(moveToForeign), ['body.siteId'])
  const filtered = await send(app, bob, 'GET', `/v1/teams/${teamB}/campaigns?siteId=${site.id}`)
  t.same(filtered.json().items, [], 'filtering by their site shows nothing')
  t.same(await snapshot(app, dir), before, 'bob changed nothing')

  // A viewer reads and previews; every write is a 403.
  for (const [method, url, payload] of [
    ['POST', `/v1/teams/${teamA}/sites`, { hostname: 'viewer.example' }],
    ['DELETE', `/v1/teams/${teamA}/sites/${site.id}`],
    ['POST', `/v1/teams/${teamA}/campaigns`, { name: 'x', type: 'modal', siteId: site.id }],
    ['PATCH', `/v1/teams/${teamA}/campaigns/${draft.id}`, { name: 'By a viewer' }],
    ['POST', `/v1/teams/${teamA}/campaigns/${testing.id}/status`, { status: 'live' }],
    ['POST', `/v1/teams/${teamA}/campaigns/${draft.id}/duplicate`],
    ['DELETE', `/v1/teams/${teamA}/campaigns/${draft.id}`],
  ] as Array<[Method, string, unknown?]>) {
    const res = await send(app, vic, method, url, payload, any)
    t.equal(res.statusCode, 403, `viewer: ${method} ${url.replace(teamA, 'A')}: 403`)
    t.equal(res.json().code, 'FORBIDDEN')
  }
  t.same(await snapshot(app, dir), before, 'the viewer changed nothing')
  const preview = await send(app, vic, 'GET', `/v1/teams/${teamA}/campaigns/${testing.id}/preview`)
  t.equal(preview.statusCode, 200, 'a viewer previews')
  t.equal(preview.json().url, `https://acme.example/?nudge_preview=${testing.id}`)
  const odd = await send(
    app,
    vic,
    'GET',
    `/v1/teams/${teamA}/campaigns/${testing.id}/preview?path=${encodeURIComponent('/a\u0000\r\nb')}`,
  )
  t.equal(odd.statusCode, 200, 'control characters in the path')
  t.equal(odd.json().url, `https://acme.example/a%00b?nudge_preview=${testing.id}`, 'are escaped or dropped')

  // An editor publishes.
  const edApi = campaignApi(app, ed, teamA)
  const edited = await edApi.status(draft.id, 1, 'test')
  t.equal(edited.statusCode, 200, 'an editor publishes')
  t.ok((await objectsIn(dir)).has(`campaigns/test/${draft.id}.json`))

  // Removed, the editor's next request finds no team, and changes nothing.
  const removed = await send(app, ann, 'DELETE', `/v1/teams/${teamA}/members/${ed.id}`)
  t.equal(removed.statusCode, 204)
  const afterRemoval = await snapshot(app, dir)
  for (const res of [
    await edApi.get(draft.id),
    await edApi.status(draft.id, '*', 'draft'),
    await edApi.patch(draft.id, '*', { name: 'After removal' }),
    await send(app, ed, 'POST', `/v1/teams/${teamA}/sites`, { hostname: 'removed.example' }),
  ]) {
    t.equal(res.statusCode, 404)
    t.equal(res.json().code, 'NOT_FOUND')
  }
  t.same(await snapshot(app, dir), afterRemoval, 'the removed member changed nothing')
})

t.test('a removed member is refused through an upper-case team id too', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const ed = await signInAs(app, 'ed@example.com')
  const teamId = await createTeam(app, ann, 'Acme')
  await addMember(app, teamId, ed.id, 'editor')
  const upper = `/v1/teams/${teamId.toUpperCase()}`
  t.equal((await send(app, ed, 'GET', `${upper}/sites`)).statusCode, 200, 'a member, through upper case')
  t.equal((await send(app, ann, 'DELETE', `/v1/teams/${teamId}/members/${ed.id}`)).statusCode, 204)
  t.equal((await send(app, ed, 'GET', `/v1/teams/${teamId}/sites`)).statusCode, 404, 'lower case: 404')
  const read = await send(app, ed, 'GET', `${upper}/sites`)
  t.equal(read.statusCode, 404, 'upper case: 404')
  const write = await send(app, ed, 'POST', `${upper}/sites`, { hostname: 'after-removal.example' })
  t.equal(write.statusCode, 404, 'and no write')
})

t.test('a signed-out session changes nothing, in header mode and in cookie mode', async (t) => {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const site = await addSite(app, ann, teamId, 'ann.example')
  const c = await newCampaign(app, ann, teamId, { siteId: site.id })
  const api = campaignApi(app, ann, teamId)
  t.equal((await api.patch(c.id, 1, { name: 'While signed in' })).statusCode, 200)
  t.equal((await dashboard(app).signOut(ann.token)).statusCode, 200)
  const before = await snapshot(app, dir)
  for (const res of [
    await api.patch(c.id, '*', { name: 'After sign-out' }),
    await api.status(c.id, '*', 'test'),
    await send(app, ann, 'POST', `/v1/teams/${teamId}/campaigns/${c.id}/duplicate`),
    await send(app, ann, 'DELETE', `/v1/teams/${teamId}/sites/${site.id}`),
    await send(app, ann, 'POST', `/v1/teams/${teamId}/sites`, { hostname: 'signed-out.example' }),
  ]) {
    t.equal(res.statusCode, 401, 'header mode: 401')
  }
  t.same(await snapshot(app, dir), before, 'header mode: nothing changed')

  const carl = await cookieSignIn(app, 'carl@example.com')
  const carlTeam = await personalTeam(app, carl)
  const carlSite = await addSite(app, carl, carlTeam, 'carl.example')
  const draft = await newCampaign(app, carl, carlTeam, { siteId: carlSite.id })
  const carlApi = campaignApi(app, carl, carlTeam)
  t.equal((await carlApi.patch(draft.id, 1, { name: 'Cookie edit' })).statusCode, 200, 'cookie writes work')
  const signedOut = await app.inject({
    method: 'POST',
    url: '/auth/signout',
    headers: { cookie: carl.cookie, rid: 'session', origin: 'https://app.nudge.test' },
  })
  t.equal(signedOut.statusCode, 200)
  const cookieBefore = await snapshot(app, dir)
  for (const res of [
    await carlApi.patch(draft.id, 2, { name: 'After cookie sign-out' }),
    await carlApi.status(draft.id, 2, 'test'),
    await carlApi.status(draft.id, '*', 'archived'),
    await send(app, carl, 'POST', `/v1/teams/${carlTeam}/campaigns/${draft.id}/duplicate`),
    await send(app, carl, 'DELETE', `/v1/teams/${carlTeam}/campaigns/${draft.id}`, undefined, {
      'if-match': '*',
    }),
    await send(app, carl, 'DELETE', `/v1/teams/${carlTeam}/sites/${carlSite.id}`),
  ]) {
    t.equal(res.statusCode, 401, 'cookie mode: 401')
  }
  t.same(await snapshot(app, dir), cookieBefore, 'cookie mode: nothing changed')
  t.equal((await send(app, carl, 'GET', `/v1/teams/${carlTeam}/campaigns/${draft.id}`)).statusCode, 401)
})

t.test('two workers racing on one database and one storage', async (t) => {
  const dir = await storageDir(t)
  const DATABASE_URL = await migratedDatabase(t)
  const a = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  const b = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  const ann = await signInAs(b, 'ann@example.com')
  const bob = await signInAs(b, 'bob@example.com')
  const teamA = await personalTeam(a, ann)
  const teamB = await personalTeam(a, bob)
  const objects = async () => objectsIn(dir)

  // The same hostname added by two teams at once.
  for (let round = 0; round < 4; round++) {
    const hostname = `race${round}.example`
    const [first, second] = await Promise.all([
      send(a, ann, 'POST', `/v1/teams/${teamA}/sites`, { hostname }),
      send(b, bob, 'POST', `/v1/teams/${teamB}/sites`, { hostname: `https://${hostname.toUpperCase()}/` }),
    ])
    t.same([first.statusCode, second.statusCode].sort(), [201, 409], `${hostname}: one 201, one 409`)
    const lost = first.statusCode === 409 ? first : second
    const won = first.statusCode === 201 ? first : second
    t.equal(lost.json().code, 'HOSTNAME_TAKEN')
    const rows = await sql<{ id: string }>`SELECT id FROM sites WHERE hostname = ${hostname}`.execute(a.db)
    t.same(
      rows.rows.map((row) => row.id),
      [won.json().id],
      'exactly one row',
    )
    const domains = [...(await objects())].filter(([key]) => key === `domains/${hostname}.json`)
    t.equal(domains.length, 1, 'one domain document')
    t.match(domains[0]?.[1].json, { site: won.json().id }, 'naming the winner')
    const audits = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events
      WHERE action = 'site.created' AND data->>'hostname' = ${hostname}`.execute(a.db)
    t.equal(audits.rows[0]?.n, 1, 'one audit row')
  }

  // The same campaign moved to live twice at once.
  const site = await addSite(a, ann, teamA, 'shop.example')
  const c = await newCampaign(a, ann, teamA, { siteId: site.id })
  await campaignApi(a, ann, teamA).walk(c.id, 1, 'test')
  const same = await Promise.all([
    campaignApi(a, ann, teamA).status(c.id, 2, 'live'),
    campaignApi(b, ann, teamA).status(c.id, 2, 'live'),
  ])
  t.same(same.map((res) => res.statusCode).sort(), [200, 412], 'at the same version: one wins')
  const paused = await campaignApi(a, ann, teamA).status(c.id, 3, 'paused')
  t.equal(paused.statusCode, 200)
  const anyVersion = await Promise.all([
    campaignApi(a, ann, teamA).status(c.id, '*', 'live'),
    campaignApi(b, ann, teamA).status(c.id, '*', 'live'),
  ])
  t.same(
    anyVersion.map((res) => res.statusCode),
    [200, 200],
    'at any version: both answer live',
  )
  const current = (await campaignApi(a, ann, teamA).get(c.id)).json()
  t.match(current, { status: 'live', version: 5, publishedVersion: 5 }, 'moved once')
  const moves = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events
    WHERE target_id = ${c.id} AND action = 'campaign.status_changed' AND data->>'to' = 'live'`.execute(a.db)
  t.equal(moves.rows[0]?.n, 2, 'two moves to live in all: the first one, and one of the racing pair')
  const edge = await objects()
  t.match(edge.get(`campaigns/production/${c.id}.json`)?.json, { v: 5 })
  t.same(
    (edge.get('domains/shop.example.json')?.json as { campaigns?: unknown } | undefined)?.campaigns,
    [{ id: c.id, v: 5 }],
    'listed once, at the live version',
  )

  // A site deleted while its campaign is being published.
  for (let round = 0; round < 4; round++) {
    const doomed = await addSite(a, ann, teamA, `doomed${round}.example`)
    const campaign = await newCampaign(a, ann, teamA, { siteId: doomed.id })
    await campaignApi(a, ann, teamA).walk(campaign.id, 1, 'test')
    const [deleted, published] = await Promise.all([
      send(a, ann, 'DELETE', `/v1/teams/${teamA}/sites/${doomed.id}`),
      campaignApi(b, ann, teamA).status(campaign.id, '*', 'live'),
    ])
    t.equal(deleted.statusCode, 204, `round ${round}: the site is deleted`)
    t.ok([200, 409].includes(published.statusCode), `round ${round}: publish ${published.statusCode}`)
    t.match((await campaignApi(a, ann, teamA).get(campaign.id)).json(), {
      status: 'draft',
      siteId: null,
      publishedVersion: null,
    })
    const left = [...(await objects()).keys()].filter(
      (key) => key.includes(campaign.id) || key.includes(`doomed${round}`),
    )
    t.same(left, [], `round ${round}: nothing left at the edge`)
  }

  // The same site, and the same campaign, deleted twice at once.
  const twice = await addSite(a, ann, teamA, 'twice.example')
  const deletes = await Promise.all(
    [a, b].map((app) => send(app, ann, 'DELETE', `/v1/teams/${teamA}/sites/${twice.id}`)),
  )
  t.same(deletes.map((res) => res.statusCode).sort(), [204, 404], 'a site: one 204, one 404')
  const once = await newCampaign(a, ann, teamA, { siteId: site.id })
  const campaignDeletes = await Promise.all(
    [a, b].map((app) => send(app, ann, 'DELETE', `/v1/teams/${teamA}/campaigns/${once.id}`)),
  )
  t.same(campaignDeletes.map((res) => res.statusCode).sort(), [204, 404], 'a campaign: one 204, one 404')
  const deletedAudits = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events
    WHERE target_id IN (${twice.id}, ${once.id}) AND action IN ('site.deleted', 'campaign.deleted')`.execute(
    a.db,
  )
  t.equal(deletedAudits.rows[0]?.n, 2, 'one audit row each')

  // Duplicate racing a delete of the campaign, and a delete of its site.
  for (let round = 0; round < 4; round++) {
    const source = await newCampaign(a, ann, teamA, { name: `Source ${round}`, siteId: site.id })
    const [copy, gone] = await Promise.all([
      send(a, ann, 'POST', `/v1/teams/${teamA}/campaigns/${source.id}/duplicate`),
      send(b, ann, 'DELETE', `/v1/teams/${teamA}/campaigns/${source.id}`),
    ])
    t.equal(gone.statusCode, 204)
    t.ok([201, 404].includes(copy.statusCode), `round ${round}: duplicate ${copy.statusCode}`)
    if (copy.statusCode === 201) {
      t.equal((await campaignApi(a, ann, teamA).get(copy.json().id)).statusCode, 200, 'the copy is there')
    }
  }

  // Duplicated while its site is being deleted, in that order: a transaction of our own holds the
  // site's row until the delete and then the duplicate are both waiting for it.
  const shortLived = await addSite(a, ann, teamA, 'short.example')
  const onIt = await newCampaign(a, ann, teamA, { siteId: shortLived.id })
  const blocker = new pg.Client({ connectionString: DATABASE_URL })
  await blocker.connect()
  t.teardown(() => blocker.end())
  const waiting = async (count: number) => {
    const deadline = Date.now() + 5000
    for (;;) {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(a.db)
      if ((rows[0]?.n ?? 0) >= count) return
      if (Date.now() > deadline) throw new Error(`${count} requests never waited for the site's row`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  await blocker.query('BEGIN')
  await blocker.query('SELECT id FROM sites WHERE id = $1 FOR UPDATE', [shortLived.id])
  const deleting = send(b, ann, 'DELETE', `/v1/teams/${teamA}/sites/${shortLived.id}`)
  await waiting(1)
  const duplicating = send(a, ann, 'POST', `/v1/teams/${teamA}/campaigns/${onIt.id}/duplicate`)
  await waiting(2)
  await blocker.query('ROLLBACK')
  const [siteGone, copied] = await Promise.all([deleting, duplicating])
  t.equal(siteGone.statusCode, 204)
  t.equal(copied.statusCode, 201, `duplicated while its site is deleted: ${copied.body}`)
  if (copied.statusCode === 201) {
    const stored = (await campaignApi(a, ann, teamA).get(copied.json().id)).json()
    t.match(stored, { siteId: null, status: 'draft', name: 'Welcome (copy)' }, 'a draft copy without a site')
  }
})

t.test('the longest valid hostname is published by the default (folder) storage', async (t) => {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const label = 'a'.repeat(63)
  const hostname = `${label}.${label}.${label}.${'b'.repeat(57)}.com`
  t.equal(hostname.length, 253)
  const res = await send(app, ann, 'POST', `/v1/teams/${teamId}/sites`, { hostname })
  t.equal(res.statusCode, 201, `253 characters: ${res.statusCode} ${res.json().code}`)
  t.not(await app.storage.etag(`domains/${hostname}.json`), null, 'published')
})

t.test('storage down: adding or deleting a site changes nothing', async (t) => {
  const dir = await storageDir(t)
  const DATABASE_URL = await migratedDatabase(t)
  const good = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  const broken = await buildTestApp(t, {
    DATABASE_URL,
    S3_BUCKET: 'nudge-edge',
    S3_ENDPOINT: 'http://127.0.0.1:9',
    S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    S3_SECRET_ACCESS_KEY: 'secret-that-must-not-leak',
    S3_FORCE_PATH_STYLE: 'true',
  })
  const ann = await signInAs(broken, 'ann@example.com')
  const teamId = await personalTeam(good, ann)
  const kept = await addSite(good, ann, teamId, 'kept.example')
  const before = await snapshot(good, dir)

  const started = Date.now()
  const created = await send(broken, ann, 'POST', `/v1/teams/${teamId}/sites`, { hostname: 'new.example' })
  t.equal(created.statusCode, 502)
  t.equal(created.json().code, 'STORAGE_FAILED')
  t.notMatch(created.body, /secret-that-must-not-leak|AKIAEXAMPLE/)
  const deleted = await send(broken, ann, 'DELETE', `/v1/teams/${teamId}/sites/${kept.id}`)
  t.equal(deleted.statusCode, 502)
  t.ok(Date.now() - started < 20_000, 'both fail in bounded time')
  t.same(await snapshot(good, dir), before, 'no site row, no audit row, the edge as it was')

  const retried = await send(good, ann, 'POST', `/v1/teams/${teamId}/sites`, { hostname: 'new.example' })
  t.equal(retried.statusCode, 201, 'the hostname was not left taken')
})

t.test('republish: only a cron token, any number at once, each object written once', async (t) => {
  const dir = await storageDir(t)
  const DATABASE_URL = await migratedDatabase(t)
  const a = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  const b = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  const ann = await signInAs(b, 'ann@example.com')
  const teamId = await personalTeam(a, ann)
  const site = await addSite(a, ann, teamId, 'shop.example')
  const live = await newCampaign(a, ann, teamId, { siteId: site.id })
  await campaignApi(a, ann, teamId).walk(live.id, 1, 'test', 'live')
  const missing = `campaigns/production/${live.id}.json`
  const orphan = 'campaigns/test/0190b5a4-0000-7000-8000-000000000000.json'
  await rm(path.join(dir, missing))
  await mkdir(path.join(dir, 'campaigns/test'), { recursive: true })
  await writeFile(path.join(dir, orphan), '{}')
  const before = await snapshot(a, dir)

  const now = Math.floor(Date.now() / 1000)
  const refused: Array<[string, Record<string, string>, number]> = [
    ['no token', {}, 401],
    [
      'expired',
      { authorization: `Bearer ${hs256({ aud: 'cron', iss: 'nudge', iat: now - 120, exp: now - 60 })}` },
      401,
    ],
    [
      'the worker audience',
      { authorization: `Bearer ${signServiceToken(DEV_SERVICE_JWT_SECRET, 'worker', 60)}` },
      403,
    ],
    ['a session token', ann.headers, 401],
    ['garbage', { authorization: 'Bearer x.y.z' }, 401],
  ]
  for (const [what, headers, status] of refused) {
    const res = await a.inject({ method: 'POST', url: '/internal/v1/republish', headers })
    t.equal(res.statusCode, status, `${what}: ${status}`)
  }
  const cron = { authorization: `Bearer ${signServiceToken(DEV_SERVICE_JWT_SECRET, 'cron', 60)}` }
  for (const url of ['/internal/v1/republish/', '//internal/v1/republish', '/internal/v1//republish']) {
    t.equal((await a.inject({ method: 'POST', url, headers: cron })).statusCode, 404, `${url}: 404`)
  }
  t.same(await snapshot(a, dir), before, 'nothing republished')

  const reports = await Promise.all(
    [a, b, a, b].map((app) => app.inject({ method: 'POST', url: '/internal/v1/republish', headers: cron })),
  )
  t.same(
    reports.map((res) => res.statusCode),
    [200, 200, 200, 200],
  )
  const all = reports.map((res) => res.json() as { writtenKeys: string[]; deletedKeys: string[] })
  t.same(
    all.flatMap((report) => report.writtenKeys),
    [missing],
    'the missing object written once',
  )
  t.same(
    all.flatMap((report) => report.deletedKeys),
    [orphan],
    'the orphan deleted once',
  )
  const edge = await objectsIn(dir)
  t.same([...edge.keys()].sort(), [`campaigns/production/${live.id}.json`, 'domains/shop.example.json'])
  t.match(edge.get(missing)?.json, { id: live.id, v: 3 })
})
