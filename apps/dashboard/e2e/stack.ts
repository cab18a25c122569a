/**
 * What `npm start` runs, started per browser test file on loopback ports: the API (buildApp on a
 * freshly migrated database, with the SuperTokens core, Stripe and Mailerlite stand-ins and the
 * dev mailbox), the job worker when asked, the dashboard (Vite's dev server, as `npm start`), and
 * Debian's Chromium. Everything is closed when the test file ends.
 *
 * The dashboard and the API run on two origins of one site, as in production
 * (https://app.nudge.example and https://api.nudge.example): http://app.nudge.test:<port> and
 * http://api.nudge.test:<port>, which Chromium resolves to 127.0.0.1. The session travels as
 * production's does (cookie mode, see README "Dashboard"); `mode: 'header'` runs the other.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ApiClient, createApiClient } from '@nudge/api-client'
import { loadConfig } from '@nudge/config'
import { type MailerliteStandIn, startMailerliteStandIn } from '@nudge/mailerlite-stand-in'
import { type StripeStandIn, startStripeStandIn } from '@nudge/stripe-stand-in'
import { startSuperTokensCore } from '@nudge/supertokens-core'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { Test } from 'tap'
import { createServer as createViteServer, type ViteDevServer } from 'vite'
import { launchChromium, screenshotAtEnd as saveAtEnd, screenshot } from '../../../tools/dev/browser.ts'
import { type App, buildApp } from '../../api/src/server.ts'
import { migratedDatabase } from '../../api/test/helpers/database.ts'

export { screenshot }

/** The launcher's view of a test (tap's own Test type spells `skip` with more overloads). */
type LauncherTest = Parameters<typeof launchChromium>[0]

/** At the end of the test, a screenshot of the page (`failed-<name>` when it failed), in .data/screenshots. */
export function screenshotAtEnd(t: Test, page: Page, name: string): void {
  saveAtEnd(t as unknown as LauncherTest, page, name)
}

const dashboardRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export const DASHBOARD_HOST = 'app.nudge.test'
export const API_HOST = 'api.nudge.test'

export type SessionMode = 'cookie' | 'header'

export interface StackOptions {
  /** How the dashboard's session travels; production's choice (cookie) unless told. */
  mode?: SessionMode
  /** Also run the job worker (deliveries, emails sent by jobs, schedules). */
  worker?: boolean
  /** More config for the API, e.g. a plan limit. */
  env?: Record<string, string | undefined>
}

export interface Stack {
  mode: SessionMode
  /** The API's origin as the browser sees it (http://api.nudge.test:<port>). */
  apiUrl: string
  /** The API on loopback, for calls from the test itself. */
  apiLocal: string
  /** The dashboard's origin as the browser sees it. */
  dashboardUrl: string
  app: App
  worker: App | undefined
  stripe: StripeStandIn
  mailerlite: MailerliteStandIn
  browser: Browser
  /** A fresh browser profile (cookies, storage) with one page, at the given width (default 1280). */
  newPage(options?: { width?: number; height?: number }): Promise<{ context: BrowserContext; page: Page }>
  /** Emails the dev mailbox holds for `to`, newest first. */
  mailbox(to: string): Promise<Array<{ subject: string; text: string; html: string; sentAt: string }>>
  /** The newest link in an email to `to` whose URL contains `part` (e.g. '/auth/verify'), waiting for it. */
  linkFromMailbox(to: string, part: string, after?: number): Promise<string>
}

/** A port free right now on 127.0.0.1 (the API's address must be known before it is built). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

async function storageDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'nudge-e2e-objects-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Starts everything, or returns undefined when Chromium is missing (the test is then skipped,
 * or failed under CI=true, with one line naming the package).
 */
