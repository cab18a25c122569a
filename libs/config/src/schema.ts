import { Type } from 'typebox'

/**
 * Cloudflare's published address ranges (https://www.cloudflare.com/ips/, as of 2026-11):
 * requests from these came through our edge, so their CF-* headers can be believed.
 */
export const CLOUDFLARE_IP_RANGES = [
  '173.245.48.0/20',
  '103.21.244.0/22',
  '103.22.200.0/22',
  '103.31.4.0/22',
  '141.101.64.0/18',
  '108.162.192.0/18',
  '190.93.240.0/20',
  '188.114.96.0/20',
  '197.234.240.0/22',
  '198.41.128.0/17',
  '162.158.0.0/15',
  '104.16.0.0/13',
  '104.24.0.0/14',
  '172.64.0.0/13',
  '131.0.72.0/22',
  '2400:cb00::/32',
  '2606:4700::/32',
  '2803:f800::/32',
  '2405:b500::/32',
  '2405:8100::/32',
  '2a06:98c0::/29',
  '2c0f:f248::/32',
].join(',')

/** Known to everyone, so production refuses it (see config.ts). */
export const DEV_SERVICE_JWT_SECRET = 'development-only-service-token-secret-change-me'

/** Known to everyone, so production refuses it (see config.ts). */
export const DEV_AUDIT_HASH_KEY = 'development-only-audit-hash-key-change-me'

/**
 * Every environment variable the API reads, in one schema. Values arrive as strings;
 * `loadConfig` converts them before checking. Optional variables with no default mean
 * "use the embedded/dev stand-in", which production refuses (see `productionRules`).
 */
