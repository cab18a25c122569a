import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/**
 * Zero-downtime reloads. Fastify would answer 503 to requests arriving while it closes
 * (`return503OnClosing`, turned off in buildApp) and would cut idle keep-alive connections
 * a client may be writing to. Instead, before closing we keep serving for up to DRAIN_MS and
 * ask every keep-alive client to reconnect (`Connection: close`), so it moves to a new worker
 * between requests rather than in the middle of one.
 */
export const drainPlugin = fp(
  async (app: FastifyInstance) => {
    let draining = false
    // A callback hook: every response passes here, and an async one would cost each a promise.
    app.addHook('onSend', (_request, reply, _payload, done) => {
      if (draining) reply.header('connection', 'close')
      done()
    })
    app.addHook('preClose', async () => {
      draining = true
      const deadline = Date.now() + app.config.DRAIN_MS
      while (Date.now() < deadline && (await openConnections(app)) > 0) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })
  },
  { name: 'drain', dependencies: ['config'], fastify: '5.x' },
)

function openConnections(app: FastifyInstance): Promise<number> {
  return new Promise((resolve) => {
    if (!app.server.listening) return resolve(0)
    app.server.getConnections((error, count) => resolve(error ? 0 : count))
  })
}
