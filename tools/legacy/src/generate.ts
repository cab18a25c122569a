import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { campaignContent, campaignName, emailFor, hostnameFor, personName, shopName } from './content.ts'
import { Random } from './random.ts'

/*
 * The old system's database and its Auth0 user export, generated from a seed: the same seed and
 * size give the same rows and the same export, byte for byte. Every awkward case Go-Live must
 * handle is made on purpose and named in the summary, so tests can look for what became of it.
 * Rows are sent in large batches as arrays (`INSERT … SELECT FROM unnest(…)`): pg has no COPY
 * without pg-copy-streams, and this is within a small factor of it.
 */

/** Everything the generator writes predates this instant; the delta is written after it. */
export const SNAPSHOT_AT = new Date('2026-12-01T00:00:00Z')
const FIRST_SIGN_UP = new Date('2019-03-01T00:00:00Z')
const DAY = 86_400_000
const BATCH = 25_000

const SCHEMA_PATH = path.join(import.meta.dirname, '..', 'schema.sql')

export interface LegacySummary {
  databaseUrl: string
  exportPath: string
  seed: number
  snapshotAt: string
  counts: {
    accounts: number
    domains: number
    campaigns: number
    leads: number
    stats: number
    integrations: number
    exportUsers: number
  }
  /** Pairs of accounts whose emails differ only in case: one person, two accounts (to be merged). */
  caseDuplicateEmails: Array<[number, number]>
  /** A campaign whose text holds <script>, <img onerror>, a javascript: link, an <iframe>, … */
  unsafeHtmlCampaignId: number
  /** The same hostname (spelt differently) as domains of two accounts. */
  doubleOwnedHostname: { hostname: string; domainIds: [number, number] }
  /** Domains of one account that are the same site with and without `www.`: [bare, www]. */
  wwwDuplicateDomainIds: Array<[number, number]>
  /** A domain typed with a trailing dot ('example.com.'). */
  trailingDotDomainId: number
  /** A domain typed in mixed case ('Shop.Example.com'). */
  mixedCaseDomainId: number
  /** A domain no site can have today ('localhost:3000', typed while testing). */
  invalidHostnameDomainId: number
  /** A campaign with domain_id NULL ("all my domains"). */
  allDomainsCampaignId: number
  /** A lead whose campaign_id names no campaign (its campaign was deleted). */
  orphanLeadId: number
  /** Two leads of one campaign whose emails differ only in case (the visitor signed up twice). */
  duplicateLeadIds: [number, number]
  /** The Auth0 user_id of an export user that no account references. */
  exportUserWithoutAccount: string
  /** An account whose auth0_user_id is NULL (its user was deleted in Auth0). */
  accountWithoutAuth0User: number
  /** An account whose auth0_user_id is not in the export. */
  accountMissingFromExport: number
  /** An account whose Auth0 user signed up with a password, not the email connection. */
  passwordConnectionAccount: number
}

interface Account {
  id: number
  auth0UserId: string | null
  email: string
  name: string | null
  plan: string
  stripeCustomerId: string | null
  stripeSubscriptionId: string | null
  subscriptionStatus: string | null
  createdAt: Date
}

interface Domain {
  id: number
  accountId: number
  hostname: string
  createdAt: Date
}

interface Campaign {
  id: number
  accountId: number
  domainId: number | null
  name: string
  type: string
  status: string
  content: Record<string, unknown>
  createdAt: Date
  updatedAt: Date
}

const iso = (date: Date) => date.toISOString()
const between = (random: Random, from: Date, to: Date) =>
  new Date(from.getTime() + Math.floor(random.next() * Math.max(0, to.getTime() - from.getTime())))

/** Creates the database named in `databaseUrl` when missing (connecting to `postgres` on that server). */
export async function ensureLegacyDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl)
  const name = decodeURIComponent(url.pathname.slice(1))
  url.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
  } finally {
    await client.end()
  }
}

