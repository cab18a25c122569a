import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { type Config, list } from '@nudge/config'
import { loggerOptions } from '@nudge/logging'
import Fastify, { type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { app } from './app.ts'

export type AppConfig = Config

/**
 * Builds the whole API for a given config: what `main.ts` listens with and what every test
 * calls. Nothing is read from process.env here.
 */
export type App = Awaited<ReturnType<typeof buildApp>>

export async function buildApp(
  config: AppConfig,
  {
    logStream,
    ...options
  }: Partial<FastifyServerOptions> & { logStream?: { write(line: string): void } } = {},
) {
  const instance = Fastify({
    ...loggerOptions(config, logStream),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Requests arriving during a reload are served, not refused: see plugins/drain.ts.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // X-Forwarded-For is believed from our own proxies only; anyone else could write it. The
    // edge layer then takes the visitor's address from CF-Connecting-IP when Cloudflare sent it.
    trustProxy: list(config.TRUSTED_PROXIES).length > 0 ? list(config.TRUSTED_PROXIES) : false,
    ajv: {
      customOptions: { allErrors: true, coerceTypes: 'array', useDefaults: true, removeAdditional: false },
    },
    ...options,
  }).withTypeProvider<TypeBoxTypeProvider>()
  // Not encapsulated: the layers' decorators, hooks and handlers reach every route, including
  // routes a test adds to the returned instance.
  await instance.register(fp(app), { config })
  return instance
}
