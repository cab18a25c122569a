import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { ConfigError, loadConfig } from '@nudge/config'
import t from 'tap'

const run = promisify(execFile)
const main = path.resolve(import.meta.dirname, '../src/main.ts')

t.test('defaults make a development config from an empty environment', async (t) => {
  const config = loadConfig({})
  t.equal(config.NODE_ENV, 'development')
  t.equal(config.PORT, 3000)
  t.equal(config.DATABASE_URL, undefined)
})

t.test('every bad variable is named on its own line, secrets are not echoed', async (t) => {
  const error = t.throws(() =>
    loadConfig({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://root:pw@db/x',
      DASHBOARD_ORIGINS: 'app',
    }),
  ) as ConfigError
  t.ok(error instanceof ConfigError)
  t.equal(error.problems.length, 4)
  t.match(error.problems[0], /^PORT: must be integer \(got "eighty"\); expected TCP port/)
  t.match(error.problems[1], /^LOG_LEVEL: is not one of the allowed values .*expected fatal \| error/)
  t.match(error.problems[2], /^DATABASE_URL: .*\[redacted\]/)
  t.notMatch(error.message, /root:pw/)
  t.match(error.problems[3], /^DASHBOARD_ORIGINS:/)
})

t.test('production refuses the embedded defaults', async (t) => {
  const error = t.throws(() => loadConfig({ NODE_ENV: 'production' })) as ConfigError
  t.match(error.problems.join('\n'), /DATABASE_URL: required in production/)
})

t.test('production refuses development origins; address lists are checked', async (t) => {
  const error = t.throws(() =>
    loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/nudge',
      SUPERTOKENS_CONNECTION_URI: 'http://core:3567',
      SMTP_URL: 'smtp://mail:587',
      SERVICE_JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
      API_DOMAIN: 'http://localhost:3000',
      DASHBOARD_ORIGINS: 'https://app.nudge.example,http://127.0.0.1:5173',
      TRUSTED_PROXIES: '10.0.0.0/8,not-an-ip',
      EDGE_IP_RANGES: '173.245.48.0/33',
    }),
  ) as ConfigError
  t.same(error.problems.sort(), [
    'API_DOMAIN: production needs public https:// origins (got http://localhost:3000)',
    'AUDIT_HASH_KEY: set a key of your own in production (the default is public)',
    'DASHBOARD_ORIGINS: production needs public https:// origins (got http://127.0.0.1:5173)',
    'EDGE_IP_RANGES: not an IP address or CIDR: 173.245.48.0/33',
    'EDGE_URL: production needs public https:// origins (got http://localhost:8787)',
    'S3_BUCKET: required in production (the STORAGE_DIR folder is for development)',
    'SECRETS_ENCRYPTION_KEYS: required in production (the development key is public)',
    'TRUSTED_PROXIES: not an IP address or CIDR: not-an-ip',
  ])
  t.equal(loadConfig({}).EDGE_IP_RANGES.split(',').length, 22, "Cloudflare's ranges by default")
})

t.test('production refuses loopback webhooks and a development Mailerlite', async (t) => {
  const error = t.throws(() =>
    loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/nudge',
      SUPERTOKENS_CONNECTION_URI: 'http://core:3567',
      SMTP_URL: 'smtp://mail:587',
      SERVICE_JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
      API_DOMAIN: 'https://api.nudge.example',
      DASHBOARD_ORIGINS: 'https://app.nudge.example',
      EDGE_URL: 'https://edge.nudge.example',
      S3_BUCKET: 'nudge-published',
      S3_ENDPOINT: 'https://r2.example',
      S3_ACCESS_KEY_ID: 'a',
      S3_SECRET_ACCESS_KEY: 's',
      SECRETS_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
      AUDIT_HASH_KEY: 'a-production-audit-hash-key-of-32-chars',
      OUTBOUND_ALLOW_LOOPBACK: 'true',
      MAILERLITE_API_URL: 'http://127.0.0.1:8791',
    }),
  ) as ConfigError
  t.same(error.problems.sort(), [
    'MAILERLITE_API_URL: production needs public https:// origins (got http://127.0.0.1:8791)',
    'OUTBOUND_ALLOW_LOOPBACK: not allowed in production (webhooks could reach this host)',
  ])
  const bad = t.throws(() =>
    loadConfig({ SECRETS_ENCRYPTION_KEYS: 'k1:tooshort', DELIVERY_RETRY_SCHEDULE: '5 s' }),
  ) as ConfigError
  t.equal(bad.problems.length, 2, bad.message)
  t.notOk(bad.message.includes('tooshort'), 'key material is not echoed')
})

t.test('object storage and cache purge settings come in complete sets', async (t) => {
  const half = t.throws(() =>
    loadConfig({ S3_BUCKET: 'nudge-edge', S3_ENDPOINT: 'https://acc.eu.r2.cloudflarestorage.com' }),
  ) as ConfigError
  t.same(half.problems, ['S3_BUCKET: also set S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY'])
  const purge = t.throws(() => loadConfig({ CLOUDFLARE_API_TOKEN: 'token' })) as ConfigError
  t.same(purge.problems, ['CLOUDFLARE_API_TOKEN: set it together with CLOUDFLARE_ZONE_ID (both or neither)'])
})

t.test('the process stops before listening, printing each bad variable', async (t) => {
  const result = await run(process.execPath, [main], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: '-5' },
    timeout: 20000,
  }).catch((error: { code: number; stderr: string; stdout: string }) => error)
  const { code, stderr } = result as { code: number; stderr: string }
  t.equal(code, 1)
  t.match(stderr, /Invalid configuration:\n {2}- PORT: /)
  t.notMatch(stderr, /listening/i)
})