/**
 * Inserts `rows` as one statement, a parameter per column (an array). A column typed `int[]` is
 * sent as text ('{1,2}') and cast: unnest flattens an array of arrays.
 */
async function insert(client: pg.Client, table: string, columns: Array<[string, string]>, rows: unknown[][]) {
  if (rows.length === 0) return
  const names = columns.map(([name]) => name).join(', ')
  const arrays = columns
    .map(([, type], index) => `$${index + 1}::${type.endsWith('[]') ? 'text' : type}[]`)
    .join(', ')
  const selected = columns.map(([name, type]) => (type.endsWith('[]') ? `${name}::${type}` : name)).join(', ')
  const values = columns.map((_, index) => rows.map((row) => row[index]))
  await client.query(
    `INSERT INTO ${table} (${names}) SELECT ${selected} FROM unnest(${arrays}) AS t(${names})`,
    values,
  )
}

const ACCOUNT_COLUMNS: Array<[string, string]> = [
  ['id', 'int'],
  ['auth0_user_id', 'text'],
  ['email', 'text'],
  ['name', 'text'],
  ['plan', 'text'],
  ['stripe_customer_id', 'text'],
  ['stripe_subscription_id', 'text'],
  ['subscription_status', 'text'],
  ['created_at', 'timestamptz'],
  ['updated_at', 'timestamptz'],
]
const DOMAIN_COLUMNS: Array<[string, string]> = [
  ['id', 'int'],
  ['account_id', 'int'],
  ['hostname', 'text'],
  ['created_at', 'timestamptz'],
]
const CAMPAIGN_COLUMNS: Array<[string, string]> = [
  ['id', 'int'],
  ['account_id', 'int'],
  ['domain_id', 'int'],
  ['name', 'text'],
  ['type', 'text'],
  ['status', 'text'],
  ['content', 'jsonb'],
  ['created_at', 'timestamptz'],
  ['updated_at', 'timestamptz'],
]
const LEAD_COLUMNS: Array<[string, string]> = [
  ['id', 'int'],
  ['campaign_id', 'int'],
  ['email', 'text'],
  ['extra', 'jsonb'],
  ['country', 'text'],
  ['created_at', 'timestamptz'],
]
const STATS_COLUMNS: Array<[string, string]> = [
  ['campaign_id', 'int'],
  ['date', 'date'],
  ['impressions', 'int'],
  ['closes', 'int'],
  ['conversions', 'int'],
  ['updated_at', 'timestamptz'],
]
const INTEGRATION_COLUMNS: Array<[string, string]> = [
  ['id', 'int'],
  ['account_id', 'int'],
  ['kind', 'text'],
  ['config', 'jsonb'],
  ['campaign_ids', 'int[]'],
  ['created_at', 'timestamptz'],
]

const COUNTRIES = ['DE', 'DE', 'NL', 'FR', 'GB', 'US', 'ES', 'IT', 'AT', 'CH', null] as const

function leadEmail(random: Random, unique: number): string {
  return emailFor(random, personName(random), unique)
}

/**
 * (Re)creates the old schema in `databaseUrl` (its tables dropped first) and fills it for
 * `accounts` accounts; writes the Auth0 export (NDJSON) to `exportPath`.
 */
