import { randomUUID } from 'node:crypto'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'
import { uuidv7 } from './helpers/visitor-ids.ts'

/**
 * Issue 17, item 15: what a lead (and an event) may name. Any well-formed variantId was accepted
 * on leads and appeared in the campaign's stats; consentVersion was stored as proof of consent
 * whatever the client sent; leaving out fillMs skipped the bot check. Now only what the campaign
 * has shown visitors (current or retired) is accepted, and fillMs is required.
 */

const ORIGIN = 'https://shop.example'

const app = await buildTestApp(t, { LEAD_MIN_FILL_MS: '1500' })
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')
const api = campaignApi(app, ann, teamId)

function formVariant(id: string, weight: number, consentVersion: string) {
  return {
    id,
    name: `Variant ${id}`,
    weight,
    steps: [
      {
        blocks: [{ type: 'text', text: 'Join us' }],
        buttons: [{ label: 'Join', action: 'submit' }],
        form: {
          fields: [{ name: 'email', type: 'email', label: 'Email', required: true }],
          consent: { text: 'I agree to receive emails', required: false, version: consentVersion },
        },
      },
    ],
  }
}

/** Live, with variant a (shown), and d with no traffic (never shown to anyone). */
async function liveCampaign() {
  const c = await newCampaign(app, ann, teamId, {
    siteId: site.id,
    variants: [formVariant('a', 100, '2025-03'), formVariant('d', 0, 'draft-wording')],
  })
  const live = await api.walk(c.id, c.version, 'test', 'live')
  return { id: c.id, version: live.version }
}

function lead(campaignId: string, overrides: Record<string, unknown> = {}) {
  return {
    campaignId,
    variantId: 'a',
    email: `visitor-${randomUUID()}@example.com`,
    consent: true,
    hp: '',
    fillMs: 5000,
    ...overrides,
  }
}

function submit(payload: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/public/v1/leads', headers: { origin: ORIGIN }, payload })
}

function sendEvent(campaignId: string, variantId: string) {
  return app.inject({
    method: 'POST',
    url: '/public/v1/events',
    headers: { origin: ORIGIN },
    payload: {
      events: [{ eventId: uuidv7(), pageViewId: uuidv7(), campaignId, variantId, type: 'impression' }],
    },
  })
}

async function stored(campaignId: string) {
  const leads = await app.db
    .selectFrom('leads')
    .select(['variant_id', 'consent_version'])
    .where('campaign_id', '=', campaignId)
    .orderBy('created_at')
    .execute()
  const stats = await app.db
    .selectFrom('campaign_stats_daily')
    .select(['variant_id'])
    .distinct()
    .where('campaign_id', '=', campaignId)
    .orderBy('variant_id')
    .execute()
  return { leads, statsVariants: stats.map((row) => row.variant_id) }
}

const fieldsOf = (body: string) =>
  ((JSON.parse(body).details ?? []) as Array<{ field: string }>).map((d) => d.field)

t.test('a lead naming a variant the campaign never showed is refused and counted nowhere', async (t) => {
  const c = await liveCampaign()
  for (const variantId of ['zz', 'invented-variant', 'd']) {
    const res = await submit(lead(c.id, { variantId }))
    t.equal(res.statusCode, 400, `${variantId}: 400 (was ${res.statusCode})`)
    t.ok(fieldsOf(res.body).includes('body.variantId'), `${variantId}: names body.variantId`)
    const event = await sendEvent(c.id, variantId)
    t.equal(event.statusCode, 400, `${variantId}: an event for it is refused too`)
  }
  const { leads, statsVariants } = await stored(c.id)
  t.same(leads, [], 'no lead stored')
  t.same(statsVariants, [], 'no variant invented in the stats')
  t.equal((await submit(lead(c.id))).statusCode, 202, 'the shown variant is accepted')
})

t.test('a variant retired by an edit is still accepted from a page opened before it', async (t) => {
  const c = await newCampaign(app, ann, teamId, {
    siteId: site.id,
    variants: [formVariant('a', 50, '2025-03'), formVariant('c', 50, '2025-03')],
  })
  const live = await api.walk(c.id, c.version, 'test', 'live')
  const edited = await api.patch(c.id, live.version, { variants: [formVariant('a', 100, '2025-03')] })
  t.equal(edited.statusCode, 200, edited.body)

  const res = await submit(lead(c.id, { variantId: 'c' }))
  t.equal(res.statusCode, 202, 'a lead for the retired variant is kept')
  const event = await sendEvent(c.id, 'c')
  t.equal(event.statusCode, 202, `an event for the retired variant is counted (was ${event.statusCode})`)
  t.same(
    (await stored(c.id)).leads.map((row) => row.variant_id),
    ['c'],
    'under the variant the visitor saw',
  )
})

t.test('consentVersion must be one the campaign’s forms have shown', async (t) => {
  const c = await liveCampaign()
  for (const consentVersion of ['forged-v9', 'I agreed to nothing', 'draft-wording']) {
    const res = await submit(lead(c.id, { consentVersion }))
    t.equal(res.statusCode, 400, `${consentVersion}: 400 (was ${res.statusCode})`)
    t.ok(fieldsOf(res.body).includes('body.consentVersion'), `${consentVersion}: names body.consentVersion`)
  }
  t.same((await stored(c.id)).leads, [], 'no lead stored with a made-up proof of consent')

  t.equal((await submit(lead(c.id, { consentVersion: '2025-03' }))).statusCode, 202, 'the shown one')
  t.equal((await submit(lead(c.id))).statusCode, 202, 'none sent: the form’s own')

  // The wording changes: pages opened before it still send the old version, and may.
  const edited = await api.patch(c.id, c.version, { variants: [formVariant('a', 100, '2025-06')] })
  t.equal(edited.statusCode, 200, edited.body)
  t.equal((await submit(lead(c.id, { consentVersion: '2025-03' }))).statusCode, 202, 'the retired one')
  t.equal((await submit(lead(c.id, { consentVersion: '2025-06' }))).statusCode, 202, 'the new one')
  t.equal((await submit(lead(c.id, { consentVersion: '2025-07' }))).statusCode, 400, 'a future one')
  t.same(
    (await stored(c.id)).leads.map((row) => row.consent_version),
    ['2025-03', '2025-03', '2025-03', '2025-06'],
    'only published versions are stored as proof',
  )
})

t.test('a lead without fillMs does not skip the bot check', async (t) => {
  const c = await liveCampaign()
  const { fillMs: _, ...withoutFill } = lead(c.id)
  const res = await submit(withoutFill)
  t.equal(res.statusCode, 400, `fillMs left out: 400 (was ${res.statusCode})`)
  t.ok(fieldsOf(res.body).includes('body.fillMs'), 'names body.fillMs')
  const tooFast = await submit(lead(c.id, { fillMs: 10 }))
  t.equal(tooFast.statusCode, 202, 'a bot is answered like a person')
  t.same((await stored(c.id)).leads, [], 'and neither is stored')
})
