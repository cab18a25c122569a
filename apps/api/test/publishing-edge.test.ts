import { rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { signServiceToken } from '@nudge/auth'
import { startCloudflareStandIn } from '@nudge/cloudflare-stand-in'
import { buildApp as buildS3Server } from 'fauxqs'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'

const BUCKET = 'nudge-edge'
const CREDENTIALS = { accessKeyId: 'AKIDNUDGETEST', secretAccessKey: 'nudge-test-secret-key' }

/** A real S3-compatible server (fauxqs) on loopback, with the requests it received. */
async function startS3(t: Test) {
  const server = buildS3Server({ logger: false })
  const writes: string[] = []
  server.addHook('onRequest', async (request) => {
    if (request.method === 'PUT' || request.method === 'DELETE' || request.url.includes('?delete')) {
      writes.push(`${request.method} ${decodeURIComponent(request.url.split('?')[0] ?? '')}`)
    }
  })
  await server.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => server.close())
  const endpoint = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`
  const client = new S3Client({ endpoint, region: 'auto', forcePathStyle: true, credentials: CREDENTIALS })
  t.teardown(() => client.destroy())
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }))
  writes.length = 0
  const read = async (key: string) => {
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    return {
      json: JSON.parse(await (object.Body?.transformToString() ?? '{}')),
      contentType: object.ContentType,
      cacheControl: object.CacheControl,
    }
  }
  const exists = (key: string) =>
    client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
      () => true,
      () => false,
    )
  const config = {
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: endpoint,
    S3_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
  }
  return { config, writes, read, exists }
}

t.test('on a real S3-compatible server: each step writes exactly the changed objects', async (t) => {
  const s3 = await startS3(t)
  const app = await buildTestApp(t, s3.config)
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const api = campaignApi(app, ann, teamId)
  const site = await addSite(app, ann, teamId, 'shop.example')
  t.same(s3.writes, [`PUT /${BUCKET}/domains/shop.example.json`])
  const doc = await s3.read('domains/shop.example.json')
  t.equal(doc.contentType, 'application/json; charset=utf-8')
  t.equal(doc.cacheControl, 'public, max-age=60')

  const c = await newCampaign(app, ann, teamId, { siteId: site.id })
  const step = async (what: string, action: () => Promise<unknown>, expected: string[]) => {
    s3.writes.length = 0
    await action()
    t.same([...s3.writes].sort(), [...expected].sort(), what)
  }
  let v = 1
  const move = async (status: string) => {
    const res = await api.status(c.id, v, status)
    t.equal(res.statusCode, 200, `→ ${status}`)
    v = res.json().version
  }
  await step('test', () => move('test'), [`PUT /${BUCKET}/campaigns/test/${c.id}.json`])
  await step('live', () => move('live'), [
    `PUT /${BUCKET}/campaigns/production/${c.id}.json`,
    `PUT /${BUCKET}/domains/shop.example.json`,
    `POST /${BUCKET}/`, // DeleteObjects
  ])
  t.same((await s3.read('domains/shop.example.json')).json.campaigns, [{ id: c.id, v }])
  t.equal(await s3.exists(`campaigns/test/${c.id}.json`), false, 'the test object was the one deleted')
  await step('paused', () => move('paused'), [`PUT /${BUCKET}/domains/shop.example.json`, `POST /${BUCKET}/`])
  t.equal(
    await s3.exists(`campaigns/production/${c.id}.json`),
    false,
    'the production object was the one deleted',
  )
  t.equal(await s3.exists('domains/shop.example.json'), true)

  s3.writes.length = 0
  const report = await app.inject({
    method: 'POST',
    url: '/internal/v1/republish',
    headers: { authorization: `Bearer ${signServiceToken(app.config.SERVICE_JWT_SECRET, 'cron', 60)}` },
  })
  t.match(report.json(), { written: 0, deleted: 0, unchanged: 1 }, 'republish finds the bucket up to date')
  t.same(s3.writes, [], 'and writes nothing')
})

/** An app whose publishes purge through a Cloudflare stand-in of the test's own. */
async function appPurgingThrough(t: Test) {
  const cloudflare = await startCloudflareStandIn()
  t.teardown(() => cloudflare.close())
  const app = await buildTestApp(t, {
    EDGE_URL: 'https://edge.nudge.test',
    CLOUDFLARE_API_TOKEN: cloudflare.token,
    CLOUDFLARE_ZONE_ID: cloudflare.zoneId,
    CLOUDFLARE_API_URL: cloudflare.url,
  })
  return { cloudflare, app }
}

t.test(
  'Cloudflare: one purge per publish with exactly the changed URLs; a failed purge is retried later',
  async (t) => {
    const { cloudflare, app } = await appPurgingThrough(t)
    const ann = await signInAs(app, 'ann@example.com')
    const teamId = await personalTeam(app, ann)
    const api = campaignApi(app, ann, teamId)
    const site = await addSite(app, ann, teamId, 'shop.example')
    const c = await newCampaign(app, ann, teamId, { siteId: site.id })
    const purged = () => cloudflare.purges.map((purge) => [...(purge.files ?? [])].sort())
    const edge = (key: string) => `https://edge.nudge.test/${key}`

    t.same(purged(), [[edge('domains/shop.example.json')]], 'the new site’s document')
    cloudflare.reset()
    let res = await api.walk(c.id, 1, 'test', 'live')
    t.same(
      purged(),
      [
        [edge(`campaigns/test/${c.id}.json`)],
        [
          edge(`campaigns/production/${c.id}.json`),
          edge(`campaigns/test/${c.id}.json`),
          edge('domains/shop.example.json'),
        ].sort(),
      ],
      'one call per publish: test, then live (new production object, site list, test object gone)',
    )

    // Cloudflare down: the publish still succeeds (storage and database agree), the URLs wait.
    cloudflare.reset()
    cloudflare.failNext(100, 503)
    const edited = await api.patch(c.id, res.version, { name: 'Edited while Cloudflare is down' })
    t.equal(edited.statusCode, 200)
    const pending = await sql<{ url: string }>`SELECT url FROM edge_purges_pending ORDER BY url`.execute(
      app.db,
    )
    t.same(
      pending.rows.map((row) => row.url),
      [edge(`campaigns/production/${c.id}.json`), edge('domains/shop.example.json')].sort(),
    )
    t.same(cloudflare.purges, [])

    cloudflare.reset()
    res = await api.walk(c.id, edited.json().version, 'paused')
    t.same(
      purged(),
      [[edge(`campaigns/production/${c.id}.json`), edge('domains/shop.example.json')].sort()],
      'the next publish purges its own URLs and the waiting ones, in one call',
    )
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM edge_purges_pending`.execute(app.db)
    t.equal(left.rows[0]?.n, 0)
  },
)

t.test('republish: purgePending is what still waits for a purge when the run ends', async (t) => {
  const { cloudflare, app } = await appPurgingThrough(t)
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  await addSite(app, ann, teamId, 'shop.example')
  await addSite(app, ann, teamId, 'blog.example')
  const dir = app.config.STORAGE_DIR as string
  const edge = (key: string) => `https://edge.nudge.test/${key}`
  const domains = [edge('domains/blog.example.json'), edge('domains/shop.example.json')]
  // Both sites' documents lost at the edge: the republish writes each, one publish per site.
  const loseDocuments = () =>
    Promise.all(['shop', 'blog'].map((name) => rm(path.join(dir, `domains/${name}.example.json`))))
  const republish = async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/internal/v1/republish',
      headers: { authorization: `Bearer ${signServiceToken(app.config.SERVICE_JWT_SECRET, 'cron', 60)}` },
    })
    t.equal(res.statusCode, 200, res.body)
    return res.json() as { written: number; purged: number; purgePending: number }
  }
  const pending = async () =>
    (await sql<{ url: string }>`SELECT url FROM edge_purges_pending ORDER BY url`.execute(app.db)).rows.map(
      (row) => row.url,
    )

  // Cloudflare down the whole run: each site's purge fails and carries the earlier ones along,
  // so the two URLs are tried three times (site, site, sweep) and are two URLs, not five.
  await loseDocuments()
  cloudflare.reset()
  cloudflare.failNext(100, 503)
  t.match(await republish(), { written: 2, purged: 0, purgePending: 2 })
  t.same(await pending(), domains)

  // Cloudflare back: the waiting URLs are purged by the first publish of the next run.
  cloudflare.reset()
  t.match(await republish(), { written: 0, purged: 2, purgePending: 0 })
  t.same(await pending(), [])

  // The first site's purge fails (three attempts: the SDK retries twice), the second's purges
  // both URLs: nothing is left waiting, though a purge failed during the run.
  await loseDocuments()
  cloudflare.reset()
  cloudflare.failNext(3, 503)
  t.match(await republish(), { written: 2, purged: 2, purgePending: 0 })
  t.same(await pending(), [])
  t.same(
    cloudflare.purges.map((purge) => [...(purge.files ?? [])].sort()),
    [domains],
    'one call that went through, with both URLs',
  )
})
