import { createHash } from 'node:crypto'
import { type DB, newId } from '@nudge/db'
import { contentEtag } from '@nudge/storage'
import type { Kysely } from 'kysely'
import { type Deps, inTransaction } from '../../deps.ts'
import { decryptSecret, encryptSecret, lastFour } from '../integrations/secrets.ts'
import { accountKeyOf } from '../integrations/service.ts'
import { deliverySettings } from '../integrations/settings.ts'
import { generateWebhookSecret, type WebhookSecrets } from '../integrations/webhook-signing.ts'
import { republishAll } from '../publishing/service.ts'
import {
  type Change,
  convertCampaign,
  convertPlan,
  normaliseEmail,
  normaliseHostname,
  withoutWww,
} from './convert.ts'
import * as golive from './golive-repository.ts'
import { type LegacyKind, newIdsFor, recordLegacyIds } from './legacy-ids-repository.ts'
import {
  type Auth0User,
  batchesById,
  countRows,
  domainIdsOfAccounts,
  type LegacyDB,
  type LegacyTable,
  legacyAuth0Ids,
  legacyHighWater,
  readAuth0Export,
  statsBatches,
} from './legacy-repository.ts'
import type { Progress } from './progress.ts'
import { emptyCounts, type KindCounts, type MigrationReport } from './report.ts'

export type ImportUser = (input: {
  email: string
  name?: string | null
  createdAt: Date
  auth0UserId?: string | null
  emailVerified?: boolean
}) => Promise<{ userId: string; created: boolean }>

export interface MigrateOptions {
  legacy: Kysely<LegacyDB>
  /** Auth0's bulk user export (NDJSON); without it, owners are imported by their accounts' email alone */
  auth0Export: string | null
  /** delta start; default: where the last finished run began reading (none: everything) */
  since?: Date | null
  dryRun?: boolean
  /** until when old snippets' ids are honoured (the legacy map's `until`); default now + 14 days */
  legacyMapUntil?: Date | null
  importUser: ImportUser
  progress: Progress
  /** Saves the report (the CLI: a file, fsynced). Webhook secrets count as shown once it returns. */
  saveReport: (report: MigrationReport) => Promise<void>
  /** rows per batch (per transaction) for leads and stats; the other tables take a tenth */
  batchSize?: number
}

export const LEGACY_MAP_KEY = 'legacy/map.json'
const LEGACY_MAP_DAYS = 14
/** owners imported at once: the core and the database take a few; more only queues */
const OWNER_IMPORTS_AT_ONCE = 4
/**
 * A row the old system wrote in a transaction that began before the previous run read it, but
 * committed after, carries a stamp just before that run's start: a delta of insert-only rows
 * (and stats, which are replaced) reads this much further back. legacy_ids makes the overlap free.
 */
const DELTA_OVERLAP_MS = 15 * 60_000

/** A campaign as leads and stats need it: its team, and the variant old numbers are counted on. */
interface CampaignTarget {
  teamId: string
  variantId: string
}

/**
 * `golive migrate`: the old system's snapshot (or what it wrote since) into nudge's database.
 * Tables go in dependency order (accounts → domains → campaigns → leads → stats → integrations),
 * each in keyset batches; every batch is one transaction that writes the rows and their
 * legacy_ids together, so a kill anywhere leaves whole batches, and a rerun skips what is mapped.
 * A dry run reads and converts the same way, keeps what it would have mapped in memory (leads
 * aside: only their duplicate keys) and writes nothing.
 */
export async function migrate(deps: Deps, options: MigrateOptions): Promise<MigrationReport> {
  const run = new Run(deps, options)
  await run.begin()
  await run.accounts()
  await run.domains()
  await run.campaigns()
  await run.leads()
  await run.stats()
  await run.integrations()
  return run.finish()
}

class Run {
  readonly report: MigrationReport
  readonly dry: boolean
  readonly size: number
  since: Date | null = null
  /** dry run only: what would have been mapped, and the facts later tables look up */
  readonly planned = new Map<LegacyKind, Map<string, string>>()
  readonly plannedSites = new Map<string, { id: string; teamId: string }>()
  readonly plannedCampaigns = new Map<string, CampaignTarget>()
  readonly plannedOwners = new Map<string, { userId: string; email: string }>()
  /**
   * dry run: the campaign + address of every lead it would have written, as a 52-bit hash (a
   * million leads in ~40 MB rather than ~110 MB of strings; a false "duplicate" 1 in 10^4 runs)
   */
  readonly plannedLeadKeys = new Set<number>()
  auth0 = new Map<string, Auth0User>()

