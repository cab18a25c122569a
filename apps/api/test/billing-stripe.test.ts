import { startMailerliteStandIn } from '@nudge/mailerlite-stand-in'
import { DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, startStripeStandIn } from '@nudge/stripe-stand-in'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { personalTeam } from './helpers/campaigns.ts'
import { eventually } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

const stripe = await startStripeStandIn()
t.teardown(() => stripe.close())
// Our own Mailerlite account, where plan changes are pushed (the marketing layer).
const MAILERLITE_KEY = 'mlsk-our-account-for-billing-tests'
const mailerlite = await startMailerliteStandIn({ apiKeys: [MAILERLITE_KEY] })
t.teardown(() => mailerlite.close())
const app = await buildTestApp(
  t,
  {
    STRIPE_SECRET_KEY: DEFAULT_API_KEY,
    STRIPE_WEBHOOK_SECRET: DEFAULT_WEBHOOK_SECRET,
    STRIPE_API_URL: stripe.url,
    MAILERLITE_API_KEY: MAILERLITE_KEY,
    MAILERLITE_API_URL: mailerlite.url,
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
  return { who, teamId, call, billing }
}

/** Starts a checkout the way the dashboard does, and has Stripe complete it. */
async function checkout(owner: Awaited<ReturnType<typeof team>>, plan = 'pro') {
  const res = await owner.call('POST', '/billing/checkout', { plan, interval: 'month' })
  if (res.statusCode !== 201) throw new Error(res.body)
  const sessionId = String(res.json().url.split('/').at(-1))
  return { sessionId, events: stripe.state.completeCheckout(sessionId) }
}

const eventRows = (id: string) =>
  app.db.selectFrom('stripe_events').select('id').where('id', '=', id).execute()

t.test(
  'checkout → checkout.session.completed → active, limits raised; three deliveries, one effect',
  async (t) => {
    const ann = await team('ann@example.com')
    t.equal((await ann.billing()).status, 'trialing')
    const { events } = await checkout(ann)
    const completed = events[0]
    if (!completed) throw new Error('no event')
    t.same(await stripe.state.deliver(completed, { times: 3 }), [200, 200, 200])
    const b = await ann.billing()
    t.equal(b.status, 'active')
    t.equal(b.plan.id, 'pro')
    t.same(b.usage.sites, { used: 0, limit: 5 })
    t.ok(b.currentPeriodEnd, 'the period end, from the subscription item')
    t.equal((await eventRows(completed.id)).length, 1, 'recorded once')
    const audits = await app.db
      .selectFrom('audit_events')
      .select(['action', 'actor_type'])
      .where('team_id', '=', ann.teamId)
      .where('action', '=', 'billing.plan_changed')
      .execute()
    t.same(audits, [{ action: 'billing.plan_changed', actor_type: 'stripe' }], 'audited once, as Stripe')
    const subscriber = await eventually(
      async () => {
        const found = mailerlite.state.subscriber(MAILERLITE_KEY, 'ann@example.com')
        return found?.fields.plan === 'pro' && found
      },
      10000,
      'the plan in our Mailerlite account',
    )
    t.equal(subscriber.fields.plan, 'pro', 'the owner’s plan is pushed to the marketing layer')
    const again = await ann.call('POST', '/billing/checkout', { plan: 'business' })
    t.equal(again.statusCode, 409, 'no second subscription: the portal changes plans')
    t.equal(again.json().code, 'ALREADY_SUBSCRIBED')
    const portal = await ann.call('POST', '/billing/portal')
    t.equal(portal.statusCode, 201)
    t.match(portal.json().url, /\/portal\//)
  },
)

t.test('out of order: updated before created; deleted before the last updated', async (t) => {
  const bob = await team('bob@example.com')
  const { sessionId, events } = await checkout(bob)
  const subscriptionId = String(stripe.state.sessions.get(sessionId)?.subscription)
  const updated = stripe.state.updateSubscription(subscriptionId, { cancel_at_period_end: true })
  for (const event of [updated, ...events].reverse()) await stripe.state.deliver(event)
  let b = await bob.billing()
  t.equal(b.status, 'active')
  t.equal(b.cancelAtPeriodEnd, true, 'the newest state, whatever the order')

  const lastUpdate = stripe.state.updateSubscription(subscriptionId, { cancel_at_period_end: false })
  const deleted = stripe.state.cancelSubscription(subscriptionId)
  await stripe.state.deliver(deleted)
  await stripe.state.deliver(lastUpdate)
  b = await bob.billing()
  t.equal(b.plan.id, 'business', 'canceled: back to the trial plan while the trial lasts')
  t.equal(b.status, 'trialing')
  const row = await app.db
    .selectFrom('teams')
    .select(['subscription_status', 'plan'])
    .where('id', '=', bob.teamId)
    .executeTakeFirstOrThrow()
  t.same(row, { subscription_status: 'canceled', plan: 'free' }, 'a late "updated" does not revive it')
})

t.test('forged and replayed signatures are refused and write nothing', async (t) => {
  const carl = await team('carl@example.com')
  const { events } = await checkout(carl)
  const completed = events[0]
  if (!completed) throw new Error('no event')
  const payload = JSON.stringify(completed)
  const forged = await app.inject({
    method: 'POST',
    url: '/webhooks/stripe',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
    },
    payload,
  })
  t.equal(forged.statusCode, 400)
  t.equal(forged.json().code, 'INVALID_SIGNATURE')
  t.same(
    await stripe.state.deliver(completed, { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
    [400],
    'an hour-old signature',
  )
  const unsigned = await app.inject({
    method: 'POST',
    url: '/webhooks/stripe',
    headers: { 'content-type': 'application/json' },
    payload,
  })
  t.equal(unsigned.statusCode, 400)
  t.equal((await eventRows(completed.id)).length, 0, 'nothing recorded')
  t.equal((await carl.billing()).status, 'trialing', 'nothing changed')
})

t.test('payment failure → dunning email and grace → free limits → paid again → restored', async (t) => {
  const dana = await team('dana@example.com')
  const { sessionId, events } = await checkout(dana)
  for (const event of events) await stripe.state.deliver(event)
  const subscriptionId = String(stripe.state.sessions.get(sessionId)?.subscription)
  for (const event of stripe.state.failPayment(subscriptionId)) await stripe.state.deliver(event)
  let b = await dana.billing()
  t.equal(b.status, 'past_due')
  t.equal(b.plan.id, 'pro', 'the plan stays during the grace')
  const days = (Date.parse(b.graceEndsAt) - Date.now()) / 86_400_000
  t.ok(days > 6.9 && days <= 7, 'a 7-day grace')
  await eventually(
    async () => {
      const box = (await app.inject({ url: '/dev/mailbox?to=dana%40example.com' })).json()
      return (box.messages as Array<{ subject: string }>).some((m) => /payment .* failed/.test(m.subject))
    },
    10000,
    'the dunning email',
  )
  await app.db
    .updateTable('teams')
    .set({ payment_grace_ends_at: new Date(Date.now() - 1000), trial_ends_at: new Date(0) })
    .where('id', '=', dana.teamId)
    .execute()
  b = await dana.billing()
  t.match(b, { status: 'past_due', plan: { id: 'free' } }, 'the free limits after the grace')
  for (const event of stripe.state.payInvoice(subscriptionId)) await stripe.state.deliver(event)
  b = await dana.billing()
  t.match(b, { status: 'active', plan: { id: 'pro' }, graceEndsAt: null }, 'paid again: restored')
})

t.test('two checkouts at once create one Stripe customer', async (t) => {
  const eve = await team('eve@example.com')
  const before = stripe.state.customers.size
  const [one, two] = await Promise.all([
    eve.call('POST', '/billing/checkout', { plan: 'pro' }),
    eve.call('POST', '/billing/checkout', { plan: 'business', interval: 'year' }),
  ])
  t.same([one?.statusCode, two?.statusCode], [201, 201])
  t.equal(stripe.state.customers.size, before + 1)
  const bad = await eve.call('POST', '/billing/checkout', { plan: 'free' })
  t.equal(bad.statusCode, 400, 'the free plan is not for sale')
})
