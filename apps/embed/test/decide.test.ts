import {
  type DecideContext,
  decide,
  type History,
  type PublishedCampaign,
  recordClose,
  recordConversion,
  recordShow,
  TAB_RETURN_FEATURE,
} from '@nudge/popup'
import t from 'tap'
import { FULL_CAMPAIGN_EXAMPLE } from '../../api/src/modules/campaigns/content.ts'
import { campaignDocument } from '../../api/src/modules/publishing/documents.ts'

const CAMPAIGN_ID = '0193b1a2-4c5d-7e6f-8a9b-0c1d2e3f4a5b'
const DAY = 86_400_000

/** The API's own example, published by the API's own code: exactly what the edge will serve. */
function published(over: Partial<typeof FULL_CAMPAIGN_EXAMPLE> = {}): PublishedCampaign {
  const example = { ...FULL_CAMPAIGN_EXAMPLE, ...over }
  const bytes = campaignDocument({
    id: CAMPAIGN_ID,
    type: example.type,
    version: 3,
    variants: example.variants,
    targeting: example.targeting,
    frequency: example.frequency,
    schedule: example.schedule,
  } as Parameters<typeof campaignDocument>[0])
  return JSON.parse(bytes.toString()) as PublishedCampaign
}

function context(over: Partial<DecideContext> = {}): DecideContext {
  const map = new Map<string, History>()
  return {
    now: Date.parse('2030-04-01T10:00:00Z'),
    visitor: {
      url: 'https://shop.example.com/products/jacket',
      device: 'desktop',
      country: 'DE',
      returning: false,
      languages: ['de-DE', 'de'],
    },
    visitorId: '5b0c3c52-6a7e-4f11-9d3a-2f6c1b7e8a90',
    history: { get: (id) => map.get(id), set: (id, history) => map.set(id, history) },
    ...over,
  }
}

t.test(
  'the API’s full example shows to a visitor it targets, with a variant and the scroll trigger',
  async (t) => {
    const decision = decide(published(), context())
    t.equal(decision.show, true)
    t.ok(decision.variantId === 'a' || decision.variantId === 'b')
    t.same(decision.trigger, { type: 'scroll', percent: 50 })
    t.same(decision.reasons, [
      'schedule: running (now 2030-04-01 12:00:00 Europe/Berlin)',
      'targeting: every rule matches',
      'frequency: every 7 days, never shown',
      `variant: ${decision.variantId} (weight 50)`,
      'trigger: scroll',
    ])
  },
)

t.test('the full example, each of its rules failing in turn, names the rule', async (t) => {
  const base = context()
  const cases: Array<[string, Partial<DecideContext>, RegExp]> = [
    ['before the schedule', { now: Date.parse('2030-03-20T06:59:59Z') }, /^schedule: starts/],
    ['after the schedule', { now: Date.parse('2030-04-20T22:00:00Z') }, /^schedule: ended/],
    [
      'a page outside /products/',
      { visitor: { ...base.visitor, url: 'https://shop.example.com/blog' } },
      /^urls: no include/,
    ],
    [
      'the checkout',
      { visitor: { ...base.visitor, url: 'https://shop.example.com/products/checkout' } },
      /^urls: excluded/,
    ],
    ['a phone', { visitor: { ...base.visitor, device: 'mobile' } }, /^devices:/],
    ['France', { visitor: { ...base.visitor, country: 'FR' } }, /^countries:/],
    ['a returning visitor', { visitor: { ...base.visitor, returning: true } }, /^visitors:/],
    ['a French browser', { visitor: { ...base.visitor, languages: ['fr-FR'] } }, /^languages:/],
  ]
  for (const [name, over, reason] of cases) {
    const decision = decide(published(), { ...base, ...over })
    t.equal(decision.show, false, name)
    t.equal(decision.variantId, undefined, name)
    t.match(decision.reasons.at(-1), reason, name)
  }
})

t.test('frequency of the example: every 7 days, never after a conversion', async (t) => {
  const ctx = context()
  const campaign = published()
  recordShow(ctx.history, CAMPAIGN_ID, ctx.now)
  t.equal(decide(campaign, { ...ctx, now: ctx.now + DAY }).show, false)
  t.equal(decide(campaign, { ...ctx, now: ctx.now + 7 * DAY }).show, true)
  recordClose(ctx.history, CAMPAIGN_ID, ctx.now)
  t.equal(decide(campaign, { ...ctx, now: ctx.now + 7 * DAY }).show, true, 'a close does not stop it')
  recordConversion(ctx.history, CAMPAIGN_ID, ctx.now)
  t.match(decide(campaign, { ...ctx, now: ctx.now + 7 * DAY }).reasons.at(-1), /converted/)
})

t.test('the variant is sticky per visitor, split across visitors', async (t) => {
  const campaign = published()
  const first = decide(campaign, context()).variantId
  for (let i = 0; i < 5; i += 1) t.equal(decide(campaign, context()).variantId, first)
  const seen = new Set<string | undefined>()
  for (let i = 0; i < 50; i += 1) seen.add(decide(campaign, context({ visitorId: `visitor-${i}` })).variantId)
  t.same([...seen].sort(), ['a', 'b'])
})

t.test(
  'a published variant with weight 0 is never served (the API drops it; decide ignores it)',
  async (t) => {
    const [a, b] = FULL_CAMPAIGN_EXAMPLE.variants
    const campaign = published({
      variants: [
        { ...a!, weight: 100 },
        { ...b!, weight: 0 },
      ],
    })
    t.same(
      campaign.variants?.map((v) => v.id),
      ['a'],
    )
    for (let i = 0; i < 20; i += 1) t.equal(decide(campaign, context({ visitorId: `v${i}` })).variantId, 'a')
    const handMade: PublishedCampaign = {
      id: 'c',
      type: 'modal',
      variants: [{ id: 'z', weight: 0, steps: [] }],
    }
    t.same(decide(handMade, context()), {
      show: false,
      reasons: [
        'schedule: always',
        'targeting: every rule matches',
        'frequency: once, never shown',
        'variant: no variant has traffic',
      ],
    })
  },
)

t.test(
  'a bare campaign (no targeting, frequency or schedule) shows to everyone after 3 s, once',
  async (t) => {
    const bare: PublishedCampaign = { id: 'c', type: 'bar', variants: [{ id: 'a', weight: 100, steps: [] }] }
    const ctx = context({
      visitor: { url: 'http://x.test/', device: 'mobile', country: null, returning: true, languages: [] },
    })
    const decision = decide(bare, ctx)
    t.match(decision, { show: true, variantId: 'a', trigger: { type: 'delay', ms: 3000 } })
    recordShow(ctx.history, 'c', ctx.now)
    t.equal(decide(bare, ctx).show, false)
  },
)

t.test('a tab-return campaign shows only where the feature is released', async (t) => {
  const campaign = published({
    targeting: { ...FULL_CAMPAIGN_EXAMPLE.targeting, trigger: { type: 'tab-return' } },
  })
  t.match(decide(campaign, context()).reasons.at(-1), /tab-return is not released/)
  t.match(decide(campaign, context({ features: [TAB_RETURN_FEATURE] })), {
    show: true,
    trigger: { type: 'tab-return' },
  })
})
