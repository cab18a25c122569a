import { domainToASCII } from 'node:url'
import type { DB } from '@nudge/db'
import type { ObjectStorage } from '@nudge/storage'
import type { Kysely } from 'kysely'
import { objectKey } from '../publishing/documents.ts'
import * as verify from './verify-repository.ts'

/*
 * `golive verify`: the old database against nudge's, independently of the migration's code. Its
 * own SQL on both sides (verify-repository.ts); old → new only through legacy_ids. Where the
 * migration leaves an old row out or folds two into one on purpose, this reads the same rule
 * from the old data itself and counts it as accounted for, by name, never silently:
 *
 * - an account whose email is not an address cannot sign in: not migrated (nor what is its);
 * - a domain whose hostname no site can have (localhost, an IP address) is not a site; a
 *   hostname (lower case, no trailing dot) is one site, its first owner's (lowest domain id):
 *   another account's domain of it is left out; an account's www.x beside x is one site, x;
 * - a lead whose campaign does not exist (orphan), or whose email is not an address, is left
 *   out; repeats of an address on one campaign are one lead (as visitors' leads are today);
 * - a live campaign without a site (its domain left out, or "all domains" in an account with
 *   none) is paused; every other status is what it was (active = live).
 *
 * Stats are compared as sums per campaign of what has no country (the old system counted none;
 * visitors since the switch come with theirs). After the switch, a campaign whose status its
 * team changed in nudge is accounted for, not a difference.
 */

export interface Difference {
  check: string
  /** the old row: 'account 17', 'campaign 123', … (ids, never personal data) */
  legacy: string
  expected: string | number
  actual: string | number
}

export interface VerifyReport {
  ok: boolean
  ms: number
  /** what was compared, by kind (old rows) */
  checked: Record<string, number>
  /** old rows the migration's rules leave out or fold, by rule: expected, not differences */
  accountedFor: Record<string, number>
  differences: Difference[]
}

export interface VerifyInput {
  legacyDatabaseUrl: string
  db: Kysely<DB>
  storage: ObjectStorage
  log?: (line: string) => void
}

/**
 * The hostname a site has for an old domain, by verify's own reading of the rule every site
 * follows (lower case, punycode, no scheme, port, path or trailing dot), or null when none can.
 */
