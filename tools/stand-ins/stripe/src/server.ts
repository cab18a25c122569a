import { createHmac, randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import qs from 'qs'

/** Test controls, for a stand-in running in another process; never part of Stripe's API. */
export const CONTROL_PATH = '/__stand-in'
export const API_VERSION = '2026-10-28.endive'

type StripeObject = Record<string, unknown> & { id: string }

export interface Price {
  id: string
  product: string
  unit_amount: number
  currency: string
  recurring: { interval: 'month' | 'year' }
}

const now = () => Math.floor(Date.now() / 1000)
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`
const addInterval = (from: number, interval: 'month' | 'year') => {
  const date = new Date(from * 1000)
  if (interval === 'year') date.setUTCFullYear(date.getUTCFullYear() + 1)
  else date.setUTCMonth(date.getUTCMonth() + 1)
  return Math.floor(date.getTime() / 1000)
}

/** Stripe's error envelope. */
class StripeError extends Error {
  readonly status: number
  readonly type: string
  readonly code: string | undefined
  readonly param: string | undefined
  constructor(status: number, type: string, message: string, code?: string, param?: string) {
    super(message)
    this.status = status
    this.type = type
    this.code = code
    this.param = param
  }
}
const missing = (kind: string, id: string, param = 'id') =>
  new StripeError(404, 'invalid_request_error', `No such ${kind}: '${id}'`, 'resource_missing', param)

export interface DeliveryOptions {
  /** how many times to send it (a duplicate has the same event id) */
  times?: number
  /** signature time (seconds); an old one is what a replay looks like */
  timestamp?: number
}

/** What the stand-in holds, shared by the HTTP controls and the in-process handle. */
export class StandInState {
  readonly customers = new Map<string, StripeObject>()
  readonly sessions = new Map<string, StripeObject>()
  readonly portalSessions = new Map<string, StripeObject>()
  readonly subscriptions = new Map<string, StripeObject>()
  readonly prices = new Map<string, StripeObject>()
  readonly events: StripeObject[] = []
  readonly idempotent = new Map<string, { status: number; body: unknown }>()
  readonly apiKey: string
  readonly webhookSecret: string
  webhookUrl: string | undefined
  baseUrl = ''

  constructor(options: {
    apiKey: string
    webhookSecret: string
    webhookUrl?: string | undefined
    prices: Price[]
  }) {
    this.apiKey = options.apiKey
    this.webhookSecret = options.webhookSecret
    this.webhookUrl = options.webhookUrl
    for (const price of options.prices)
      this.prices.set(price.id, {
        object: 'price',
        active: true,
        type: 'recurring',
        livemode: false,
        ...price,
      })
  }

  /** A Stripe event about `object` (a copy of it as it is now). */
  event(type: string, object: StripeObject): StripeObject {
    const event = {
      id: newId('evt'),
      object: 'event',
      api_version: API_VERSION,
      created: now(),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object: structuredClone(object) },
    }
    this.events.push(event)
    return event
  }

  /** The payment went through: an active subscription, and the events Stripe sends for it. */
  completeCheckout(sessionId: string): StripeObject[] {
    const session = this.sessions.get(sessionId)
    if (!session) throw missing('checkout.session', sessionId)
    if (session.status === 'complete')
      throw new StripeError(400, 'invalid_request_error', 'This session is already complete')
    const lineItems = (session.line_items ?? []) as Array<{ price: string; quantity?: string }>
    const price = this.prices.get(lineItems[0]?.price ?? '')
    if (!price) throw missing('price', lineItems[0]?.price ?? '')
    const start = now()
    const subscriptionData = (session.subscription_data ?? {}) as { metadata?: Record<string, string> }
    const subscription: StripeObject = {
      id: newId('sub'),
      object: 'subscription',
      customer: session.customer,
      status: 'active',
      cancel_at_period_end: false,
      canceled_at: null,
      created: start,
      livemode: false,
      metadata: subscriptionData.metadata ?? {},
      items: {
        object: 'list',
        data: [
          {
            id: newId('si'),
            object: 'subscription_item',
            price,
            quantity: 1,
            current_period_start: start,
            current_period_end: addInterval(
              start,
              (price.recurring as { interval: 'month' | 'year' }).interval,
            ),
          },
        ],
        has_more: false,
      },
    }
    this.subscriptions.set(subscription.id, subscription)
    Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: subscription.id })
    return [
      this.event('checkout.session.completed', session),
      this.event('customer.subscription.created', subscription),
      this.event('invoice.paid', this.invoice(subscription, 'paid')),
    ]
  }

  invoice(subscription: StripeObject, status: 'paid' | 'open'): StripeObject {
    return {
      id: newId('in'),
      object: 'invoice',
      customer: subscription.customer,
      status,
      livemode: false,
      parent: {
        type: 'subscription_details',
        subscription_details: { subscription: subscription.id, metadata: subscription.metadata },
      },
    }
  }

  private subscription(id: string): StripeObject {
    const found = this.subscriptions.get(id)
    if (!found) throw missing('subscription', id)
    return found
  }

  /** Changes a subscription as Stripe would (status, cancel at period end, price) and returns its event. */
  updateSubscription(
    id: string,
    change: { status?: string; cancel_at_period_end?: boolean; price?: string },
  ) {
    const subscription = this.subscription(id)
    if (change.status) subscription.status = change.status
    if (change.cancel_at_period_end !== undefined)
      subscription.cancel_at_period_end = change.cancel_at_period_end
    if (change.price) {
      const price = this.prices.get(change.price)
      if (!price) throw missing('price', change.price, 'items[0][price]')
      const items = subscription.items as { data: Array<Record<string, unknown>> }
      if (items.data[0]) items.data[0].price = price
    }
    return this.event('customer.subscription.updated', subscription)
  }

  /** The customer's newest subscription that has not ended: the one a Billing Portal manages. */
  currentSubscriptionOf(customer: string): StripeObject | undefined {
    return [...this.subscriptions.values()]
      .filter((s) => s.customer === customer && s.status !== 'canceled' && s.status !== 'incomplete_expired')
      .sort((a, b) => Number(b.created) - Number(a.created))[0]
  }

  cancelSubscription(id: string) {
    const subscription = this.subscription(id)
    Object.assign(subscription, { status: 'canceled', canceled_at: now() })
    return this.event('customer.subscription.deleted', subscription)
  }

  /** A renewal payment failed: past due, and the invoice event. */
  failPayment(id: string) {
    const subscription = this.subscription(id)
    subscription.status = 'past_due'
    return [
      this.event('invoice.payment_failed', this.invoice(subscription, 'open')),
      this.event('customer.subscription.updated', subscription),
    ]
  }

  /** The renewal went through after all. */
  payInvoice(id: string) {
    const subscription = this.subscription(id)
    subscription.status = 'active'
    return [
      this.event('invoice.paid', this.invoice(subscription, 'paid')),
      this.event('customer.subscription.updated', subscription),
    ]
  }

  /** The Stripe-Signature header for a payload: `t=<seconds>,v1=<HMAC-SHA256 of "t.payload">`. */
  sign(payload: string, timestamp = now()): string {
    const signature = createHmac('sha256', this.webhookSecret).update(`${timestamp}.${payload}`).digest('hex')
    return `t=${timestamp},v1=${signature}`
  }

  /** POSTs an event to the webhook URL, signed, `times` times; resolves with each answer's status. */
  async deliver(event: StripeObject, options: DeliveryOptions = {}): Promise<number[]> {
    if (!this.webhookUrl) throw new Error('no webhook URL configured')
    const payload = JSON.stringify(event, null, 2)
    const statuses: number[] = []
    for (let i = 0; i < (options.times ?? 1); i++) {
      const response = await fetch(this.webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': this.sign(payload, options.timestamp),
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        body: payload,
      })
      await response.arrayBuffer()
      statuses.push(response.status)
    }
    return statuses
  }
}

function list(data: StripeObject[], url: string) {
  return { object: 'list', data, has_more: false, url }
}

export function buildServer(options: {
  state: StandInState
  logger: boolean | Record<string, unknown>
}): FastifyInstance {
  const { state } = options
  const app = Fastify({ logger: options.logger })
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, qs.parse(body as string, { depth: 10, arrayLimit: 100 }))
    },
  )

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof StripeError) {
      return reply.code(error.status).send({
        error: {
          type: error.type,
          message: error.message,
          ...(error.code ? { code: error.code } : {}),
          ...(error.param ? { param: error.param } : {}),
        },
      })
    }
    return reply.code(500).send({ error: { type: 'api_error', message: (error as Error).message } })
  })

  // Secret key auth and Idempotency-Key replay, as Stripe does them.
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return
    const auth = request.headers.authorization ?? ''
    if (auth !== `Bearer ${state.apiKey}`)
      throw new StripeError(401, 'authentication_error', 'Invalid API Key provided: sk_test_****')
  })
  const idempotent = async (request: FastifyRequest, reply: FastifyReply, make: () => unknown) => {
    const key = request.headers['idempotency-key']
    const remembered = typeof key === 'string' ? state.idempotent.get(`${request.url} ${key}`) : undefined
    if (remembered)
      return reply.code(remembered.status).header('idempotent-replayed', 'true').send(remembered.body)
    const body = make()
    if (typeof key === 'string') state.idempotent.set(`${request.url} ${key}`, { status: 200, body })
    return body
  }
  const form = (request: FastifyRequest) => (request.body ?? {}) as Record<string, unknown>

  app.post('/v1/customers', async (request, reply) =>
    idempotent(request, reply, () => {
      const body = form(request)
      const customer: StripeObject = {
        id: newId('cus'),
        object: 'customer',
        created: now(),
        email: body.email ?? null,
        name: body.name ?? null,
        metadata: body.metadata ?? {},
        livemode: false,
      }
      state.customers.set(customer.id, customer)
      return customer
    }),
  )
  app.get('/v1/customers/:id', async (request) => {
    const { id } = request.params as { id: string }
    const customer = state.customers.get(id)
    if (!customer) throw missing('customer', id)
    return customer
  })
  app.get('/v1/customers', async (request) => {
    const { email } = request.query as { email?: string }
    return list(
      [...state.customers.values()].filter((c) => !email || c.email === email),
      '/v1/customers',
    )
  })

  app.post('/v1/checkout/sessions', async (request, reply) =>
    idempotent(request, reply, () => {
      const body = form(request)
      if (body.mode !== 'subscription')
        throw new StripeError(
          400,
          'invalid_request_error',
          'This stand-in only makes subscription sessions',
          undefined,
          'mode',
        )
      const customer = String(body.customer ?? '')
      if (!state.customers.has(customer)) throw missing('customer', customer, 'customer')
      const items = (body.line_items ?? []) as Array<{ price?: string }>
      for (const [index, item] of items.entries())
        if (!state.prices.has(item.price ?? ''))
          throw missing('price', item.price ?? '', `line_items[${index}][price]`)
      if (items.length === 0)
        throw new StripeError(
          400,
          'invalid_request_error',
          'Missing required param: line_items.',
          'parameter_missing',
          'line_items',
        )
      const id = newId('cs_test')
      const session: StripeObject = {
        id,
        object: 'checkout.session',
        mode: 'subscription',
        status: 'open',
        payment_status: 'unpaid',
        customer,
        client_reference_id: body.client_reference_id ?? null,
        metadata: body.metadata ?? {},
        success_url: body.success_url,
        cancel_url: body.cancel_url,
        subscription: null,
        line_items: items,
        subscription_data: body.subscription_data ?? {},
        url: `${state.baseUrl}/checkout/${id}`,
        livemode: false,
      }
      state.sessions.set(id, session)
      return session
    }),
  )
  app.get('/v1/checkout/sessions/:id', async (request) => {
    const { id } = request.params as { id: string }
    const session = state.sessions.get(id)
    if (!session) throw missing('checkout.session', id)
    return session
  })
  app.post('/v1/billing_portal/sessions', async (request) => {
    const body = form(request)
    const customer = String(body.customer ?? '')
    if (!state.customers.has(customer)) throw missing('customer', customer, 'customer')
    const id = newId('bps')
    const session: StripeObject = {
      id,
      object: 'billing_portal.session',
      created: now(),
      customer,
      return_url: body.return_url ?? null,
      url: `${state.baseUrl}/portal/${id}`,
      livemode: false,
    }
    state.portalSessions.set(id, session)
    return session
  })
  app.get('/v1/subscriptions/:id', async (request) => {
    const { id } = request.params as { id: string }
    const subscription = state.subscriptions.get(id)
    if (!subscription) throw missing('subscription', id)
    return subscription
  })
  app.get('/v1/prices/:id', async (request) => {
    const { id } = request.params as { id: string }
    const price = state.prices.get(id)
    if (!price) throw missing('price', id)
    return price
  })
  app.get('/v1/prices', async () => list([...state.prices.values()], '/v1/prices'))
  app.setNotFoundHandler(async (request) => {
    throw new StripeError(
      404,
      'invalid_request_error',
      `Unrecognized request URL (${request.method}: ${request.url}).`,
    )
  })

  // A person "pays" in a browser; scripts call the control below.
  app.get('/checkout/:id', async (request, reply) => {
    const { id } = request.params as { id: string }
    const session = state.sessions.get(id)
    if (!session) throw missing('checkout.session', id)
    const cancel = session.cancel_url ? `<p><a href="${escapeHtml(session.cancel_url)}">Back</a></p>` : ''
    return reply
      .type('text/html')
      .send(
        `<!doctype html><title>Stripe Checkout (stand-in)</title><h1>Checkout (stand-in)</h1><form method="post" action="/checkout/${id}"><button>Pay (stand-in)</button></form>${cancel}`,
      )
  })
  // The page's button: pays as the control below does, then goes back to the success URL, as
  // Stripe's Checkout does once the webhooks are sent.
  app.post('/checkout/:id', async (request, reply) => {
    const { id } = request.params as { id: string }
    const events = state.completeCheckout(id)
    if (state.webhookUrl)
      await Promise.all(events.map((event) => state.deliver(event))).catch((error: unknown) => {
        request.log.warn({ err: error, session: id }, 'webhook not delivered')
      })
    const success = state.sessions.get(id)?.success_url
    if (typeof success !== 'string') return reply.type('text/html').send('<!doctype html><p>Paid.</p>')
    return reply.code(303).header('location', success).send()
  })
  app.post(`${CONTROL_PATH}/checkout/:id/complete`, async (request) => {
    const { id } = request.params as { id: string }
    const events = state.completeCheckout(id)
    const delivered = state.webhookUrl ? await Promise.all(events.map((event) => state.deliver(event))) : []
    return { events: events.map((e) => ({ id: e.id, type: e.type })), delivered: delivered.flat() }
  })
  // The Billing Portal a person is sent to: change the plan, cancel (at the period's end or now),
  // or take a cancellation back. Each change is made to the subscription and its event sent to the
  // webhook URL, signed, as Stripe's portal does.
  const portalOf = (request: FastifyRequest) => {
    const { id } = request.params as { id: string }
    const session = state.portalSessions.get(id)
    if (!session) throw missing('billing_portal.session', id)
    return { session, subscription: state.currentSubscriptionOf(String(session.customer)) }
  }
  const managed = (request: FastifyRequest) => {
    const { session, subscription } = portalOf(request)
    if (!subscription)
      throw new StripeError(400, 'invalid_request_error', 'This customer has no subscription to manage')
    return { session, subscription }
  }
  const announce = async (request: FastifyRequest, reply: FastifyReply, event: StripeObject) => {
    if (state.webhookUrl)
      await state.deliver(event).catch((error: unknown) => {
        request.log.warn({ err: error, event: event.id }, 'webhook not delivered')
      })
    const { id } = request.params as { id: string }
    return reply.code(303).header('location', `/portal/${id}`).send()
  }
  app.get('/portal/:id', async (request, reply) => {
    const { session, subscription } = portalOf(request)
    return reply.type('text/html').send(portalPage(state, session, subscription))
  })
  app.post('/portal/:id/plan', async (request, reply) => {
    const { subscription } = managed(request)
    const price = String(form(request).price ?? '')
    if (!state.prices.has(price))
      throw new StripeError(
        400,
        'invalid_request_error',
        `No such price: '${price}'`,
        'resource_missing',
        'price',
      )
    return announce(request, reply, state.updateSubscription(subscription.id, { price }))
  })
  app.post('/portal/:id/cancel', async (request, reply) => {
    const { subscription } = managed(request)
    const when = form(request).when
    if (when === 'now') return announce(request, reply, state.cancelSubscription(subscription.id))
    if (when === 'period_end')
      return announce(
        request,
        reply,
        state.updateSubscription(subscription.id, { cancel_at_period_end: true }),
      )
    throw new StripeError(400, 'invalid_request_error', 'when must be period_end or now', undefined, 'when')
  })
  app.post('/portal/:id/renew', async (request, reply) => {
    const { subscription } = managed(request)
    return announce(
      request,
      reply,
      state.updateSubscription(subscription.id, { cancel_at_period_end: false }),
    )
  })
  app.get(`${CONTROL_PATH}/events`, async () => state.events.map((e) => ({ id: e.id, type: e.type })))
  return app
}

const escapeHtml = (value: unknown) =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )

/** "prod_business" → "Business": the product's name, as the portal shows it. */
const productName = (price: StripeObject) =>
  String(price.product)
    .replace(/^prod_/, '')
    .replace(/^./, (c) => c.toUpperCase())

function portalPage(state: StandInState, session: StripeObject, subscription: StripeObject | undefined) {
  const back = session.return_url ? `<p><a href="${escapeHtml(session.return_url)}">Return</a></p>` : ''
  if (!subscription)
    return `<!doctype html><title>Billing Portal (stand-in)</title><h1>Billing</h1><p>No subscription.</p>${back}`
  const items = subscription.items as { data: Array<{ price: StripeObject; current_period_end: number }> }
  const current = items.data[0]
  const ends = current ? new Date(current.current_period_end * 1000).toUTCString() : ''
  const prices = [...state.prices.values()]
    .map((price) => {
      const interval = (price.recurring as { interval: string }).interval
      const amount = `${(Number(price.unit_amount) / 100).toFixed(2)} ${String(price.currency).toUpperCase()}`
      const checked = price.id === current?.price.id ? ' checked' : ''
      return `<label><input type="radio" name="price" value="${escapeHtml(price.id)}"${checked}> ${escapeHtml(productName(price))}, ${escapeHtml(amount)} a ${escapeHtml(interval)} (${escapeHtml(price.id)})</label><br>`
    })
    .join('\n')
  const base = `/portal/${escapeHtml(session.id)}`
  const cancellation = subscription.cancel_at_period_end
    ? `<p>Cancels on ${escapeHtml(ends)}.</p><form method="post" action="${base}/renew"><button>Keep the plan</button></form>`
    : `<form method="post" action="${base}/cancel"><input type="hidden" name="when" value="period_end"><button>Cancel at the end of the period</button></form>`
  return `<!doctype html>
<title>Billing Portal (stand-in)</title>
<h1>Billing</h1>
<p>Plan: <strong>${escapeHtml(current ? productName(current.price) : 'none')}</strong>, ${escapeHtml(subscription.status)}${ends ? `, period ends ${escapeHtml(ends)}` : ''}</p>
<form method="post" action="${base}/plan">
${prices}
<button>Change plan</button>
</form>
${cancellation}
<form method="post" action="${base}/cancel"><input type="hidden" name="when" value="now"><button>Cancel now</button></form>
${back}`
}