  readonly deps: Deps
  readonly options: MigrateOptions

  constructor(deps: Deps, options: MigrateOptions) {
    this.deps = deps
    this.options = options
    this.dry = options.dryRun ?? false
    this.size = options.batchSize ?? 5000
    this.report = {
      runId: null,
      dryRun: this.dry,
      since: null,
      sourceTime: '',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      counts: {},
      tables: [],
      changes: [],
      skipped: [],
      republish: null,
      legacyMap: null,
      webhookSecrets: [],
    }
  }

  get db(): Kysely<DB> {
    return this.deps.db
  }

  counts(kind: string): KindCounts {
    this.report.counts[kind] ??= emptyCounts()
    return this.report.counts[kind]
  }

  skip(kind: string, legacyId: string | number, reason: string) {
    this.counts(kind).skipped++
    this.report.skipped.push({ kind, legacyId: String(legacyId), reason })
  }

  change(row: string, change: Omit<Change, 'legacyId'> & { legacyId: string | number }) {
    this.report.changes.push({ row, ...change, legacyId: String(change.legacyId) })
  }

  /** A converter's changes, with the kind of row they are about (legacy ids repeat across tables). */
  changed(row: string, changes: Change[]) {
    for (const change of changes) this.report.changes.push({ row, ...change })
  }

  /** legacy id → new id, as the database has it (plus, in a dry run, what this run would have written). */
  async resolve(kind: LegacyKind, legacyIds: Array<string | number>): Promise<Map<string, string>> {
    const found = await newIdsFor(this.db, kind, legacyIds.map(String))
    const planned = this.planned.get(kind)
    if (planned)
      for (const id of legacyIds)
        planned.has(String(id)) && found.set(String(id), planned.get(String(id)) as string)
    return found
  }

  plan(kind: LegacyKind, legacyId: string, id: string) {
    if (!this.planned.has(kind)) this.planned.set(kind, new Map())
    this.planned.get(kind)?.set(legacyId, id)
  }

  /** Writes in one transaction, or (dry run) not at all. */
  async write(work: (db: Kysely<DB>) => Promise<void>) {
    if (this.dry) return
    await inTransaction(this.deps, (tx) => work(tx.db))
  }

  async begin() {
    const { legacy } = this.options
    const sourceTime = await legacyHighWater(legacy)
    this.since = this.options.since ?? (await golive.lastFinishedSourceTime(this.db))
    this.report.since = this.since?.toISOString() ?? null
    this.report.sourceTime = sourceTime.toISOString()
    if (!this.dry) {
      this.report.runId = newId()
      await golive.insertRun(this.db, { id: this.report.runId, since: this.since, sourceTime })
    }
    if (this.options.auth0Export) {
      const { users, bad } = await readAuth0Export(this.options.auth0Export)
      this.auth0 = users
      for (const line of bad)
        this.skip('auth0', `line ${line}`, 'not a user record (unreadable JSON or no user_id/email)')
    }
  }

  /** Insert-only tables (and stats, replaced) read back over the overlap; see DELTA_OVERLAP_MS. */
  get readSince(): Date | null {
    return this.since && new Date(this.since.getTime() - DELTA_OVERLAP_MS)
  }

  async table<T>(
    table: LegacyTable,
    since: Date | null,
    batches: AsyncIterable<T[]>,
    each: (rows: T[]) => Promise<void>,
  ) {
    this.options.progress.start(table, await countRows(this.options.legacy, table, since))
    for await (const rows of batches) {
      await each(rows)
      this.options.progress.advance(rows.length)
    }
    this.report.tables.push(this.options.progress.done())
  }

  // ---- accounts → users, teams (+ owner), billing