export function siteHostnameOf(raw: string): string | null {
  let host = raw.trim().toLowerCase()
  host = host.replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
  host = host.split(/[/?#\\]/, 1)[0] ?? ''
  host = host.slice(host.lastIndexOf('@') + 1)
  host = host.replace(/:[0-9]{1,5}$/, '').replace(/\.$/, '')
  if (/[^\x21-\x7e]/.test(host)) host = domainToASCII(host)
  return /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(host) ? host : null
}

const bareOf = (host: string) =>
  host.startsWith('www.') && host.split('.').length > 2 ? host.slice(4) : host

export async function verifyGoLive(input: VerifyInput): Promise<VerifyReport> {
  const started = performance.now()
  const log = (what: string) =>
    input.log?.(`verify: ${what} (at ${((performance.now() - started) / 1000).toFixed(1)} s)`)
  const differences: Difference[] = []
  const differ = (check: string, legacy: string, expected: string | number, actual: string | number) =>
    differences.push({ check, legacy, expected, actual })
  const accountedFor: Record<string, number> = {}
  const account = (rule: string, count = 1) => {
    if (count > 0) accountedFor[rule] = (accountedFor[rule] ?? 0) + count
  }
  const checked: Record<string, number> = {}
  const legacy = verify.openLegacyDatabase(input.legacyDatabaseUrl)
  try {
    // ---- accounts → teams, owned by the user with the account's email
    log('accounts')
    const accounts = await verify.legacyAccounts(legacy)
    const teams = new Map((await verify.mappedTeams(input.db)).map((row) => [row.legacy_id, row]))
    const teamOf = new Map<number, string>()
    checked.accounts = accounts.length
    for (const old of accounts) {
      const mapped = teams.get(String(old.id))
      if (!old.valid) {
        account('accounts without a valid email (not migrated)')
        if (mapped)
          differ(
            'account migrated although its email is not an address',
            `account ${old.id}`,
            'none',
            'a team',
          )
        continue
      }
      if (!mapped?.team_id) {
        differ(
          'account → team',
          `account ${old.id}`,
          'a team',
          mapped ? 'a legacy id without its team' : 'not migrated',
        )
        continue
      }
      teamOf.set(old.id, mapped.team_id)
      if (mapped.owner_email !== old.email_key) {
        differ(
          'team owner is the user with the account’s email',
          `account ${old.id}`,
          'same email',
          mapped.owner_email ? 'another email' : 'no owner',
        )
      }
    }
    const keys = new Map<string, number>()
    for (const old of accounts) if (old.valid) keys.set(old.email_key, (keys.get(old.email_key) ?? 0) + 1)
    for (const count of keys.values())
      account(
        'accounts sharing an email in another case (one user owns both teams)',
        count > 1 ? count - 1 : 0,
      )

    // ---- domains → sites
    log('domains')
    const domains = await verify.legacyDomains(legacy)
    const sites = new Map((await verify.mappedSites(input.db)).map((row) => [row.legacy_id, row]))
    checked.domains = domains.length
    const firstOwner = new Map<string, number>()
    const hostOf = new Map<number, string | null>()
    for (const domain of domains) {
      const host = siteHostnameOf(domain.hostname)
      hostOf.set(domain.id, host)
      if (host !== null && teamOf.has(domain.account_id) && !firstOwner.has(host))
        firstOwner.set(host, domain.account_id)
    }
    const hostsOfAccount = new Map<number, Set<string>>()
    for (const domain of domains) {
      const host = hostOf.get(domain.id)
      if (host && firstOwner.get(host) === domain.account_id) {
        if (!hostsOfAccount.has(domain.account_id)) hostsOfAccount.set(domain.account_id, new Set())
        hostsOfAccount.get(domain.account_id)!.add(host)
      }
    }
    /** old domain → the hostname of the site it should be, or null when it should be none */
    const siteKey = new Map<number, string | null>()
    const expectedSites = new Map<number, Set<string>>()
    const actualSites = new Map<number, Set<string>>()
    for (const domain of domains) {
      const host = hostOf.get(domain.id) ?? null
      const mapped = sites.get(String(domain.id))
      const team = teamOf.get(domain.account_id)
      let key: string | null = null
      if (!team) account('domains of accounts not migrated')
      else if (host === null) account('domains whose hostname no site can have (localhost, an IP address)')
      else if (firstOwner.get(host) !== domain.account_id)
        account('domains whose hostname another account had first')
      else {
        const own = hostsOfAccount.get(domain.account_id)!
        key = host !== bareOf(host) && own.has(bareOf(host)) ? bareOf(host) : host
        if (key !== host) account('www. twins folded into their bare hostname’s site')
        else if (expectedSites.get(domain.account_id)?.has(key)) {
          account('domains of one account spelling one hostname twice (one site)')
        }
      }
      siteKey.set(domain.id, key)
      if (key === null) {
        if (mapped?.site_id)
          differ('domain left out by rule, but mapped to a site', `domain ${domain.id}`, 'no site', 'a site')
        continue
      }
      if (!expectedSites.has(domain.account_id)) expectedSites.set(domain.account_id, new Set())
      expectedSites.get(domain.account_id)!.add(key)
      if (!mapped?.site_id) {
        differ(
          'domain → site',
          `domain ${domain.id}`,
          'a site',
          mapped ? 'a legacy id without its site' : 'not migrated',
        )
        continue
      }
      if (mapped.team_id !== team)
        differ(
          'site belongs to the account’s team',
          `domain ${domain.id}`,
          'its account’s team',
          'another team',
        )
      if (mapped.hostname !== key)
        differ('site hostname', `domain ${domain.id}`, key, mapped.hostname ?? 'none')
      if (!actualSites.has(domain.account_id)) actualSites.set(domain.account_id, new Set())
      actualSites.get(domain.account_id)!.add(mapped.site_id)
    }
    for (const [accountId, expected] of expectedSites) {
      const actual = actualSites.get(accountId)?.size ?? 0
      if (actual !== expected.size) differ('sites per account', `account ${accountId}`, expected.size, actual)
    }

    // ---- campaigns
    log('campaigns')
    const campaigns = await verify.legacyCampaigns(legacy)
    const mappedCampaigns = new Map(
      (await verify.mappedCampaigns(input.db)).map((row) => [row.legacy_id, row]),
    )
    checked.campaigns = campaigns.length
    const campaignIds = new Map<string, number>()
    const perAccount = new Map<number, { expected: number; actual: number }>()
    const liveIds: string[] = []
    const STATUS: Record<string, string> = {
      active: 'live',
      draft: 'draft',
      paused: 'paused',
      archived: 'archived',
    }
    for (const old of campaigns) {
      const team = teamOf.get(old.account_id)
      if (!team) {
        account('campaigns of accounts not migrated')
        continue
      }
      const counts = perAccount.get(old.account_id) ?? { expected: 0, actual: 0 }
      perAccount.set(old.account_id, counts)
      counts.expected++
      const mapped = mappedCampaigns.get(String(old.id))
      if (!mapped?.campaign_id) {
        differ(
          'campaign → campaign',
          `campaign ${old.id}`,
          'a campaign',
          mapped ? 'a legacy id without its campaign' : 'not migrated',
        )
        continue
      }
      campaignIds.set(mapped.campaign_id, old.id)
      if (mapped.team_id !== team)
        differ(
          'campaign belongs to the account’s team',
          `campaign ${old.id}`,
          'its account’s team',
          'another team',
        )
      else counts.actual++
      const hasSite =
        old.domain_id === null
          ? (expectedSites.get(old.account_id)?.size ?? 0) > 0
          : (siteKey.get(old.domain_id) ?? null) !== null
      let status = STATUS[old.status] ?? 'draft'
      if (status === 'live' && !hasSite) {
        status = 'paused'
        account('live campaigns without a site (paused)')
      }
      if (hasSite && mapped.site_id === null)
        differ('campaign has a site', `campaign ${old.id}`, 'a site', 'none')
      if (mapped.status !== status) {
        // Its team changed the status in nudge since the migration wrote it: theirs to choose.
        if (mapped.changed_since) account('campaigns whose status their team changed since the migration')
        else differ('campaign status', `campaign ${old.id}`, status, mapped.status ?? 'none')
      }
      if (mapped.status === 'live') liveIds.push(mapped.campaign_id)
    }
    for (const [accountId, counts] of perAccount) {
      if (counts.expected !== counts.actual)
        differ('campaigns per account', `account ${accountId}`, counts.expected, counts.actual)
    }

    // ---- leads: per campaign, the same addresses (hash), hence per account the same count
    log('leads')
    // The two databases work at once: these are the longest queries.
    const [oldLeads, totals, newLeadRows] = await Promise.all([
      verify.legacyLeadDigests(legacy),
      verify.legacyLeadTotals(legacy),
      verify.mappedLeadDigests(input.db),
    ])
    const valid = oldLeads.reduce((sum, row) => sum + row.leads, 0)
    checked.leads = totals.total
    account('leads whose campaign does not exist (orphans)', totals.orphans)
    account('leads whose email is not an address', totals.total - totals.orphans - valid)
    account(
      'leads repeating an address on their campaign (one lead each)',
      valid - oldLeads.reduce((sum, row) => sum + row.emails, 0),
    )
    const newLeads = new Map(newLeadRows.map((row) => [row.campaign_id, row]))
    const accountOfCampaign = new Map(campaigns.map((c) => [c.id, c.account_id]))
    const newIdOf = new Map([...campaignIds].map(([newId, oldId]) => [oldId, newId]))
    const leadsPerAccount = new Map<number, { expected: number; actual: number }>()
    for (const old of oldLeads) {
      const accountId = accountOfCampaign.get(old.campaign_id)!
      if (!teamOf.has(accountId)) {
        account('leads of accounts not migrated', old.emails)
        continue
      }
      const counts = leadsPerAccount.get(accountId) ?? { expected: 0, actual: 0 }
      leadsPerAccount.set(accountId, counts)
      counts.expected += old.emails
      const newId = newIdOf.get(old.campaign_id)
      const mapped = newId === undefined ? undefined : newLeads.get(newId)
      counts.actual += mapped?.emails ?? 0
      if (mapped?.digest !== old.digest) {
        differ(
          'lead emails of the campaign (sha256 of the sorted addresses)',
          `campaign ${old.campaign_id}`,
          `${old.emails} (${old.digest.slice(0, 12)})`,
          mapped ? `${mapped.emails} (${mapped.digest.slice(0, 12)})` : 0,
        )
      }
    }
    const hadLeads = new Set(oldLeads.map((old) => old.campaign_id))
    for (const [newId, row] of newLeads) {
      const oldId = campaignIds.get(newId)
      if (oldId === undefined || !hadLeads.has(oldId)) {
        differ(
          'migrated leads on a campaign that had none',
          oldId === undefined ? 'an unmapped campaign' : `campaign ${oldId}`,
          0,
          row.emails,
        )
      }
    }
    for (const [accountId, counts] of leadsPerAccount) {
      if (counts.expected !== counts.actual)
        differ('leads per account', `account ${accountId}`, counts.expected, counts.actual)
    }
    const missing = await verify.mappedLeadsMissing(input.db)
    if (missing > 0) differ('legacy_ids of leads point at leads that exist', 'leads', 0, missing)

    // ---- stats: per campaign, the same sums
    log('stats')
    const [oldStats, newStatsRows, orphanStats] = await Promise.all([
      verify.legacyStatsSums(legacy),
      verify.mappedStatsSums(input.db),
      verify.legacyOrphanStats(legacy),
    ])
    const newStats = new Map(newStatsRows.map((row) => [row.campaign_id, row]))
    checked['campaigns with stats'] = oldStats.length
    checked['stats rows'] = oldStats.reduce((sum, row) => sum + row.days, 0)
    account('stats rows of campaigns that do not exist', orphanStats)
    for (const old of oldStats) {
      if (!teamOf.has(accountOfCampaign.get(old.campaign_id)!)) continue
      const newId = newIdOf.get(old.campaign_id)
      const found = newId === undefined ? undefined : newStats.get(newId)
      for (const measure of ['impressions', 'closes', 'conversions'] as const) {
        if ((found?.[measure] ?? 0) !== old[measure]) {
          differ(
            `stats: ${measure} summed`,
            `campaign ${old.campaign_id}`,
            old[measure],
            found?.[measure] ?? 0,
          )
        }
      }
    }

    // ---- integrations
    log('integrations')
    const integrations = await verify.legacyIntegrations(legacy)
    const mappedIntegrations = new Map(
      (await verify.mappedIntegrations(input.db)).map((row) => [row.legacy_id, row]),
    )
    checked.integrations = integrations.length
    const integrationsPerAccount = new Map<number, { expected: number; actual: number }>()
    for (const old of integrations) {
      const team = teamOf.get(old.account_id)
      const mapped = mappedIntegrations.get(String(old.id))
      if (!team || !old.usable) {
        account(
          team ? 'integrations without a key or an http(s) URL' : 'integrations of accounts not migrated',
        )
        if (mapped?.integration_id)
          differ(
            'integration left out by rule, but migrated',
            `integration ${old.id}`,
            'none',
            'an integration',
          )
        continue
      }
      const counts = integrationsPerAccount.get(old.account_id) ?? { expected: 0, actual: 0 }
      integrationsPerAccount.set(old.account_id, counts)
      counts.expected++
      if (!mapped?.integration_id) {
        differ('integration → integration', `integration ${old.id}`, 'an integration', 'not migrated')
        continue
      }
      if (mapped.team_id !== team)
        differ(
          'integration belongs to the account’s team',
          `integration ${old.id}`,
          'its account’s team',
          'another team',
        )
      else counts.actual++
      if (mapped.kind !== old.kind)
        differ('integration kind', `integration ${old.id}`, old.kind, mapped.kind ?? 'none')
    }
    for (const [accountId, counts] of integrationsPerAccount) {
      if (counts.expected !== counts.actual)
        differ('integrations per account', `account ${accountId}`, counts.expected, counts.actual)
    }

    // ---- the edge: every live campaign's object, its site's document, the legacy map
    log('storage')
    const stored = new Set<string>()
    for await (const object of input.storage.list('campaigns/production/')) stored.add(object.key)
    checked['live campaigns in storage'] = liveIds.length
    for (const id of liveIds) {
      if (!stored.has(objectKey.production(id))) {
        differ(
          'live campaign published (campaigns/production/{id}.json)',
          `campaign ${campaignIds.get(id)}`,
          'present',
          'missing',
        )
      }
    }
    const hostnameOfSite = new Map([...sites.values()].map((row) => [row.site_id, row.hostname]))
    const liveHosts = new Set<string>()
    for (const mapped of mappedCampaigns.values()) {
      if (mapped.status !== 'live' || mapped.site_id === null) continue
      const host = hostnameOfSite.get(mapped.site_id)
      if (host) liveHosts.add(host)
    }
    const domainDocuments = new Set<string>()
    for await (const object of input.storage.list('domains/')) domainDocuments.add(object.key)
    for (const host of liveHosts) {
      if (!domainDocuments.has(objectKey.domain(host)))
        differ(
          'site document published (domains/{hostname}.json)',
          `hostname of a migrated site`,
          'present',
          'missing',
        )
    }
    if ((await input.storage.etag('legacy/map.json')) === null)
      differ('legacy map published', 'legacy/map.json', 'present', 'missing')
  } finally {
    await legacy.destroy()
  }
  return {
    ok: differences.length === 0,
    ms: Math.round(performance.now() - started),
    checked,
    accountedFor,
    differences,
  }
}

/** The report as an operator reads it: what was compared, what the rules account for, each difference. */
export function formatVerifyReport(report: VerifyReport, limit = 200): string {
  const lines = [
    `golive verify: ${report.ok ? 'no differences' : `${report.differences.length} difference(s)`} in ${(report.ms / 1000).toFixed(1)} s`,
    `checked: ${Object.entries(report.checked)
      .map(([kind, count]) => `${count} ${kind}`)
      .join(', ')}`,
  ]
  const accounted = Object.entries(report.accountedFor)
  if (accounted.length > 0) {
    lines.push('accounted for by the migration’s rules (not differences):')
    for (const [rule, count] of accounted) lines.push(`  ${count} ${rule}`)
  }
  for (const difference of report.differences.slice(0, limit)) {
    lines.push(
      `DIFFERENCE ${difference.check}: ${difference.legacy}: expected ${difference.expected}, found ${difference.actual}`,
    )
  }
  if (report.differences.length > limit) lines.push(`… and ${report.differences.length - limit} more`)
  return `${lines.join('\n')}\n`
}
