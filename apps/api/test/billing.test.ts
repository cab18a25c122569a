import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'

const app = await buildTestApp(t, { OUTBOUND_ALLOW_LOOPBACK: 'true' })
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const billing = async () =>
  (await app.inject({ url: `/v1/teams/${teamId}/billing`, headers: ann.headers })).json()
const endTrial = () =>
  app.db
    .updateTable('teams')
    .set({ trial_ends_at: new Date(Date.now() - 1000) })
    .where('id', '=', teamId)
    .execute()

t.test('a new team is on a 14-day trial of a paid plan, no card asked', async (t) => {
  const b = await billing()
  t.equal(b.status, 'trialing')
  t.equal(b.plan.id, 'business')
  const days = (Date.parse(b.trialEndsAt) - Date.now()) / 86_400_000
  t.ok(days > 13.9 && days <= 14, `trial ends in ${days.toFixed(2)} days`)
  t.same(b.usage.sites, { used: 0, limit: 50 })
  t.equal(b.usage.impressions.used, 0)
})

t.test('after the trial: the free limits, each answered 402 PLAN_LIMIT with the usage', async (t) => {
  const site = await addSite(app, ann, teamId, 'shop.example')
  await endTrial()
  const b = await billing()
  t.equal(b.status, 'free')
  t.same(b.usage.sites, { used: 1, limit: 1 })

  const secondSite = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/sites`,
    headers: ann.headers,
    payload: { hostname: 'other.example' },
  })
  t.equal(secondSite.statusCode, 402)
  t.equal(secondSite.json().code, 'PLAN_LIMIT')
  t.same(secondSite.json().details, { resource: 'sites', limit: 1, usage: 1, plan: 'free' })
  t.match(secondSite.json().message, /Free plan allows 1 site and the team has 1/)

  const api = campaignApi(app, ann, teamId)
  const first = await newCampaign(app, ann, teamId, { siteId: site.id })
  await api.walk(first.id, first.version, 'test', 'live')
  const second = await newCampaign(app, ann, teamId, { siteId: site.id })
  const tested = await api.status(second.id, second.version, 'test')
  const live = await api.status(second.id, tested.json().version, 'live')
  t.equal(live.statusCode, 402, 'a second live campaign')
  t.equal(live.json().details.resource, 'liveCampaigns')
  t.equal((await api.get(second.id)).json().status, 'test', 'nothing changed')

  const invite = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/invites`,
    headers: ann.headers,
    payload: { email: 'bob@example.com', role: 'editor' },
  })
  t.equal(invite.statusCode, 402, 'a second member (the owner is the first)')
  t.equal(invite.json().details.resource, 'members')

  const hook = (name: string) =>
    app.inject({
      method: 'POST',
      url: `/v1/teams/${teamId}/integrations`,
      headers: ann.headers,
      payload: { kind: 'webhook', name, url: 'http://127.0.0.1:9/hook' },
    })
  t.equal((await hook('one')).statusCode, 201)
  const two = await hook('two')
  t.equal(two.statusCode, 402)
  t.same(two.json().details, { resource: 'integrations', limit: 1, usage: 1, plan: 'free' })
})

t.test('two requests racing for the last slot: one gets it, the other 402', async (t) => {
  const bob = await signInAs(app, 'bob@example.com')
  const bobTeam = await personalTeam(app, bob)
  await app.db
    .updateTable('teams')
    .set({ trial_ends_at: new Date(0) })
    .where('id', '=', bobTeam)
    .execute()
  const results = await Promise.all(
    ['a.example', 'b.example', 'c.example'].map((hostname) =>
      app.inject({
        method: 'POST',
        url: `/v1/teams/${bobTeam}/sites`,
        headers: bob.headers,
        payload: { hostname },
      }),
    ),
  )
  t.same(results.map((r) => r.statusCode).sort(), [201, 402, 402])
})

t.test('a subscription lifts the limits; past due keeps them until the grace ends', async (t) => {
  await app.db
    .updateTable('teams')
    .set({ plan: 'pro', subscription_status: 'active' })
    .where('id', '=', teamId)
    .execute()
  const b = await billing()
  t.equal(b.status, 'active')
  t.same(b.usage.sites, { used: 1, limit: 5 })
  await app.db
    .updateTable('teams')
    .set({ subscription_status: 'past_due', payment_grace_ends_at: new Date(Date.now() + 86_400_000) })
    .where('id', '=', teamId)
    .execute()
  t.match(await billing(), { status: 'past_due', plan: { id: 'pro' } })
  await app.db
    .updateTable('teams')
    .set({ payment_grace_ends_at: new Date(Date.now() - 1000) })
    .where('id', '=', teamId)
    .execute()
  t.match(await billing(), { status: 'past_due', plan: { id: 'free' } }, 'the free limits after the grace')
})

t.test('billing is for owners and admins', async (t) => {
  const viewer = await signInAs(app, 'viewer@example.com')
  t.equal((await app.inject({ url: `/v1/teams/${teamId}/billing`, headers: viewer.headers })).statusCode, 404)
})
