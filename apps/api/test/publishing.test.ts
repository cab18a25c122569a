import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { signServiceToken } from '@nudge/auth'
import { DEV_SERVICE_JWT_SECRET } from '@nudge/config'
import { sql } from 'kysely'
import t from 'tap'
import { FULL_CAMPAIGN_EXAMPLE } from '../src/modules/campaigns/content.ts'
import { buildTestApp, storageDir } from './helpers/app.ts'
import { addSite, campaignApi, changes, newCampaign, objectsIn, personalTeam } from './helpers/campaigns.ts'
import { migratedDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'

const cron = () => ({ authorization: `Bearer ${signServiceToken(DEV_SERVICE_JWT_SECRET, 'cron', 60)}` })

t.test('each lifecycle step writes exactly the objects whose content changed', async (t) => {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const api = campaignApi(app, ann, teamId)

  let before = await objectsIn(dir)
  const site = await addSite(app, ann, teamId, 'shop.example')
  let after = await objectsIn(dir)
  t.same(
    changes(before, after),
    { written: ['domains/shop.example.json'], deleted: [] },
    'a new site gets its document',
  )
  t.same(
    after.get('domains/shop.example.json')?.json,
    { site: site.id, hostname: 'shop.example' },
    'no empty list, no nulls',
  )

  const c = await newCampaign(app, ann, teamId, { ...FULL_CAMPAIGN_EXAMPLE, siteId: site.id })
  const other = await newCampaign(app, ann, teamId, { name: 'Other', siteId: site.id })
  t.same(changes(after, await objectsIn(dir)), { written: [], deleted: [] }, 'drafts publish nothing')

  const step = async (
    what: string,
    action: () => Promise<unknown>,
    expected: { written: string[]; deleted: string[] },
  ) => {
    before = await objectsIn(dir)
    await action()
    after = await objectsIn(dir)
    t.same(
      changes(before, after),
      { written: [...expected.written].sort(), deleted: [...expected.deleted].sort() },
      what,
    )
  }
  const test = `campaigns/test/${c.id}.json`
  const production = `campaigns/production/${c.id}.json`
  const domain = 'domains/shop.example.json'

  let v = 1
  const move = async (status: string) => {
    const res = await api.status(c.id, v, status)
    t.equal(res.statusCode, 200, `→ ${status}`)
    v = res.json().version
    return res.json()
  }
  await step('into test: the test object only', () => move('test'), { written: [test], deleted: [] })
  const tested = after.get(test)?.json as Record<string, unknown>
  t.equal(tested.v, 2)
  t.notOk(JSON.stringify(tested).includes('null'), 'no nulls')
  t.notOk('name' in tested, 'no dashboard-only fields')
  t.equal((tested.variants as unknown[]).length, 2)

  await step(
    'edited in test: the test object again',
    async () => {
      const res = await api.patch(c.id, v, { name: 'Renamed only' })
      v = res.json().version
    },
    { written: [test], deleted: [] },
  )
  await step('live: production object and the site list; test object gone', () => move('live'), {
    written: [domain, production],
    deleted: [test],
  })
  t.same(after.get(domain)?.json, { site: site.id, hostname: 'shop.example', campaigns: [{ id: c.id, v }] })
  t.match((await api.get(c.id)).json(), { status: 'live', version: v, publishedVersion: v })

  await step(
    'an unrelated draft edited: nothing',
    async () => {
      await api.patch(other.id, 1, { name: 'Still a draft' })
    },
    { written: [], deleted: [] },
  )
  await step(
    'edited while live: production object and the version in the site list',
    async () => {
      const res = await api.patch(c.id, v, { frequency: { show: 'every-page-view' } })
      v = res.json().version
    },
    { written: [domain, production], deleted: [] },
  )
  t.match(after.get(production)?.json, { v, frequency: { show: 'every-page-view' } })

  await step('paused: off the site list, production object deleted', () => move('paused'), {
    written: [domain],
    deleted: [production],
  })
  t.match((await api.get(c.id)).json(), { status: 'paused', publishedVersion: null })
  await step('archived: nothing left to change', () => move('archived'), { written: [], deleted: [] })
})

t.test(
  'republish rebuilds what is missing, removes orphans, and writes nothing when run again',
  async (t) => {
    const dir = await storageDir(t)
    const app = await buildTestApp(t, { STORAGE_DIR: dir })
    const ann = await signInAs(app, 'ann@example.com')
    const teamId = await personalTeam(app, ann)
    const site = await addSite(app, ann, teamId, 'shop.example')
    const c = await newCampaign(app, ann, teamId, { siteId: site.id })
    await campaignApi(app, ann, teamId).walk(c.id, 1, 'test', 'live')
    await rm(path.join(dir, 'campaigns/production', `${c.id}.json`))
    await mkdir(path.join(dir, 'campaigns/test'), { recursive: true })
    await writeFile(path.join(dir, 'campaigns/test/0190b5a4-0000-7000-8000-000000000000.json'), '{}')

    const republish = () => app.inject({ method: 'POST', url: '/internal/v1/republish', headers: cron() })
    const first = await republish()
    t.equal(first.statusCode, 200)
    t.match(first.json(), {
      sites: 1,
      written: 1,
      deleted: 1,
      writtenKeys: [`campaigns/production/${c.id}.json`],
      deletedKeys: ['campaigns/test/0190b5a4-0000-7000-8000-000000000000.json'],
    })
    const second = await republish()
    t.match(second.json(), { sites: 1, written: 0, deleted: 0, unchanged: 2 }, 'idempotent')

    t.equal(
      (await app.inject({ method: 'POST', url: '/internal/v1/republish' })).statusCode,
      401,
      'needs a service token',
    )
    const worker = signServiceToken(DEV_SERVICE_JWT_SECRET, 'worker', 60)
    const wrong = await app.inject({
      method: 'POST',
      url: '/internal/v1/republish',
      headers: { authorization: `Bearer ${worker}` },
    })
    t.equal(wrong.statusCode, 403, 'the Worker’s token may not republish')
  },
)

t.test('a publish the storage refuses changes nothing and can be retried', async (t) => {
  const dir = await storageDir(t)
  const DATABASE_URL = await migratedDatabase(t)
  const good = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  const ann = await signInAs(good, 'ann@example.com')
  const teamId = await personalTeam(good, ann)
  const site = await addSite(good, ann, teamId, 'shop.example')
  const c = await newCampaign(good, ann, teamId, { siteId: site.id })
  // A second worker of the same deployment whose object storage is down.
  const broken = await buildTestApp(t, {
    DATABASE_URL,
    S3_BUCKET: 'nudge-edge',
    S3_ENDPOINT: 'http://127.0.0.1:9',
    S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    S3_SECRET_ACCESS_KEY: 'secret-that-must-not-leak',
    S3_FORCE_PATH_STYLE: 'true',
  })
  const audits = async () =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events`.execute(good.db)).rows[0]?.n
  const auditsBefore = await audits()
  const started = Date.now()
  const failed = await campaignApi(broken, ann, teamId).status(c.id, 1, 'test')
  t.ok(Date.now() - started < 15000, 'fails in bounded time')
  t.equal(failed.statusCode, 502)
  t.equal(failed.json().code, 'STORAGE_FAILED')
  t.notMatch(failed.body, /secret-that-must-not-leak|AKIAEXAMPLE/)
  t.match((await campaignApi(good, ann, teamId).get(c.id)).json(), {
    status: 'draft',
    version: 1,
    publishedVersion: null,
  })
  t.equal(await audits(), auditsBefore, 'no audit row for a change that did not happen')

  const retried = await campaignApi(good, ann, teamId).status(c.id, 1, 'test')
  t.equal(retried.statusCode, 200, 'the same request succeeds once storage is back')
  t.ok((await objectsIn(dir)).has(`campaigns/test/${c.id}.json`))
})

t.test('publishes and edits racing on two workers never leave the edge behind the database', async (t) => {
  const dir = await storageDir(t)
  const DATABASE_URL = await migratedDatabase(t)
  const a = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  const b = await buildTestApp(t, { DATABASE_URL, STORAGE_DIR: dir })
  const ann = await signInAs(b, 'ann@example.com')
  const teamId = await personalTeam(a, ann)
  const site = await addSite(a, ann, teamId, 'shop.example')
  const campaigns = await Promise.all(
    [1, 2, 3, 4, 5, 6].map((i) => newCampaign(a, ann, teamId, { name: `C${i}`, siteId: site.id })),
  )
  for (const c of campaigns) await campaignApi(a, ann, teamId).walk(c.id, 1, 'test', 'live')
  for (let round = 0; round < 5; round++) {
    // Every campaign is edited on one worker and paused or resumed on the other, at once.
    await Promise.all(
      campaigns.map(async (c, i) => {
        const current = (await campaignApi(a, ann, teamId).get(c.id)).json()
        const edit = campaignApi(i % 2 ? a : b, ann, teamId).patch(c.id, '*', { name: `C${i} r${round}` })
        const flip = campaignApi(i % 2 ? b : a, ann, teamId).status(
          c.id,
          '*',
          current.status === 'live' ? 'paused' : 'live',
        )
        const [edited, flipped] = await Promise.all([edit, flip])
        t.equal(edited.statusCode, 200)
        t.equal(flipped.statusCode, 200)
      }),
    )
    const objects = await objectsIn(dir)
    const rows = (
      await sql<{ id: string; status: string; version: number; published_version: number | null }>`
        SELECT id, status, version, published_version FROM campaigns`.execute(a.db)
    ).rows
    const site = objects.get('domains/shop.example.json')?.json as
      | { campaigns?: Array<{ id: string; v: number }> }
      | undefined
    const listed = site?.campaigns ?? []
    for (const row of rows) {
      const object = objects.get(`campaigns/production/${row.id}.json`)?.json as { v: number } | undefined
      if (row.status === 'live') {
        t.equal(object?.v, row.version, `round ${round}: the edge has the live version`)
        t.equal(row.published_version, row.version)
        t.same(
          listed.find((entry) => entry.id === row.id)?.v,
          row.version,
          `round ${round}: the site lists the live version`,
        )
      } else {
        t.equal(object, undefined, `round ${round}: nothing served for a ${row.status} campaign`)
      }
    }
  }
})

t.test('deleting a site unpublishes its campaigns and keeps them as drafts', async (t) => {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const api = campaignApi(app, ann, teamId)
  const site = await addSite(app, ann, teamId, 'shop.example')
  const keep = await addSite(app, ann, teamId, 'keep.example')
  const live = await newCampaign(app, ann, teamId, { siteId: site.id })
  const testing = await newCampaign(app, ann, teamId, { siteId: site.id })
  const elsewhere = await newCampaign(app, ann, teamId, { siteId: keep.id })
  await api.walk(live.id, 1, 'test', 'live')
  await api.walk(testing.id, 1, 'test')
  await api.walk(elsewhere.id, 1, 'test', 'live')
  const before = await objectsIn(dir)

  const res = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/sites/${site.id}`,
    headers: ann.headers,
  })
  t.equal(res.statusCode, 204)
  const after = await objectsIn(dir)
  t.same(changes(before, after), {
    written: [],
    deleted: [
      `campaigns/production/${live.id}.json`,
      `campaigns/test/${testing.id}.json`,
      'domains/shop.example.json',
    ].sort(),
  })
  t.match((await api.get(live.id)).json(), {
    status: 'draft',
    siteId: null,
    publishedVersion: null,
    version: 4,
  })
  t.match((await api.get(testing.id)).json(), { status: 'draft', siteId: null })
  t.match((await api.get(elsewhere.id)).json(), { status: 'live', siteId: keep.id })
  const back = await api.status(live.id, 4, 'test')
  t.equal(back.statusCode, 409, 'a campaign without a site cannot be published')
  t.match(back.json().message, /no site/)
  const moved = await api.patch(live.id, 4, { siteId: keep.id })
  t.equal(moved.statusCode, 200, 'a draft can be moved to another site')
  const sameSite = await api.patch(elsewhere.id, 3, { siteId: keep.id })
  t.equal(sameSite.statusCode, 200, 'a live campaign may name its own site')
  const liveMove = await api.patch(elsewhere.id, 4, { siteId: site.id })
  t.equal(liveMove.statusCode, 409, 'a live campaign stays on its site')
  const toDeleted = await api.patch(testing.id, 3, { siteId: site.id })
  t.equal(toDeleted.statusCode, 400, 'the deleted site is gone')
  t.equal(toDeleted.json().details[0].field, 'body.siteId')
})
