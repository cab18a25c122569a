import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type Config, loadConfig } from '@nudge/config'
import { startSuperTokensCore } from '@nudge/supertokens-core'
import tap, { type Test } from 'tap'
import { buildApp } from '../../src/server.ts'
import { migratedDatabase } from './database.ts'

/** Config for a test: test defaults, the shared memcached when CI provides one, then overrides. */
export function testConfig(overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    MEMCACHED_SERVERS: process.env.MEMCACHED_SERVERS,
    DASHBOARD_ORIGINS: 'https://app.nudge.test',
    API_DOMAIN: 'https://api.nudge.test',
    // Building an app blocks the loop for a while, and tap runs files side by side: only the
    // load-shedding test wants shedding.
    LOAD_SHED_EVENT_LOOP_DELAY_MS: '0',
    // On a loaded machine a memcached answer can be later than the default 150 ms, which opens the
    // breaker and restarts counters locally (a limit then lets twice its count through): exact
    // counts need memcached's answer. The outage tests set a short timeout of their own.
    CACHE_TIMEOUT_MS: '2000',
    // Emails go to the dev mailbox unless the test brings an SMTP server of its own.
    DEV_MAILBOX: overrides.SMTP_URL ? undefined : 'true',
    ...overrides,
  })
}

let core: Promise<string> | undefined

/** One SuperTokens core stand-in per test process (the SDK itself is a per-process singleton). */
export function superTokensCore(): Promise<string> {
  core ??= startSuperTokensCore({ port: 0 }).then((started) => {
    tap.teardown(() => started.close())
    return started.url
  })
  return core
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
  const SUPERTOKENS_CONNECTION_URI = overrides.SUPERTOKENS_CONNECTION_URI ?? (await superTokensCore())
  // Apps on one database are workers of one deployment; others must not share memcached keys.
  const CACHE_KEY_PREFIX = overrides.CACHE_KEY_PREFIX ?? new URL(DATABASE_URL).pathname.slice(1)
  // Published objects go to a folder of the test's own (pass STORAGE_DIR to share one between apps).
  const STORAGE_DIR = overrides.STORAGE_DIR ?? (await storageDir(t))
  const app = await buildApp(
    testConfig({ ...overrides, DATABASE_URL, SUPERTOKENS_CONNECTION_URI, CACHE_KEY_PREFIX, STORAGE_DIR }),
    options,
  )
  t.teardown(() => app.close())
  return app
}

/** A folder for published objects, removed after the test. */
export async function storageDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'nudge-objects-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
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
