import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { generateLegacy } from '../../../tools/legacy/src/generate.ts'
import { depsOf } from '../src/deps.ts'
import { convertName, convertStatus, normaliseHostname } from '../src/modules/golive/convert.ts'
import { newIdFor } from '../src/modules/golive/legacy-ids-repository.ts'
import { openLegacy } from '../src/modules/golive/legacy-repository.ts'
import { progressTo } from '../src/modules/golive/progress.ts'
import { migrate } from '../src/modules/golive/service.ts'
import { importUser } from '../src/modules/golive/users.ts'
import { buildTestApp } from './helpers/app.ts'
import { emptyDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'

// The end of Go-Live for a customer: after `golive migrate`, the owner of an old account asks
// for a magic link with the email they always used and finds their team, sites and campaigns.
const folder = await mkdtemp(path.join(tmpdir(), 'nudge-golive-'))
t.teardown(() => rm(folder, { recursive: true, force: true }))
const legacyUrl = await emptyDatabase(t)
const exportPath = path.join(folder, 'auth0-export.ndjson')
const summary = await generateLegacy({ databaseUrl: legacyUrl, accounts: 12, seed: 3, exportPath })
const legacy = openLegacy(legacyUrl)
t.teardown(() => legacy.destroy())

const app = await buildTestApp(t)
await app.ready()
await migrate(depsOf(app, 'golive'), {
  legacy,
  auth0Export: exportPath,
  importUser: (input) => importUser(app, input),
  progress: progressTo(null),
  saveReport: async () => {},
})

type Headers = Record<string, string>
async function list<T>(url: string, headers: Headers): Promise<T[]> {
  const res = await app.inject({ url: `${url}?limit=100`, headers })
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  return res.json().items
}

/** What the owner should find of one old account, read from the old database. */
async function expected(accountId: number) {
  const domains = await legacy
    .selectFrom('domains')
    .select(['id', 'hostname'])
    .where('account_id', '=', accountId)
    .execute()
  const campaigns = await legacy
    .selectFrom('campaigns')
    .select(['id', 'name', 'status'])
    .where('account_id', '=', accountId)
    .execute()
  return {
    hostnames: [...new Set(domains.map((d) => normaliseHostname(d.hostname, String(d.id)).hostname))].sort(),
    campaigns: campaigns
      .map((c) => ({
        name: convertName(c.name, String(c.id)).value,
        status: convertStatus(c.status, String(c.id)).value,
      }))
      .sort((a, b) => `${a.name}${a.status}`.localeCompare(`${b.name}${b.status}`)),
  }
}

// Awkward accounts (hostnames folded or refused, shared emails) have tests of their own.
const awkwardDomains = new Set([
  ...summary.wwwDuplicateDomainIds.flat(),
  ...summary.doubleOwnedHostname.domainIds,
  summary.trailingDotDomainId,
  summary.mixedCaseDomainId,
  summary.invalidHostnameDomainId,
])
const sharedEmail = new Set(summary.caseDuplicateEmails.flat())

t.test('a migrated owner signs in by magic link and sees their team, sites and campaigns', async (t) => {
  const accounts = await legacy.selectFrom('accounts').select(['id', 'email']).orderBy('id').execute()
  const domains = await legacy.selectFrom('domains').select(['id', 'account_id']).execute()
  const liveCampaigns = await legacy
    .selectFrom('campaigns')
    .select('account_id')
    .where('status', '=', 'active')
    .where('domain_id', 'is not', null)
    .execute()
  const account = accounts.find(
    (a) =>
      !sharedEmail.has(a.id) &&
      a.id !== summary.accountWithoutAuth0User &&
      liveCampaigns.some((c) => c.account_id === a.id) &&
      domains.some((d) => d.account_id === a.id) &&
      !domains.some((d) => d.account_id === a.id && awkwardDomains.has(d.id)),
  )
  if (!account) throw new Error('the generated data has no plain account with a live campaign')
  const want = await expected(account.id)
  t.ok(
    want.campaigns.some((c) => c.status === 'live'),
    'the account has a live campaign',
  )

  const signedIn = await signInAs(app, account.email)
  t.equal(
    signedIn.id,
    await newIdFor(app.db, 'user', account.email.trim().toLowerCase()),
    'the imported user',
  )
  const me = await app.inject({ url: '/v1/me', headers: signedIn.headers })
  t.equal(me.json().email, account.email.trim().toLowerCase())

  const teams = await list<{ id: string; personal: boolean; role: string }>('/v1/teams', signedIn.headers)
  const teamId = await newIdFor(app.db, 'account', String(account.id))
  t.same(
    teams.map((team) => ({ id: team.id, personal: team.personal, role: team.role })),
    [{ id: teamId, personal: false, role: 'owner' }],
    'their old account, as a team they own, and no personal team',
  )
  const sites = await list<{ hostname: string }>(`/v1/teams/${teamId}/sites`, signedIn.headers)
  t.same(sites.map((site) => site.hostname).sort(), want.hostnames, 'their sites')
  const campaigns = await list<{ name: string; status: string }>(
    `/v1/teams/${teamId}/campaigns`,
    signedIn.headers,
  )
  t.same(
    campaigns
      .map((c) => ({ name: c.name, status: c.status }))
      .sort((a, b) => `${a.name}${a.status}`.localeCompare(`${b.name}${b.status}`)),
    want.campaigns,
    'their campaigns, live ones live',
  )
})

t.test('one person with two old accounts (emails differing in case) sees both teams', async (t) => {
  const pair = summary.caseDuplicateEmails[0]
  if (!pair) throw new Error('the generated data has no case-duplicate emails')
  const owners = await legacy.selectFrom('accounts').select(['id', 'email']).where('id', 'in', pair).execute()
  const email = owners[0]?.email ?? ''
  const signedIn = await signInAs(app, email.toUpperCase())
  const teams = await list<{ id: string; personal: boolean }>('/v1/teams', signedIn.headers)
  const wanted = await Promise.all(pair.map((id) => newIdFor(app.db, 'account', String(id))))
  t.same(teams.map((team) => team.id).sort(), [...wanted].sort(), 'both old accounts, one sign-in')
  t.notOk(
    teams.some((team) => team.personal),
    'no personal team',
  )
})
