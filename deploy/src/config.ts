import path from 'node:path'
import { ConfigError, readSettings } from '@nudge/config'
import { type Static, Type } from 'typebox'

export const repositoryRoot = path.resolve(import.meta.dirname, '../..')

const seconds = (fallback: number, description: string, minimum = 0) =>
  Type.Integer({ default: fallback, minimum, description })

/** Every setting of `npm run deploy`, read from the environment (the operator's shell or CI). */
export const DeploySettings = Type.Object({
  DEPLOY_DRIVER: Type.Union([Type.Literal('local'), Type.Literal('aws')], {
    default: 'local',
    description: 'local (this machine plays both colours and the edge) | aws (EC2 via SSM, S3, Cloudflare)',
  }),
  DEPLOY_DOMAIN: Type.String({
    default: 'nudge.localhost',
    pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$',
    description: 'the zone: clients use api.<domain>, the colours blue.api.<domain> and green.api.<domain>',
  }),
  DEPLOY_BLUE_URL: Type.Optional(
    Type.String({
      pattern: '^https?://',
      description: 'blue colour URL (default https://blue.api.<domain>)',
    }),
  ),
  DEPLOY_GREEN_URL: Type.Optional(
    Type.String({
      pattern: '^https?://',
      description: 'green colour URL (default https://green.api.<domain>)',
    }),
  ),
  DEPLOY_STABLE_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'the stable name (default https://api.<domain>)' }),
  ),
  DEPLOY_CANARY_HOSTNAME: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 253,
      description: 'a site whose public document the smoke check fetches through the idle colour',
    }),
  ),
  DEPLOY_TIMING_LIMIT_MS: Type.Integer({
    default: 250,
    minimum: 1,
    description: 'gate: the median GET /health/timing totalMs through the idle colour must stay under this',
  }),
  DEPLOY_READY_TIMEOUT_SECONDS: seconds(
    120,
    'how long a host may take to answer /health/ready after start',
    5,
  ),
  DEPLOY_WATCH_SECONDS: seconds(60, 'after a switch, how long both colours are watched'),
  DEPLOY_WATCH_MAX_ERROR_RATE: Type.Number({
    default: 0.05,
    minimum: 0,
    maximum: 1,
    description: 'share of failed probes (or 5xx) of the new live colour that rolls the switch back',
  }),
  DEPLOY_FINISH_AFTER_MINUTES: seconds(30, 'minutes the new colour must have been live before finish'),
  DEPLOY_KEEP_RELEASES: Type.Integer({
    default: 3,
    minimum: 2,
    description: 'release directories kept per host',
  }),
  DEPLOY_HOST_ROOT: Type.String({
    default: '/opt/nudge',
    pattern: '^/',
    description: 'on each host: releases/, current, host.env, pm2/',
  }),
  DEPLOY_COMMAND_TIMEOUT_SECONDS: seconds(900, 'longest a command may run on a host', 30),

  DEPLOY_LOCAL_DIR: Type.String({
    default: path.join(repositoryRoot, '.data/deploy'),
    minLength: 1,
    description: 'local driver: its hosts, artifact store, proxy and state',
  }),
  DEPLOY_LOCAL_PROXY_PORT: Type.Integer({
    default: 8080,
    minimum: 1,
    maximum: 65535,
    description: 'local driver: where HAProxy (playing api.<domain> and the colour subdomains) listens',
  }),
  DEPLOY_LOCAL_BLUE_PORT: Type.Integer({
    default: 4100,
    minimum: 1,
    maximum: 65000,
    description: 'blue host 1',
  }),
  DEPLOY_LOCAL_GREEN_PORT: Type.Integer({
    default: 4200,
    minimum: 1,
    maximum: 65000,
    description: 'green host 1',
  }),
  DEPLOY_LOCAL_HOSTS: Type.Integer({
    default: 1,
    minimum: 1,
    maximum: 8,
    description: 'local hosts per colour',
  }),
  DEPLOY_LOCAL_ENV_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'local driver: the release environment (KEY=VALUE), default <DEPLOY_LOCAL_DIR>/release.env',
    }),
  ),

  AWS_REGION: Type.Optional(Type.String({ minLength: 1, description: 'e.g. eu-central-1' })),
  DEPLOY_ENVIRONMENT: Type.String({
    default: 'production',
    pattern: '^[a-z0-9-]{1,32}$',
    description: 'hosts carry the tag nudge:environment=<this>; also the S3 prefix and Parameter Store path',
  }),
  DEPLOY_S3_BUCKET: Type.Optional(
    Type.String({ minLength: 3, description: 'bucket for artifacts and long output' }),
  ),
  DEPLOY_S3_FORCE_PATH_STYLE: Type.Boolean({
    default: false,
    description: 'true for S3 servers without virtual hosts',
  }),
  DEPLOY_PARAMETER_PATH: Type.Optional(
    Type.String({
      pattern: '^/.*/$',
      description: "Parameter Store path of the release's environment (default /nudge/<environment>/)",
    }),
  ),
  CLOUDFLARE_API_TOKEN: Type.Optional(
    Type.String({ minLength: 1, description: 'token with DNS edit on the zone' }),
  ),
  CLOUDFLARE_ZONE_ID: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$', description: "the zone's id" })),
  CLOUDFLARE_API_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'another API base URL' }),
  ),
})

export type DeployConfig = Static<typeof DeploySettings>

const awsRequired = ['AWS_REGION', 'DEPLOY_S3_BUCKET', 'CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ZONE_ID'] as const

/** The deploy settings from `env`, or a ConfigError naming every bad or missing variable. */
export function loadDeployConfig(env: Record<string, string | undefined>): DeployConfig {
  const config = readSettings(DeploySettings, env)
  if (config.DEPLOY_DRIVER === 'aws') {
    const missing = awsRequired.filter((name) => !config[name])
    if (missing.length > 0)
      throw new ConfigError(missing.map((name) => `${name}: required with DEPLOY_DRIVER=aws`))
  }
  return config
}

export const parameterPath = (config: DeployConfig) =>
  config.DEPLOY_PARAMETER_PATH ?? `/nudge/${config.DEPLOY_ENVIRONMENT}/`
