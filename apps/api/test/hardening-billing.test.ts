import { DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, startStripeStandIn } from '@nudge/stripe-stand-in'
import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { eventually } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

// Stripe's side is the stand-in, driven by the API's real SDK; its events reach the real webhook
// route over HTTP, signed.
const stripe = await startStripeStandIn()
t.teardown(() => stripe.close())
const app = await buildTestApp(
  t,
  {
    STRIPE_SECRET_KEY: DEFAULT_API_KEY,
    STRIPE_WEBHOOK_SECRET: DEFAULT_WEBHOOK_SECRET,
    STRIPE_API_URL: stripe.url,
    JOBS_POLL_SECONDS: '0.5',
  },
  { worker: true },
)
const base = await app.listen({ host: '127.0.0.1', port: 0 })
stripe.state.webhookUrl = `${base}/webhooks/stripe`

async function team(email: string) {
  const who = await signInAs(app, email)
  const teamId = await personalTeam(app, who)
  const call = (method: 'GET' | 'POST', path: string, payload?: object) =>
    app.inject({
      method,
      url: `/v1/teams/${teamId}${path}`,
      headers: who.headers,
      ...(payload ? { payload } : {}),
    })
  const billing = async () => (await call('GET', '/billing')).json()
  // The trial is over: what the team may do is what it pays for.
  await app.db
    .updateTable('teams')
    .set({ trial_ends_at: new Date(0) })
    .where('id', '=', teamId)
    .execute()
  return { who, teamId, call, billing }
}

/** Pays for a plan through Checkout and delivers every event Stripe sends for it. */
async function subscribe(owner: Awaited<ReturnType<typeof team>>, plan = 'pro') {
  const res = await owner.call('POST', '/billing/checkout', { plan, interval: 'month' })
  if (res.statusCode !== 201) throw new Error(res.body)
  const sessionId = String(res.json().url.split('/').at(-1))
  for (const event of stripe.state.completeCheckout(sessionId)) await stripe.state.deliver(event)
  return String(stripe.state.sessions.get(sessionId)?.subscription)
}

const mails = async (to: string, subject: RegExp) => {
  const box = (await app.inject({ url: `/dev/mailbox?to=${encodeURIComponent(to)}` })).json()
  return (box.messages as Array<{ subject: string }>).filter((m) => subject.test(m.subject)).length
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 1500))

t.test(
  'a late invoice.payment_failed, after the invoice.paid that settled it, changes nothing',
  async (t) => {
    const ann = await team('ann@example.com')
    const subscriptionId = await subscribe(ann)
    const [failed, pastDue] = stripe.state.failPayment(subscriptionId)
    const [paid, activeAgain] = stripe.state.payInvoice(subscriptionId)
    if (!failed || !pastDue || !paid || !activeAgain) throw new Error('no events')
    // Stripe settled it: the paid events arrive first, the failure last (and twice).
    await stripe.state.deliver(paid)
    await stripe.state.deliver(activeAgain)
    await stripe.state.deliver(pastDue)
    t.same(await stripe.state.deliver(failed, { times: 2 }), [200, 200])
    const b = await ann.billing()
    t.match(b, { status: 'active', plan: { id: 'pro' }, graceEndsAt: null }, 'paid up, as Stripe has it')
    const row = await app.db
      .selectFrom('teams')
      .select(['payment_grace_ends_at', 'subscription_status'])
      .where('id', '=', ann.teamId)
      .executeTakeFirstOrThrow()
    t.same(row, { payment_grace_ends_at: null, subscription_status: 'active' }, 'no grace period stored')
    await settle()
    t.equal(await mails('ann@example.com', /payment .* failed/), 0, 'nobody is told a payment failed')

    // The next real failure starts a grace of its own, a full week from now, and says so once.
    const events = stripe.state.failPayment(subscriptionId)
    for (const event of events) await stripe.state.deliver(event, { times: 2 })
    const now = await ann.billing()
    t.equal(now.status, 'past_due')
    const days = (Date.parse(now.graceEndsAt) - Date.now()) / 86_400_000
    t.ok(days > 6.9 && days <= 7, `a fresh 7-day grace (${days.toFixed(2)} days)`)
    await eventually(async () => (await mails('ann@example.com', /payment .* failed/)) > 0, 10000, 'dunning')
    await settle()
    t.equal(await mails('ann@example.com', /payment .* failed/), 1, 'one email for one failure')
  },
)