  async accounts() {
    const since = this.readSince
    const size = Math.max(1, Math.floor(this.size / 10))
    await this.table(
      'accounts',
      since,
      batchesById(this.options.legacy, 'accounts', since, size),
      async (batch) => {
        const counts = this.counts('account')
        const users = this.counts('user')
        counts.in += batch.length
        const mapped = await this.resolve(
          'account',
          batch.map((a) => a.id),
        )
        const customers = await golive.teamsWithStripeCustomers(
          this.db,
          batch.flatMap((a) => (a.stripe_customer_id ? [a.stripe_customer_id] : [])),
        )
        const teams: Parameters<typeof golive.insertTeams>[1] = []
        // Owners are imported a few at a time (each is a few round trips to the SuperTokens core):
        // the first account of each person here, in parallel; another account of the same person
        // then, in order, as one more import of a known user (which records its Auth0 id too).
        const firsts = new Map<string, LegacyDB['accounts']>()
        for (const account of batch) {
          const { email } = normaliseEmail(account.email)
          if (email && !mapped.has(String(account.id)) && !firsts.has(email.toLowerCase())) {
            firsts.set(email.toLowerCase(), account)
          }
        }
        const imported = new Map<number, Awaited<ReturnType<Run['owner']>>>()
        await eachLimit([...firsts.values()], OWNER_IMPORTS_AT_ONCE, async (account) => {
          const email = normaliseEmail(account.email).email as string
          const auth0 = account.auth0_user_id ? this.auth0.get(account.auth0_user_id) : undefined
          imported.set(account.id, await this.owner(account, email, auth0, []))
        })
        for (const account of batch) {
          if (mapped.has(String(account.id))) {
            counts.unchanged++
            continue
          }
          const { email, changes: emailChanges } = normaliseEmail(
            account.email,
            String(account.id),
            'accounts.email',
          )
          if (!email) {
            this.skip(
              'account',
              account.id,
              `its email cannot sign in: ${emailChanges[0]?.reason ?? 'not an address'}`,
            )
            continue
          }
          this.changed('account', emailChanges)
          const auth0 = account.auth0_user_id ? this.auth0.get(account.auth0_user_id) : undefined
          if (!account.auth0_user_id) {
            this.change('account', {
              kind: 'user-without-auth0',
              legacyId: account.id,
              field: 'accounts.auth0_user_id',
              reason: 'no Auth0 user: the owner is imported by email and signs in with a magic link to it',
            })
          } else if (this.options.auth0Export && !auth0) {
            this.change('account', {
              kind: 'user-without-auth0',
              legacyId: account.id,
              field: 'accounts.auth0_user_id',
              reason: 'its Auth0 user is not in the export: imported by the account email',
            })
          }
          users.in++
          const owner = imported.get(account.id) ?? (await this.owner(account, email, auth0, teams))
          if (owner.outcome === 'created') users.created++
          else if (owner.outcome === 'merged') {
            users.merged++
            this.change('account', {
              kind: 'owner-merged',
              legacyId: account.id,
              field: 'accounts.email',
              reason:
                'another account has this email (in another case): one user, owner of both teams (accounts are not merged: each keeps its sites, campaigns and billing)',
              after: owner.userId,
            })
          } else users.unchanged++

          const billing = convertPlan(account.plan, account.subscription_status, String(account.id))
          this.changed('account', billing.changes)
          let customer = account.stripe_customer_id
          if (customer && customers.has(customer)) {
            this.change('account', {
              kind: 'billing-dropped',
              legacyId: account.id,
              field: 'accounts.stripe_customer_id',
              reason:
                'another account already has this Stripe customer; the team is left without billing ids',
              before: customer,
            })
            customer = null
          }
          if (customer) customers.add(customer)
          const id = newId()
          teams.push({
            id,
            name: teamName(account),
            plan: billing.value.plan,
            stripeCustomerId: customer,
            stripeSubscriptionId: customer ? account.stripe_subscription_id : null,
            subscriptionStatus: customer ? billing.value.subscriptionStatus : null,
            createdAt: account.created_at,
            ownerId: owner.userId,
            legacyId: String(account.id),
          })
          counts.created++
          if (this.dry) {
            this.plan('account', String(account.id), id)
            this.plannedOwners.set(id, { userId: owner.userId, email })
          }
        }
        await this.write(async (db) => {
          await golive.insertTeams(db, teams)
          await recordLegacyIds(
            db,
            teams.map((team) => ({ kind: 'account', legacyId: team.legacyId, newId: team.id })),
          )
        })
      },
    )
    if (this.options.auth0Export) await this.unclaimedAuth0Users()
  }

  /** The account's owner: imported (idempotent by email), or found. */
  async owner(
    account: LegacyDB['accounts'],
    email: string,
    auth0: Auth0User | undefined,
    /** teams of this batch, not written yet */
    pending: Array<{ ownerId: string }>,
  ): Promise<{ userId: string; outcome: 'created' | 'merged' | 'unchanged' }> {
    const key = email.toLowerCase()
    if (this.dry) {
      const known = (await this.resolve('user', [key])).get(key)
      if (known) return { userId: known, outcome: 'merged' }
      const userId = newId()
      this.plan('user', key, userId)
      return { userId, outcome: 'created' }
    }
    const { userId, created } = await this.options.importUser({
      email,
      name: account.name?.trim() || null,
      createdAt: auth0?.created_at ? new Date(auth0.created_at) : account.created_at,
      auth0UserId: account.auth0_user_id,
      ...(auth0?.email_verified !== undefined && { emailVerified: auth0.email_verified }),
    })
    if (created) return { userId, outcome: 'created' }
    // Found: the owner of another account already (same person), or imported by a run killed
    // before it wrote this account's team.
    const owns = pending.some((team) => team.ownerId === userId) || (await golive.ownsTeams(this.db, userId))
    return { userId, outcome: owns ? 'merged' : 'unchanged' }
  }

