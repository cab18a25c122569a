import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { Type } from '@fastify/type-provider-typebox'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'

/**
 * The dashboard is served from its own origin and calls /v1 with credentials: before every
 * PATCH, PUT and DELETE (and any request with an Authorization header) the browser sends a
 * preflight, and refuses the request unless the answer allows that origin, that method and
 * every header it is about to send. The routes are read from /docs/json, so a route added
 * later is checked without touching this file.
 */

const DASHBOARD = 'https://app.nudge.test' // the test config's DASHBOARD_ORIGINS
const EVIL = 'https://evil.example'
/** What the SuperTokens frontend SDK and our dashboard put on a request. */
const REQUESTED_HEADERS = ['content-type', 'authorization', 'rid', 'st-auth-mode', 'fdi-version', 'anti-csrf']
const METHODS = ['get', 'put', 'post', 'delete', 'patch']

const tokens = (value: string | null) =>
  (value ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter(Boolean)

t.test('CORS: a preflight from the dashboard allows every method of every /v1 route', async (t) => {
  const app = await buildTestApp(t)
  // Routes for the methods the dashboard will use, so they are checked before the first real
  // one exists; they are in /docs/json like any route.
  const Params = Type.Object({ id: Type.String({ format: 'uuid' }) })
  const Body = Type.Object({ name: Type.String({ maxLength: 100 }) }, { additionalProperties: false })
  const Ok = Type.Object({ ok: Type.Boolean() })
  app.patch(
    '/v1/test/cors/:id',
    { schema: { summary: 'CORS test: edit', params: Params, body: Body, response: { 200: Ok } } },
    async () => ({ ok: true }),
  )
  app.put(
    '/v1/test/cors/:id/settings',
    { schema: { summary: 'CORS test: replace', params: Params, body: Body, response: { 200: Ok } } },
    async () => ({ ok: true }),
  )
  app.delete(
    '/v1/test/cors/:id',
    { schema: { summary: 'CORS test: delete', params: Params, response: { 200: Ok } } },
    async () => ({ ok: true }),
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const doc = (await (await fetch(`${base}/docs/json`)).json()) as {
    paths: Record<string, Record<string, unknown>>
  }
  type Operation = { parameters?: Array<{ in: string; name: string }> }
  const routes = Object.entries(doc.paths as Record<string, Record<string, Operation>>)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, operation]) => ({
          method: method.toUpperCase(),
          path,
          // The headers the route itself declares (If-Match, Idempotency-Key): a browser sends them too.
          headers: (operation.parameters ?? [])
            .filter((parameter) => parameter.in === 'header')
            .map((parameter) => parameter.name.toLowerCase()),
        })),
    )
  const methods = new Set(routes.map((route) => route.method))
  for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
    t.ok(methods.has(method), `the route table has a /v1 ${method} route to check`)
  }
  t.comment(`${routes.length} /v1 routes: ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}`)

  t.ok(
    routes.some((route) => route.headers.includes('if-match')),
    'a /v1 route declares If-Match, so its preflight is checked for it',
  )
  const preflight = (origin: string, method: string, url: string, headers: string[] = []) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': [...REQUESTED_HEADERS, ...headers].join(','),
      },
      signal: AbortSignal.timeout(5000),
    })

  for (const route of routes) {
    const url = `${base}${route.path.replace(/\{[^}]+\}/g, () => randomUUID())}`
    const what = `${route.method} ${route.path}`
    await t.test(what, async (t) => {
      const res = await preflight(DASHBOARD, route.method, url, route.headers)
      await res.arrayBuffer()
      t.ok([200, 204].includes(res.status), `preflight answered 204/200 (got ${res.status})`)
      t.equal(res.headers.get('access-control-allow-origin'), DASHBOARD, 'the dashboard origin is allowed')
      t.equal(res.headers.get('access-control-allow-credentials'), 'true', 'with credentials')
      const allowedMethods = tokens(res.headers.get('access-control-allow-methods'))
      t.ok(
        allowedMethods.includes(route.method.toLowerCase()),
        `${route.method} is an allowed method (allowed: ${allowedMethods.join(', ') || 'none'})`,
      )
      const allowedHeaders = tokens(res.headers.get('access-control-allow-headers'))
      const missing = [...REQUESTED_HEADERS, ...route.headers].filter(
        (header) => !allowedHeaders.includes(header),
      )
      t.same(missing, [], `every requested header is allowed (allowed: ${allowedHeaders.join(', ')})`)

      // The answer to the request itself must be readable by the dashboard too, whatever its status.
      const actual = await fetch(url, {
        method: route.method,
        headers: {
          origin: DASHBOARD,
          authorization: 'Bearer not-a-session',
          ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { 'content-type': 'application/json' } : {}),
        },
        ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { body: '{}' } : {}),
        signal: AbortSignal.timeout(5000),
      })
      await actual.arrayBuffer()
      t.equal(
        actual.headers.get('access-control-allow-origin'),
        DASHBOARD,
        `the ${actual.status} answer to the request itself is readable by the dashboard`,
      )
      t.equal(actual.headers.get('access-control-allow-credentials'), 'true', 'with credentials')

      const evil = await preflight(EVIL, route.method, url)
      await evil.arrayBuffer()
      t.equal(
        evil.headers.get('access-control-allow-origin'),
        null,
        `${EVIL} gets no access-control-allow-origin`,
      )
    })
  }
})
