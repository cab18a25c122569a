import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Config } from '@nudge/config'
import type { FastifyServerOptions } from 'fastify'

/** Paths pino blanks out wherever they appear: credentials, tokens, keys, emails. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["st-auth-mode"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
  '*.secret',
  '*.linkCode',
  '*.userInputCode',
  '*.preAuthSessionId',
  '*.email',
  '*.licenseKey',
]

const REQUEST_ID = /^[\w.:-]{1,128}$/

/** Takes the caller's request id (our edge or Cloudflare's ray) when it is sane, else makes one. */
export function requestIdFrom(req: IncomingMessage): string {
  for (const header of ['x-request-id', 'cf-ray']) {
    const value = req.headers[header]
    if (typeof value === 'string' && REQUEST_ID.test(value)) return value
  }
  return randomUUID()
}

/** Fastify constructor options for logging: JSON to stdout, pretty only for a person at a TTY. */
export function loggerOptions(
  config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>,
  stream?: { write(line: string): void },
): Pick<FastifyServerOptions, 'logger' | 'genReqId'> {
  const pretty = !stream && process.stdout.isTTY && config.NODE_ENV !== 'production'
  return {
    logger: {
      level: config.LOG_LEVEL,
      redact: { paths: redactPaths, censor: '[redacted]' },
      ...(stream ? { stream } : {}),
      ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l' } } } : {}),
    },
    genReqId: requestIdFrom,
  }
}
