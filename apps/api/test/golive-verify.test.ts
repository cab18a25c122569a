import { execFile } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'
import t, { type Test } from 'tap'
import { appendLegacyDelta } from '../../../tools/legacy/src/generate.ts'
import { newIdFor } from '../src/modules/golive/legacy-ids-repository.ts'
import { formatVerifyReport, siteHostnameOf, verifyGoLive } from '../src/modules/golive/verify.ts'
import { buildTestApp, storageDir } from './helpers/app.ts'
import { legacySystem, migrateFrom } from './helpers/golive.ts'

/*
 * `golive verify` on a real migration of a generated old system: nothing to report after it,
 * every awkward case accounted for by name, and each kind of damage a customer would notice
 * (a lost lead, wrong stats, a campaign no longer live or no longer served, the legacy map gone,
 * a delta not migrated) found and named by the old row's id, without an email in sight.
 */

const run = promisify(execFile)
const cli = path.resolve(import.meta.dirname, '../src/cli/golive-verify.ts')

const legacy = await legacySystem(t, 16, 3)
const { summary } = legacy
const objects = await storageDir(t)
const app = await buildTestApp(t, { STORAGE_DIR: objects })
await app.ready()
const db = app.db as Kysely<DB>
await migrateFrom(app, legacy)

const check = () => verifyGoLive({ legacyDatabaseUrl: legacy.databaseUrl, db, storage: app.storage })

t.test('after the migration: no difference, and every rule that leaves rows out is named', async (t) => {
  const report = await check()
  t.same(report.differences, [], 'no differences')
  t.equal(report.ok, true)
  t.match(report.checked, {
    accounts: summary.counts.accounts,
    domains: summary.counts.domains,
    campaigns: summary.counts.campaigns,
    leads: summary.counts.leads,
    'stats rows': summary.counts.stats,
    integrations: summary.counts.integrations,
  })
  t.ok(report.checked['live campaigns in storage']! > 0, 'live campaigns checked in storage')
  t.match(report.accountedFor, {
    'leads whose campaign does not exist (orphans)': 1,
    'domains whose hostname no site can have (localhost, an IP address)': 1,
    'domains whose hostname another account had first': 1,
    'www. twins folded into their bare hostname’s site': summary.wwwDuplicateDomainIds.length,
    'accounts sharing an email in another case (one user owns both teams)':
      summary.caseDuplicateEmails.length,
  })
  t.ok(
    report.accountedFor['leads repeating an address on their campaign (one lead each)']! >= 1,
    'repeated leads',
  )
  const text = formatVerifyReport(report)
  t.match(text, /^golive verify: no differences in \d+\.\d s\n/)
  t.match(text, /1 leads whose campaign does not exist \(orphans\)/)
  t.notMatch(`${text}${JSON.stringify(report)}`, /@/, 'no email address in the report')
})

/** Runs `damage`, checks verify names it, then `repair` and checks it is clean again. */
async function detects(
  t: Test,
  what: { check: RegExp; legacy: string },
  damage: () => Promise<void>,
  repair: () => Promise<void>,
) {
  await damage()
  const report = await check()
  t.equal(report.ok, false, 'verify fails')
  t.ok(
    report.differences.some((d) => what.check.test(d.check) && d.legacy === what.legacy),
    `names ${what.legacy}: ${report.differences.map((d) => `${d.check} ${d.legacy}`).join('; ')}`,
  )
  t.notMatch(formatVerifyReport(report), /@/, 'no email address in the report')
  await repair()
  t.same((await check()).differences, [], 'clean again once repaired')
}

/** An old campaign that has leads and stats, and is live on both sides. */
async function liveCampaignWithLeads(): Promise<{ oldId: number; newId: string }> {
  const { rows } = await sql<{ legacy_id: string; new_id: string }>`
    SELECT li.legacy_id, li.new_id FROM legacy_ids li JOIN campaigns c ON c.id = li.new_id
    WHERE li.kind = 'campaign' AND c.status = 'live'
      AND EXISTS (SELECT 1 FROM leads l WHERE l.campaign_id = c.id)
      AND EXISTS (SELECT 1 FROM campaign_stats_daily s WHERE s.campaign_id = c.id)
    ORDER BY li.legacy_id::int LIMIT 1`.execute(db)
  return { oldId: Number(rows[0]!.legacy_id), newId: rows[0]!.new_id }
}

