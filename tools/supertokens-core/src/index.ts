import { buildServer } from './server.ts'
import { defaultCoreConfig } from './store.ts'

export interface StartSuperTokensCoreOptions {
  /** 0 picks a free port. */
  port?: number
  host?: string
  passwordlessCodeLifetimeMs?: number
  passwordlessMaxCodeInputAttempts?: number
  accessTokenValiditySeconds?: number
  refreshTokenValidityMinutes?: number
  logger?: boolean | Record<string, unknown>
}

export interface SuperTokensCore {
  url: string
  close(): Promise<void>
}

export async function startSuperTokensCore(
  options: StartSuperTokensCoreOptions = {},
): Promise<SuperTokensCore> {
  // Sessions and users live in memory and vanish on restart; production must talk to a
  // real core.
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      'The SuperTokens core stand-in is for development and tests only; in production set SUPERTOKENS_CONNECTION_URI to a real SuperTokens core',
    )
  }
  const app = buildServer({
    config: {
      passwordlessCodeLifetimeMs:
        options.passwordlessCodeLifetimeMs ?? defaultCoreConfig.passwordlessCodeLifetimeMs,
      passwordlessMaxCodeInputAttempts:
        options.passwordlessMaxCodeInputAttempts ?? defaultCoreConfig.passwordlessMaxCodeInputAttempts,
      accessTokenValiditySeconds:
        options.accessTokenValiditySeconds ?? defaultCoreConfig.accessTokenValiditySeconds,
      refreshTokenValidityMinutes:
        options.refreshTokenValidityMinutes ?? defaultCoreConfig.refreshTokenValidityMinutes,
    },
    logger: options.logger ?? false,
  })
  const host = options.host ?? '127.0.0.1'
  await app.listen({ port: options.port ?? 0, host })
  const address = app.server.address()
  if (address === null || typeof address === 'string') {
    await app.close()
    throw new Error('SuperTokens core stand-in did not bind a TCP port')
  }
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${urlHost}:${address.port}`,
    close: async () => {
      await app.close()
    },
  }
}
