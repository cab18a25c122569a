import { startSuperTokensCore } from '@nudge/supertokens-core'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { dashboard, tokensFrom } from './helpers/dashboard.ts'
import { magicLinkIn, startSmtpServer } from './helpers/smtp.ts'

// A core of this file's own, which the test stops (the SDK is initialised once per process).
const core = await startSuperTokensCore({ port: 0 })
t.teardown(() => core.close().catch(() => {}))

t.test('with the core down, a session check past its TTL is 503, never a stale "still active"', async (t) => {
  const smtp = await startSmtpServer(t)
  const app = await buildTestApp(t, {
    SMTP_URL: smtp.url,
    SUPERTOKENS_CONNECTION_URI: core.url,
    SESSION_CHECK_TTL_SECONDS: '1',
  })
  const client = dashboard(app)
  await client.requestLink('core-down@example.com')
  const consumed = await client.consumeLink(magicLinkIn(await smtp.next('core-down@example.com')))
  const { accessToken } = tokensFrom(consumed)
  t.equal((await client.me(accessToken!)).statusCode, 200, 'signed in while the core is up')

  await core.close()
  // Past the check's TTL (1 s, jittered by 10%): the answer must come from the core again.
  await new Promise((resolve) => setTimeout(resolve, 1300))
  const res = await client.me(accessToken!)
  t.equal(res.statusCode, 503, 'the session cannot be vouched for')
  t.match(res.json(), { statusCode: 503, code: 'AUTH_UNAVAILABLE' })
  const link = await client.requestLink('core-down@example.com')
  t.equal(link.statusCode, 503, 'asking for a link is 503 too, not 500')
})
