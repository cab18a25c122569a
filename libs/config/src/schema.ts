import { Type } from 'typebox'

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
  CACHE_LOCAL_MAX_ENTRIES: Type.Integer({ default: 10000, minimum: 0, description: 'in-process LRU size' }),
  DASHBOARD_ORIGINS: Type.String({
    default: 'http://localhost:5173',
    pattern: '^https?://[^,\\s]+(,https?://[^,\\s]+)*$',
    description: 'comma-separated origins of the dashboard, e.g. https://app.nudge.example',
  }),
  API_DOMAIN: Type.String({
    default: 'http://localhost:3000',
    pattern: '^https?://[^/\\s]+$',
    description: 'public origin of this API, e.g. https://api.nudge.example',
  }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 1048576, minimum: 1024, description: 'largest accepted body' }),
  RATE_LIMIT_MAX: Type.Integer({ default: 600, minimum: 1, description: 'requests per client per window' }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ default: 60000, minimum: 1000, description: 'rate limit window' }),
  SHUTDOWN_GRACE_MS: Type.Integer({
    default: 10000,
    minimum: 100,
    description: 'longest wait for in-flight requests on shutdown',
  }),
  DRAIN_MS: Type.Integer({
    default: 1500,
    minimum: 0,
    description: 'on shutdown, how long keep-alive clients are told to reconnect elsewhere',
  }),
  PM2_INSTANCES: Type.Optional(
    Type.String({ pattern: '^(max|-?[0-9]+)$', description: 'API workers under PM2 (default: all cores)' }),
  ),
  NEW_RELIC_LICENSE_KEY: Type.Optional(
    Type.String({ minLength: 1, description: 'enables the NewRelic agent' }),
  ),
  NEW_RELIC_APP_NAME: Type.String({ default: 'nudge-api', minLength: 1, description: 'NewRelic app name' }),
})
