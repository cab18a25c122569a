import fp from 'fastify-plugin'
import type { Config } from './config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

/** Decorates `app.config` with the already-validated config. */
export const configPlugin = fp<{ config: Config }>(
  async (app, { config }) => {
    app.decorate('config', config)
  },
  { name: 'config', fastify: '5.x' },
)
