import { isIP } from 'node:net'
import type { Static, TObject, TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { ConfigSchema, DEV_AUDIT_HASH_KEY, DEV_SERVICE_JWT_SECRET } from './schema.ts'

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {
  readonly problems: string[]
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

type Env = Record<string, string | undefined>

/** Rules across variables, in every environment. */
const rules: Array<(config: Config) => string | undefined> = [
  (c) =>
    c.SMTP_URL && c.DEV_MAILBOX
      ? 'DEV_MAILBOX: set either SMTP_URL or DEV_MAILBOX=true, not both'
      : undefined,
  (c) => addressListProblem('TRUSTED_PROXIES', c.TRUSTED_PROXIES, ['loopback', 'linklocal', 'uniquelocal']),
  (c) => addressListProblem('EDGE_IP_RANGES', c.EDGE_IP_RANGES, []),
  (c) => {
    if (!c.S3_BUCKET) return undefined
    const missing = (['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const).filter(
      (n) => !c[n],
    )
    return missing.length > 0 ? `S3_BUCKET: also set ${missing.join(', ')}` : undefined
  },
  (c) =>
    Boolean(c.CLOUDFLARE_API_TOKEN) === Boolean(c.CLOUDFLARE_ZONE_ID)
      ? undefined
      : 'CLOUDFLARE_API_TOKEN: set it together with CLOUDFLARE_ZONE_ID (both or neither)',
]

/** What production must configure instead of falling back to an embedded stand-in. */
const productionRules: Array<(config: Config) => string | undefined> = [
  (c) =>
    c.DATABASE_URL
      ? undefined
      : 'DATABASE_URL: required in production (the embedded PostgreSQL is for development)',
  (c) =>
    c.SUPERTOKENS_CONNECTION_URI
      ? undefined
      : 'SUPERTOKENS_CONNECTION_URI: required in production (the core stand-in is for development)',
  (c) =>
    c.SERVICE_JWT_SECRET !== DEV_SERVICE_JWT_SECRET
      ? undefined
      : 'SERVICE_JWT_SECRET: set a secret of your own in production (the default is public)',
  (c) =>
    c.AUDIT_HASH_KEY !== DEV_AUDIT_HASH_KEY
      ? undefined
      : 'AUDIT_HASH_KEY: set a key of your own in production (the default is public)',
  (c) => (c.SMTP_URL ? undefined : 'SMTP_URL: required in production (the dev mailbox is for development)'),
  (c) =>
    c.DEV_MAILBOX
      ? 'DEV_MAILBOX: not allowed in production (it hands every sign-in link to anyone who asks)'
      : undefined,
  (c) => publicOriginProblem('API_DOMAIN', [c.API_DOMAIN]),
  (c) =>
    c.S3_BUCKET ? undefined : 'S3_BUCKET: required in production (the STORAGE_DIR folder is for development)',
  (c) => publicOriginProblem('EDGE_URL', [c.EDGE_URL]),
  (c) => publicOriginProblem('DASHBOARD_ORIGINS', list(c.DASHBOARD_ORIGINS)),
  (c) =>
    c.SECRETS_ENCRYPTION_KEYS
      ? undefined
      : 'SECRETS_ENCRYPTION_KEYS: required in production (the development key is public)',
  (c) =>
    c.OUTBOUND_ALLOW_LOOPBACK
      ? 'OUTBOUND_ALLOW_LOOPBACK: not allowed in production (webhooks could reach this host)'
      : undefined,
  (c) => publicOriginProblem('MAILERLITE_API_URL', [c.MAILERLITE_API_URL]),
  (c) =>
    c.STRIPE_API_URL
      ? 'STRIPE_API_URL: not allowed in production (it points Stripe calls elsewhere)'
      : undefined,
  (c) =>
    c.STRIPE_SECRET_KEY && !c.STRIPE_WEBHOOK_SECRET
      ? 'STRIPE_WEBHOOK_SECRET: required with STRIPE_SECRET_KEY (webhooks must be verified)'
      : undefined,
]

/** Production origins are served over HTTPS from a public name, never a development address. */
function publicOriginProblem(name: string, origins: string[]): string | undefined {
  const bad = origins.filter((origin) => {
    const { protocol, hostname } = new URL(origin)
    const host = hostname.replace(/^\[|\]$/g, '')
    return (
      protocol !== 'https:' ||
      host === 'localhost' ||
      host.endsWith('.localhost') ||
      host === '::1' ||
      host.startsWith('127.') ||
      host === '0.0.0.0'
    )
  })
  return bad.length > 0
    ? `${name}: production needs public https:// origins (got ${bad.join(', ')})`
    : undefined
}

/** Every item an IP address or CIDR (a.b.c.d/n, x::/n), or one of the `names` proxy-addr knows. */
function addressListProblem(name: string, value: string, names: string[]): string | undefined {
  const bad = list(value).filter((item) => {
    if (names.includes(item)) return false
    const [address = '', prefix, ...rest] = item.split('/')
    const version = isIP(address)
    if (version === 0 || rest.length > 0) return true
    if (prefix === undefined) return false
    const bits = Number(prefix)
    return !/^\d+$/.test(prefix) || bits > (version === 4 ? 32 : 128)
  })
  return bad.length > 0 ? `${name}: not an IP address or CIDR: ${bad.join(', ')}` : undefined
}

/**
 * Reads the environment into a typed config, or throws a ConfigError naming every bad
 * variable at once. Tests pass a plain object; nothing here touches process.env.
 */
export function loadConfig(env: Env): Config {
  const config = readSettings(ConfigSchema, env)
  // Unset, the public origin is this machine on the port it listens on (not always 3000), so the
  // URLs the API hands out in development (previews, OpenAPI servers, auth) reach it.
  if (!env.API_DOMAIN && config.PORT !== 0) config.API_DOMAIN = `http://localhost:${config.PORT}`
  const applied = config.NODE_ENV === 'production' ? [...rules, ...productionRules] : rules
  const refusals = applied.map((rule) => rule(config)).filter((p): p is string => p !== undefined)
  if (refusals.length > 0) throw new ConfigError(refusals)
  return config
}

/**
 * The variables `schema` names, read from `env`, converted and defaulted, or a ConfigError naming
 * each bad one on a line of its own (secrets redacted). Shared by every tool with settings of its own.
 */
export function readSettings<S extends TObject>(schema: S, env: Env): Static<S> {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(schema.properties)) {
    const value = env[key]
    // An empty variable means "unset": shells and .env files produce them for optional settings.
    if (value !== undefined && value !== '') raw[key] = value
  }
  const converted = Value.Default(schema, Value.Convert(schema, raw)) as Record<string, unknown>
  // Checked one variable at a time so every bad variable is named, each on one line.
  const problems: string[] = []
  for (const [name, property] of Object.entries(schema.properties) as Array<[string, TSchema]>) {
    const value = converted[name]
    if (value === undefined) continue
    const first = Value.Errors(property, value)[0]
    if (!first) continue
    const description = (property as { description?: string }).description
    const reason = first.keyword === 'const' ? 'is not one of the allowed values' : first.message
    problems.push(
      `${name}: ${reason} (got ${JSON.stringify(redact(name, String(raw[name])))})` +
        (description ? `; expected ${description}` : ''),
    )
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return converted as Static<S>
}

/** Where the dashboard lives: links in emails (sign-in, invites) open the first origin listed. */
export function dashboardOrigin(config: Pick<Config, 'DASHBOARD_ORIGINS'>): string {
  return list(config.DASHBOARD_ORIGINS)[0] ?? config.DASHBOARD_ORIGINS
}

/** Splits a comma-separated setting into trimmed, non-empty items. */
export function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
}

function redact(name: string, value: string): string {
  return /KEY|SECRET|PASSWORD|TOKEN|_URL$|_URI$/.test(name) ? '[redacted]' : value
}

/** A list of durations like `5s,5m,2h` (as DELIVERY_RETRY_SCHEDULE holds) in milliseconds. */
export function durationsMs(value: string): number[] {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 }
  return list(value).map((item) => {
    const [, amount = '', suffix = ''] = /^([0-9]+)(ms|s|m|h)$/.exec(item) ?? []
    return Number(amount) * (unit[suffix] ?? Number.NaN)
  })
}

/**
 * `loadConfig` for a process's entry point (the API, the worker, the CLIs): a bad environment
 * prints the ConfigError's list of problems (and the usage, for a CLI) and exits; the process
 * never starts half-configured.
 */
export function loadConfigOrExit(env: Env, exit: { code?: number; usage?: string } = {}): Config {
  try {
    return loadConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n${exit.usage ?? ''}`)
    process.exit(exit.code ?? 1)
  }
}
