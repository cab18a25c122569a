import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { QUOTA_JOB } from '../src/modules/billing/quotas.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { eventually } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'
import { uuidv7 } from './helpers/visitor-ids.ts'

// The free plan's 5,000 impressions a month, with the default 10 % grace.
const app = await buildTestApp(t, { JOBS_POLL_SECONDS: '0.5' }, { worker: true })
await app.ready()
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')
const created = await newCampaign(app, ann, teamId, { siteId: site.id })
await campaignApi(app, ann, teamId).walk(created.id, created.version, 'test', 'live')
const variantId = created.variants[0]?.id ?? ''
await app.db
  .updateTable('teams')
  .set({ trial_ends_at: new Date(0) })
  .where('id', '=', teamId)
  .execute()

const document = async () =>
  (
    await app.inject({ url: '/public/v1/sites/shop.example', headers: { origin: 'https://shop.example' } })
  ).json()
const usage = async () =>
  (await app.inject({ url: `/v1/teams/${teamId}/billing`, headers: ann.headers })).json().usage.impressions
    .used
const mails = async (subject: RegExp) => {
  const box = (await app.inject({ url: '/dev/mailbox?to=ann%40example.com' })).json()
  return (box.messages as Array<{ subject: string }>).filter((m) => subject.test(m.subject)).length
}
/** Runs the quota check for the team and waits for it (the worker runs it). */
async function check() {
  const id = await app.jobs.send(QUOTA_JOB, { teamId })
  await eventually(async () => {
    const { rows } = await sql<{ state: string }>`SELECT state FROM pgboss.job WHERE id = ${id}`.execute(
      app.db,
    )
    return rows[0]?.state === 'completed'
  })
}
const setImpressions = (n: number) =>
  app.db
    .updateTable('campaign_stats_daily')
    .set({ impressions: n })
    .where('campaign_id', '=', created.id)
    .execute()

t.test('impressions come from ingested events', async (t) => {
  const events = Array.from({ length: 10 }, () => ({
    eventId: uuidv7(),
    pageViewId: uuidv7(),
    campaignId: created.id,
    variantId,
    type: 'impression',
  }))
  const res = await app.inject({
    method: 'POST',
    url: '/public/v1/events',
    headers: { origin: 'https://shop.example' },
    payload: { events },
  })
  t.equal(res.statusCode, 202, res.body)
  t.equal(await usage(), 10)
})

t.test(
  '80 % and 100 %: the owners are told once each; only past the grace period are no campaigns served',
  async (t) => {
    const billing = async () =>
      (await app.inject({ url: `/v1/teams/${teamId}/billing`, headers: ann.headers })).json().usage
        .impressions
    t.equal((await document()).campaigns?.length, 1)
    t.match(await billing(), { state: 'ok', graceEndsAt: null, upgradeTo: null })
    await setImpressions(4100)
    await check()
    await eventually(async () => (await mails(/used 80%/)) > 0, 10000, 'the 80 % email')
    await check()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.equal(await mails(/used 80%/), 1, 'told once at 80 %')
    t.match(await billing(), { state: 'warning', upgradeTo: { id: 'pro' } }, 'the upgrade is offered')
    await setImpressions(5200)
    await check()
    await eventually(async () => (await mails(/used all its impressions/)) > 0, 10000, 'the 100 % email')
    await check()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.equal(await mails(/used all its impressions/), 1, 'told once at 100 %')
    t.equal(await mails(/used 80%/), 1, 'and not again at 80 %')
    t.equal((await document()).campaigns?.length, 1, 'still served within the grace (10 %)')
    await setImpressions(5600)
    await check()
    t.equal((await document()).campaigns?.length, 1, 'past the margin, still served during the grace period')
    const over = await billing()
    t.match(over, { state: 'over', suspendedAt: null, upgradeTo: { id: 'pro', name: 'Pro' } })
    t.ok(Date.parse(over.graceEndsAt) > Date.now() + 6 * 86_400_000, 'the grace period runs 7 days')

    // The grace period ends with the team still past the quota and its margin (a subscription's
    // period, so that eight days ago is still this period whatever today's date).
    await app.db
      .updateTable('teams')
      .set({
        subscription_status: 'active',
        current_period_start: new Date(Date.now() - 20 * 86_400_000),
        impressions_100_notified_at: new Date(Date.now() - 8 * 86_400_000),
      })
      .where('id', '=', teamId)
      .execute()
    await check()
    t.equal((await document()).campaigns, undefined, 'the public document has no campaigns')
    const edge = JSON.parse(
      await readFile(path.join(app.config.STORAGE_DIR, 'domains/shop.example.json'), 'utf8'),
    )
    t.equal(edge.campaigns, undefined, 'nor the object the edge serves')
    await eventually(async () => (await mails(/stopped showing/)) === 1, 10000, 'the owners are told')
    t.match(await billing(), { state: 'suspended', suspendedAt: String })
    const audit = await app.db
      .selectFrom('audit_events')
      .select('action')
      .where('team_id', '=', teamId)
      .where('action', '=', 'billing.campaigns_suspended')
      .execute()
    t.equal(audit.length, 1)
    await app.db
      .updateTable('teams')
      .set({ subscription_status: null, current_period_start: null })
      .where('id', '=', teamId)
      .execute()
  },
)

