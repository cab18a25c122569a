/**
 * The whole visitor path on loopback, nothing mocked: the API (its own migrated database, folder
 * storage, EDGE_SECRET so the Worker is trusted) listening on a port; the Worker under Miniflare
 * (real workerd, `cf` given) serving the built script and what the API published, copied into its
 * R2 bucket as the API's storage would be; a customer's page on shop.example that pastes the
 * snippet the API gives for its site (one loopback hostname per site).
 */
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { Miniflare } from 'miniflare'
import type { Test } from 'tap'
import { buildTestApp, storageDir } from '../../../api/test/helpers/app.ts'
import {
  addSite,
  campaignApi,
  newCampaign,
  objectsIn,
  personalTeam,
} from '../../../api/test/helpers/campaigns.ts'
import { signInAs } from '../../../api/test/helpers/session.ts'
import { workerScript } from '../../../edge/build/worker.ts'
import { buildScript, OUTPUT } from '../../build.ts'

export const EDGE_SECRET = 'embed-journey-edge-secret-0123456789'
export const EDGE_HOST = 'edge.example'

export async function startStack(t: Test, options: { country?: string } = {}) {
  await buildScript()
  const storage = await storageDir(t)
  // The jobs worker runs in this process, so the team's webhook gets its leads while tests wait.
  const app = await buildTestApp(
    t,
    {
      EDGE_SECRET,
      STORAGE_DIR: storage,
      OUTBOUND_ALLOW_LOOPBACK: 'true',
      JOBS_POLL_SECONDS: '0.5',
      // Go-Live's transition is on (old ids taken a day more): the old-snippet journey uses it.
      LEGACY_IDS_UNTIL: new Date(Date.now() + 86_400_000).toISOString(),
    },
    { worker: true },
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  const api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const mf = new Miniflare({
    modules: true,
    script: await workerScript({ scriptFile: OUTPUT }),
    compatibilityDate: '2026-04-26',
    r2Buckets: ['OBJECTS'],
    bindings: { API_ORIGIN: api, EDGE_SECRET },
    cf: { country: options.country ?? 'DE' },
    host: '127.0.0.1',
    port: 0,
  })
  t.teardown(() => mf.dispose())
  const edgePort = Number((await mf.ready).port)
  const edge = `http://${EDGE_HOST}:${edgePort}`
  const bucket = await mf.getR2Bucket('OBJECTS')

  const owner = await signInAs(app, 'owner@shop.example')
  const teamId = await personalTeam(app, owner)

  /** Each customer page by hostname: the snippet the API gave for its site, pasted in <head>. */
  const pages = new Map<string, { head: string; body: string; snippet: string }>()
  const shopServer = createServer((request, response) => {
    const page = pages.get((request.headers.host ?? '').split(':')[0] ?? '')
    if (!page) return void response.writeHead(404).end()
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    response.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title>${page.head}${page.snippet}</head><body>${page.body}</body></html>`,
    )
  })
  await new Promise<void>((resolve) => shopServer.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => shopServer.close(() => resolve())))
  const shopPort = (shopServer.address() as AddressInfo).port

  /** What the API's storage holds, put into the Worker's bucket (as the R2 mirror would). */
  const mirror = async () => {
    for (const [key] of await objectsIn(storage)) {
      const text = await readFile(path.join(storage, key), 'utf8')
      await bucket.put(key, text, {
        httpMetadata: {
          contentType: 'application/json; charset=utf-8',
          cacheControl: key.startsWith('domains/')
            ? 'public, max-age=60'
            : 'public, max-age=31536000, immutable',
        },
      })
    }
  }

  /** A registered site with its page on http://{hostname}:{port}/ (a loopback name). */
  const addShop = async (hostname: string) => {
    const site = await addSite(app, owner, teamId, hostname)
    const snippet = site.snippet.replace(/src="[^"]*\/nudge\.js"/, `src="${edge}/nudge.js"`)
    const page = { head: '', body: '<h1>Shop</h1><p>Welcome.</p>', snippet }
    pages.set(hostname, page)
    await mirror()
    return { site, page, url: `http://${hostname}:${shopPort}/` }
  }

  /** A campaign made from `body` on the site, put live, mirrored to the edge. */
  const liveCampaign = async (siteId: string, body: Record<string, unknown>) => {
    const created = await newCampaign(app, owner, teamId, { siteId, ...body })
    await campaignApi(app, owner, teamId).walk(created.id, created.version, 'test', 'live')
    await mirror()
    return created
  }

  /** Today's counts of the campaign as the API's stats route gives them. */
  const campaignStats = async (campaignId: string) => {
    const day = new Date().toISOString().slice(0, 10)
    const res = await app.inject({
      method: 'GET',
      url: `/v1/teams/${teamId}/campaigns/${campaignId}/stats?from=${day}&to=${day}`,
      headers: owner.headers,
    })
    if (res.statusCode !== 200) throw new Error(`stats: ${res.statusCode} ${res.body}`)
    type Counts = { impressions: number; closes: number; conversions: number; leads: number }
    return res.json() as {
      totals: Counts
      variants: Array<Counts & { id: string; steps: Array<{ step: number; reached: number }> }>
    }
  }

  const stats = async (campaignId: string) => (await campaignStats(campaignId)).totals

  const leads = async (campaignId: string) => {
    const res = await app.inject({
      method: 'GET',
      url: `/v1/teams/${teamId}/leads?campaignId=${campaignId}`,
      headers: owner.headers,
    })
    if (res.statusCode !== 200) throw new Error(`leads: ${res.statusCode} ${res.body}`)
    return res.json().items as Array<{ email: string; campaignId: string; fields: Record<string, unknown> }>
  }

  /** The team's webhook at `url`, connected to the campaign. */
  const connectWebhook = async (campaignId: string, url: string) => {
    const hook = await app.inject({
      method: 'POST',
      url: `/v1/teams/${teamId}/integrations`,
      headers: owner.headers,
      payload: { kind: 'webhook', name: 'CRM', url },
    })
    if (hook.statusCode !== 201) throw new Error(`webhook: ${hook.statusCode} ${hook.body}`)
    const linked = await app.inject({
      method: 'PUT',
      url: `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${hook.json().id}`,
      headers: owner.headers,
      payload: {},
    })
    if (linked.statusCode >= 300) throw new Error(`webhook link: ${linked.statusCode} ${linked.body}`)
  }

  return {
    app,
    api,
    mf,
    bucket,
    edge,
    owner,
    teamId,
    addShop,
    liveCampaign,
    mirror,
    stats,
    campaignStats,
    leads,
    connectWebhook,
  }
}
