/**
 * The bench's yardstick: a bare Fastify hello-world with no plugins, run in its own process so
 * it competes for the CPU exactly like the real app does. Reads PORT and HOST from env.
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/', async () => ({ hello: 'world' }))

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
await app.listen({ port, host })
process.send?.('ready')

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().finally(() => process.exit(0))
  })
}
