/**
 * Prints a short-lived service token for operators (e.g. to call /internal/v1 by hand):
 *   npm run token:service -- --aud cron [--ttl 300]
 * Reads SERVICE_JWT_SECRET (and SERVICE_JWT_MAX_AGE_SECONDS) like the API does.
 */
import { parseArgs } from 'node:util'
import { SERVICE_AUDIENCES, type ServiceAudience, signServiceToken } from '@nudge/auth'
import { loadConfigOrExit } from '@nudge/config'

const usage = `usage: npm run token:service -- --aud <${SERVICE_AUDIENCES.join('|')}> [--ttl SECONDS]
Prints an HS256 service token signed with SERVICE_JWT_SECRET.
`

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}`)
  process.exit(2)
}

const { values } = parseArgs({
  options: { aud: { type: 'string' }, ttl: { type: 'string' }, help: { type: 'boolean', default: false } },
})
if (values.help) {
  process.stdout.write(usage)
  process.exit(0)
}
const config = loadConfigOrExit(process.env, { code: 2, usage })
const audience = SERVICE_AUDIENCES.find((known) => known === values.aud)
if (!audience) fail(`--aud must be one of: ${SERVICE_AUDIENCES.join(', ')}`)
const ttl = Number(values.ttl ?? config.SERVICE_JWT_MAX_AGE_SECONDS)
if (!Number.isInteger(ttl) || ttl < 1 || ttl > config.SERVICE_JWT_MAX_AGE_SECONDS) {
  fail(`--ttl must be a whole number of seconds from 1 to ${config.SERVICE_JWT_MAX_AGE_SECONDS}`)
}
process.stdout.write(`${signServiceToken(config.SERVICE_JWT_SECRET, audience as ServiceAudience, ttl)}\n`)
