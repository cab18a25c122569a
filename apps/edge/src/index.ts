import { preflight } from './cors.ts'
import { demoPage, demoPagesOn, isDemoPath } from './demo.ts'
import type { EdgeRequest, Env } from './env.ts'
import { errorResponse } from './errors.ts'
import { FORWARDED_PATHS, forward } from './forward.ts'
import { legacyRoute, serveLegacy } from './legacy.ts'
import { objectRoute, serveObject } from './objects.ts'
import { readPreflight } from './public-read.ts'
import { scriptRoute, serveScript } from './script.ts'

/*
 * The edge Worker: published objects and the popup script to visitors' browsers, and visitors'
 * writes to the API. Routes (README, "Edge Worker"):
 *   GET|HEAD /domains/{hostname}.json, /campaigns/{production|test}/{id}.json   objects
 *   GET|HEAD /nudge.js, /nudge.{hash10}.js, /widget.js (the old snippet's)      the popup script
 *   GET|HEAD /w/{oldDomainId}.json, /c/{oldCampaignId}.json     old names, through the legacy map
 *   OPTIONS  /public/v1/*                                                        CORS preflight
 *   POST     /public/v1/events, /public/v1/leads                                 forwarded
 *   GET      /demo/{hostname}                                   only with DEMO_PAGES (local loop)
 */
export default {
  async fetch(request: EdgeRequest, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url)
    if (request.method === 'OPTIONS' && pathname.startsWith('/public/v1/')) return preflight(request, env)
    if (FORWARDED_PATHS.has(pathname)) {
      if (request.method === 'POST') return forward(request, env)
      return errorResponse(405, 'METHOD_NOT_ALLOWED', 'Send this with POST', { allow: 'POST, OPTIONS' })
    }
    const object = objectRoute(pathname)
    const legacy = object === null ? legacyRoute(pathname) : null
    const script = object === null && legacy === null ? scriptRoute(pathname) : null
    const demo = demoPagesOn(env) && isDemoPath(pathname)
    if (object === null && legacy === null && script === null && !demo)
      return errorResponse(404, 'NOT_FOUND', 'Nothing is served at this path')
    if (request.method === 'OPTIONS' && !demo) return readPreflight()
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return errorResponse(405, 'METHOD_NOT_ALLOWED', 'This is read with GET or HEAD', {
        allow: demo ? 'GET, HEAD' : 'GET, HEAD, OPTIONS',
      })
    }
    if (object !== null) return serveObject(request, env, object)
    if (legacy !== null) return serveLegacy(request, env, legacy)
    if (script !== null) return serveScript(request, script)
    return demoPage(request)
  },
}