t.test('a new period brings the campaigns back by themselves', async (t) => {
  const lastMonth = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 1, 15))
  await app.db
    .updateTable('campaign_stats_daily')
    .set({ day: lastMonth.toISOString().slice(0, 10) })
    .where('campaign_id', '=', created.id)
    .execute()
  await check()
  t.equal((await document()).campaigns?.length, 1, 'served again')
  const edge = JSON.parse(
    await readFile(path.join(app.config.STORAGE_DIR, 'domains/shop.example.json'), 'utf8'),
  )
  t.equal(edge.campaigns?.length, 1, 'at the edge too')
  t.equal(await usage(), 0)
})

t.test(
  'a trial ending pauses the newest live campaigns beyond the free limit; an upgrade resumes them',
  async (t) => {
    await app.db
      .updateTable('teams')
      .set({ trial_ends_at: new Date(Date.now() + 86_400_000) })
      .where('id', '=', teamId)
      .execute()
    const api = campaignApi(app, ann, teamId)
    const more = []
    for (let i = 0; i < 2; i++) {
      const c = await newCampaign(app, ann, teamId, { siteId: site.id })
      await api.walk(c.id, c.version, 'test', 'live')
      more.push(c.id)
    }
    await app.db
      .updateTable('teams')
      .set({ trial_ends_at: new Date(0) })
      .where('id', '=', teamId)
      .execute()
    await check()
    const statuses = async () =>
      Object.fromEntries(
        (
          await app.db
            .selectFrom('campaigns')
            .select(['id', 'status'])
            .where('team_id', '=', teamId)
            .execute()
        ).map((c) => [c.id, c.status]),
      )
    const after = await statuses()
    t.equal(after[created.id], 'live', 'the oldest stays live')
    t.same(
      more.map((id) => after[id]),
      ['paused', 'paused'],
      'the newest are paused, not deleted',
    )
    t.equal((await document()).campaigns?.length, 1)
    await app.db
      .updateTable('teams')
      .set({ plan: 'pro', subscription_status: 'active' })
      .where('id', '=', teamId)
      .execute()
    await check()
    const upgraded = await statuses()
    t.same(
      [created.id, ...more].map((id) => upgraded[id]),
      ['live', 'live', 'live'],
      'resumed after the upgrade',
    )
    t.equal((await document()).campaigns?.length, 3)
  },
)

t.test("a trial's end is announced once, three days ahead", async (t) => {
  const bob = await signInAs(app, 'bob@example.com')
  const bobTeam = await personalTeam(app, bob)
  const ends = async (inDays: number) =>
    app.db
      .updateTable('teams')
      .set({ trial_ends_at: new Date(Date.now() + inDays * 86_400_000) })
      .where('id', '=', bobTeam)
      .execute()
  const notices = async () => {
    const box = (await app.inject({ url: '/dev/mailbox?to=bob%40example.com' })).json()
    return (box.messages as Array<{ subject: string }>).filter((m) => /trial of .* ends soon/.test(m.subject))
      .length
  }
  const run = async () => {
    const id = await app.jobs.send(QUOTA_JOB, { teamId: bobTeam })
    await eventually(async () => {
      const { rows } = await sql<{ state: string }>`SELECT state FROM pgboss.job WHERE id = ${id}`.execute(
        app.db,
      )
      return rows[0]?.state === 'completed'
    })
  }
  await ends(10)
  await run()
  await new Promise((resolve) => setTimeout(resolve, 800))
  t.equal(await notices(), 0, 'not ten days ahead')
  await ends(2)
  await run()
  await eventually(async () => (await notices()) === 1, 10000, 'the trial notice')
  await run()
  await new Promise((resolve) => setTimeout(resolve, 800))
  t.equal(await notices(), 1, 'once')
})
