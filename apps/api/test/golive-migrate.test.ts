import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'
import t, { type Test } from 'tap'
import { appendLegacyDelta } from '../../../tools/legacy/src/generate.ts'
import { depsOf } from '../src/deps.ts'
import { newIdFor, newIdsFor } from '../src/modules/golive/legacy-ids-repository.ts'
import { removeLegacyMap } from '../src/modules/golive/service.ts'
import { verifyGoLive } from '../src/modules/golive/verify.ts'
import { buildTestApp, storageDir } from './helpers/app.ts'
import { aboutRow, canonicalDump, legacySystem, migrateFrom } from './helpers/golive.ts'

/*
 * `golive migrate` over a generated old system (small, with every awkward case the generator
 * makes on purpose): what each becomes, that a rerun changes nothing, that a delta brings what
 * the old system wrote since, and that a dry run writes nothing.
 */

const legacy = await legacySystem(t, 14, 5)
const { summary } = legacy
const objects = await storageDir(t)
const app = await buildTestApp(t, { STORAGE_DIR: objects })
await app.ready()
const db = app.db as Kysely<DB>

const first = await migrateFrom(app, legacy)
const afterFirst = await canonicalDump(db)

const count = async (table: 'users' | 'teams' | 'sites' | 'campaigns' | 'leads' | 'integrations') =>
  Number((await db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n)

t.test(
  'every account, domain, campaign, lead, stats row and integration comes across or is reported',
  async (t) => {
    const c = first.counts
    t.equal(c.account?.in, summary.counts.accounts, 'every account read')
    t.equal(c.account?.created, summary.counts.accounts, 'every account a team')
    t.equal(await count('teams'), summary.counts.accounts)
    // One user per person: accounts whose emails differ only in case share one.
    t.equal(await count('users'), summary.counts.accounts - summary.caseDuplicateEmails.length)
    for (const kind of ['domain', 'campaign', 'lead', 'stats', 'integration']) {
      const k = c[kind]
      t.ok(k, `${kind} counted`)
      if (!k) continue
      t.equal(
        k.created + k.merged + k.skipped + k.unchanged,
        k.in,
        `${kind}: every row read is accounted for`,
      )
    }
    t.equal(c.campaign?.created, summary.counts.campaigns, 'every campaign converted')
    t.equal(await count('campaigns'), summary.counts.campaigns)
    t.equal(
      (c.lead?.created ?? 0) + (c.lead?.merged ?? 0) + (c.lead?.skipped ?? 0),
      summary.counts.leads,
      'every lead created, merged or skipped',
    )
    t.equal(await count('leads'), c.lead?.created)
    t.ok(
      first.tables.every((table) => table.rows >= 0 && table.seconds >= 0),
      'per table timing',
    )
  },
)

async function verified(t: Test, when: string) {
  const report = await verifyGoLive({ legacyDatabaseUrl: legacy.databaseUrl, db, storage: app.storage })
  t.same(report.differences, [], `golive verify finds no difference ${when}`)
  t.ok(report.ok)
}

t.test('golive verify (independent of the migration) agrees', (t) => verified(t, 'after the first run'))

t.test('accounts whose emails differ only in case: one user owning both teams', async (t) => {
  for (const [a, b] of summary.caseDuplicateEmails) {
    const teams = await newIdsFor(db, 'account', [String(a), String(b)])
    t.equal(teams.size, 2, 'two teams')
    const owners = await db
      .selectFrom('team_members')
      .select('user_id')
      .distinct()
      .where('team_id', 'in', [...teams.values()])
      .where('role', '=', 'owner')
      .execute()
    t.equal(owners.length, 1, 'one owner for both')
    t.ok(
      aboutRow(first, 'account', b).changes.includes('owner-merged'),
      'the second account reported as merged',
    )
  }
})

t.test('an account without an Auth0 user, or missing from the export, still gets its owner', async (t) => {
  for (const id of [summary.accountWithoutAuth0User, summary.accountMissingFromExport]) {
    const team = await newIdFor(db, 'account', String(id))
    t.ok(team, `account ${id} is a team`)
    const owner = await db
      .selectFrom('team_members')
      .select('user_id')
      .where('team_id', '=', team as string)
      .executeTakeFirst()
    t.ok(owner, 'with an owner')
    t.ok(aboutRow(first, 'account', id).changes.includes('user-without-auth0'), 'reported')
  }
  t.match(
    first.skipped.filter((s) => s.legacyId === summary.exportUserWithoutAccount),
    [{ kind: 'auth0', reason: /no account/ }],
    'an exported user without an account is reported, not imported',
  )
})

t.test(
  'hostnames: normalised, www. twins one site, a hostname owned twice stays with its first owner',
  async (t) => {
    const [keeper, loser] = summary.doubleOwnedHostname.domainIds
    const kept = await newIdFor(db, 'domain', String(keeper))
    t.ok(kept, 'the first owner keeps it')
    t.equal(await newIdFor(db, 'domain', String(loser)), null, 'the second is not migrated')
    t.match(aboutRow(first, 'domain', loser).skipped, [/already belongs to another account/])

    for (const [bare, www] of summary.wwwDuplicateDomainIds) {
      const sites = await newIdsFor(db, 'domain', [String(bare), String(www)])
      t.equal(sites.get(String(bare)), sites.get(String(www)), 'one site for both')
      const site = await db
        .selectFrom('sites')
        .select(['hostname', 'settings'])
        .where('id', '=', sites.get(String(bare)) as string)
        .executeTakeFirstOrThrow()
      t.notOk(site.hostname.startsWith('www.'), 'named by the bare hostname')
      t.equal(site.settings.allowSubdomains, true, 'pages on www. still count')
    }
    for (const id of [summary.trailingDotDomainId, summary.mixedCaseDomainId]) {
      const site = await db
        .selectFrom('sites')
        .select('hostname')
        .where('id', '=', (await newIdFor(db, 'domain', String(id))) as string)
        .executeTakeFirstOrThrow()
      t.match(site.hostname, /^[a-z0-9.-]+[a-z0-9]$/, `domain ${id}: lower case, no trailing dot`)
    }
    t.equal(await newIdFor(db, 'domain', String(summary.invalidHostnameDomainId)), null)
    t.equal(
      aboutRow(first, 'domain', summary.invalidHostnameDomainId).skipped.length,
      1,
      'the invalid hostname is reported',
    )
  },
)

t.test(
  'campaigns: unsafe HTML reduced and reported, "all domains" given a site, live ones published',
  async (t) => {
    const unsafe = await newIdFor(db, 'campaign', String(summary.unsafeHtmlCampaignId))
    const row = await db
      .selectFrom('campaigns')
      .select('variants')
      .where('id', '=', unsafe as string)
      .executeTakeFirstOrThrow()
    t.notMatch(JSON.stringify(row.variants), /<script|onerror|javascript:|<iframe/i, 'nothing unsafe kept')
    t.ok(
      aboutRow(first, 'campaign', summary.unsafeHtmlCampaignId).changes.includes('markup-removed'),
      'and the removal reported',
    )

    const wide = await db
      .selectFrom('campaigns')
      .select(['site_id'])
      .where('id', '=', (await newIdFor(db, 'campaign', String(summary.allDomainsCampaignId))) as string)
      .executeTakeFirstOrThrow()
    t.ok(
      aboutRow(first, 'campaign', summary.allDomainsCampaignId).changes.includes('site-assigned'),
      'reported',
    )
    t.ok(wide.site_id, 'given the account’s first site')

    const live = await db.selectFrom('campaigns').select('id').where('status', '=', 'live').execute()
    t.ok(live.length > 0, 'live campaigns stay live')
    for (const { id } of live) {
      const body = JSON.parse(
        await readFile(path.join(objects, 'campaigns/production', `${id}.json`), 'utf8'),
      )
      t.equal(body.id, id, `live campaign ${id} is published`)
    }
    const map = JSON.parse(await readFile(path.join(objects, 'legacy/map.json'), 'utf8'))
    t.equal(
      map.campaigns[String(summary.unsafeHtmlCampaignId)],
      unsafe,
      'the legacy map names old campaign ids',
    )
    t.equal(
      map.domains[String(summary.doubleOwnedHostname.domainIds[0])],
      (
        await db
          .selectFrom('sites')
          .select('hostname')
          .where(
            'id',
            '=',
            (await newIdFor(db, 'domain', String(summary.doubleOwnedHostname.domainIds[0]))) as string,
          )
          .executeTakeFirstOrThrow()
      ).hostname,
      'and old domain ids',
    )
    t.ok(new Date(map.until).getTime() > Date.now(), 'until a date in the future')
  },
)

t.test(
  'leads: the orphan skipped, duplicates merged; stats on the converted campaign’s variant',
  async (t) => {
    t.equal(await newIdFor(db, 'lead', String(summary.orphanLeadId)), null)
    t.match(aboutRow(first, 'lead', summary.orphanLeadId).skipped, [/campaign/])
    const [a, b] = summary.duplicateLeadIds
    const leads = await newIdsFor(db, 'lead', [String(a), String(b)])
    t.equal(leads.size, 2)
    t.equal(leads.get(String(a)), leads.get(String(b)), 'both old leads are one lead')
    t.same(aboutRow(first, 'lead', b).changes, ['lead-merged'])

    const stats = await db
      .selectFrom('campaign_stats_daily')
      .innerJoin('campaigns', 'campaigns.id', 'campaign_stats_daily.campaign_id')
      .select([
        'campaign_stats_daily.variant_id',
        sql<string>`campaigns.variants -> 0 ->> 'id'`.as('variant'),
      ])
      .execute()
    t.ok(stats.length > 0)
    t.ok(
      stats.every((row) => row.variant_id === row.variant),
      'counted on the campaign’s variant',
    )
  },
)

t.test('integrations: keys encrypted, webhook secrets reported once', async (t) => {
  const rows = await db.selectFrom('integrations').select(['kind', 'secret']).execute()
  t.ok(rows.length > 0)
  t.ok(
    rows.every((row) => row.secret.startsWith('v1.')),
    'every key and secret stored encrypted',
  )
  const webhooks = rows.filter((row) => row.kind === 'webhook').length
  t.equal(first.webhookSecrets.length, webhooks, 'each webhook secret in the report')
  t.ok(first.webhookSecrets.every((notice) => notice.secret.length >= 16 && notice.ownerEmail.includes('@')))
})

t.test('a second run changes nothing', async (t) => {
  const second = await migrateFrom(app, legacy)
  const after = await canonicalDump(db)
  t.same(after.counts, afterFirst.counts, 'the same row counts')
  t.equal(after.hash, afterFirst.hash, 'the same rows')
  for (const [kind, counts] of Object.entries(second.counts)) {
    t.equal(counts.created + counts.updated + counts.merged, 0, `${kind}: nothing written`)
  }
  t.same(second.webhookSecrets, [], 'secrets are shown once')
  t.equal(second.republish?.written, 0, 'nothing republished')
})

t.test('a delta brings what the old system wrote since, without duplicates', async (t) => {
  const delta = await appendLegacyDelta({ databaseUrl: legacy.databaseUrl, seed: 5, leads: 40 })
  const report = await migrateFrom(app, legacy)
  t.ok(report.since, 'from where the last run began')
  t.equal(
    (report.counts.lead?.created ?? 0) + (report.counts.lead?.merged ?? 0),
    delta.leadIds.length,
    'every new lead',
  )
  t.ok(await newIdFor(db, 'campaign', String(delta.newCampaignId)), 'the new campaign')
  const edited = await db
    .selectFrom('campaigns')
    .select(['name', 'version'])
    .where('id', '=', (await newIdFor(db, 'campaign', String(delta.editedCampaignId))) as string)
    .executeTakeFirstOrThrow()
  t.match(edited.name, /\(edited\)/, 'the edit')
  t.ok(edited.version > 1, 'as a new version')
  await verified(t, 'after the delta')
  const again = await migrateFrom(app, legacy)
  t.equal((again.counts.lead?.created ?? 0) + (again.counts.stats?.created ?? 0), 0, 'a rerun adds nothing')
  // Stats the old system updated after the snapshot are replaced, not added: the sums agree.
  const { rows } = await sql<{ impressions: number }>`
    SELECT sum(impressions)::int AS impressions FROM campaign_stats_daily`.execute(db)
  const migrated = await db
    .selectFrom('legacy_ids')
    .select('legacy_id')
    .where('kind', '=', 'campaign')
    .execute()
  const source = await legacyStatsSum(
    legacy.databaseUrl,
    migrated.map((row) => Number(row.legacy_id)),
  )
  t.equal(rows[0]?.impressions, source, 'the impressions the old system counted, once')
})

t.test('a row stamped in the future does not make the next delta miss anything', async (t) => {
  await legacySql(
    legacy.databaseUrl,
    "UPDATE accounts SET updated_at = now() + interval '1 year' WHERE id = 1",
  )
  const before = await migrateFrom(app, legacy)
  t.ok(
    new Date(before.sourceTime).getTime() <= Date.now() + 60_000,
    'the next delta starts no later than now',
  )
  const delta = await appendLegacyDelta({ databaseUrl: legacy.databaseUrl, seed: 6, leads: 10 })
  const report = await migrateFrom(app, legacy)
  t.equal(
    (report.counts.lead?.created ?? 0) + (report.counts.lead?.merged ?? 0),
    delta.leadIds.length,
    'every new lead',
  )
  await verified(t, 'after it')
})

t.test('a dry run reads, converts and reports, and writes nothing', async (t) => {
  const fresh = await buildTestApp(t, {})
  await fresh.ready()
  const before = await canonicalDump(fresh.db)
  const report = await migrateFrom(fresh, legacy, { dryRun: true })
  const after = await canonicalDump(fresh.db)
  t.same(after, before, 'nothing written')
  t.equal(report.counts.account?.created, summary.counts.accounts, 'it says what it would create')
  t.ok((report.counts.lead?.created ?? 0) > 0)
  t.equal(report.republish, null)
})

async function legacySql(databaseUrl: string, statement: string) {
  const pg = await import('pg')
  const client = new pg.default.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

async function legacyStatsSum(databaseUrl: string, campaignIds: number[]) {
  const pg = await import('pg')
  const client = new pg.default.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT sum(impressions)::int AS n FROM campaign_stats WHERE campaign_id = ANY($1::int[])',
      [campaignIds],
    )
    return rows[0]?.n as number
  } finally {
    await client.end()
  }
}

t.test('golive legacy-map --remove deletes the map (old object names stop resolving)', async (t) => {
  const deps = depsOf(app, 'golive')
  t.equal(await removeLegacyMap(deps), true, 'it was there')
  await t.rejects(readFile(path.join(objects, 'legacy/map.json')), { code: 'ENOENT' })
  t.equal(await removeLegacyMap(deps), false, 'a second removal finds nothing, and is no error')
})
