import { preflight } from './cors.ts'
import type { EdgeRequest, Env } from './env.ts'
import { errorResponse } from './errors.ts'
import { FORWARDED_PATHS, forward } from './forward.ts'
import { objectRoute, serveObject } from './objects.ts'

/*
 * The edge Worker: published objects from R2 to visitors' browsers, and visitors' writes to the
 * API. Routes (README, "Edge Worker"):
 *   GET|HEAD /domains/{hostname}.json, /campaigns/{production|test}/{id}.json   objects
 *   OPTIONS  /public/v1/*                                                        CORS preflight
 *   POST     /public/v1/events, /public/v1/leads                                 forwarded
 */
export default {
  async fetch(request: EdgeRequest, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url)
    if (request.method === 'OPTIONS' && pathname.startsWith('/public/v1/')) return preflight(request, env)
    if (FORWARDED_PATHS.has(pathname)) {
      if (request.method === 'POST') return forward(request, env)
      return errorResponse(405, 'METHOD_NOT_ALLOWED', 'Send this with POST', { allow: 'POST, OPTIONS' })
    }
    const route = objectRoute(pathname)
    if (route !== null) {
      if (request.method === 'GET' || request.method === 'HEAD') return serveObject(request, env, route)
      return errorResponse(405, 'METHOD_NOT_ALLOWED', 'Objects are read with GET or HEAD', {
        allow: 'GET, HEAD',
      })
    }
    return errorResponse(404, 'NOT_FOUND', 'Nothing is served at this path')
  },
}
