import http from 'node:http'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'

function get(port: number, path: string, agent: http.Agent) {
  return new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = ''
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
        )
      })
      .on('error', reject)
  })
}

t.test('closing finishes in-flight requests and keeps serving during the drain', async (t) => {
  const app = await buildTestApp(t, { DRAIN_MS: '800' })
  app.get('/v1/test/slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, 600))
    return { done: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => agent.destroy())

  const warm = await get(port, '/health', agent)
  t.equal(warm.status, 200)
  t.not(warm.connection, 'close', 'keep-alive before shutdown')

  const inFlight = get(port, '/v1/test/slow', agent)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const closing = app.close()
  await new Promise((resolve) => setTimeout(resolve, 50))
  const duringDrain = await get(port, '/health', agent)
  t.equal(duringDrain.status, 200, 'a request arriving while closing is served, not refused with 503')
  t.equal(duringDrain.connection, 'close', 'and the client is told to reconnect elsewhere')

  const slow = await inFlight
  t.equal(slow.status, 200, 'the in-flight request completed')
  t.same(JSON.parse(slow.body), { done: true })
  await closing
})
