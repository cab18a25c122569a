/**
 * The bench's yardstick: a bare Fastify with no plugins, run in its own process so it competes
 * for the CPU exactly like the real app does. `GET /` is the hello-world every row is compared
 * with; `POST /echo` parses a JSON body and answers a small JSON of what it got, the reference of
 * the write rows (a body to read and parse, no storage). Reads PORT and HOST from env.
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/', async () => ({ hello: 'world' }))
app.post('/echo', async (request) => {
  const body = request.body as Record<string, unknown> | null
  const items = body && Array.isArray(body.events) ? body.events.length : 0
  return { received: Object.keys(body ?? {}), items }
})

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
await app.listen({ port, host })
process.send?.('ready')

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().finally(() => process.exit(0))
  })
}
