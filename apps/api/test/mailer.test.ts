import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import swagger from '@fastify/swagger'
import { type ConfigError, configPlugin, loadConfig } from '@nudge/config'
import { loggingPlugin } from '@nudge/logging'
import { MailUnavailableError, mailerPlugin } from '@nudge/mailer'
import Fastify from 'fastify'
import { SMTPServer } from 'smtp-server'
import t, { type Test } from 'tap'
import type { App } from '../src/server.ts'
import { buildTestApp, captureLogs, testConfig } from './helpers/app.ts'

const SMTP_USER = 'nudge-mailer'
const SMTP_PASSWORD = 'smtp-pa55word-never-in-logs'
const MAIL_FROM = 'nudge tests <mailer@nudge.test>'

interface Received {
  user: unknown
  from: string | undefined
  to: string[]
  raw: string
}

/** A real SMTP server on an ephemeral port that accepts our credentials and keeps what arrives. */
async function startSmtpServer(t: Test) {
  const received: Received[] = []
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 500,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD)
        return callback(null, { user: auth.username })
      callback(new Error('Invalid username or password'))
    },
    onRcptTo(address, _session, callback) {
      // Like real servers, the rejection echoes the address: it must still not reach our logs.
      if (address.address.endsWith('@rejected.test')) {
        const error = Object.assign(new Error(`<${address.address}>: Recipient address rejected`), {
          responseCode: 550,
        })
        return callback(error)
      }
      callback()
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom
        received.push({
          user: session.user,
          from: mailFrom ? mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        })
        callback()
      })
    },
  })
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.server.address() as AddressInfo
  return { port, received, url: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${port}` }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Registers the mailer unless app.ts already does, then readies the app. */
async function withMailer(app: App): Promise<App> {
  if (!app.hasDecorator('mailer')) await app.register(mailerPlugin)
  await app.ready()
  return app
}

/** Undoes quoted-printable soft breaks and escapes, so assertions read the text as sent. */
function decodeQuotedPrintable(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

/** Collects what `send` prints to stdout while it runs (the dev mailbox prints synchronously). */
async function stdoutOf(action: () => Promise<void>): Promise<string> {
  const original = process.stdout.write
  let printed = ''
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    if (text.includes('dev mailbox')) {
      printed += text
      return true
    }
    return (original as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest)
  }) as typeof process.stdout.write
  let pending: Promise<void>
  try {
    pending = action()
  } finally {
    process.stdout.write = original
  }
  await pending
  return printed
}

const link = 'https://app.nudge.test/auth/verify?preAuthSessionId=abc123&tenantId=public#linkCode=xyz789'
const message = (to: string, subject = 'Your sign-in link') => ({
  to,
  subject,
  text: `Sign in to nudge: ${link}\n\nThe link works for 15 minutes.`,
  html: `<p>Sign in to nudge: <a href="${link}">sign in</a></p><p>The link works for 15 minutes.</p>`,
})

t.test('with SMTP_URL: the email reaches the SMTP server from MAIL_FROM with both parts', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await withMailer(await buildTestApp(t, { SMTP_URL: smtp.url, MAIL_FROM }))
  t.equal(app.mailer.transport, 'smtp')

  await app.mailer.send(message('ada@example.test', 'Sign in to nudge'))

  t.equal(smtp.received.length, 1)
  const [mail] = smtp.received
  if (!mail) throw new Error('no mail arrived')
  t.equal(mail.user, SMTP_USER, 'authenticated with the credentials in SMTP_URL')
  t.equal(mail.from, 'mailer@nudge.test', 'envelope sender is MAIL_FROM')
  t.same(mail.to, ['ada@example.test'])
  const raw = decodeQuotedPrintable(mail.raw)
  t.match(raw, /^From: nudge tests <mailer@nudge\.test>\r?$/m)
  t.match(raw, /^To: ada@example\.test\r?$/m)
  t.match(raw, /^Subject: Sign in to nudge\r?$/m)
  t.match(raw, /^Content-Type: multipart\/alternative;/m)
  t.match(raw, /^Content-Type: text\/plain; charset=utf-8\r?$/m)
  t.match(raw, /^Content-Type: text\/html; charset=utf-8\r?$/m)
  t.ok(raw.includes(`Sign in to nudge: ${link}`), 'the text part carries the link')
  t.ok(raw.includes(`<a href="${link}">sign in</a>`), 'the html part carries the link')

  t.equal((await app.inject({ url: '/dev/mailbox' })).statusCode, 404, 'no dev mailbox with SMTP')
})

t.test('with SMTP_URL: concurrent sends through the connection pool all arrive', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await withMailer(await buildTestApp(t, { SMTP_URL: smtp.url, MAIL_FROM }))
  await Promise.all(Array.from({ length: 8 }, (_, i) => app.mailer.send(message(`user${i}@example.test`))))
  t.same(
    smtp.received.flatMap((mail) => mail.to).sort(),
    Array.from({ length: 8 }, (_, i) => `user${i}@example.test`).sort(),
  )
})

t.test('SMTP server down: send fails fast with 503 MAIL_UNAVAILABLE, nothing secret leaks', async (t) => {
  const port = await closedPort()
  const logs = captureLogs()
  const app = await withMailer(
    await buildTestApp(
      t,
      { SMTP_URL: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${port}`, MAIL_FROM, LOG_LEVEL: 'info' },
      { logStream: logs.stream },
    ),
  )
  const started = performance.now()
  const error = await app.mailer.send(message('ada.secret@example.test')).then(
    () => undefined,
    (error: unknown) => error as InstanceType<typeof MailUnavailableError>,
  )
  const took = performance.now() - started
  if (!error) throw new Error('send resolved although the SMTP server is down')
  t.ok(error instanceof MailUnavailableError)
  t.equal(error.statusCode, 503)
  t.equal(error.code, 'MAIL_UNAVAILABLE')
  t.ok(took < 5000, `failed in ${Math.round(took)} ms`)
  t.notOk(error.message.includes(SMTP_PASSWORD), 'the message does not carry the password')
  t.notOk(error.message.includes(String(port)), 'nor the server address')
  t.notOk(JSON.stringify(error).includes(SMTP_PASSWORD))

  const failure = logs.lines.find((line) => line.msg === 'email could not be sent')
  t.ok(failure, 'the cause is logged')
  t.equal(failure?.level, 50, 'at error level')
  t.match(failure?.cause, { code: /^E(SOCKET|CONNECTION)$/, message: /ECONNREFUSED/ })
  const everything = logs.raw.join('')
  t.notOk(everything.includes(SMTP_PASSWORD), 'the password never reaches the log')
  t.notOk(everything.includes('ada.secret'), 'nor the recipient')
  t.notOk(everything.includes('linkCode'), 'nor the body')
})