t.test('a late trial_will_end for a subscription no longer trialing sends nothing', async (t) => {
  const bea = await team('bea@example.com')
  const subscriptionId = await subscribe(bea)
  const subscription = stripe.state.subscriptions.get(subscriptionId)
  if (!subscription) throw new Error('no subscription')
  const late = stripe.state.event('customer.subscription.trial_will_end', {
    ...subscription,
    status: 'trialing',
  })
  t.same(await stripe.state.deliver(late), [200])
  await settle()
  t.equal(await mails('bea@example.com', /trial of .* ends soon/), 0)
})

t.test('a plan change is enforced as soon as it commits, both ways', async (t) => {
  const cid = await team('cid@example.com')
  const subscriptionId = await subscribe(cid)
  const site = await addSite(app, cid.who, cid.teamId, 'cid-shop.example')
  const api = campaignApi(app, cid.who, cid.teamId)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const c = await newCampaign(app, cid.who, cid.teamId, { siteId: site.id })
    await api.walk(c.id, c.version, 'test', 'live')
    ids.push(c.id)
  }
  // Well within Pro's impressions, past the free plan's 5,000 (and its 10 % grace).
  await app.db
    .insertInto('campaign_stats_daily')
    .values({
      campaign_id: ids[0] ?? '',
      variant_id: 'a',
      day: new Date().toISOString().slice(0, 10),
      impressions: 6000,
    })
    .execute()
  const statuses = async () =>
    (
      await app.db
        .selectFrom('campaigns')
        .select('status')
        .where('team_id', '=', cid.teamId)
        .orderBy('id')
        .execute()
    ).map((c) => c.status)
  const served = async () =>
    (
      (
        await app.inject({
          url: '/public/v1/sites/cid-shop.example',
          headers: { origin: 'https://cid-shop.example' },
        })
      ).json().campaigns ?? []
    ).length
  t.equal(await served(), 3)

  // Canceled: the free plan's one live campaign, within seconds (not the next five-minute round).
  const started = Date.now()
  await stripe.state.deliver(stripe.state.cancelSubscription(subscriptionId))
  t.equal((await cid.billing()).plan.id, 'free')
  // The impressions past the free quota start its grace period (warned, not suspended: see the
  // overage policy), so the one campaign the free plan allows stays served.
  await eventually(async () => (await served()) === 1, 10000, 'the popups beyond the free plan stopped')
  t.ok(Date.now() - started < 10000, `stopped after ${Date.now() - started} ms`)
  t.same(
    (await statuses()).filter((status) => status === 'paused').length,
    2,
    'the campaigns beyond the free limit are paused',
  )
  t.match((await cid.billing()).usage.impressions, { state: 'over', suspendedAt: null })

  // Paying again brings them back as quickly.
  const again = Date.now()
  await subscribe(cid)
  t.equal((await cid.billing()).plan.id, 'pro')
  await eventually(async () => (await served()) === 3, 10000, 'campaigns back after paying again')
  t.ok(Date.now() - again < 10000, `back after ${Date.now() - again} ms`)
  t.same(await statuses(), ['live', 'live', 'live'])
})

t.test('the end of a grace enforces the free limits when it comes, not at the next round', async (t) => {
  const fay = await team('fay@example.com')
  const subscriptionId = await subscribe(fay)
  const site = await addSite(app, fay.who, fay.teamId, 'fay-shop.example')
  const api = campaignApi(app, fay.who, fay.teamId)
  for (let i = 0; i < 2; i++) {
    const c = await newCampaign(app, fay.who, fay.teamId, { siteId: site.id })
    await api.walk(c.id, c.version, 'test', 'live')
  }
  for (const event of stripe.state.failPayment(subscriptionId)) await stripe.state.deliver(event)
  const { graceEndsAt } = await fay.billing()
  const { rows } = await sql<{ id: string; start_after: Date }>`
    SELECT id, start_after FROM pgboss.job
    WHERE name = 'billing.impression-quota' AND data->>'teamId' = ${fay.teamId} AND state = 'created'`.execute(
    app.db,
  )
  const scheduled = rows.find((row) => row.start_after.getTime() >= Date.parse(graceEndsAt))
  t.ok(scheduled, 'a check of the team is due when its grace ends')
  if (!scheduled) return
  // A week passes.
  await app.db
    .updateTable('teams')
    .set({ payment_grace_ends_at: new Date(Date.now() - 1000) })
    .where('id', '=', fay.teamId)
    .execute()
  await sql`UPDATE pgboss.job SET start_after = now() WHERE id = ${scheduled.id}`.execute(app.db)
  await eventually(
    async () => {
      const live = await app.db
        .selectFrom('campaigns')
        .select('id')
        .where('team_id', '=', fay.teamId)
        .where('status', '=', 'live')
        .execute()
      return live.length === 1
    },
    10000,
    'the free limit of one live campaign',
  )
})

