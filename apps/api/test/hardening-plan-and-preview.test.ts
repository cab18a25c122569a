import { createServer } from 'node:net'
import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'

/*
 * What a person is shown must be true: the plan a team is on is the one in effect (Business for
 * the 14-day trial, as billing says), wherever a team is shown; and the preview's document URL
 * reaches this API on the port it listens on when no public origin is configured.
 */

/** A TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

// As a developer runs it: no API_DOMAIN, another port than 3000.
const port = await freePort()
const app = await buildTestApp(t, { API_DOMAIN: undefined, PORT: String(port) })
await app.listen({ port, host: 'localhost' })
const ann = await signInAs(app, 'ann@example.com')
const bob = await signInAs(app, 'bob@example.com')
const teamId = await personalTeam(app, ann)

const get = (url: string, who = ann) => app.inject({ method: 'GET', url, headers: who.headers })

t.test(
  'during the trial every place that shows a team shows the Business plan billing reports',
  async (t) => {
    const billing = (await get(`/v1/teams/${teamId}/billing`)).json()
    t.match(billing, { plan: { id: 'business' }, status: 'trialing' }, 'billing: business, trialing')

    const listed = (await get('/v1/teams')).json().items as Array<{ id: string; plan: string }>
    t.equal(listed.find((team) => team.id === teamId)?.plan, 'business', 'GET /v1/teams')
    t.equal((await get(`/v1/teams/${teamId}`)).json().plan, 'business', 'GET /v1/teams/:id')

    const created = await app.inject({
      method: 'POST',
      url: '/v1/teams',
      headers: ann.headers,
      payload: { name: 'Growth' },
    })
    t.equal(created.json().plan, 'business', 'POST /v1/teams: a new team starts its trial')
    const growth = created.json().id as string
    const renamed = await app.inject({
      method: 'PATCH',
      url: `/v1/teams/${growth}`,
      headers: ann.headers,
      payload: { name: 'Growth & retention' },
    })
    t.equal(renamed.json().plan, 'business', 'PATCH /v1/teams/:id')

    const invited = await app.inject({
      method: 'POST',
      url: `/v1/teams/${growth}/invites`,
      headers: ann.headers,
      payload: { email: 'bob@example.com', role: 'editor' },
    })
    t.equal(invited.statusCode, 201, invited.body)
    const mail = (await app.inject({ url: '/dev/mailbox?to=bob%40example.com' })).json().messages as Array<{
      text: string
    }>
    const token = mail.map((m) => m.text.match(/\/invites\/accept#([A-Za-z0-9_-]+)/)?.[1]).find(Boolean)
    const accepted = await app.inject({
      method: 'POST',
      url: '/v1/invites/accept',
      headers: bob.headers,
      payload: { token },
    })
    t.equal(accepted.statusCode, 200, accepted.body)
    t.equal(accepted.json().team.plan, 'business', 'POST /v1/invites/accept')

    // The trial over, without a subscription: free, in every place as in billing.
    await sql`UPDATE teams SET trial_ends_at = now() - interval '1 minute' WHERE id = ${teamId}`.execute(
      app.db,
    )
    t.match((await get(`/v1/teams/${teamId}/billing`)).json(), { plan: { id: 'free' } })
    const after = (await get('/v1/teams')).json().items as Array<{ id: string; plan: string }>
    t.equal(after.find((team) => team.id === teamId)?.plan, 'free', 'after the trial: free')
  },
)

t.test('the preview’s apiDocumentUrl reaches this API on its PORT', async (t) => {
  const site = await addSite(app, ann, teamId, 'shop.example')
  const campaign = await newCampaign(app, ann, teamId, { siteId: site.id })
  await campaignApi(app, ann, teamId).walk(campaign.id, campaign.version, 'test')
  const preview = await get(`/v1/teams/${teamId}/campaigns/${campaign.id}/preview`)
  t.equal(preview.statusCode, 200, preview.body)
  const { apiDocumentUrl } = preview.json() as { apiDocumentUrl: string }
  t.equal(apiDocumentUrl, `http://localhost:${port}/public/v1/sites/shop.example/preview/${campaign.id}`)
  const served = await fetch(apiDocumentUrl)
  t.equal(served.status, 200, 'the URL answers')
  t.equal(((await served.json()) as { id: string }).id, campaign.id, 'with the campaign’s test document')
})