t.test('SMTP server that accepts but never greets: send fails within the greeting timeout', async (t) => {
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1')
  await once(silent, 'listening')
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise((resolve) => silent.close(resolve))
  })
  const { port } = silent.address() as AddressInfo
  const app = await withMailer(await buildTestApp(t, { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM }))
  const started = performance.now()
  await t.rejects(app.mailer.send(message('ada@example.test')), { statusCode: 503, code: 'MAIL_UNAVAILABLE' })
  const took = performance.now() - started
  t.ok(took < 5000, `gave up after ${Math.round(took)} ms`)
})

t.test('a recipient the server rejects: 422, and the echoed address stays out of the log', async (t) => {
  const smtp = await startSmtpServer(t)
  const logs = captureLogs()
  const app = await withMailer(
    await buildTestApp(t, { SMTP_URL: smtp.url, MAIL_FROM, LOG_LEVEL: 'info' }, { logStream: logs.stream }),
  )
  // The address is at fault, not our mail service: a 4xx the person can act on, logged as a warning.
  await t.rejects(app.mailer.send(message('Secret.Person@rejected.test')), {
    statusCode: 422,
    code: 'EMAIL_REJECTED',
  })
  const failure = logs.lines.find((line) => line.msg === 'email refused: the server rejected the recipient')
  t.match(failure, { level: 40, cause: { responseCode: 550, message: /\[address\]/ } })
  t.notOk(logs.raw.join('').toLowerCase().includes('secret.person'), 'the address is not logged')
  t.equal(smtp.received.length, 0)
})

t.test('dev mailbox: GET /dev/mailbox lists sent emails newest first, ?to= ignores case', async (t) => {
  const app = await withMailer(await buildTestApp(t, { SMTP_URL: undefined }))
  t.equal(app.mailer.transport, 'dev-mailbox')
  await app.mailer.send(message('Ada@Example.test', 'first'))
  await app.mailer.send(message('bob@example.test', 'second'))
  await app.mailer.send(message('ada@example.test', 'third'))

  const all = await app.inject({ url: '/dev/mailbox' })
  t.equal(all.statusCode, 200)
  type Listed = { id: string; to: string; subject: string; text: string; html: string; sentAt: string }
  const { messages } = all.json() as { messages: Listed[] }
  t.same(
    messages.map((m) => m.subject),
    ['third', 'second', 'first'],
  )
  const [newest] = messages
  t.same(Object.keys(newest ?? {}).sort(), ['html', 'id', 'sentAt', 'subject', 'text', 'to'])
  t.equal(newest?.to, 'ada@example.test')
  t.ok(newest?.text.includes(link), 'the text part holds the magic link')
  t.ok(newest?.html.includes(`href="${link}"`))
  t.ok(!Number.isNaN(Date.parse(newest?.sentAt ?? '')))
  t.not(messages[0]?.id, messages[1]?.id)

  const ada = await app.inject({ url: '/dev/mailbox', query: { to: 'ADA@example.TEST' } })
  t.same(
    (ada.json() as { messages: Array<{ subject: string }> }).messages.map((m) => m.subject),
    ['third', 'first'],
  )
  const nobody = await app.inject({ url: '/dev/mailbox', query: { to: 'carol@example.test' } })
  t.same(nobody.json(), { messages: [] })

  const unknown = await app.inject({ url: '/dev/mailbox', query: { from: 'x' } })
  t.equal(unknown.statusCode, 400, 'unknown query parameters are refused')
})