  async unclaimedAuth0Users() {
    const claimed = new Set(await legacyAuth0Ids(this.options.legacy))
    for (const user of this.auth0.values()) {
      if (!claimed.has(user.user_id)) {
        this.skip(
          'auth0',
          user.user_id,
          'no account has this Auth0 user (an account deleted in the old system): not imported',
        )
      }
    }
  }

  // ---- domains → sites

  async domains() {
    const since = this.readSince
    const size = Math.max(1, Math.floor(this.size / 5))
    await this.table(
      'domains',
      since,
      batchesById(this.options.legacy, 'domains', since, size),
      async (batch) => {
        const counts = this.counts('domain')
        counts.in += batch.length
        const teams = await this.resolve(
          'account',
          batch.map((d) => d.account_id),
        )
        const mapped = await this.resolve(
          'domain',
          batch.map((d) => d.id),
        )
        const normalised = new Map(batch.map((d) => [d.id, normaliseHostname(d.hostname, String(d.id))]))
        const hostnames = [...normalised.values()].flatMap((n) =>
          n.hostname ? [n.hostname, withoutWww(n.hostname)] : [],
        )
        const owners = await golive.sitesByHostname(this.db, hostnames)
        for (const [hostname, site] of this.plannedSites) owners.set(hostname, site)
        const sites: Parameters<typeof golive.insertSites>[1] = []
        const allowSubdomains: string[] = []
        const ids: Array<{ kind: 'domain'; legacyId: string; newId: string }> = []
        const fold = (domainId: number, siteId: string) => {
          counts.merged++
          ids.push({ kind: 'domain', legacyId: String(domainId), newId: siteId })
          if (this.dry) this.plan('domain', String(domainId), siteId)
        }
        for (const domain of batch) {
          if (mapped.has(String(domain.id))) {
            counts.unchanged++
            continue
          }
          const teamId = teams.get(String(domain.account_id))
          if (!teamId) {
            this.skip('domain', domain.id, `its account ${domain.account_id} was not migrated`)
            continue
          }
          const { hostname, changes } = normalised.get(domain.id) as ReturnType<typeof normaliseHostname>
          if (!hostname) {
            this.skip('domain', domain.id, changes[0]?.reason ?? 'not a hostname')
            continue
          }
          this.changed('domain', changes)
          const owner = owners.get(hostname)
          if (owner && owner.teamId !== teamId) {
            this.skip(
              'domain',
              domain.id,
              `hostname ${hostname} already belongs to another account's site (the first owner keeps it); its campaigns have no site`,
            )
            continue
          }
          if (owner) {
            this.change('domain', {
              kind: 'site-merged',
              legacyId: domain.id,
              field: 'hostname',
              reason: `the account has ${hostname} already (another spelling of it): one site for both`,
              after: hostname,
            })
            fold(domain.id, owner.id)
            continue
          }
          // www.example.com beside example.com in the same account: one site, example.com, whose
          // pages on subdomains count (allowSubdomains), so visitors on either keep their popups.
          const bare = owners.get(withoutWww(hostname))
          if (bare && bare.teamId === teamId && withoutWww(hostname) !== hostname) {
            this.change('domain', {
              kind: 'site-merged',
              legacyId: domain.id,
              field: 'hostname',
              reason: `the www. twin of ${withoutWww(hostname)} in the same account: one site, with subdomains allowed`,
              before: hostname,
              after: withoutWww(hostname),
            })
            allowSubdomains.push(bare.id)
            fold(domain.id, bare.id)
            continue
          }
          const id = newId()
          owners.set(hostname, { id, teamId })
          sites.push({ id, teamId, hostname, createdAt: domain.created_at })
          ids.push({ kind: 'domain', legacyId: String(domain.id), newId: id })
          counts.created++
          if (this.dry) {
            this.plan('domain', String(domain.id), id)
            this.plannedSites.set(hostname, { id, teamId })
          }
        }
        await this.write(async (db) => {
          await golive.insertSites(db, sites)
          await golive.allowSubdomains(db, allowSubdomains)
          await recordLegacyIds(db, ids)
        })
      },
    )
  }

