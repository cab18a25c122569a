import { PLANS } from '@nudge/payments'
import t from 'tap'
import {
  type Billing,
  daysLeft,
  hasSubscription,
  limitWords,
  OFFER_LIMITS,
  offerOf,
  planLimitDetails,
  statusLine,
  suggestedPlan,
  usageBars,
} from '../src/views/billing/billing.ts'

const now = new Date('2026-12-07T12:00:00Z')

function billing(overrides: Partial<Billing> = {}): Billing {
  return {
    plan: { id: 'business', name: 'Business', removeBranding: true },
    status: 'trialing',
    trialEndsAt: '2026-12-17T18:00:00Z',
    currentPeriodEnd: null,
    cancelAtPeriodEnd: false,
    graceEndsAt: null,
    usage: {
      sites: { used: 1, limit: 50 },
      liveCampaigns: { used: 0, limit: 250 },
      members: { used: 5, limit: 5 },
      integrations: { used: 4, limit: 5 },
      impressions: {
        used: 1200,
        limit: 2_000_000,
        periodStart: '2026-12-01T00:00:00Z',
        state: 'ok',
        graceEndsAt: null,
        suspendedAt: null,
        upgradeTo: null,
      },
    },
    ...overrides,
  }
}

t.test('the days of trial left round up and never go below zero', async (t) => {
  t.equal(daysLeft('2026-12-17T18:00:00Z', now), 11)
  t.equal(daysLeft('2026-12-07T15:00:00Z', now), 1, 'three hours left is a day left')
  t.equal(daysLeft('2026-12-01T00:00:00Z', now), 0)
  t.equal(daysLeft(null, now), null)
})

t.test('the status in words, for each state the API answers', async (t) => {
  t.match(
    statusLine(billing(), now, 'en-US'),
    /Free trial of Business: 11 days left \(until December 17, 2026\)/,
  )
  t.match(
    statusLine(billing({ status: 'active', currentPeriodEnd: '2027-01-07T00:00:00Z' }), now, 'en-US'),
    /Business, paid\. It renews on January 7, 2027/,
  )
  t.match(
    statusLine(
      billing({ status: 'active', cancelAtPeriodEnd: true, currentPeriodEnd: '2027-01-07T00:00:00Z' }),
      now,
      'en-US',
    ),
    /cancelled: it ends on January 7, 2027, then the team is on Free/,
  )
  t.match(
    statusLine(billing({ status: 'past_due', graceEndsAt: '2026-12-10T00:00:00Z' }), now, 'en-US'),
    /payment failed\. Business stays until December 10, 2026/,
  )
  t.match(statusLine(billing({ status: 'past_due' }), now), /grace period is over/)
  t.match(statusLine(billing({ status: 'free' }), now), /Free plan/)
  t.match(statusLine(billing({ status: 'canceled' }), now), /cancelled/)
  t.equal(hasSubscription(billing({ status: 'active' })), true)
  t.equal(hasSubscription(billing({ status: 'past_due' })), true)
  t.equal(hasSubscription(billing()), false, 'a trial has no card: Checkout, not the portal')
})

t.test('a bar for every limit, with numbers, full at the limit and warned from 80 %', async (t) => {
  const bars = usageBars(billing(), 'en-US', now)
  t.same(
    bars.map((b) => b.key),
    ['sites', 'liveCampaigns', 'members', 'integrations', 'impressions'],
  )
  const by = Object.fromEntries(bars.map((b) => [b.key, b]))
  t.equal(by.sites?.text, '1 of 50')
  t.equal(by.sites?.percent, 2)
  t.equal(by.sites?.level, 'ok')
  t.equal(by.members?.level, 'full')
  t.equal(by.members?.percent, 100)
  t.match(by.members?.note, /upgrade/)
  t.equal(by.integrations?.level, 'warning')
  t.equal(by.impressions?.text, '1,200 of 2,000,000')
  t.match(by.impressions?.note, /Since December 1, 2026/)

  const unlimited = usageBars(billing({ usage: { ...billing().usage, sites: { used: 7, limit: null } } }))
  t.equal(unlimited[0]?.text, '7 (no limit)')
  t.equal(unlimited[0]?.percent, 0)
})

t.test(
  'the impression quota: used up (in grace) and suspended are said, with the plan that has more',
  async (t) => {
    const over = billing({
      plan: { id: 'free', name: 'Free', removeBranding: false },
      status: 'free',
      usage: {
        ...billing().usage,
        impressions: {
          used: 5200,
          limit: 5000,
          periodStart: '2026-12-01T00:00:00Z',
          state: 'over',
          graceEndsAt: '2026-12-10T12:00:00Z',
          suspendedAt: null,
          upgradeTo: { id: 'pro', name: 'Pro' },
        },
      },
    })
    const impressions = usageBars(over, 'en-US', now).at(-1)
    t.equal(impressions?.level, 'full')
    t.equal(impressions?.percent, 100, 'the bar stops at full')
    t.match(impressions?.note, /still shown until December 10, 2026 \(3 days\)\. Pro has more\./)
    const suspended = usageBars(
      billing({ usage: { ...over.usage, impressions: { ...over.usage.impressions, state: 'suspended' } } }),
      'en-US',
      now,
    ).at(-1)
    t.match(suspended?.note, /show no campaigns/)
  },
)

t.test('the offered plans are the API’s plans (libs/payments), limit for limit', async (t) => {
  for (const id of ['pro', 'business'] as const) t.same(OFFER_LIMITS[id], PLANS[id].limits, id)
  t.same(offerOf('pro').points.slice(0, 2), ['5 sites', '25 live campaigns'])
  t.match(offerOf('business').points.join(' | '), /2,000,000 impressions a month/)
})

t.test('a 402 PLAN_LIMIT: what was reached, and the plan to offer first', async (t) => {
  t.same(planLimitDetails({ resource: 'sites', limit: 1, usage: 1, plan: 'free' }), {
    resource: 'sites',
    limit: 1,
    usage: 1,
    plan: 'free',
  })
  t.equal(planLimitDetails([{ field: 'body.x', message: 'y' }]), null)
  t.equal(planLimitDetails(undefined), null)
  t.equal(limitWords('pro', 'sites'), '5 sites')
  t.equal(limitWords('business', 'integrations'), '50 integrations')
  t.equal(limitWords('pro', 'impressions'), null, 'a resource a 402 does not name')
  t.equal(suggestedPlan('free'), 'pro')
  t.equal(suggestedPlan('pro'), 'business')
})