t.test('dev mailbox: keeps the last 50 emails', async (t) => {
  const app = await withMailer(await buildTestApp(t, { SMTP_URL: undefined }))
  for (let i = 1; i <= 55; i++) await app.mailer.send(message('ada@example.test', `email ${i}`))
  const { messages } = (await app.inject({ url: '/dev/mailbox' })).json() as {
    messages: Array<{ subject: string }>
  }
  t.equal(messages.length, 50)
  t.equal(messages[0]?.subject, 'email 55')
  t.equal(messages.at(-1)?.subject, 'email 6')
})

t.test('dev mailbox in development: each email is printed for the developer at the console', async (t) => {
  const app = await withMailer(await buildTestApp(t, { SMTP_URL: undefined, NODE_ENV: 'development' }))
  const printed = await stdoutOf(() => app.mailer.send(message('ada@example.test', 'Sign in to nudge')))
  t.match(printed, '--- dev mailbox: email to ada@example.test ---')
  t.match(printed, 'Subject: Sign in to nudge')
  t.match(printed, `Sign in to nudge: ${link}`, 'with the link, ready to click')
  t.notMatch(printed, '<a href', 'the text part, not the html')
  t.equal((await app.inject({ url: '/dev/mailbox' })).statusCode, 200, 'and the route exists in development')
})

t.test('dev mailbox in test: nothing is printed (tests read GET /dev/mailbox)', async (t) => {
  const app = await withMailer(await buildTestApp(t, { SMTP_URL: undefined }))
  t.equal(await stdoutOf(() => app.mailer.send(message('ada@example.test'))), '')
})

t.test('production with SMTP_URL: /dev/mailbox does not exist', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await withMailer(
    await buildTestApp(t, {
      NODE_ENV: 'production',
      SMTP_URL: smtp.url,
      MAIL_FROM,
      SERVICE_JWT_SECRET: 'a-production-secret-of-at-least-32-characters',
      // Production refuses the storage folder; nothing is published in this test.
      EDGE_URL: 'https://edge.nudge.test',
      S3_BUCKET: 'nudge-test',
      S3_ENDPOINT: 'http://127.0.0.1:9',
      S3_ACCESS_KEY_ID: 'unused',
      S3_SECRET_ACCESS_KEY: 'unused',
      SECRETS_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 9).toString('base64')}`,
      AUDIT_HASH_KEY: 'a-production-audit-hash-key-of-32-characters',
    }),
  )
  t.equal(app.mailer.transport, 'smtp')
  const res = await app.inject({ url: '/dev/mailbox' })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
})

t.test(
  'production without SMTP_URL: the mailer refuses to start even if config let it through',
  async (t) => {
    const config = {
      ...testConfig(),
      NODE_ENV: 'production' as const,
      SMTP_URL: undefined,
      DEV_MAILBOX: true,
    }
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await app.register(configPlugin, { config })
    await app.register(loggingPlugin)
    await t.rejects(async () => {
      await app.register(mailerPlugin)
    }, /SMTP_URL is not set and DEV_MAILBOX/)
  },
)

t.test('the dev mailbox is an explicit development setting that production refuses', async (t) => {
  // A staging host started without SMTP must not quietly hand out every sign-in link.
  await t.rejects(
    buildTestApp(t, { NODE_ENV: 'development', DEV_MAILBOX: undefined }),
    /SMTP_URL is not set and DEV_MAILBOX is not true/,
    'the API does not start',
  )
  const production = t.throws(() =>
    loadConfig({
      NODE_ENV: 'production',
      DEV_MAILBOX: 'true',
      DATABASE_URL: 'postgres://db/nudge',
      SUPERTOKENS_CONNECTION_URI: 'http://core:3567',
      SERVICE_JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
      DASHBOARD_ORIGINS: 'https://app.nudge.example',
      API_DOMAIN: 'https://api.nudge.example',
    }),
  ) as ConfigError
  t.ok(
    production.problems.includes(
      'DEV_MAILBOX: not allowed in production (it hands every sign-in link to anyone who asks)',
    ),
    production.problems.join('; '),
  )
  const app = await buildTestApp(t, { SMTP_URL: 'smtp://127.0.0.1:1', DEV_MAILBOX: undefined })
  t.equal((await app.inject({ url: '/dev/mailbox' })).statusCode, 404, 'with SMTP there is no mailbox route')
})

t.test('dev mailbox: the route is left out of the OpenAPI document', async (t) => {
  // A bare instance, so the check depends on this layer only, not on every module's docs.
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'mailer', version: '1' } } })
  await app.register(configPlugin, { config: testConfig({ SMTP_URL: undefined }) })
  await app.register(loggingPlugin)
  await app.register(mailerPlugin)
  app.get('/visible', async () => 'ok')
  await app.ready()
  t.ok(app.hasRoute({ method: 'GET', url: '/dev/mailbox' }), 'the route exists')
  const paths = Object.keys((app.swagger() as { paths?: Record<string, unknown> }).paths ?? {})
  t.ok(paths.includes('/visible'), 'an ordinary route is documented')
  t.notOk(paths.includes('/dev/mailbox'), 'the dev mailbox is not')
})
