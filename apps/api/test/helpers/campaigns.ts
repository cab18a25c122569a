import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import type { LightMyRequestResponse } from 'fastify'

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
type Injectable = {
  inject(options: {
    method: Method
    url: string
    headers?: Record<string, string>
    payload?: unknown
  }): Promise<LightMyRequestResponse>
}
type Who = { headers: Record<string, string> }

/** The caller's personal team (every user gets one at first sign-in). */
export async function personalTeam(app: Injectable, who: Who): Promise<string> {
  const teams = (await app.inject({ method: 'GET', url: '/v1/teams', headers: who.headers })).json()
  return (teams.items as Array<{ id: string; personal: boolean }>).find((team) => team.personal)?.id ?? ''
}

export async function addSite(app: Injectable, who: Who, teamId: string, hostname: string) {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/sites`,
    headers: who.headers,
    payload: { hostname },
  })
  if (res.statusCode !== 201) throw new Error(`site not created: ${res.body}`)
  return res.json() as { id: string; hostname: string; snippet: string; firstSeenAt: string | null }
}

export async function newCampaign(
  app: Injectable,
  who: Who,
  teamId: string,
  body: Record<string, unknown>,
): Promise<{ id: string; version: number; status: string; variants: Array<{ id: string }> }> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/campaigns`,
    headers: who.headers,
    payload: { name: 'Welcome', type: 'modal', ...body },
  })
  if (res.statusCode !== 201) throw new Error(`campaign not created: ${res.body}`)
  return res.json()
}

/** A draft campaign on `siteId` whose one variant ('a') is a form with a required email field. */
export function leadFormCampaign(app: Injectable, who: Who, teamId: string, siteId: string) {
  return newCampaign(app, who, teamId, {
    siteId,
    variants: [
      {
        id: 'a',
        name: 'Form',
        weight: 100,
        steps: [
          {
            blocks: [{ type: 'text', text: 'Join' }],
            buttons: [{ label: 'Join', action: 'submit' }],
            form: { fields: [{ name: 'email', type: 'email', label: 'Email', required: true }] },
          },
        ],
      },
    ],
  })
}

/** The same campaign, live. */
export async function liveLeadCampaign(app: Injectable, who: Who, teamId: string, siteId: string) {
  const campaign = await leadFormCampaign(app, who, teamId, siteId)
  await campaignApi(app, who, teamId).walk(campaign.id, campaign.version, 'test', 'live')
  return campaign
}

/** If-Match for a version ("<n>"), any version (*), or none. */
function ifMatch(version: number | string | undefined): Record<string, string> {
  if (version === undefined) return {}
  return { 'if-match': version === '*' ? '*' : `"${version}"` }
}

export function campaignApi(app: Injectable, who: Who, teamId: string) {
  const base = `/v1/teams/${teamId}/campaigns`
  return {
    get: (id: string) => app.inject({ method: 'GET', url: `${base}/${id}`, headers: who.headers }),
    patch: (id: string, version: number | string | undefined, payload: unknown) =>
      app.inject({
        method: 'PATCH',
        url: `${base}/${id}`,
        headers: { ...who.headers, ...ifMatch(version) },
        payload,
      }),
    status: (id: string, version: number | '*' | undefined, status: string) =>
      app.inject({
        method: 'POST',
        url: `${base}/${id}/status`,
        headers: { ...who.headers, ...ifMatch(version) },
        payload: { status },
      }),
    /** Moves through statuses, each at the version the previous answer gave; returns the last body. */
    async walk(id: string, version: number, ...statuses: string[]) {
      let body = { version } as { version: number; status: string; publishedVersion: number | null }
      for (const status of statuses) {
        const res = await this.status(id, body.version, status)
        if (res.statusCode !== 200) throw new Error(`→ ${status}: ${res.body}`)
        body = res.json()
      }
      return body
    },
  }
}

/** Every file under a storage folder: key → sha256 of its bytes and when it was last written. */
export async function objectsIn(
  dir: string,
): Promise<Map<string, { sha: string; mtimeNs: bigint; json: unknown }>> {
  const found = new Map<string, { sha: string; mtimeNs: bigint; json: unknown }>()
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    const bytes = await readFile(file)
    const { mtimeNs } = await stat(file, { bigint: true })
    found.set(path.relative(dir, file).split(path.sep).join('/'), {
      sha: createHash('sha256').update(bytes).digest('hex'),
      mtimeNs,
      json: JSON.parse(bytes.toString()),
    })
  }
  return found
}

/** Keys written (new or rewritten) and deleted between two listings of a storage folder. */
export function changes(
  before: Map<string, { mtimeNs: bigint }>,
  after: Map<string, { mtimeNs: bigint }>,
): { written: string[]; deleted: string[] } {
  const written = [...after]
    .filter(([key, now]) => before.get(key)?.mtimeNs !== now.mtimeNs)
    .map(([key]) => key)
  const deleted = [...before.keys()].filter((key) => !after.has(key))
  return { written: written.sort(), deleted: deleted.sort() }
}