  // ---- campaigns

  async campaigns() {
    // Edits are re-applied: only what the old system changed since the last run, no overlap (an
    // edit made in nudge since must not be overwritten by an older one).
    const since = this.since
    const size = Math.max(1, Math.floor(this.size / 10))
    await this.table(
      'campaigns',
      since,
      batchesById(this.options.legacy, 'campaigns', since, size),
      async (batch) => {
        const counts = this.counts('campaign')
        counts.in += batch.length
        const accountIds = [...new Set(batch.map((c) => c.account_id))]
        const teams = await this.resolve('account', accountIds)
        const domains = await this.resolve(
          'domain',
          batch.flatMap((c) => (c.domain_id === null ? [] : [c.domain_id])),
        )
        // "All my domains" campaigns go to the account's first migrated domain's site.
        const firstSite = new Map<number, string>()
        const wide = [...new Set(batch.filter((c) => c.domain_id === null).map((c) => c.account_id))]
        const candidates = await domainIdsOfAccounts(this.options.legacy, wide)
        const candidateSites = await this.resolve(
          'domain',
          candidates.map((d) => d.id),
        )
        for (const d of candidates) {
          const site = candidateSites.get(String(d.id))
          if (site && !firstSite.has(d.account_id)) firstSite.set(d.account_id, site)
        }
        const siteIds = [...new Set([...domains.values(), ...firstSite.values()])]
        const hostnames = await golive.hostnamesOfSites(this.db, siteIds)
        for (const [hostname, site] of this.plannedSites) hostnames.set(site.id, hostname)
        const owners = await golive.ownersOfTeams(this.db, [...new Set(teams.values())])
        for (const [teamId, owner] of this.plannedOwners) owners.set(teamId, owner)
        const mapped = await this.resolve(
          'campaign',
          batch.map((c) => c.id),
        )
        const inserts: Parameters<typeof golive.insertCampaigns>[1] = []
        const updates: Parameters<typeof golive.insertCampaigns>[1] = []
        for (const old of batch) {
          const existing = mapped.get(String(old.id))
          if (existing && !(since && old.updated_at > since)) {
            counts.unchanged++
            continue
          }
          const teamId = teams.get(String(old.account_id))
          if (!teamId) {
            this.skip('campaign', old.id, `its account ${old.account_id} was not migrated`)
            continue
          }
          let siteId: string | null = null
          if (old.domain_id !== null) {
            siteId = domains.get(String(old.domain_id)) ?? null
            if (!siteId)
              this.change('campaign', {
                kind: 'site-missing',
                legacyId: old.id,
                field: 'domain_id',
                reason: `its domain ${old.domain_id} was not migrated (see skipped): no site`,
                before: String(old.domain_id),
              })
          } else {
            siteId = firstSite.get(old.account_id) ?? null
            this.change('campaign', {
              kind: 'site-assigned',
              legacyId: old.id,
              field: 'domain_id',
              reason: siteId
                ? "shown on all of the account's domains before; a campaign has one site now: its first site (copy it for the others)"
                : 'shown on all domains, and the account has none: no site',
              ...(siteId && { after: hostnames.get(siteId) }),
            })
          }
          let converted: ReturnType<typeof convertCampaign>
          try {
            const hostname = siteId ? hostnames.get(siteId) : undefined
            converted = convertCampaign(old, hostname ? { siteHostname: hostname } : {})
          } catch (error) {
            this.skip('campaign', old.id, `its content cannot be converted: ${(error as Error).message}`)
            continue
          }
          this.changed('campaign', converted.changes)
          const value = { ...converted.value }
          if (value.status === 'live' && !siteId) {
            this.change('campaign', {
              kind: 'status-paused',
              legacyId: old.id,
              field: 'status',
              reason: 'live without a site cannot be: paused until a site is chosen',
              before: value.status,
              after: 'paused',
            })
            value.status = 'paused'
          }
          const row = {
            id: existing ?? newId(),
            teamId,
            siteId,
            createdBy: owners.get(teamId)?.userId ?? null,
            content: value,
            createdAt: old.created_at,
            updatedAt: old.updated_at,
            legacyId: String(old.id),
          }
          if (existing) {
            updates.push(row)
          } else {
            inserts.push(row)
            counts.created++
          }
          if (this.dry) {
            this.plan('campaign', row.legacyId, row.id)
            this.plannedCampaigns.set(row.id, { teamId, variantId: variantOf(value.variants) })
          }
        }
        await this.write(async (db) => {
          await golive.insertCampaigns(db, inserts)
          for (const row of updates) {
            if (await golive.updateCampaign(db, row)) counts.updated++
            else counts.unchanged++
          }
          await recordLegacyIds(
            db,
            inserts.map((row) => ({ kind: 'campaign', legacyId: row.legacyId, newId: row.id })),
          )
        })
      },
    )
  }

