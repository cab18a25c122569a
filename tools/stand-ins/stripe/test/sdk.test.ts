import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Stripe from 'stripe'
import t, { type Test } from 'tap'
import { DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, startStripeStandIn } from '../src/index.ts'

async function setUp(t: Test) {
  const received: Array<{ body: string; signature: string }> = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c
    })
    req.on('end', () => {
      received.push({ body, signature: String(req.headers['stripe-signature']) })
      res.end('{}')
    })
  })
  receiver.listen(0, '127.0.0.1')
  await once(receiver, 'listening')
  t.teardown(() => receiver.close())
  const standIn = await startStripeStandIn({
    webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`,
  })
  t.teardown(() => standIn.close())
  const url = new URL(standIn.url)
  const stripe = new Stripe(DEFAULT_API_KEY, { host: url.hostname, port: url.port, protocol: 'http' })
  return { stripe, standIn, received }
}

t.test('customers, checkout, subscription (period on its item), portal, driven by the SDK', async (t) => {
  const { stripe, standIn } = await setUp(t)
  const customer = await stripe.customers.create(
    { name: 'Team', metadata: { team_id: 't1' } },
    { idempotencyKey: 'k1' },
  )
  const again = await stripe.customers.create(
    { name: 'Team', metadata: { team_id: 't1' } },
    { idempotencyKey: 'k1' },
  )
  t.equal(again.id, customer.id, 'the same Idempotency-Key answers the same customer')
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: customer.id,
    client_reference_id: 't1',
    line_items: [{ price: 'price_pro_monthly', quantity: 1 }],
    success_url: 'https://app.example/ok',
    cancel_url: 'https://app.example/no',
    subscription_data: { metadata: { team_id: 't1' } },
  })
  t.match(session.url, /\/checkout\/cs_test_/)
  const events = standIn.state.completeCheckout(session.id)
  t.same(
    events.map((e) => e.type),
    ['checkout.session.completed', 'customer.subscription.created', 'invoice.paid'],
  )
  const done = await stripe.checkout.sessions.retrieve(session.id)
  const subscription = await stripe.subscriptions.retrieve(String(done.subscription))
  t.equal(subscription.status, 'active')
  t.equal(subscription.metadata.team_id, 't1')
  const item = subscription.items.data[0]
  t.equal(item?.price.id, 'price_pro_monthly')
  t.ok((item?.current_period_end ?? 0) > (item?.current_period_start ?? 0), 'the period is on the item')
  const portal = await stripe.billingPortal.sessions.create({
    customer: customer.id,
    return_url: 'https://app.example',
  })
  t.match(portal.url, /\/portal\/bps_/)
})

t.test("Stripe's errors, mapped by the SDK", async (t) => {
  const { stripe, standIn } = await setUp(t)
  const missing = await stripe.subscriptions.retrieve('sub_nope').catch((error: unknown) => error)
  t.ok(missing instanceof Stripe.errors.StripeInvalidRequestError)
  t.equal((missing as { code?: string }).code, 'resource_missing')
  t.equal((missing as { statusCode?: number }).statusCode, 404)
  const url = new URL(standIn.url)
  const wrong = new Stripe('sk_test_wrong', {
    host: url.hostname,
    port: url.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  })
  const refused = await wrong.customers.create({}).catch((error: unknown) => error)
  t.ok(refused instanceof Stripe.errors.StripeAuthenticationError)
})

t.test('signed events: verified by the SDK, duplicated, and an old signature refused', async (t) => {
  const { stripe, standIn, received } = await setUp(t)
  const customer = await stripe.customers.create({})
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: customer.id,
    line_items: [{ price: 'price_pro_monthly', quantity: 1 }],
    success_url: 'https://app.example/ok',
  })
  const [completed] = standIn.state.completeCheckout(session.id)
  if (!completed) throw new Error('no event')
  await standIn.state.deliver(completed, { times: 2 })
  t.equal(received.length, 2)
  for (const { body, signature } of received) {
    const event = stripe.webhooks.constructEvent(body, signature, DEFAULT_WEBHOOK_SECRET)
    t.equal(event.id, completed.id, 'a duplicate has the same id')
  }
  await standIn.state.deliver(completed, { timestamp: Math.floor(Date.now() / 1000) - 3600 })
  const old = received.at(-1)
  t.throws(() =>
    stripe.webhooks.constructEvent(old?.body ?? '', old?.signature ?? '', DEFAULT_WEBHOOK_SECRET),
  )
})

t.test(
  "the checkout page: paying sends the events, then goes back to the success URL, as Stripe's does",
  async (t) => {
    const { stripe, standIn, received } = await setUp(t)
    const customer = await stripe.customers.create({})
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      line_items: [{ price: 'price_pro_monthly', quantity: 1 }],
      success_url: 'https://app.example/billing?checkout=success',
      cancel_url: 'https://app.example/billing?checkout=canceled',
    })
    const page = await (await fetch(String(session.url))).text()
    t.match(page, /<button>Pay \(stand-in\)<\/button>/)
    t.match(page, /href="https:\/\/app\.example\/billing\?checkout=canceled"/, 'a way back without paying')
    const paid = await fetch(`${standIn.url}/checkout/${session.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      redirect: 'manual',
    })
    t.equal(paid.status, 303)
    t.equal(paid.headers.get('location'), 'https://app.example/billing?checkout=success')
    t.same(
      received.map(({ body }) => (JSON.parse(body) as { type: string }).type),
      ['checkout.session.completed', 'customer.subscription.created', 'invoice.paid'],
      'the webhooks arrive before the person is sent back',
    )
    const again = await fetch(`${standIn.url}/checkout/${session.id}`, { method: 'POST', redirect: 'manual' })
    t.equal(again.status, 400, 'a session is paid once')
  },
)
