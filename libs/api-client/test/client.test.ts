import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createApiClient, isApiError } from '../src/index.ts'

/*
 * The client against a real HTTP server speaking the API's shapes: requests go to the path the
 * types name, with their parameters, and error answers are recognised. (The dashboard's browser
 * tests drive it against the real API.)
 */
t.test(
  'a typed request reaches its path, with its query; an error answer is the API error shape',
  async (t) => {
    const seen: string[] = []
    const server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`)
      if (request.url?.startsWith('/v1/teams/0195/sites')) {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(JSON.stringify({ items: [], nextCursor: null }))
        return
      }
      response.writeHead(404, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ statusCode: 404, code: 'NOT_FOUND', message: 'No such team' }))
    })
    server.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    t.teardown(() => server.close())
    const { port } = server.address() as AddressInfo
    const api = createApiClient({ baseUrl: `http://127.0.0.1:${port}` })

    const sites = await api.GET('/v1/teams/{teamId}/sites', {
      params: { path: { teamId: '0195' }, query: { limit: 10 } },
    })
    t.same(sites.data, { items: [], nextCursor: null })
    t.equal(seen[0], 'GET /v1/teams/0195/sites?limit=10')

    const missing = await api.GET('/v1/teams/{teamId}', { params: { path: { teamId: 'other' } } })
    t.equal(missing.response.status, 404)
    t.ok(isApiError(missing.error))
    t.equal(isApiError(missing.error) && missing.error.code, 'NOT_FOUND')
    t.notOk(isApiError('<html>Bad gateway</html>'), 'a proxy page is not taken for an API error')
  },
)