export async function generateLegacy(input: {
  databaseUrl: string
  accounts: number
  seed?: number
  exportPath: string
}): Promise<LegacySummary> {
  const seed = input.seed ?? 1
  const total = Math.max(12, Math.floor(input.accounts))
  const random = new Random(seed)
  const client = new pg.Client({ connectionString: input.databaseUrl })
  await client.connect()
  try {
    await client.query(
      'DROP TABLE IF EXISTS integrations, campaign_stats, leads, campaigns, domains, accounts CASCADE',
    )
    await client.query(await readFile(SCHEMA_PATH, 'utf8'))

    // Accounts, with the awkward ones at fixed places among them.
    const accounts: Account[] = []
    const caseDuplicateEmails: Array<[number, number]> = []
    const duplicateEvery = Math.max(6, Math.floor(total / 8))
    const accountWithoutAuth0User = 3
    const accountMissingFromExport = 4
    for (let id = 1; id <= total; id++) {
      const name = personName(random)
      const createdAt = between(random, FIRST_SIGN_UP, new Date(SNAPSHOT_AT.getTime() - 30 * DAY))
      const plan = random.weighted([
        ['free', 5],
        ['starter', 2],
        ['pro', 2],
        ['agency', 1],
      ] as const)
      const paid = plan !== 'free'
      const lapsed = !paid && random.chance(0.1)
      const account: Account = {
        id,
        auth0UserId: `email|${random.hex(24)}`,
        email: emailFor(random, name, id),
        name: random.chance(0.9) ? `${name.first} ${name.last}` : null,
        plan,
        stripeCustomerId: paid || lapsed ? `cus_${random.hex(14)}` : null,
        stripeSubscriptionId: paid || lapsed ? `sub_${random.hex(24)}` : null,
        subscriptionStatus: lapsed
          ? 'canceled'
          : paid
            ? random.weighted([
                ['active', 8],
                ['trialing', 1],
                ['past_due', 1],
              ] as const)
            : null,
        createdAt,
      }
      if (id % duplicateEvery === 0 && id > 5) {
        // The same person signed up again, typing their address in another case.
        const first = accounts[id - 2]!
        account.email =
          first.email.toUpperCase() === first.email ? first.email.toLowerCase() : first.email.toUpperCase()
        account.auth0UserId = `auth0|${random.hex(24)}`
        account.createdAt = new Date(Math.max(first.createdAt.getTime() + DAY, createdAt.getTime()))
        caseDuplicateEmails.push([first.id, id])
      }
      if (id === accountWithoutAuth0User) account.auth0UserId = null
      accounts.push(account)
    }
    const passwordConnectionAccount = caseDuplicateEmails[0]![1]
    await insert(
      client,
      'accounts',
      ACCOUNT_COLUMNS,
      accounts.map((a) => [
        a.id,
        a.auth0UserId,
        a.email,
        a.name,
        a.plan,
        a.stripeCustomerId,
        a.stripeSubscriptionId,
        a.subscriptionStatus,
        iso(a.createdAt),
        iso(new Date(a.createdAt.getTime() + random.int(0, 300) * DAY)),
      ]),
    )

    // Domains: one to three per account, typed as people type them.
    const domains: Domain[] = []
    const byAccount = new Map<number, Domain[]>()
    const wwwDuplicateDomainIds: Array<[number, number]> = []
    let trailingDotDomainId = 0
    let mixedCaseDomainId = 0
    let invalidHostnameDomainId = 0
    const addDomain = (accountId: number, hostname: string, createdAt: Date) => {
      const domain = { id: domains.length + 1, accountId, hostname, createdAt }
      domains.push(domain)
      byAccount.set(accountId, [...(byAccount.get(accountId) ?? []), domain])
      return domain
    }
    for (const account of accounts) {
      const count = random.weighted([
        [0, 1],
        [1, 12],
        [2, 5],
        [3, 2],
      ] as const)
      const shop = shopName(random)
      for (let index = 0; index < count; index++) {
        const hostname = hostnameFor(random, shop, account.id * 10 + index)
        const domain = addDomain(account.id, hostname, between(random, account.createdAt, SNAPSHOT_AT))
        if (/[A-Z]/.test(hostname) && mixedCaseDomainId === 0) mixedCaseDomainId = domain.id
      }
    }
    // The awkward domains, each on an account that has one already.
    const withDomain = accounts.filter((a) => (byAccount.get(a.id)?.length ?? 0) > 0)
    const at = (index: number) => withDomain[index % withDomain.length]!
    {
      const owner = at(1)
      const bare = byAccount.get(owner.id)![0]!
      const bareName = bare.hostname.toLowerCase().replace(/^(shop|blog)\./, '')
      const plain = addDomain(owner.id, bareName, bare.createdAt)
      const www = addDomain(owner.id, `www.${bareName}`, new Date(bare.createdAt.getTime() + DAY))
      wwwDuplicateDomainIds.push([plain.id, www.id])
    }
    const doubleFirst = byAccount.get(at(2).id)![0]!
    const doubleSecond = addDomain(
      at(5).id,
      doubleFirst.hostname.toUpperCase(),
      new Date(doubleFirst.createdAt.getTime() + 30 * DAY),
    )
    const doubleOwnedHostname = {
      hostname: doubleFirst.hostname.toLowerCase(),
      domainIds: [doubleFirst.id, doubleSecond.id] as [number, number],
    }
    trailingDotDomainId = addDomain(at(6).id, `${shopName(random)}${total + 1}.com.`, SNAPSHOT_AT).id
    domains.at(-1)!.createdAt = new Date(SNAPSHOT_AT.getTime() - 5 * DAY)
    invalidHostnameDomainId = addDomain(
      at(7).id,
      'localhost:3000',
      new Date(SNAPSHOT_AT.getTime() - 9 * DAY),
    ).id
    if (mixedCaseDomainId === 0) {
      mixedCaseDomainId = addDomain(at(8).id, `Shop.${shopName(random)}${total + 2}.com`, SNAPSHOT_AT).id
      domains.at(-1)!.createdAt = new Date(SNAPSHOT_AT.getTime() - 4 * DAY)
    }
    await insert(
      client,
      'domains',
      DOMAIN_COLUMNS,
      domains.map((d) => [d.id, d.accountId, d.hostname, iso(d.createdAt)]),
    )

    // Campaigns: about five per account. Without a domain the old editor could not publish one.
    const campaigns: Campaign[] = []
    const status = (canPublish: boolean) => {
      const picked = random.weighted([
        ['active', 8],
        ['draft', 5],
        ['paused', 4],
        ['archived', 3],
      ] as const)
      return canPublish ? picked : 'draft'
    }
    for (const account of accounts) {
      const own = byAccount.get(account.id) ?? []
      const count = random.chance(0.05) ? 0 : 1 + random.around(4.4)
      for (let index = 0; index < count; index++) {
        const domain = own.length === 0 || random.chance(0.08) ? null : random.pick(own)
        const createdAt = between(random, domain?.createdAt ?? account.createdAt, SNAPSHOT_AT)
        const updatedAt = between(random, createdAt, SNAPSHOT_AT)
        campaigns.push({
          id: campaigns.length + 1,
          accountId: account.id,
          domainId: domain?.id ?? null,
          name: campaignName(random, index),
          type: random.weighted([
            ['popup', 6],
            ['slidein', 2],
            ['bar', 1],
            ['fullscreen', 1],
          ] as const),
          status: status(own.length > 0),
          content: campaignContent(random, domain ? domain.hostname.toLowerCase().replace(/\.$/, '') : null),
          createdAt,
          updatedAt,
        })
      }
    }
    const hostileOwner = at(3)
    const hostileDomain = byAccount.get(hostileOwner.id)![0]!
    const unsafe: Campaign = {
      id: campaigns.length + 1,
      accountId: hostileOwner.id,
      domainId: hostileDomain.id,
      name: 'Prize draw',
      type: 'popup',
      status: 'active',
      content: campaignContent(random, hostileDomain.hostname.toLowerCase(), { hostile: true }),
      createdAt: new Date(SNAPSHOT_AT.getTime() - 20 * DAY),
      updatedAt: new Date(SNAPSHOT_AT.getTime() - 19 * DAY),
    }
    campaigns.push(unsafe)
    const allDomainsOwner = at(4)
    const allDomains: Campaign = {
      ...unsafe,
      id: campaigns.length + 1,
      accountId: allDomainsOwner.id,
      domainId: null,
      name: 'Everywhere banner',
      type: 'bar',
      content: campaignContent(random, null),
    }
    campaigns.push(allDomains)
    for (let from = 0; from < campaigns.length; from += BATCH) {
      await insert(
        client,
        'campaigns',
        CAMPAIGN_COLUMNS,
        campaigns
          .slice(from, from + BATCH)
          .map((c) => [
            c.id,
            c.accountId,
            c.domainId,
            c.name,
            c.type,
            c.status,
            JSON.stringify(c.content),
            iso(c.createdAt),
            iso(c.updatedAt),
          ]),
      )
    }

    // Leads and daily stats of every campaign that ever ran, in batches.
    let leadId = 0
    let statsRows = 0
    let leadRows: unknown[][] = []
    let statRows: unknown[][] = []
    const flush = async (force: boolean) => {
      if (leadRows.length >= BATCH || (force && leadRows.length > 0)) {
        await insert(client, 'leads', LEAD_COLUMNS, leadRows)
        leadRows = []
      }
      if (statRows.length >= BATCH || (force && statRows.length > 0)) {
        await insert(client, 'campaign_stats', STATS_COLUMNS, statRows)
        statRows = []
      }
    }
    let duplicateLeadIds: [number, number] = [0, 0]
    for (const campaign of campaigns) {
      if (campaign.status === 'draft') continue
      const leads = campaign.content.collect_email ? random.around(205) : 0
      for (let index = 0; index < leads; index++) {
        leadId += 1
        const createdAt = between(random, campaign.createdAt, SNAPSHOT_AT)
        const extra: Record<string, string> = {}
        if (campaign.content.collect_name) extra.name = personName(random).first
        if (random.chance(0.03)) extra.phone = `+49 30 ${random.int(1000000, 9999999)}`
        leadRows.push([
          leadId,
          campaign.id,
          leadEmail(random, leadId),
          JSON.stringify(extra),
          random.pick(COUNTRIES),
          iso(createdAt),
        ])
        if (duplicateLeadIds[0] === 0 && index === 1) {
          // The same visitor again, a week later, in capitals.
          const first = leadRows.at(-1)!
          leadId += 1
          leadRows.push([
            leadId,
            campaign.id,
            String(first[2]).toUpperCase(),
            '{}',
            first[4],
            iso(new Date(Math.min(createdAt.getTime() + 7 * DAY, SNAPSHOT_AT.getTime() - 1))),
          ])
          duplicateLeadIds = [leadId - 1, leadId]
        }
      }
      const days = Math.min(
        random.around(215),
        Math.floor((SNAPSHOT_AT.getTime() - campaign.createdAt.getTime()) / DAY),
      )
      const firstDay = Math.floor(campaign.createdAt.getTime() / DAY)
      for (let day = 0; day < days; day++) {
        const impressions = random.int(0, 1500)
        const date = new Date((firstDay + day) * DAY)
        statRows.push([
          campaign.id,
          date.toISOString().slice(0, 10),
          impressions,
          random.int(0, Math.floor(impressions / 2)),
          random.int(0, Math.floor(impressions / 12)),
          iso(new Date(date.getTime() + DAY - 1000)),
        ])
        statsRows += 1
      }
      await flush(false)
    }
    // A lead of a campaign deleted since, which the old schema let stay.
    leadId += 1
    const orphanLeadId = leadId
    leadRows.push([
      orphanLeadId,
      campaigns.length + 1000,
      leadEmail(random, leadId),
      '{}',
      'DE',
      iso(new Date(SNAPSHOT_AT.getTime() - 40 * DAY)),
    ])
    await flush(true)

    // Integrations: keys and URLs in plain text, as the old system kept them.
    const integrations: unknown[][] = []
    const campaignsOf = new Map<number, number[]>()
    for (const c of campaigns) campaignsOf.set(c.accountId, [...(campaignsOf.get(c.accountId) ?? []), c.id])
    for (const account of accounts) {
      const own = campaignsOf.get(account.id) ?? []
      const kinds: string[] = []
      if (random.chance(0.35)) kinds.push('mailerlite')
      if (random.chance(0.25)) kinds.push('webhook')
      for (const kind of kinds) {
        const config =
          kind === 'mailerlite'
            ? {
                api_key: `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${random.hex(64)}`,
                group_id: String(random.int(1e8, 9e8)),
              }
            : {
                url: `https://hooks.example-automation.com/catch/${random.int(1000, 9999)}/${random.hex(8)}/`,
              }
        const linked = own.filter(() => random.chance(0.5))
        integrations.push([
          integrations.length + 1,
          account.id,
          kind,
          JSON.stringify(config),
          `{${linked.join(',')}}`,
          iso(between(random, account.createdAt, SNAPSHOT_AT)),
        ])
      }
    }
    await insert(client, 'integrations', INTEGRATION_COLUMNS, integrations)

    for (const [table, column] of [
      ['accounts', 'id'],
      ['domains', 'id'],
      ['campaigns', 'id'],
      ['leads', 'id'],
      ['integrations', 'id'],
    ] as const) {
      await client.query(
        `SELECT setval(pg_get_serial_sequence('${table}', '${column}'), GREATEST((SELECT max(${column}) FROM ${table}), 1))`,
      )
    }
    await client.query('ANALYZE')

    // The Auth0 export, one user per line, as the bulk user-export job writes it.
    const lines: string[] = []
    for (const account of accounts) {
      if (account.auth0UserId === null || account.id === accountMissingFromExport) continue
      lines.push(JSON.stringify(auth0User(random, account.auth0UserId, account.email, account.createdAt)))
    }
    const exportUserWithoutAccount = `email|${random.hex(24)}`
    lines.push(
      JSON.stringify(
        auth0User(
          random,
          exportUserWithoutAccount,
          'former.customer@example.org',
          new Date('2021-05-04T10:00:00Z'),
        ),
      ),
    )
    await mkdir(path.dirname(input.exportPath), { recursive: true })
    await writeFile(input.exportPath, `${lines.join('\n')}\n`)

    return {
      databaseUrl: input.databaseUrl,
      exportPath: input.exportPath,
      seed,
      snapshotAt: iso(SNAPSHOT_AT),
      counts: {
        accounts: accounts.length,
        domains: domains.length,
        campaigns: campaigns.length,
        leads: leadId,
        stats: statsRows,
        integrations: integrations.length,
        exportUsers: lines.length,
      },
      caseDuplicateEmails,
      unsafeHtmlCampaignId: unsafe.id,
      doubleOwnedHostname,
      wwwDuplicateDomainIds,
      trailingDotDomainId,
      mixedCaseDomainId,
      invalidHostnameDomainId,
      allDomainsCampaignId: allDomains.id,
      orphanLeadId,
      duplicateLeadIds,
      exportUserWithoutAccount,
      accountWithoutAuth0User,
      accountMissingFromExport,
      passwordConnectionAccount,
    }
  } finally {
    await client.end()
  }
}

