import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, liveLeadCampaign, personalTeam } from './helpers/campaigns.ts'
import { eventually, startReceiver } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

const ORIGIN = 'https://held.example'
const receiver = await startReceiver(t)
const app = await buildTestApp(
  t,
  {
    OUTBOUND_ALLOW_LOOPBACK: 'true',
    DELIVERY_RETRY_SCHEDULE: '300ms,300ms',
    WEBHOOK_TIMEOUT_MS: '2000',
    JOBS_POLL_SECONDS: '0.5',
    LEAD_MIN_FILL_MS: '0',
  },
  { worker: true },
)
await app.ready()
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'held.example')

function call(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) {
  return app.inject({ method, url, headers: ann.headers, ...(payload ? { payload } : {}) })
}

async function submitLead(campaignId: string, email: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers: { origin: ORIGIN },
    payload: { campaignId, variantId: 'a', email, fields: {}, consent: false, hp: '', fillMs: 5000 },
  })
  if (res.statusCode !== 202) throw new Error(`lead refused: ${res.statusCode} ${res.body}`)
}

async function deliveriesOf(integrationId: string, status?: string) {
  const res = await call(
    'GET',
    `/v1/teams/${teamId}/integrations/${integrationId}/deliveries?limit=100${status ? `&status=${status}` : ''}`,
  )
  return res.json().items as Array<{ id: string; status: string; leadId: string | null }>
}

const bodiesFor = (email: string) => receiver.received.filter((r) => r.body.includes(`"email":"${email}"`))
const integration = async (id: string) => (await call('GET', `/v1/teams/${teamId}/integrations/${id}`)).json()

t.test(
  'leads that arrive while a webhook is disabled are held and sent when it is active again',
  async (t) => {
    const campaign = await liveLeadCampaign(app, ann, teamId, site.id)
    const created = await call('POST', `/v1/teams/${teamId}/integrations`, {
      kind: 'webhook',
      name: 'CRM',
      url: receiver.url,
    })
    t.equal(created.statusCode, 201, 'connected')
    const hookId = created.json().id as string
    t.equal(
      (await call('PUT', `/v1/teams/${teamId}/campaigns/${campaign.id}/integrations/${hookId}`, {}))
        .statusCode,
      200,
    )

    // The receiver says 410 Gone: the integration is disabled.
    receiver.answer(() => ({ status: 410 }))
    await submitLead(campaign.id, 'gone@example.com')
    await eventually(async () => (await integration(hookId)).status === 'disabled', 10000, 'disabled')

    // While it is disabled, two more people leave their email; one of them asks to be erased.
    receiver.answer(() => ({ status: 200 }))
    await submitLead(campaign.id, 'while-off@example.com')
    await submitLead(campaign.id, 'erase-me@example.com')
    const held = await eventually(
      async () => {
        const rows = await deliveriesOf(hookId, 'held')
        return rows.length === 2 && rows
      },
      10000,
      'two held deliveries in the log',
    )
    t.equal(held.length, 2, 'each lead has a delivery, held')
    t.equal(bodiesFor('while-off@example.com').length, 0, 'nothing is sent to a disabled integration')
    const erased = await call('POST', `/v1/teams/${teamId}/leads/erase`, { email: 'erase-me@example.com' })
    t.equal(erased.statusCode, 200, erased.body)
    t.equal((await deliveriesOf(hookId, 'held')).length, 1, 'erasure cancels a held delivery')

    // Fixed: set it active again. What was held goes out; the erased lead does not.
    const resumed = await call('PATCH', `/v1/teams/${teamId}/integrations/${hookId}`, { status: 'active' })
    t.equal(resumed.statusCode, 200, 'set active again')
    await eventually(async () => bodiesFor('while-off@example.com').length === 1, 10000, 'the held lead sent')
    await eventually(
      async () => (await deliveriesOf(hookId, 'succeeded')).length === 1,
      10000,
      'its delivery succeeded',
    )
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.equal(bodiesFor('erase-me@example.com').length, 0, 'the erased lead is never sent')
    // The lead that met the 410 failed; it can be redelivered now that the receiver is fixed.
    const failed = await deliveriesOf(hookId, 'failed')
    t.equal(failed.length, 1)
    const again = await call('POST', `/v1/teams/${teamId}/integrations/${hookId}/redeliver-failed`)
    t.equal(again.statusCode, 202, again.body)
    await eventually(
      async () => bodiesFor('gone@example.com').length === 2,
      10000,
      'the failed lead redelivered',
    )
  },
)

t.test('the disabled email says leads meanwhile are kept and sent on re-activation', async (t) => {
  const box = (await app.inject({ url: '/dev/mailbox?to=ann%40example.com' })).json()
  const notice = (box.messages as Array<{ subject: string; text: string }>).find((m) =>
    m.subject.includes('"CRM" was disabled'),
  )
  t.ok(notice, 'the owner was emailed')
  t.match(notice?.text, /kept/i, 'it says new leads are kept')
})

t.test(
  'a person erased while an integration that received them is disabled is told when it is active again',
  async (t) => {
    const campaign = await liveLeadCampaign(app, ann, teamId, site.id)
    const created = await call('POST', `/v1/teams/${teamId}/integrations`, {
      kind: 'webhook',
      name: 'Stopped CRM',
      url: receiver.url,
    })
    const hookId = created.json().id as string
    await call('PUT', `/v1/teams/${teamId}/campaigns/${campaign.id}/integrations/${hookId}`, {})
    receiver.answer(() => ({ status: 200 }))
    await submitLead(campaign.id, 'told-later@example.com')
    await eventually(async () => (await deliveriesOf(hookId, 'succeeded')).length === 1, 10000, 'received')

    // The receiver goes away (410): the integration is disabled, and then the person asks to be erased.
    receiver.answer(() => ({ status: 410 }))
    await submitLead(campaign.id, 'the-last-straw@example.com')
    await eventually(async () => (await integration(hookId)).status === 'disabled', 10000, 'disabled')
    const erased = await call('POST', `/v1/teams/${teamId}/leads/erase`, { email: 'told-later@example.com' })
    t.equal(erased.statusCode, 200, erased.body)
    t.match(erased.json(), { erased: 1, integrationsTold: 1 }, 'the disabled integration is to be told too')
    t.equal((await deliveriesOf(hookId, 'held')).length, 1, 'its erasure notice is held')

    receiver.answer(() => ({ status: 200 }))
    const resumed = await call('PATCH', `/v1/teams/${teamId}/integrations/${hookId}`, { status: 'active' })
    t.equal(resumed.statusCode, 200)
    await eventually(
      async () =>
        receiver.received.some((r) => r.body.includes('lead.erased') && r.body.includes('told-later')),
      10000,
      'the receiver is told of the erasure once it is active again',
    )
  },
)