t.test('a lost lead is found on its campaign and its account', async (t) => {
  const { oldId, newId } = await liveCampaignWithLeads()
  let saved: Record<string, unknown> | undefined
  await detects(
    t,
    { check: /lead emails of the campaign/, legacy: `campaign ${oldId}` },
    async () => {
      const { rows } = await sql<Record<string, unknown>>`
        DELETE FROM leads WHERE id = (SELECT id FROM leads WHERE campaign_id = ${newId} ORDER BY id LIMIT 1) RETURNING *`.execute(
        db,
      )
      saved = rows[0]
    },
    async () => {
      const row = saved!
      await sql`INSERT INTO leads SELECT * FROM json_populate_record(null::leads, ${JSON.stringify(row)})`.execute(
        db,
      )
    },
  )
})

t.test('a changed stats count is found on its campaign', async (t) => {
  const { oldId, newId } = await liveCampaignWithLeads()
  await detects(
    t,
    { check: /stats: impressions summed/, legacy: `campaign ${oldId}` },
    async () => {
      await sql`UPDATE campaign_stats_daily SET impressions = impressions + 1
        WHERE (campaign_id, day) = (SELECT campaign_id, day FROM campaign_stats_daily WHERE campaign_id = ${newId} ORDER BY day LIMIT 1)`.execute(
        db,
      )
    },
    async () => {
      await sql`UPDATE campaign_stats_daily SET impressions = impressions - 1
        WHERE (campaign_id, day) = (SELECT campaign_id, day FROM campaign_stats_daily WHERE campaign_id = ${newId} ORDER BY day LIMIT 1)`.execute(
        db,
      )
    },
  )
})

t.test('a campaign that was active but is not live now is found', async (t) => {
  const campaignId = await newIdFor(db, 'campaign', String(summary.unsafeHtmlCampaignId))
  t.ok(campaignId, 'the campaign with unsafe HTML was migrated')
  await detects(
    t,
    { check: /campaign status/, legacy: `campaign ${summary.unsafeHtmlCampaignId}` },
    async () => {
      await db.updateTable('campaigns').set({ status: 'paused' }).where('id', '=', campaignId!).execute()
    },
    async () => {
      await db.updateTable('campaigns').set({ status: 'live' }).where('id', '=', campaignId!).execute()
    },
  )
})

t.test('after the switch: a team pausing its campaign, visitors counted with their country', async (t) => {
  const { oldId, newId } = await liveCampaignWithLeads()
  const { status_changed_at: migratedAt } = await db
    .selectFrom('campaigns')
    .select('status_changed_at')
    .where('id', '=', newId)
    .executeTakeFirstOrThrow()
  await db
    .updateTable('campaigns')
    .set({ status: 'paused', status_changed_at: new Date() })
    .where('id', '=', newId)
    .execute()
  const [variant] = (
    await db.selectFrom('campaigns').select('variants').where('id', '=', newId).executeTakeFirstOrThrow()
  ).variants as Array<{ id: string }>
  await sql`INSERT INTO campaign_stats_daily (campaign_id, variant_id, day, country, impressions, closes, conversions, leads)
    VALUES (${newId}, ${variant!.id}, current_date, 'DE', 40, 4, 1, 0)`.execute(db)
  const report = await check()
  t.same(report.differences, [], `no difference for campaign ${oldId}`)
  t.equal(
    report.accountedFor['campaigns whose status their team changed since the migration'],
    1,
    'accounted for',
  )
  await db
    .updateTable('campaigns')
    .set({ status: 'live', status_changed_at: migratedAt })
    .where('id', '=', newId)
    .execute()
  await sql`DELETE FROM campaign_stats_daily WHERE campaign_id = ${newId} AND country = 'DE'`.execute(db)
})

t.test('a live campaign no longer served at the edge is found; so is a missing legacy map', async (t) => {
  const { oldId, newId } = await liveCampaignWithLeads()
  const object = path.join(objects, `campaigns/production/${newId}.json`)
  const map = path.join(objects, 'legacy/map.json')
  const bytes = await readFile(object)
  await detects(
    t,
    { check: /live campaign published/, legacy: `campaign ${oldId}` },
    () => rm(object),
    () => writeFile(object, bytes),
  )
  const mapBytes = await readFile(map)
  await detects(
    t,
    { check: /legacy map published/, legacy: 'legacy/map.json' },
    () => rm(map),
    () => writeFile(map, mapBytes),
  )
})