export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
    description: 'development | test | production',
  }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1, description: 'interface to listen on' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535, description: 'TCP port (0 = ephemeral)' }),
  RELEASE_ID: Type.String({
    default: 'dev',
    pattern: '^[A-Za-z0-9._-]{1,64}$',
    description: 'the release this process runs, set by the deploy tool; GET /health reports it',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'fatal | error | warn | info | debug | trace | silent' },
  ),
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      description: 'a postgres:// connection URL (unset in development = embedded PostgreSQL)',
    }),
  ),
  DATABASE_POOL_MAX: Type.Integer({
    default: 10,
    minimum: 1,
    maximum: 200,
    description: 'pool size per worker',
  }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({
    default: 5000,
    minimum: 100,
    description: 'milliseconds before PostgreSQL cancels a statement',
  }),
  MEMCACHED_SERVERS: Type.Optional(
    Type.String({
      pattern: '^[^,\\s]+(,[^,\\s]+)*$',
      description: 'comma-separated host:port list (unset = in-process cache only)',
    }),
  ),
  CACHE_TIMEOUT_MS: Type.Integer({
    default: 150,
    minimum: 10,
    maximum: 5000,
    description: 'milliseconds before a memcached call is given up',
  }),
  CACHE_KEY_PREFIX: Type.String({
    default: 'nudge',
    pattern: '^[A-Za-z0-9_.-]{1,40}$',
    description: 'prefix of every memcached key (apps sharing a memcached with other data keep apart)',
  }),
  CACHE_LOCAL_MAX_ENTRIES: Type.Integer({ default: 10000, minimum: 0, description: 'in-process LRU size' }),
  DASHBOARD_ORIGINS: Type.String({
    default: 'http://localhost:5173',
    pattern: '^https?://[^,\\s]+(,https?://[^,\\s]+)*$',
    description: 'comma-separated origins of the dashboard, e.g. https://app.nudge.example',
  }),
  API_DOMAIN: Type.String({
    default: 'http://localhost:3000',
    pattern: '^https?://[^/\\s]+$',
    description: 'public origin of this API, e.g. https://api.nudge.example (unset: http://localhost:$PORT)',
  }),
  TRUSTED_PROXIES: Type.String({
    default: '',
    pattern: '^([^,\\s]+(,[^,\\s]+)*)?$',
    description:
      'comma-separated addresses/CIDRs of our own reverse proxies whose X-Forwarded-For is believed (empty = none)',
  }),
  EDGE_IP_RANGES: Type.String({
    default: CLOUDFLARE_IP_RANGES,
    pattern: '^([^,\\s]+(,[^,\\s]+)*)?$',
    description:
      "comma-separated CIDRs of the edge (Cloudflare's ranges by default) whose CF-* headers are believed",
  }),
  EDGE_SECRET: Type.Optional(
    Type.String({
      minLength: 32,
      description: 'secret the Worker sends in x-edge-secret; a request carrying it came through the edge',
    }),
  ),
  BODY_LIMIT_BYTES: Type.Integer({ default: 1048576, minimum: 1024, description: 'largest accepted body' }),
  RATE_LIMIT_MAX: Type.Integer({ default: 600, minimum: 1, description: 'requests per client per window' }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ default: 60000, minimum: 1000, description: 'rate limit window' }),
  HEALTH_TIMING_LIMIT_PER_MINUTE: Type.Integer({
    default: 60,
    minimum: 1,
    description: 'GET /health/timing calls per client per minute (it writes to the cache)',
  }),
  LOAD_SHED_EVENT_LOOP_DELAY_MS: Type.Integer({
    default: 1000,
    minimum: 0,
    description: 'event-loop delay above which requests get 503 (load shedding); 0 = off (tests)',
  }),
  SHUTDOWN_GRACE_MS: Type.Integer({
    default: 10000,
    minimum: 100,
    description: 'longest wait for in-flight requests on shutdown',
  }),
  FLAGS_RELOAD_SECONDS: Type.Integer({
    default: 30,
    minimum: 1,
    description:
      'feature flags are re-read from PostgreSQL this often, should a change notification be missed (changes arrive within a second)',
  }),
  DRAIN_MS: Type.Integer({
    default: 1500,
    minimum: 0,
    description: 'on shutdown, how long keep-alive clients are told to reconnect elsewhere',
  }),
  PM2_INSTANCES: Type.Optional(
    Type.String({ pattern: '^(max|-?[0-9]+)$', description: 'API workers under PM2 (default: all cores)' }),
  ),
  SUPERTOKENS_CONNECTION_URI: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+$',
      description:
        'URL of the SuperTokens core (unset in development = the stand-in in tools/supertokens-core)',
    }),
  ),
  SUPERTOKENS_API_KEY: Type.Optional(
    Type.String({ minLength: 1, description: 'API key of the SuperTokens core' }),
  ),
  MAGIC_LINK_LIFETIME_MINUTES: Type.Integer({
    default: 15,
    minimum: 1,
    maximum: 1440,
    description: 'how long a magic link works (must match the core setting passwordless_code_lifetime)',
  }),
  AUTH_LINK_LIMIT_PER_EMAIL: Type.Integer({
    default: 5,
    minimum: 1,
    description: 'sign-in links per email per window',
  }),
  AUTH_LINK_LIMIT_PER_IP: Type.Integer({
    default: 20,
    minimum: 1,
    description: 'sign-in links per IP per window',
  }),
  AUTH_LINK_LIMIT_WINDOW_SECONDS: Type.Integer({
    default: 3600,
    minimum: 1,
    description: 'sign-in link limit window',
  }),
  INVITE_TTL_DAYS: Type.Integer({
    default: 7,
    minimum: 1,
    maximum: 90,
    description: 'days a team invite link works (once) before it expires',
  }),
  INVITE_LIMIT_PER_HOUR: Type.Integer({
    default: 50,
    minimum: 1,
    description: 'invites a team may send per hour',
  }),
  SESSION_CHECK_TTL_SECONDS: Type.Integer({
    default: 60,
    minimum: 1,
    description:
      'how long a worker trusts that a session is not revoked (sign-out reaches every worker at once)',
  }),
  SERVICE_JWT_SECRET: Type.String({
    default: DEV_SERVICE_JWT_SECRET,
    minLength: 32,
    description: 'shared HS256 secret of service tokens (Worker, Cron), 32+ characters',
  }),
  SERVICE_JWT_MAX_AGE_SECONDS: Type.Integer({
    default: 300,
    minimum: 10,
    maximum: 3600,
    description: 'longest accepted service token lifetime',
  }),
  SMTP_URL: Type.Optional(
    Type.String({
      pattern: '^smtps?://',
      description: 'smtp(s)://user:pass@host:port (unset in development = the dev mailbox)',
    }),
  ),
  DEV_MAILBOX: Type.Boolean({
    default: false,
    description:
      'true = keep emails in the dev mailbox (console + GET /dev/mailbox) instead of SMTP; development and test only',
  }),
  MAIL_FROM: Type.String({
    default: 'nudge <no-reply@nudge.localhost>',
    minLength: 3,
    description: 'sender of our emails, e.g. "nudge <no-reply@nudge.example>"',
  }),
  STORAGE_DIR: Type.String({
    default: '.data/published',
    minLength: 1,
    description:
      'folder the published objects (domains/, campaigns/) are written to when S3_BUCKET is unset (embedded default)',
  }),
  S3_BUCKET: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9][a-z0-9.-]{1,62}$',
      description: 'bucket of the published objects (Cloudflare R2 in production); unset = STORAGE_DIR',
    }),
  ),
  S3_ENDPOINT: Type.Optional(
    Type.String({
      pattern: '^https?://[^/\\s]+/?$',
      description:
        'S3 API endpoint, e.g. https://<account>.eu.r2.cloudflarestorage.com (R2, EU jurisdiction)',
    }),
  ),
  S3_REGION: Type.String({ default: 'auto', minLength: 1, description: "S3 region ('auto' for R2)" }),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1, description: 'S3 access key id' })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1, description: 'S3 secret access key' })),
  S3_FORCE_PATH_STYLE: Type.Boolean({
    default: false,
    description: 'true = bucket in the path (S3 servers without virtual-hosted buckets)',
  }),
  EDGE_URL: Type.String({
    default: 'http://localhost:8787',
    pattern: '^https?://[^/\\s]+$',
    description:
      'public origin of the Cloudflare Worker that serves the popup script and the published objects, e.g. https://edge.nudge.example',
  }),
  CLOUDFLARE_API_TOKEN: Type.Optional(
    Type.String({ minLength: 1, description: 'Cloudflare API token with Cache Purge on the edge zone' }),
  ),
  CLOUDFLARE_ZONE_ID: Type.Optional(
    Type.String({ pattern: '^[0-9a-f]{32}$', description: 'Cloudflare zone id of EDGE_URL' }),
  ),
  CLOUDFLARE_API_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+$',
      description: 'base URL of the Cloudflare API (unset = https://api.cloudflare.com/client/v4)',
    }),
  ),
  VISITOR_LIMIT_PER_CLIENT_PER_MINUTE: Type.Integer({
    default: 300,
    minimum: 1,
    description: 'visitor requests (/public/v1) per client address per minute, per route',
  }),
  VISITOR_IMPRESSIONS_PER_CLIENT_PER_HOUR: Type.Integer({
    default: 100,
    minimum: 1,
    description:
      'impressions counted per client address and site per hour (beyond: accepted, not counted), so no one address can spend a team’s quota',
  }),
  VISITOR_LIMIT_PER_SITE_PER_MINUTE: Type.Integer({
    default: 60000,
    minimum: 1,
    description: 'visitor events and leads per site per minute (all its visitors together)',
  }),
  EVENTS_GROUP_COMMIT_MS: Type.Integer({
    default: 5,
    minimum: 0,
    maximum: 100,
    description: 'how long event batches arriving together wait to share one database write',
  }),
  LEAD_MIN_FILL_MS: Type.Integer({
    default: 1500,
    minimum: 0,
    description: 'a form submitted faster than this after it was shown is a bot: accepted and dropped',
  }),
  LEGACY_IDS_UNTIL: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        "Go-Live: until when the visitor routes accept the old system's numeric ids (snippets still on customers' pages), an ISO date-time with its offset (2026-12-10T00:00:00Z); unset = never",
    }),
  ),
  WORKER_CONCURRENCY: Type.Integer({
    default: 10,
    minimum: 1,
    maximum: 200,
    description: 'deliveries one worker process runs at once',
  }),
  JOBS_POLL_SECONDS: Type.Number({
    default: 2,
    minimum: 0.5,
    description: 'how often an idle worker looks for jobs (new jobs also wake it at once)',
  }),
  JOBS_SUPERVISE_SECONDS: Type.Integer({
    default: 60,
    minimum: 1,
    maximum: 3600,
    description: 'how often the worker requeues jobs whose worker died (their claim expired)',
  }),
  SECRETS_ENCRYPTION_KEYS: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/]{43}=(,[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/]{43}=)*$',
      description:
        'comma-separated keyId:base64 32-byte AES keys for integration secrets; the first encrypts, all decrypt (unset = a public development key)',
    }),
  ),
  AUDIT_HASH_KEY: Type.String({
    default: DEV_AUDIT_HASH_KEY,
    minLength: 32,
    description:
      'HMAC key of the email hashes the audit log keeps for erasures, 32+ characters (changing it ' +
      'makes earlier erasures unfindable by address)',
  }),
  DELIVERY_RETRY_SCHEDULE: Type.String({
    default: '5s,5m,30m,2h,5h,10h,10h',
    pattern: '^([0-9]+(ms|s|m|h))(,[0-9]+(ms|s|m|h))*$',
    description:
      'waits before each retry of a failed delivery (the first attempt is immediate); Standard Webhooks schedule by default',
  }),
  DELIVERY_PAUSE_AFTER_FAILED_LEADS: Type.Integer({
    default: 20,
    minimum: 1,
    description: 'consecutive leads an integration fails before it is paused and the team told',
  }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({
    default: 10000,
    minimum: 100,
    maximum: 60000,
    description: 'longest wait for a webhook receiver or Mailerlite to answer',
  }),
  OUTBOUND_ALLOW_LOOPBACK: Type.Boolean({
    default: false,
    description: 'true = webhooks may go to 127.0.0.1/::1 (development and tests; production refuses it)',
  }),
  MAILERLITE_API_URL: Type.String({
    default: 'https://connect.mailerlite.com',
    pattern: '^https?://[^\\s]+$',
    description: 'base URL of the Mailerlite API (the stand-in in development)',
  }),
  MAILERLITE_REQUESTS_PER_MINUTE: Type.Integer({
    default: 120,
    minimum: 1,
    description: "Mailerlite's limit per account, kept across all worker processes",
  }),
  MAILERLITE_API_KEY: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'our own Mailerlite account, for syncing our users (unset = off)',
    }),
  ),
  MAILERLITE_USERS_GROUP: Type.String({
    default: 'users',
    minLength: 1,
    description: 'the group of our own Mailerlite account that every user joins',
  }),
  BILLING_GRACE_DAYS: Type.Integer({
    default: 7,
    minimum: 0,
    maximum: 60,
    description: 'days a team keeps its plan after a failed payment before the free limits apply',
  }),
  IMPRESSION_QUOTA_GRACE_PERCENT: Type.Integer({
    default: 10,
    minimum: 0,
    maximum: 1000,
    description:
      "impressions allowed past the plan's monthly quota, after IMPRESSION_QUOTA_GRACE_DAYS, before the sites serve no campaigns",
  }),
  IMPRESSION_QUOTA_GRACE_DAYS: Type.Integer({
    default: 7,
    minimum: 0,
    maximum: 60,
    description:
      'days after the owners are told the impression quota is used up before its sites serve no campaigns (if still over)',
  }),
  STRIPE_SECRET_KEY: Type.Optional(
    Type.String({
      pattern: '^(sk|rk)_(test|live)_\\S+$',
      description: 'Stripe secret key (unset = billing off; npm start: the stand-in)',
    }),
  ),
  STRIPE_WEBHOOK_SECRET: Type.Optional(
    Type.String({ pattern: '^whsec_\\S+$', description: 'signing secret of the /webhooks/stripe endpoint' }),
  ),
  STRIPE_API_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^/\\s]+$',
      description:
        'another Stripe API origin (the stand-in in tools/stand-ins/stripe); unset = api.stripe.com',
    }),
  ),
  STRIPE_PRICE_PRO_MONTHLY: Type.String({
    default: 'price_pro_monthly',
    minLength: 1,
    description: 'Stripe price id',
  }),
  STRIPE_PRICE_PRO_YEARLY: Type.String({
    default: 'price_pro_yearly',
    minLength: 1,
    description: 'Stripe price id',
  }),
  STRIPE_PRICE_BUSINESS_MONTHLY: Type.String({
    default: 'price_business_monthly',
    minLength: 1,
    description: 'Stripe price id',
  }),
  STRIPE_PRICE_BUSINESS_YEARLY: Type.String({
    default: 'price_business_yearly',
    minLength: 1,
    description: 'Stripe price id',
  }),
  NEW_RELIC_LICENSE_KEY: Type.Optional(
    Type.String({ minLength: 1, description: 'enables the NewRelic agent' }),
  ),
  NEW_RELIC_APP_NAME: Type.String({ default: 'nudge-api', minLength: 1, description: 'NewRelic app name' }),
})
