import { execFile } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { buildTestApp, storageDir } from './helpers/app.ts'
import { addSite, campaignApi, changes, newCampaign, objectsIn, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'

/*
 * `npm run republish` (apps/api/src/cli/republish.ts), run as operators run it: its own process,
 * on the deployment's database and storage folder.
 */

const run = promisify(execFile)
const cli = path.resolve(import.meta.dirname, '../src/cli/republish.ts')

t.test('it reports what it wrote and deleted; a second run writes nothing', async (t) => {
  const dir = await storageDir(t)
  const app = await buildTestApp(t, { STORAGE_DIR: dir })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const api = campaignApi(app, ann, teamId)
  const site = await addSite(app, ann, teamId, 'shop.example')
  const live = await newCampaign(app, ann, teamId, { siteId: site.id })
  await api.walk(live.id, live.version, 'test', 'live')
  const preview = await newCampaign(app, ann, teamId, { siteId: site.id })
  await api.walk(preview.id, preview.version, 'test')
  await addSite(app, ann, teamId, 'blog.example')

  // The edge lost an object (an outage mid-publish, say) and holds one nothing accounts for.
  const missing = `campaigns/production/${live.id}.json`
  const orphan = 'campaigns/test/0190b5a4-0000-7000-8000-000000000000.json'
  await rm(path.join(dir, missing))
  await mkdir(path.join(dir, 'campaigns/test'), { recursive: true })
  await writeFile(path.join(dir, orphan), '{}')

  // Only the test's database and folder: whatever the runner's environment says, this run must
  // not purge Cloudflare or write to a bucket.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: app.config.DATABASE_URL,
    STORAGE_DIR: dir,
  }
  for (const name of Object.keys(env)) {
    if (/^(S3_|CLOUDFLARE_|MEMCACHED_)/.test(name)) delete env[name]
  }
  const before = await objectsIn(dir)
  const first = await run(process.execPath, [cli], { env })
  t.same(JSON.parse(first.stdout), {
    sites: 2,
    written: 1,
    deleted: 1,
    unchanged: 3,
    purged: 0,
    purgePending: 0,
    writtenKeys: [missing],
    deletedKeys: [orphan],
  })
  const afterFirst = await objectsIn(dir)
  t.same(changes(before, afterFirst), { written: [missing], deleted: [orphan] }, 'the folder agrees')
  t.match(afterFirst.get(missing)?.json, { id: live.id }, 'the lost object is back')

  const second = await run(process.execPath, [cli], { env })
  t.match(JSON.parse(second.stdout), {
    sites: 2,
    written: 0,
    deleted: 0,
    unchanged: 4,
    writtenKeys: [],
    deletedKeys: [],
  })
  t.same(changes(afterFirst, await objectsIn(dir)), { written: [], deleted: [] }, 'and nothing was touched')

  const help = await run(process.execPath, [cli, '--help'], { env })
  t.match(help.stdout, /usage: npm run republish/)
})

t.test('a configuration it cannot use is named, and exits 2', async (t) => {
  const env = { ...process.env, NODE_ENV: 'test', DATABASE_URL: 'not a url' }
  const failed = await run(process.execPath, [cli], { env }).catch(
    (error: { code: number; stderr: string }) => error,
  )
  t.match(failed, { code: 2, stderr: /DATABASE_URL/ })
})
