import { type Config, loadConfig } from '@nudge/config'
import type { Test } from 'tap'
import { buildApp } from '../../src/server.ts'
import { migratedDatabase } from './database.ts'

/** Config for a test: test defaults, the shared memcached when CI provides one, then overrides. */
export function testConfig(overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    MEMCACHED_SERVERS: process.env.MEMCACHED_SERVERS,
    DASHBOARD_ORIGINS: 'https://app.nudge.test',
    API_DOMAIN: 'http://localhost:3000',
    ...overrides,
  })
}

/**
 * The whole app on its own freshly migrated database (or the one given), closed after the test.
 * Not yet `ready`, so a test may add a route of its own before the first request.
 */
export async function buildTestApp(
  t: Test,
  overrides: Record<string, string | undefined> = {},
  options: Parameters<typeof buildApp>[1] = {},
) {
  const DATABASE_URL = overrides.DATABASE_URL ?? (await migratedDatabase(t))
  const app = await buildApp(testConfig({ ...overrides, DATABASE_URL }), options)
  t.teardown(() => app.close())
  return app
}

/** Lines pino wrote, parsed, for asserting what reached (and did not reach) the logs. */
export function captureLogs() {
  const lines: Array<Record<string, unknown>> = []
  const raw: string[] = []
  return {
    lines,
    raw,
    stream: {
      write(chunk: string) {
        raw.push(chunk)
        lines.push(JSON.parse(chunk) as Record<string, unknown>)
      },
    },
  }
}
