import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import t from 'tap'
import { appendLegacyDelta, generateLegacy, type LegacySummary, SNAPSHOT_AT } from '../src/generate.ts'

const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const ACCOUNTS = 40

function databaseUrl(name: string): string {
  const url = new URL(SERVER)
  url.pathname = `/${name}`
  return url.toString()
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

const names = ['a', 'b', 'c'].map((suffix) => `legacy_test_${process.pid}_${suffix}`)
const [first, second, third] = names.map(databaseUrl) as [string, string, string]
const dir = await mkdtemp(path.join(tmpdir(), 'legacy-'))
const exports = ['a', 'b', 'c'].map((suffix) => path.join(dir, `${suffix}.ndjson`)) as [
  string,
  string,
  string,
]

await admin(async (client) => {
  for (const name of names) {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await client.query(`CREATE DATABASE ${name}`)
  }
})
t.teardown(async () => {
  await admin(async (client) => {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  })
  await rm(dir, { recursive: true, force: true })
})

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end()
  }
}

/** A digest of every table's rows, in id order: equal digests, equal databases. */
async function digest(url: string): Promise<Record<string, string>> {
  const tables = {
    accounts: 'id',
    domains: 'id',
    campaigns: 'id',
    leads: 'id',
    campaign_stats: 'campaign_id, date',
    integrations: 'id',
  }
  const out: Record<string, string> = {}
  for (const [table, order] of Object.entries(tables)) {
    const [row] = await query<{ md5: string }>(
      url,
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY ${order}), '')) AS md5 FROM ${table} t`,
    )
    out[table] = row!.md5
  }
  return out
}

let summary: LegacySummary

t.test('the same seed gives the same database and export; another seed another', async (t) => {
  summary = await generateLegacy({ databaseUrl: first, accounts: ACCOUNTS, seed: 7, exportPath: exports[0] })
  const again = await generateLegacy({
    databaseUrl: second,
    accounts: ACCOUNTS,
    seed: 7,
    exportPath: exports[1],
  })
  const other = await generateLegacy({
    databaseUrl: third,
    accounts: ACCOUNTS,
    seed: 8,
    exportPath: exports[2],
  })
  t.same(
    { ...again, databaseUrl: '', exportPath: '' },
    { ...summary, databaseUrl: '', exportPath: '' },
    'same summary',
  )
  t.same(await digest(second), await digest(first), 'same rows in every table')
  t.equal(
    await readFile(exports[1], 'utf8'),
    await readFile(exports[0], 'utf8'),
    'same export, byte for byte',
  )
  const otherDigest = await digest(third)
  t.not(otherDigest.leads, (await digest(first)).leads, 'another seed, other leads')
  t.not(await readFile(exports[2], 'utf8'), await readFile(exports[0], 'utf8'))
  t.not(other.unsafeHtmlCampaignId, 0)

  // Generating again into a database that has the tables replaces them.
  const replaced = await generateLegacy({
    databaseUrl: second,
    accounts: ACCOUNTS,
    seed: 7,
    exportPath: exports[1],
  })
  t.same(replaced.counts, summary.counts)
  t.same(await digest(second), await digest(first), 'regenerated in place: the same again')
})

t.test('the sizes are those of the issue, per account', async (t) => {
  const { counts } = summary
  t.equal(counts.accounts, ACCOUNTS)
  const [real] = await query<Record<string, number>>(
    first,
    `SELECT (SELECT count(*) FROM accounts)::int AS accounts, (SELECT count(*) FROM domains)::int AS domains,
            (SELECT count(*) FROM campaigns)::int AS campaigns, (SELECT count(*) FROM leads)::int AS leads,
            (SELECT count(*) FROM campaign_stats)::int AS stats, (SELECT count(*) FROM integrations)::int AS integrations`,
  )
  for (const key of ['accounts', 'domains', 'campaigns', 'leads', 'stats', 'integrations'] as const) {
    t.equal(real![key], counts[key], `${key} as the summary says`)
  }
  t.ok(
    counts.campaigns / ACCOUNTS > 3 && counts.campaigns / ACCOUNTS < 8,
    `about 5 campaigns an account (${counts.campaigns})`,
  )
  t.ok(
    counts.leads / ACCOUNTS > 250 && counts.leads / ACCOUNTS < 1000,
    `about 500 leads an account (${counts.leads})`,
  )
  t.ok(
    counts.stats / ACCOUNTS > 250 && counts.stats / ACCOUNTS < 1000,
    `about 500 stats rows an account (${counts.stats})`,
  )
  const [future] = await query<{ n: number }>(
    first,
    `SELECT (SELECT count(*) FROM leads WHERE created_at >= $1)
          + (SELECT count(*) FROM campaigns WHERE updated_at >= $1 OR created_at >= $1)
          + (SELECT count(*) FROM campaign_stats WHERE updated_at >= $1) AS n`,
    [SNAPSHOT_AT],
  )
  t.equal(Number(future!.n), 0, 'everything predates the snapshot')
})

t.test('every awkward case of the issue is there, where the summary says', async (t) => {
  const s = summary
  t.ok(s.caseDuplicateEmails.length >= 1, 'accounts whose emails differ only in case')
  for (const [a, b] of s.caseDuplicateEmails) {
    const rows = await query<{ email: string }>(
      first,
      'SELECT email FROM accounts WHERE id = ANY($1) ORDER BY id',
      [[a, b]],
    )
    t.equal(rows.length, 2)
    t.not(rows[0]!.email, rows[1]!.email, 'spelt differently')
    t.equal(rows[0]!.email.toLowerCase(), rows[1]!.email.toLowerCase(), 'the same address')
  }
  const [unsafe] = await query<{ text: string; status: string }>(
    first,
    `SELECT content->>'text' AS text, status FROM campaigns WHERE id = $1`,
    [s.unsafeHtmlCampaignId],
  )
  for (const hostile of ['<script>', 'onerror=', 'href="javascript:', '<iframe', '<font color', 'style=']) {
    t.match(unsafe!.text, hostile, `the unsafe campaign holds ${hostile}`)
  }
  t.equal(unsafe!.status, 'active', 'and is live: it must stay live, reduced')
  const double = await query<{ hostname: string; account_id: number }>(
    first,
    'SELECT hostname, account_id FROM domains WHERE id = ANY($1) ORDER BY id',
    [s.doubleOwnedHostname.domainIds],
  )
  t.equal(double.length, 2)
  t.not(double[0]!.account_id, double[1]!.account_id, 'a domain owned by two accounts')
  t.equal(double[0]!.hostname.toLowerCase(), s.doubleOwnedHostname.hostname)
  t.equal(double[1]!.hostname.toLowerCase(), s.doubleOwnedHostname.hostname)
  const [www] = await query<{ hostnames: string[]; accounts: number }>(
    first,
    'SELECT array_agg(hostname ORDER BY id) AS hostnames, count(DISTINCT account_id)::int AS accounts FROM domains WHERE id = ANY($1)',
    [s.wwwDuplicateDomainIds[0]],
  )
  t.equal(www!.hostnames[1], `www.${www!.hostnames[0]}`, 'a www. twin in the same account')
  t.equal(www!.accounts, 1)
  const hostnameOf = async (id: number) =>
    (await query<{ hostname: string }>(first, 'SELECT hostname FROM domains WHERE id = $1', [id]))[0]
      ?.hostname
  t.match(await hostnameOf(s.trailingDotDomainId), /\.$/, 'a trailing dot')
  t.match(await hostnameOf(s.mixedCaseDomainId), /[A-Z]/, 'upper case')
  t.equal(await hostnameOf(s.invalidHostnameDomainId), 'localhost:3000')
  const [everywhere] = await query<{ domain_id: number | null }>(
    first,
    'SELECT domain_id FROM campaigns WHERE id = $1',
    [s.allDomainsCampaignId],
  )
  t.equal(everywhere!.domain_id, null, 'a campaign for all domains')
  const [orphan] = await query<{ campaign_id: number; found: boolean }>(
    first,
    'SELECT campaign_id, EXISTS (SELECT 1 FROM campaigns c WHERE c.id = l.campaign_id) AS found FROM leads l WHERE id = $1',
    [s.orphanLeadId],
  )
  t.equal(orphan!.found, false, 'an orphan lead')
  const duplicates = await query<{ campaign_id: number; email: string }>(
    first,
    'SELECT campaign_id, email FROM leads WHERE id = ANY($1) ORDER BY id',
    [s.duplicateLeadIds],
  )
  t.equal(duplicates[0]!.campaign_id, duplicates[1]!.campaign_id)
  t.equal(
    duplicates[0]!.email.toLowerCase(),
    duplicates[1]!.email.toLowerCase(),
    'a lead twice, in another case',
  )

  const lines = (await readFile(exports[0], 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line))
  t.equal(lines.length, s.counts.exportUsers)
  for (const user of lines) {
    t.match(user, {
      user_id: /^(email|auth0)\|[0-9a-f]{24}$/,
      email: String,
      email_verified: Boolean,
      created_at: /Z$/,
      last_login: /Z$/,
      logins_count: Number,
      identities: [{ connection: String, provider: String, user_id: String, isSocial: false }],
    })
  }
  const exported = new Set(lines.map((user) => user.user_id))
  const accounts = await query<{ id: number; auth0_user_id: string | null }>(
    first,
    'SELECT id, auth0_user_id FROM accounts',
  )
  const referenced = new Set(accounts.map((a) => a.auth0_user_id))
  t.ok(
    exported.has(s.exportUserWithoutAccount) && !referenced.has(s.exportUserWithoutAccount),
    'an export user without an account',
  )
  t.equal(
    accounts.find((a) => a.id === s.accountWithoutAuth0User)?.auth0_user_id,
    null,
    'an account without an Auth0 user',
  )
  const missing = accounts.find((a) => a.id === s.accountMissingFromExport)!.auth0_user_id!
  t.notOk(exported.has(missing), 'an account whose Auth0 user is not in the export')
  const password = lines.find(
    (user) => user.user_id === accounts.find((a) => a.id === s.passwordConnectionAccount)?.auth0_user_id,
  )
  t.equal(password?.identities[0].connection, 'Username-Password-Authentication')

  const [keys] = await query<{ mailerlite: number; webhook: number }>(
    first,
    `SELECT count(*) FILTER (WHERE kind = 'mailerlite' AND config->>'api_key' <> '')::int AS mailerlite,
            count(*) FILTER (WHERE kind = 'webhook' AND config->>'url' LIKE 'https://%')::int AS webhook FROM integrations`,
  )
  t.ok(keys!.mailerlite > 0 && keys!.webhook > 0, 'integrations with plain-text keys and URLs')
})

t.test('a delta: new leads, stats, a new campaign and an edit, all after the snapshot', async (t) => {
  const before = await digest(first)
  const delta = await appendLegacyDelta({ databaseUrl: first, seed: 7, leads: 300 })
  t.equal(delta.leadIds.length, 300)
  const [counts] = await query<{ leads: number; after: number; campaign: string; edited: string }>(
    first,
    `SELECT (SELECT count(*) FROM leads)::int AS leads,
            (SELECT count(*) FROM leads WHERE created_at >= $1)::int AS after,
            (SELECT status FROM campaigns WHERE id = $2 AND created_at >= $1) AS campaign,
            (SELECT name FROM campaigns WHERE id = $3 AND updated_at >= $1) AS edited`,
    [delta.since, delta.newCampaignId, delta.editedCampaignId],
  )
  t.equal(counts!.leads, summary.counts.leads + 300)
  t.equal(counts!.after, 300, 'the new leads are those after --since')
  t.equal(counts!.campaign, 'active', 'a new live campaign')
  t.match(counts!.edited, /\(edited\)$/, 'an edited campaign')
  const [stats] = await query<{ n: number }>(
    first,
    'SELECT count(*)::int AS n FROM campaign_stats WHERE updated_at >= $1',
    [delta.since],
  )
  t.equal(stats!.n, delta.statsRows)
  t.equal((await digest(first)).accounts, before.accounts, 'accounts untouched')
  const next = await appendLegacyDelta({ databaseUrl: first, seed: 7, leads: 10 })
  t.equal(next.leadIds[0], delta.leadIds.at(-1)! + 1, 'a second delta adds more, after the first')
})

t.test('the CLI: a summary on stdout, its usage on --help, exit 2 naming a bad option', async (t) => {
  const run = promisify(execFile)
  const cli = path.resolve(import.meta.dirname, '../src/cli.ts')
  const exportPath = path.join(dir, 'cli.ndjson')
  const done = await run(process.execPath, [
    cli,
    '--accounts',
    '12',
    '--seed',
    '2',
    '--database-url',
    third,
    '--export',
    exportPath,
  ])
  const summary = JSON.parse(done.stdout) as LegacySummary
  t.equal(summary.counts.accounts, 12)
  t.equal(summary.exportPath, exportPath)
  t.match(done.stderr, /done in \d+\.\d s/)
  const delta = await run(process.execPath, [cli, '--delta', '--leads', '5', '--database-url', third])
  t.match(JSON.parse(delta.stdout), { leads: 5, since: String })
  const help = await run(process.execPath, [cli, '--help'])
  t.match(help.stdout, /npm run legacy:generate -- --accounts N/)
  for (const [args, message] of [
    [['--accounts', 'many'], /--accounts must be a whole number/],
    [[], /--accounts is required/],
    [['--accounts', '3', '--colour', 'red'], /Unknown option '--colour'/],
    [['--accounts', '3', '--database-url', 'not a url'], /--database-url is not a URL/],
  ] as const) {
    const failed = await run(process.execPath, [cli, ...args]).catch(
      (error: { code: number; stderr: string }) => error,
    )
    t.equal((failed as { code?: number }).code, 2, args.join(' '))
    t.match((failed as { stderr: string }).stderr, message)
  }
})