  /** new campaign id → its team and counting variant, from the database (and this dry run). */
  async targets(campaignIds: string[]): Promise<Map<string, CampaignTarget>> {
    const found = await golive.campaignTargets(this.db, campaignIds)
    for (const id of campaignIds) {
      const planned = this.plannedCampaigns.get(id)
      if (planned) found.set(id, planned)
    }
    return found
  }

  // ---- leads

  async leads() {
    const since = this.readSince
    await this.table(
      'leads',
      since,
      batchesById(this.options.legacy, 'leads', since, this.size),
      async (batch) => {
        const counts = this.counts('lead')
        counts.in += batch.length
        const campaigns = await this.resolve(
          'campaign',
          batch.flatMap((l) => (l.campaign_id === null ? [] : [l.campaign_id])),
        )
        const targets = await this.targets([...new Set(campaigns.values())])
        const mapped = await this.resolve(
          'lead',
          batch.map((l) => l.id),
        )
        const rows: golive.LeadRow[] = []
        /** later rows of the same campaign + email as an earlier row of this batch: → that row */
        const sameAs: Array<{ legacyId: string; key: string }> = []
        const keys = new Map<string, string>()
        for (const lead of batch) {
          if (mapped.has(String(lead.id))) {
            counts.unchanged++
            continue
          }
          const campaignId = lead.campaign_id === null ? undefined : campaigns.get(String(lead.campaign_id))
          const target = campaignId && targets.get(campaignId)
          if (!campaignId || !target) {
            this.skip(
              'lead',
              lead.id,
              lead.campaign_id === null
                ? 'it belongs to no campaign'
                : `its campaign ${lead.campaign_id} does not exist or was not migrated`,
            )
            continue
          }
          const { email, changes: emailChanges } = normaliseEmail(lead.email, String(lead.id), 'leads.email')
          if (!email) {
            this.skip('lead', lead.id, emailChanges[0]?.reason ?? 'its email is not an address')
            continue
          }
          this.changed('lead', emailChanges)
          const key = `${campaignId}\n${email.toLowerCase()}`
          if (keys.has(key) || this.plannedLeadKeys.has(leadKeyHash(key))) {
            sameAs.push({ legacyId: String(lead.id), key })
            continue
          }
          const country = lead.country?.trim().toUpperCase() ?? null
          const validCountry = country && /^[A-Z]{2}$/.test(country) ? country : null
          if (lead.country !== null && validCountry === null) {
            this.change('lead', {
              kind: 'value-ignored',
              legacyId: lead.id,
              field: 'country',
              reason: 'not an ISO 3166-1 alpha-2 code: left unknown',
            })
          }
          const id = newId()
          keys.set(key, id)
          rows.push({
            id,
            teamId: target.teamId,
            campaignId,
            variantId: target.variantId,
            email,
            fields:
              lead.extra && typeof lead.extra === 'object' && !Array.isArray(lead.extra) ? lead.extra : {},
            country: validCountry,
            createdAt: lead.created_at,
            legacyId: String(lead.id),
          })
        }
        const merged = (legacyId: string, into: string | undefined) => {
          counts.merged++
          this.change('lead', {
            kind: 'lead-merged',
            legacyId,
            field: 'email',
            reason:
              'the same email on the same campaign as an earlier lead: merged into it (one lead per campaign and email)',
            ...(into && { after: into }),
          })
        }
        if (this.dry) {
          const existing = await golive.existingLeadKeys(this.db, rows)
          for (const row of rows) {
            const key = `${row.campaignId}\n${row.email.toLowerCase()}`
            if (existing.has(key)) merged(row.legacyId, existing.get(key))
            else counts.created++
            this.plannedLeadKeys.add(leadKeyHash(key))
          }
          for (const dup of sameAs) merged(dup.legacyId, undefined)
          return
        }
        await this.write(async (db) => {
          const inserted = await golive.insertLeads(db, rows)
          const ids: Array<{ kind: 'lead'; legacyId: string; newId: string }> = []
          const conflicting = rows.filter((row) => !inserted.has(row.id))
          const existing = await golive.existingLeadKeys(db, conflicting)
          for (const row of rows) {
            if (inserted.has(row.id)) {
              counts.created++
              ids.push({ kind: 'lead', legacyId: row.legacyId, newId: row.id })
              continue
            }
            const into = existing.get(`${row.campaignId}\n${row.email.toLowerCase()}`) as string
            merged(row.legacyId, into)
            ids.push({ kind: 'lead', legacyId: row.legacyId, newId: into })
            keys.set(`${row.campaignId}\n${row.email.toLowerCase()}`, into)
          }
          for (const dup of sameAs) {
            const into = keys.get(dup.key) as string
            merged(dup.legacyId, into)
            ids.push({ kind: 'lead', legacyId: dup.legacyId, newId: into })
          }
          await recordLegacyIds(db, ids)
        })
      },
    )
  }

