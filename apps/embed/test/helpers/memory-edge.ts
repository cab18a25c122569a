/**
 * A stand-in edge for browser tests of the script alone: one loopback HTTP server that answers as
 * the Worker on edge.test (the script, the domain document with x-nudge-country, campaigns, and
 * the visitor writes, recorded) and as a customer's site on shop.test (a page with the snippet).
 * The real Worker and API are in journey.test.ts; this one lets a test set any answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { PublishedCampaign } from '@nudge/popup'
import type { Test } from 'tap'
import { FULL_CAMPAIGN_EXAMPLE } from '../../../api/src/modules/campaigns/content.ts'
import { campaignDocument } from '../../../api/src/modules/publishing/documents.ts'
import { buildScript } from '../../build.ts'

export interface LeadRequest {
  key: string | undefined
  body: Record<string, unknown>
}

export interface MemoryEdge {
  port: number
  edge: string
  shop: string
  campaigns: Map<string, PublishedCampaign>
  country: string | null
  /** every event the script sent, in arrival order (retries and beacons included) */
  events: Array<Record<string, unknown>>
  /** the content-type of each events request */
  eventTypes: string[]
  leads: LeadRequest[]
  /** the next lead answers (status, body); afterwards 202 */
  leadAnswers: Array<{ status: number; body: unknown }>
  /** the customer page's <head> extras and <body> */
  page: { head: string; body: string; snippet?: string }
}

let script: Promise<string> | undefined

export async function startMemoryEdge(t: Test): Promise<MemoryEdge> {
  script ??= buildScript().then((built) => built.code)
  const code = await script
  const state: MemoryEdge = {
    port: 0,
    edge: '',
    shop: '',
    campaigns: new Map(),
    country: 'DE',
    events: [],
    eventTypes: [],
    leads: [],
    leadAnswers: [],
    page: { head: '', body: '<h1>Shop</h1><p>Welcome.</p>' },
  }
  const server = createServer((request, response) => {
    handle(state, code, request, response).catch((error: unknown) => {
      response.writeHead(500).end(String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  state.port = (server.address() as AddressInfo).port
  state.edge = `http://edge.test:${state.port}`
  state.shop = `http://shop.test:${state.port}`
  return state
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'x-nudge-country',
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function handle(state: MemoryEdge, code: string, request: IncomingMessage, response: ServerResponse) {
  const url = new URL(request.url ?? '/', `http://${request.headers.host}`)
  if (url.hostname === 'shop.test') {
    const snippet =
      state.page.snippet ?? `<script async src="${state.edge}/nudge.js" data-site="site-1"></script>`
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    response.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title>${state.page.head}${snippet}</head><body>${state.page.body}</body></html>`,
    )
    return
  }
  if (request.method === 'OPTIONS') {
    response.writeHead(204, {
      ...CORS,
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'content-type, idempotency-key',
      'access-control-max-age': '600',
    })
    response.end()
    return
  }
  const country = state.country ? { 'x-nudge-country': state.country } : {}
  // /widget.js: the old system's snippet's URL, which the Worker serves the same script under.
  if (url.pathname === '/nudge.js' || url.pathname === '/widget.js') {
    response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' })
    response.end(code)
    return
  }
  if (url.pathname === '/domains/shop.test.json') {
    const campaigns = [...state.campaigns.values()].map((c) => ({ id: c.id, v: c.v }))
    response.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...CORS,
      ...country,
    })
    response.end(JSON.stringify({ site: 'site-1', hostname: 'shop.test', campaigns }))
    return
  }
  const campaign = /^\/campaigns\/(production|test)\/([^/]+)\.json$/.exec(url.pathname)
  if (campaign && state.campaigns.has(campaign[2] ?? '')) {
    response.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...CORS,
      ...country,
    })
    response.end(JSON.stringify(state.campaigns.get(campaign[2] ?? '')))
    return
  }
  if (request.method === 'POST' && url.pathname === '/public/v1/events') {
    const body = JSON.parse(await readBody(request)) as { events: Array<Record<string, unknown>> }
    state.eventTypes.push(request.headers['content-type'] ?? '')
    state.events.push(...body.events)
    response.writeHead(202, { 'content-type': 'application/json', ...CORS })
    response.end(JSON.stringify({ accepted: body.events.length, duplicates: 0, ignored: 0 }))
    return
  }
  if (request.method === 'POST' && url.pathname === '/public/v1/leads') {
    const body = JSON.parse(await readBody(request)) as Record<string, unknown>
    state.leads.push({ key: request.headers['idempotency-key'] as string | undefined, body })
    const answer = state.leadAnswers.shift() ?? { status: 202, body: { status: 'accepted' } }
    response.writeHead(answer.status, { 'content-type': 'application/json', ...CORS })
    response.end(JSON.stringify(answer.body))
    return
  }
  response.writeHead(404, { ...CORS, 'content-type': 'application/json' })
  response.end(JSON.stringify({ statusCode: 404, message: 'not found' }))
}

export const CAMPAIGN_ID = '0193b1a2-4c5d-7e6f-8a9b-0c1d2e3f4a5b'

/**
 * The API's own full example published by the API's own code, with targeting loosened to this
 * test page (every page, device, language, country unless the test says) and the changes given.
 */
export function exampleCampaign(
  over: {
    id?: string
    targeting?: Record<string, unknown>
    frequency?: Record<string, unknown>
    variants?: unknown[]
  } = {},
): PublishedCampaign {
  const bytes = campaignDocument({
    id: over.id ?? CAMPAIGN_ID,
    type: 'modal',
    version: 1,
    variants: over.variants ?? FULL_CAMPAIGN_EXAMPLE.variants,
    targeting: { visitors: 'all', trigger: { type: 'delay', seconds: 0 }, ...over.targeting },
    frequency: over.frequency ?? { show: 'once', stopAfterConversion: true, stopAfterClose: false },
    schedule: {},
  } as unknown as Parameters<typeof campaignDocument>[0])
  return JSON.parse(bytes.toString()) as PublishedCampaign
}