t.test('a late event about a canceled subscription does not undo the one that replaced it', async (t) => {
  const eli = await team('eli@example.com')
  const first = await subscribe(eli)
  // Set to cancel at the period's end (that event is slow to arrive), then canceled now; the team
  // pays again for a new subscription.
  const slow = stripe.state.updateSubscription(first, { cancel_at_period_end: true })
  await stripe.state.deliver(stripe.state.cancelSubscription(first))
  t.equal((await eli.billing()).plan.id, 'free')
  const second = await subscribe(eli, 'business')
  t.not(second, first)
  t.equal((await eli.billing()).plan.id, 'business')
  t.same(await stripe.state.deliver(slow), [200], 'the slow event about the old subscription arrives')
  t.match(
    await eli.billing(),
    { status: 'active', plan: { id: 'business' } },
    'still on the plan it pays for',
  )
  const row = await app.db
    .selectFrom('teams')
    .select(['stripe_subscription_id', 'subscription_status'])
    .where('id', '=', eli.teamId)
    .executeTakeFirstOrThrow()
  t.same(row, { stripe_subscription_id: second, subscription_status: 'active' })
})

t.test("the stand-in's Billing Portal changes the plan and cancels, and the API follows", async (t) => {
  const dot = await team('dot@example.com')
  const subscriptionId = await subscribe(dot)
  const portal = await dot.call('POST', '/billing/portal')
  t.equal(portal.statusCode, 201)
  const url = String(portal.json().url)
  const page = await fetch(url)
  t.equal(page.status, 200, 'the portal URL answers a page')
  t.match(page.headers.get('content-type'), /text\/html/)
  const html = await page.text()
  t.match(html, /Pro/, 'it shows the current plan')
  t.match(html, /price_business_monthly/, 'and offers the others')
  t.match(html, /Cancel/)

  // A person picks Business and submits the form, as a browser would.
  const form = (action: string, fields: Record<string, string>) =>
    fetch(new URL(action, url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    })
  const actions = [...html.matchAll(/action="([^"]+)"/g)].map((m) => m[1] ?? '')
  const change = actions.find((a) => a.endsWith('/plan'))
  const cancel = actions.find((a) => a.endsWith('/cancel'))
  if (!change || !cancel) throw new Error(`no forms in ${html}`)
  const changed = await form(change, { price: 'price_business_monthly' })
  t.equal(changed.status, 303, 'back to the portal page')
  await eventually(async () => (await dot.billing()).plan.id === 'business', 10000, 'the API on Business')
  const items = stripe.state.subscriptions.get(subscriptionId)?.items as
    | { data: Array<{ price: { id: string } }> }
    | undefined
  const item = items?.data[0]
  t.equal(item?.price.id, 'price_business_monthly', 'the subscription changed in the stand-in')

  const bad = await form(change, { price: 'price_nonexistent' })
  t.equal(bad.status, 400, 'an unknown price is refused')

  const atEnd = await form(cancel, { when: 'period_end' })
  t.equal(atEnd.status, 303)
  await eventually(
    async () => (await dot.billing()).cancelAtPeriodEnd === true,
    10000,
    'cancel at period end',
  )
  const now = await form(cancel, { when: 'now' })
  t.equal(now.status, 303)
  await eventually(async () => (await dot.billing()).plan.id === 'free', 10000, 'canceled now: free')
  const row = await app.db
    .selectFrom('teams')
    .select('subscription_status')
    .where('id', '=', dot.teamId)
    .executeTakeFirstOrThrow()
  t.equal(row.subscription_status, 'canceled')
  t.equal((await fetch(new URL('/portal/bps_unknown', url))).status, 404, 'an unknown session is a 404')
})