  // ---- campaign_stats → campaign_stats_daily (country unknown: '')

  async stats() {
    const since = this.readSince
    await this.table(
      'campaign_stats',
      since,
      statsBatches(this.options.legacy, since, this.size),
      async (batch) => {
        const counts = this.counts('stats')
        counts.in += batch.length
        const campaigns = await this.resolve(
          'campaign',
          batch.map((s) => s.campaign_id),
        )
        const targets = await this.targets([...new Set(campaigns.values())])
        const rows: golive.StatsRow[] = []
        for (const stats of batch) {
          const campaignId = campaigns.get(String(stats.campaign_id))
          const target = campaignId && targets.get(campaignId)
          if (!campaignId || !target) {
            this.skip(
              'stats',
              `${stats.campaign_id}/${stats.date}`,
              `its campaign ${stats.campaign_id} does not exist or was not migrated`,
            )
            continue
          }
          rows.push({
            campaignId,
            teamId: target.teamId,
            variantId: target.variantId,
            day: stats.date,
            impressions: stats.impressions,
            closes: stats.closes,
            conversions: stats.conversions,
          })
        }
        if (this.dry) {
          counts.created += rows.length
          return
        }
        await this.write(async (db) => {
          const written = await golive.upsertStats(db, rows)
          counts.created += written.created
          counts.updated += written.updated
          counts.unchanged += rows.length - written.created - written.updated
        })
      },
    )
  }

  // ---- integrations (+ their campaigns)

  async integrations() {
    const since = this.readSince
    const size = Math.max(1, Math.floor(this.size / 10))
    const keyring = deliverySettings(this.deps.config).keyring
    await this.table(
      'integrations',
      since,
      batchesById(this.options.legacy, 'integrations', since, size),
      async (batch) => {
        const counts = this.counts('integration')
        counts.in += batch.length
        const teams = await this.resolve(
          'account',
          batch.map((i) => i.account_id),
        )
        const mapped = await this.resolve(
          'integration',
          batch.map((i) => i.id),
        )
        const campaigns = await this.resolve(
          'campaign',
          batch.flatMap((i) => i.campaign_ids ?? []),
        )
        const campaignTeams = await this.targets([...new Set(campaigns.values())])
        const rows: golive.IntegrationRow[] = []
        for (const old of batch) {
          if (mapped.has(String(old.id))) {
            counts.unchanged++
            continue
          }
          const teamId = teams.get(String(old.account_id))
          if (!teamId) {
            this.skip('integration', old.id, `its account ${old.account_id} was not migrated`)
            continue
          }
          const config = (old.config ?? {}) as Record<string, unknown>
          const id = newId()
          let row: golive.IntegrationRow
          if (old.kind === 'mailerlite') {
            const apiKey = typeof config.api_key === 'string' ? config.api_key.trim() : ''
            if (!apiKey) {
              this.skip('integration', old.id, 'a Mailerlite integration without an API key')
              continue
            }
            const groupId =
              config.group_id === undefined || config.group_id === null ? null : String(config.group_id)
            row = {
              id,
              teamId,
              kind: 'mailerlite',
              name: 'Mailerlite',
              url: null,
              secret: encryptSecret(keyring, apiKey),
              secretLast4: lastFour(apiKey),
              accountKey: accountKeyOf(apiKey),
              createdAt: old.created_at,
              legacyId: String(old.id),
              settings: groupId ? { groupId } : {},
              campaignIds: [],
            }
          } else if (old.kind === 'webhook') {
            const url = typeof config.url === 'string' ? webhookUrl(config.url) : null
            if (!url) {
              this.skip('integration', old.id, 'a webhook without an http(s) URL')
              continue
            }
            // Generated here, stored encrypted; the report reads it back once for the owner.
            const signing = generateWebhookSecret()
            row = {
              id,
              teamId,
              kind: 'webhook',
              name: `Webhook to ${url.host}`.slice(0, 100),
              url: url.toString(),
              secret: encryptSecret(keyring, JSON.stringify({ current: signing } satisfies WebhookSecrets)),
              secretLast4: lastFour(signing),
              accountKey: null,
              createdAt: old.created_at,
              legacyId: String(old.id),
              settings: {},
              campaignIds: [],
            }
          } else {
            this.skip('integration', old.id, `unknown kind ${JSON.stringify(old.kind).slice(0, 40)}`)
            continue
          }
          for (const legacyCampaign of old.campaign_ids ?? []) {
            const campaignId = campaigns.get(String(legacyCampaign))
            if (campaignId && campaignTeams.get(campaignId)?.teamId === teamId)
              row.campaignIds.push(campaignId)
            else
              this.change('integration', {
                kind: 'attachment-dropped',
                legacyId: old.id,
                field: 'campaign_ids',
                reason: `campaign ${legacyCampaign} is not a migrated campaign of this account: not attached`,
                before: String(legacyCampaign),
              })
          }
          rows.push(row)
          counts.created++
        }
        await this.write(async (db) => {
          await golive.insertIntegrations(db, rows)
          await recordLegacyIds(
            db,
            rows.map((row) => ({ kind: 'integration', legacyId: row.legacyId, newId: row.id })),
          )
        })
      },
    )
  }

