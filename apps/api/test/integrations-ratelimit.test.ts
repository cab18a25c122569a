import { startMailerliteStandIn } from '@nudge/mailerlite-stand-in'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, liveLeadCampaign, personalTeam } from './helpers/campaigns.ts'
import { migratedDatabase } from './helpers/database.ts'
import { eventually } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

// Mailerlite's per-account limit is kept by our workers together (counted in PostgreSQL), not
// discovered by 429s. Here the limit is 4 a minute, with two worker processes' worth of apps.
const KEY = 'mlsk-rate-limited-account-0123'
const LIMIT = 4
const mailerlite = await startMailerliteStandIn({ apiKeys: [KEY] })
t.teardown(() => mailerlite.close())
const DATABASE_URL = await migratedDatabase(t)
const settings = {
  DATABASE_URL,
  MAILERLITE_API_URL: mailerlite.url,
  MAILERLITE_REQUESTS_PER_MINUTE: String(LIMIT),
  LEAD_MIN_FILL_MS: '0',
  JOBS_POLL_SECONDS: '0.5',
}
const workers = [
  await buildTestApp(t, settings, { worker: true }),
  await buildTestApp(t, settings, { worker: true }),
]
const app = workers[1]
if (!app) throw new Error('no app')
await Promise.all(workers.map((w) => w.ready()))

t.test('ten leads, a limit of four a minute: four sent now, the rest wait for the next minute', async (t) => {
  // A minute about to turn would let a second window in: start at the top of one.
  const intoMinute = Date.now() % 60000
  if (intoMinute > 40000) await new Promise((resolve) => setTimeout(resolve, 60500 - intoMinute))
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const site = await addSite(app, ann, teamId, 'shop.example')
  const campaign = await liveLeadCampaign(app, ann, teamId, site.id)
  const group = mailerlite.state.createGroup(KEY, 'Leads')
  const ml = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/integrations`,
    headers: ann.headers,
    payload: { kind: 'mailerlite', name: 'Limited', apiKey: KEY },
  })
  await app.inject({
    method: 'PUT',
    url: `/v1/teams/${teamId}/campaigns/${campaign.id}/integrations/${ml.json().id}`,
    headers: ann.headers,
    payload: { groupId: group.id },
  })
  const before = mailerlite.state.requests.length
  for (let n = 0; n < 10; n++) {
    await app.inject({
      method: 'POST',
      url: '/public/v1/leads',
      headers: { origin: 'https://shop.example' },
      payload: {
        campaignId: campaign.id,
        variantId: 'a',
        email: `l${n}@example.com`,
        fields: {},
        fillMs: 5000,
      },
    })
  }
  await eventually(async () => mailerlite.state.subscribersOf(KEY).length === LIMIT, 10000, 'the first four')
  const waiting = await eventually(async () => {
    const rows = await app.db
      .selectFrom('integration_deliveries')
      .select(['status', 'next_attempt_at', 'attempts'])
      .where('status', '=', 'retrying')
      .execute()
    return rows.length === 6 && rows
  })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(mailerlite.state.subscribersOf(KEY).length, LIMIT, 'no more than the limit this minute')
  const sent = mailerlite.state.requests.slice(before)
  t.equal(sent.filter((r) => r.status === 429).length, 0, 'never a 429 from Mailerlite')
  const nextMinute = Math.ceil(Date.now() / 60000) * 60000
  t.ok(
    waiting.every((row) => (row.next_attempt_at?.getTime() ?? 0) >= nextMinute - 1000),
    'the rest wait for the next minute',
  )
  t.ok(
    waiting.every((row) => row.attempts === 0),
    'waiting for the limit is not a failed attempt',
  )
})