/** One line of Auth0's user export. Auth0 keeps emails in lower case. */
function auth0User(random: Random, userId: string, email: string, createdAt: Date) {
  const [provider, id] = userId.split('|') as [string, string]
  const lastLogin = between(random, createdAt, SNAPSHOT_AT)
  return {
    user_id: userId,
    email: email.toLowerCase(),
    email_verified: random.chance(0.95),
    created_at: iso(createdAt),
    updated_at: iso(lastLogin),
    last_login: iso(lastLogin),
    logins_count: random.int(1, 400),
    identities: [
      provider === 'auth0'
        ? { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false }
        : { connection: 'email', provider: 'email', user_id: id, isSocial: false },
    ],
  }
}

export interface LegacyDelta {
  /** Just before the first write: `golive migrate --since` this brings all of it. */
  since: string
  leadIds: number[]
  statsRows: number
  newCampaignId: number
  editedCampaignId: number
}

/**
 * What the old system wrote after the snapshot, written now: `leads` new leads on live
 * campaigns, today's stats row of those campaigns (new, or added to), a new live campaign and an
 * edit of an existing one. Seeded by `seed` and what is there already, so a second call adds more.
 */
export async function appendLegacyDelta(input: {
  databaseUrl: string
  seed?: number
  leads?: number
}): Promise<LegacyDelta> {
  const client = new pg.Client({ connectionString: input.databaseUrl })
  await client.connect()
  try {
    const since = (await client.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now
    const existing = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM leads')).rows[0]!.n
    const random = new Random(`${input.seed ?? 1}/delta/${existing}`)
    const live = (
      await client.query<{ id: number; account_id: number; domain_id: number | null }>(
        `SELECT id, account_id, domain_id FROM campaigns WHERE status = 'active' ORDER BY id`,
      )
    ).rows
    if (live.length === 0) throw new Error('the legacy database has no active campaign to add a delta to')
    const count = input.leads ?? 10_000
    const first = (
      await client.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('leads', 'id'))::int AS id`)
    ).rows[0]!.id
    const rows: unknown[][] = []
    const touched = new Set<number>()
    for (let index = 0; index < count; index++) {
      const campaign = random.pick(live)
      touched.add(campaign.id)
      rows.push([
        first + index,
        campaign.id,
        leadEmail(random, first + index),
        '{}',
        random.pick(COUNTRIES),
        null,
      ])
    }
    await client.query('BEGIN')
    for (let from = 0; from < rows.length; from += BATCH) {
      const batch = rows.slice(from, from + BATCH)
      await client.query(
        `INSERT INTO leads (id, campaign_id, email, extra, country)
         SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::jsonb[], $5::text[])`,
        [0, 1, 2, 3, 4].map((column) => batch.map((row) => row[column])),
      )
    }
    if (rows.length > 0) {
      await client.query(`SELECT setval(pg_get_serial_sequence('leads', 'id'), $1)`, [
        first + rows.length - 1,
      ])
    }
    const statsCampaigns = [...touched].sort((a, b) => a - b)
    await client.query(
      `INSERT INTO campaign_stats (campaign_id, date, impressions, closes, conversions)
       SELECT id, current_date, 100, 10, 3 FROM unnest($1::int[]) AS id
       ON CONFLICT (campaign_id, date) DO UPDATE SET impressions = campaign_stats.impressions + 100,
         closes = campaign_stats.closes + 10, conversions = campaign_stats.conversions + 3, updated_at = now()`,
      [statsCampaigns],
    )
    const owner = live[0]!
    const hostname = owner.domain_id
      ? ((
          await client.query<{ hostname: string }>('SELECT hostname FROM domains WHERE id = $1', [
            owner.domain_id,
          ])
        ).rows[0]?.hostname ?? null)
      : null
    const created = await client.query<{ id: number }>(
      `INSERT INTO campaigns (account_id, domain_id, name, type, status, content)
       VALUES ($1, $2, $3, 'popup', 'active', $4) RETURNING id`,
      [
        owner.account_id,
        owner.domain_id,
        'Winter sale (after the snapshot)',
        JSON.stringify(campaignContent(random, hostname)),
      ],
    )
    const edited = live[Math.floor(live.length / 2)]!
    await client.query(
      `UPDATE campaigns SET name = name || ' (edited)',
         content = jsonb_set(content, '{title}', to_jsonb('Edited after the snapshot'::text)), updated_at = now()
       WHERE id = $1`,
      [edited.id],
    )
    await client.query('COMMIT')
    return {
      since: since.toISOString(),
      leadIds: rows.map((row) => row[0] as number),
      statsRows: statsCampaigns.length,
      newCampaignId: created.rows[0]!.id,
      editedCampaignId: edited.id,
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  } finally {
    await client.end()
  }
}