  // ---- after the data

  async finish(): Promise<MigrationReport> {
    const report = this.report
    if (!this.dry) {
      const republished = await republishAll(this.deps)
      report.republish = {
        sites: republished.sites,
        written: republished.written.length,
        deleted: republished.deleted.length,
        unchanged: republished.unchanged,
      }
      report.legacyMap = await publishLegacyMap(this.deps, this.options.legacyMapUntil ?? null)
      const keyring = deliverySettings(this.deps.config).keyring
      for (const notice of await golive.pendingSecretNotices(this.db)) {
        const secrets = JSON.parse(decryptSecret(keyring, notice.secret)) as WebhookSecrets
        report.webhookSecrets.push({
          integrationId: notice.integrationId,
          legacyId: notice.legacyId,
          teamId: notice.teamId,
          ownerEmail: notice.ownerEmail,
          url: notice.url,
          secret: secrets.current,
        })
      }
    }
    report.finishedAt = new Date().toISOString()
    await this.options.saveReport(report)
    if (!this.dry) {
      await golive.markSecretsReported(
        this.db,
        report.webhookSecrets.map((s) => s.integrationId),
      )
      await golive.finishRun(this.db, report.runId as string)
    }
    return report
  }
}

/** `work` over `items`, at most `limit` at a time. */
async function eachLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

function leadKeyHash(key: string): number {
  const digest = createHash('sha1').update(key).digest()
  return digest.readUIntBE(0, 6) % 2 ** 52
}

function teamName(account: LegacyDB['accounts']): string {
  const name = account.name?.trim() || account.email.trim().split('@')[0] || `Account ${account.id}`
  return name.slice(0, 100)
}

/** The variant old numbers are counted on: a converted campaign has exactly one. */
function variantOf(variants: unknown[]): string {
  return String((variants[0] as { id?: unknown } | undefined)?.id ?? '')
}

function webhookUrl(raw: string): URL | null {
  try {
    const url = new URL(raw.trim())
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null
  } catch {
    return null
  }
}

/**
 * `legacy/map.json`: old domain ids → hostnames and old campaign ids → new ids, for the Worker
 * to serve old snippets' object names until `until`. Written only when its bytes change.
 */
export async function publishLegacyMap(deps: Deps, until: Date | null) {
  const ends = until ?? new Date(Date.now() + LEGACY_MAP_DAYS * 86_400_000)
  const { domains, campaigns } = await golive.legacyMapEntries(deps.db)
  const body = Buffer.from(JSON.stringify({ until: ends.toISOString(), domains, campaigns }))
  if ((await deps.storage.etag(LEGACY_MAP_KEY)) !== contentEtag(body)) {
    await deps.storage.put(LEGACY_MAP_KEY, body, {
      contentType: 'application/json',
      cacheControl: 'no-cache',
    })
  }
  return {
    key: LEGACY_MAP_KEY,
    domains: Object.keys(domains).length,
    campaigns: Object.keys(campaigns).length,
    until: ends.toISOString(),
  }
}

/** `golive legacy-map --remove`: old snippets' object names stop resolving (the Worker answers 404). */
export async function removeLegacyMap(deps: Deps): Promise<boolean> {
  const existed = (await deps.storage.etag(LEGACY_MAP_KEY)) !== null
  await deps.storage.delete([LEGACY_MAP_KEY])
  return existed
}