export async function startStack(t: Test, options: StackOptions = {}): Promise<Stack | undefined> {
  const mode = options.mode ?? 'cookie'
  const [apiPort, dashboardPort] = [await freePort(), await freePort()]
  const apiUrl = `http://${API_HOST}:${apiPort}`
  const apiLocal = `http://127.0.0.1:${apiPort}`
  const dashboardUrl = `http://${DASHBOARD_HOST}:${dashboardPort}`

  const browser = await launchChromium(t as unknown as LauncherTest, {
    hosts: [DASHBOARD_HOST, API_HOST],
    // Production serves both over HTTPS: the dashboard is a secure context there (clipboard,
    // crypto.randomUUID), so it is one here too.
    args: [`--unsafely-treat-insecure-origin-as-secure=${dashboardUrl},${apiUrl}`],
  })
  if (!browser) return undefined

  const core = await startSuperTokensCore({ port: 0 })
  t.teardown(() => core.close())
  const stripe = await startStripeStandIn({ webhookUrl: `${apiLocal}/webhooks/stripe` })
  t.teardown(() => stripe.close())
  const mailerlite = await startMailerliteStandIn()
  t.teardown(() => mailerlite.close())

  const DATABASE_URL = await migratedDatabase(t)
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    PORT: String(apiPort),
    DATABASE_URL,
    MEMCACHED_SERVERS: process.env.MEMCACHED_SERVERS,
    CACHE_KEY_PREFIX: new URL(DATABASE_URL).pathname.slice(1),
    SUPERTOKENS_CONNECTION_URI: core.url,
    DASHBOARD_ORIGINS: dashboardUrl,
    API_DOMAIN: apiUrl,
    DEV_MAILBOX: 'true',
    STORAGE_DIR: await storageDir(t),
    STRIPE_SECRET_KEY: 'sk_test_nudge_stand_in',
    STRIPE_WEBHOOK_SECRET: 'whsec_nudge_stand_in_0123456789abcdef',
    STRIPE_API_URL: stripe.url,
    MAILERLITE_API_URL: mailerlite.url,
    LOAD_SHED_EVENT_LOOP_DELAY_MS: '0',
    CACHE_TIMEOUT_MS: '2000',
    ...options.env,
  })
  const app = await buildApp(config)
  t.teardown(() => app.close())
  await app.listen({ port: apiPort, host: '127.0.0.1' })
  let worker: App | undefined
  if (options.worker) {
    worker = await buildApp(config, { worker: true })
    t.teardown(() => worker?.close())
    await worker.ready()
  }

  // A dependency cache of this test's own: tap runs two files at once, and two Vite servers
  // optimising into one cacheDir (node_modules/.vite, empty on a fresh clone as in CI) replace each
  // other's files, which a page then fails to load ("504 Outdated Optimize Dep"). Under the
  // dashboard's root, so the dev server may serve it.
  // (npm makes no node_modules here: on a fresh clone the folder does not exist yet.)
  await mkdir(path.join(dashboardRoot, 'node_modules'), { recursive: true })
  const viteCache = await mkdtemp(path.join(dashboardRoot, 'node_modules', '.vite-e2e-'))
  t.teardown(() => rm(viteCache, { recursive: true, force: true }))
  const vite: ViteDevServer = await createViteServer({
    root: dashboardRoot,
    configFile: path.join(dashboardRoot, 'vite.config.ts'),
    cacheDir: viteCache,
    logLevel: 'error',
    clearScreen: false,
    define: {
      'import.meta.env.VITE_API_URL': JSON.stringify(apiUrl),
      'import.meta.env.VITE_SESSION_MODE': JSON.stringify(mode),
    },
    server: {
      port: dashboardPort,
      strictPort: true,
      host: '127.0.0.1',
      allowedHosts: [DASHBOARD_HOST],
      hmr: false,
    },
  })
  t.teardown(() => vite.close())
  await vite.listen()

  const mailbox = async (to: string) => {
    const answer = await fetch(`${apiLocal}/dev/mailbox?to=${encodeURIComponent(to)}`)
    const body = (await answer.json()) as {
      messages: Array<{ subject: string; text: string; html: string; sentAt: string }>
    }
    return body.messages
  }

  return {
    mode,
    apiUrl,
    apiLocal,
    dashboardUrl,
    app,
    worker,
    stripe,
    mailerlite,
    browser,
    async newPage({ width = 1280, height = 800 } = {}) {
      const context = await browser.newContext({ viewport: { width, height }, baseURL: dashboardUrl })
      t.teardown(() => context.close().catch(() => {}))
      const page = await context.newPage()
      // Generous: CI runs every project's tests side by side on two cores, and a wait that runs
      // out fails the test (a page that shows what it should returns at once).
      page.setDefaultTimeout(30_000)
      return { context, page }
    },
    mailbox,
    async linkFromMailbox(to, part, after = 0) {
      const deadline = Date.now() + 30_000
      for (;;) {
        const messages = await mailbox(to)
        for (const message of messages) {
          if (Date.parse(message.sentAt) < after) continue
          const link = message.text.match(/https?:\/\/\S+/g)?.find((url) => url.includes(part))
          if (link) return link
        }
        if (Date.now() > deadline) throw new Error(`no email to ${to} with a link containing ${part}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
  }
}

/**
 * Signs in as a person does: the sign-in page, the email, the magic link from the dev mailbox
 * opened in the same browser. Resolves once the dashboard shows a signed-in page.
 */
export async function signIn(
  stack: Stack,
  page: Page,
  email: string,
  options: { from?: string } = {},
): Promise<void> {
  const asked = Date.now() - 1000
  if (options.from !== undefined || !page.url().includes('/signin'))
    await page.goto(options.from ?? '/signin')
  await page.getByLabel('Email address').fill(email)
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click()
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor()
  const link = await stack.linkFromMailbox(email, '/auth/verify', asked)
  await page.goto(link)
  await page.waitForURL(
    (url) => !url.pathname.startsWith('/auth/verify') && !url.pathname.startsWith('/signin'),
  )
}

/** A typed client of the API for a test's own setup, signed in as `email` through the magic link (header mode). */
export async function apiAs(stack: Stack, email: string): Promise<ApiClient> {
  const headers = { 'content-type': 'application/json', rid: 'passwordless', 'st-auth-mode': 'header' }
  const asked = Date.now() - 1000
  const requested = await fetch(`${stack.apiLocal}/auth/signinup/code`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email }),
  })
  if (!requested.ok) throw new Error(`sign-in link request failed: ${requested.status}`)
  const url = new URL(await stack.linkFromMailbox(email, '/auth/verify', asked))
  const consumed = await fetch(`${stack.apiLocal}/auth/signinup/code/consume`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      preAuthSessionId: url.searchParams.get('preAuthSessionId'),
      linkCode: url.hash.slice(1),
    }),
  })
  const token = consumed.headers.get('st-access-token')
  if (!token) throw new Error(`sign-in failed: ${consumed.status}`)
  const client = createApiClient({ baseUrl: stack.apiLocal, fetch: globalThis.fetch })
  client.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${token}`)
      return request
    },
  })
  return client
}