t.test('an account whose team lost its owner is found', async (t) => {
  const teamId = await newIdFor(db, 'account', '1')
  let owner: { user_id: string } | undefined
  await detects(
    t,
    { check: /team owner/, legacy: 'account 1' },
    async () => {
      owner = await db
        .updateTable('team_members')
        .set({ role: 'admin' })
        .where('team_id', '=', teamId!)
        .where('role', '=', 'owner')
        .returning('user_id')
        .executeTakeFirst()
    },
    async () => {
      await db
        .updateTable('team_members')
        .set({ role: 'owner' })
        .where('team_id', '=', teamId!)
        .where('user_id', '=', owner!.user_id)
        .execute()
    },
  )
})

t.test('a delta not yet migrated is a difference; migrated, it is not', async (t) => {
  const delta = await appendLegacyDelta({ databaseUrl: legacy.databaseUrl, seed: 3, leads: 200 })
  const before = await check()
  t.equal(before.ok, false)
  t.ok(
    before.differences.some(
      (d) => d.legacy === `campaign ${delta.newCampaignId}` && /campaign → campaign/.test(d.check),
    ),
    'the new campaign is missing',
  )
  t.ok(
    before.differences.some((d) => /leads per account/.test(d.check)),
    'the new leads are missing',
  )
  await migrateFrom(app, legacy, { since: new Date(delta.since) })
  const after = await check()
  t.same(after.differences, [], 'the delta migrated: no difference')
  t.equal(after.checked.leads, summary.counts.leads + 200)
})

t.test('the CLI: exit 0 and the report; exit 1 naming the difference; exit 2 on bad usage', async (t) => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: app.config.DATABASE_URL,
    STORAGE_DIR: objects,
  }
  for (const name of Object.keys(env)) if (/^(S3_|CLOUDFLARE_|MEMCACHED_)/.test(name)) delete env[name]
  const ok = await run(process.execPath, [cli, 'verify', '--from', legacy.databaseUrl], { env })
  t.match(ok.stdout, /^golive verify: no differences in \d+\.\d s\n/)
  t.match(ok.stderr, /verify: leads/, 'progress on stderr')

  const { newId, oldId } = await liveCampaignWithLeads()
  await sql`UPDATE campaign_stats_daily SET closes = closes + 5 WHERE campaign_id = ${newId}`.execute(db)
  t.teardown(async () => {
    await sql`UPDATE campaign_stats_daily SET closes = closes - 5 WHERE campaign_id = ${newId}`.execute(db)
  })
  const failed = await run(process.execPath, [cli, '--from', legacy.databaseUrl, '--json'], { env }).catch(
    (error: { code: number; stdout: string }) => error,
  )
  t.equal((failed as { code?: number }).code, 1, 'exit 1')
  const report = JSON.parse(failed.stdout)
  t.equal(report.ok, false)
  t.ok(report.differences.some((d: { legacy: string }) => d.legacy === `campaign ${oldId}`))

  const usage = await run(process.execPath, [cli], { env }).catch(
    (error: { code: number; stderr: string }) => error,
  )
  t.equal((usage as { code?: number }).code, 2)
  t.match(usage.stderr, /--from <legacy postgres:\/\/ URL> is required/)
  const down = await run(process.execPath, [cli, '--from', 'postgres://postgres@127.0.0.1:1/legacy'], {
    env,
  }).catch((error: { code: number; stderr: string }) => error)
  t.equal((down as { code?: number }).code, 1, 'the old database unreachable: exit 1')
  t.match(down.stderr, /golive verify failed: .*ECONNREFUSED/)
  const help = await run(process.execPath, [cli, '--help'], { env })
  t.match(help.stdout, /usage: npm run golive -- verify --from URL/)
})

t.test('verify reads hostnames by its own rule', async (t) => {
  t.equal(siteHostnameOf('Shop.Example.com'), 'shop.example.com')
  t.equal(siteHostnameOf('example.com.'), 'example.com')
  t.equal(siteHostnameOf('https://www.example.com:8443/x'), 'www.example.com')
  t.equal(siteHostnameOf('bücher.de'), 'xn--bcher-kva.de')
  for (const none of ['localhost:3000', '10.0.0.1', 'intranet', '']) t.equal(siteHostnameOf(none), null, none)
})
