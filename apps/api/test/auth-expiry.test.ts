import { startSuperTokensCore } from '@nudge/supertokens-core'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { dashboard, tokensFrom } from './helpers/dashboard.ts'
import { magicLinkIn, startSmtpServer } from './helpers/smtp.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// A core with short lifetimes, for this file only (the SDK is initialised once per process).
const core = await startSuperTokensCore({
  port: 0,
  passwordlessCodeLifetimeMs: 1000,
  accessTokenValiditySeconds: 2,
})
t.teardown(() => core.close())

t.test('an expired link does not sign in', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await buildTestApp(t, { SMTP_URL: smtp.url, SUPERTOKENS_CONNECTION_URI: core.url })
  const client = dashboard(app)
  await client.requestLink('late@example.com')
  const mail = await smtp.next('late@example.com')
  t.match(mail.decoded, /expires in 0 minutes|expires in 1 minute/, 'the email states the core lifetime')
  await sleep(1300)
  const consumed = await client.consumeLink(magicLinkIn(mail))
  t.same(consumed.json(), { status: 'RESTART_FLOW_ERROR' })
  t.notOk(consumed.headers['st-access-token'])
})

t.test(
  'an expired access token gets the 401 that makes the frontend refresh, and refresh works',
  async (t) => {
    const smtp = await startSmtpServer(t)
    const app = await buildTestApp(t, { SMTP_URL: smtp.url, SUPERTOKENS_CONNECTION_URI: core.url })
    const client = dashboard(app)
    await client.requestLink('expiring@example.com')
    const consumed = await client.consumeLink(magicLinkIn(await smtp.next('expiring@example.com')))
    const { accessToken, refreshToken } = tokensFrom(consumed)
    t.equal((await client.me(accessToken!)).statusCode, 200)
    await sleep(2300)
    const expired = await client.me(accessToken!)
    t.equal(expired.statusCode, 401)
    t.same(expired.json(), { message: 'try refresh token' })
    const refreshed = await client.refresh(refreshToken!)
    t.equal(refreshed.statusCode, 200)
    const me = await client.me(tokensFrom(refreshed).accessToken!)
    t.equal(me.statusCode, 200)
    t.equal(me.json().email, 'expiring@example.com')
  },
)
