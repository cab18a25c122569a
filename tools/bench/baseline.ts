/**
 * The bench's yardstick: a bare Fastify with no plugins, run in its own process so it competes
 * for the CPU exactly like the real app does. `GET /` is the hello-world every row is compared
 * with; `POST /echo` parses a JSON body and answers a small JSON of what it got, the reference of
 * the write rows (a body to read and parse, no storage); `GET /headers` is `GET /` with the API's
 * response headers. Reads PORT and HOST from env.
 */
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { answerMemoryReports } from '../../apps/api/src/memory-report.ts'

const app = Fastify({ logger: false })
app.get('/', async () => ({ hello: 'world' }))
// The same hello-world with the five headers every API answer carries (request id, nosniff, HSTS,
// Vary: Origin, Server-Timing) and nothing else: how close to 1.00x any API route can come, since
// each header is bytes to build, check and write on every response.
app.get('/headers', async (_request, reply) => {
  reply.headers({
    'x-request-id': randomUUID(),
    'x-content-type-options': 'nosniff',
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    vary: 'Origin',
  })
  reply.header('server-timing', `total;dur=${reply.elapsedTime.toFixed(2)}`)
  return { hello: 'world' }
})
app.post('/echo', async (request) => {
  const body = request.body as Record<string, unknown> | null
  const items = body && Array.isArray(body.events) ? body.events.length : 0
  return { received: Object.keys(body ?? {}), items }
})

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
await app.listen({ port, host })
// Under PM2 (`npm run bench -- --rss`), its memory is measured as the API's processes are.
answerMemoryReports()
process.send?.('ready')

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().finally(() => process.exit(0))
  })
}
