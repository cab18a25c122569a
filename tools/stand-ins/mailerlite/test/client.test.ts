import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { createMailerliteClient, MailerliteError } from '../../../../libs/marketing/src/mailerlite.ts'
import { startMailerliteStandIn } from '../src/index.ts'

const KEY = 'mlsk-test-0123456789'

async function standIn(t: Test, requestsPerMinute = 120) {
  const running = await startMailerliteStandIn({ apiKeys: [KEY], requestsPerMinute })
  t.teardown(() => running.close())
  return {
    ...running,
    client: createMailerliteClient({ apiKey: KEY, baseUrl: running.url, timeoutMs: 2000 }),
  }
}

async function refusal(promise: Promise<unknown>): Promise<MailerliteError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof MailerliteError) return error
    throw error
  }
  throw new Error('expected a MailerliteError')
}

t.test('groups, and a subscriber upserted: created, then updated with groups merged', async (t) => {
  const { client } = await standIn(t)
  t.same(await client.listGroups(), [])
  const a = await client.createGroup('Leads')
  const b = await client.findOrCreateGroup('Customers')
  t.equal((await client.findOrCreateGroup('Customers')).id, b.id, 'found, not created twice')
  t.same(
    (await client.listGroups()).map((g) => g.name),
    ['Customers', 'Leads'],
  )
  const first = await client.upsertSubscriber({
    email: 'Ada@Example.com',
    fields: { name: 'Ada' },
    groups: [a.id],
  })
  t.equal(first.created, true)
  const second = await client.upsertSubscriber({
    email: 'ada@example.com',
    fields: { last_name: 'L' },
    groups: [b.id],
  })
  t.equal(second.created, false, 'the same address (any case) is updated')
  t.same(second.subscriber.fields.name, 'Ada', 'fields not sent are kept')
  t.same(second.subscriber.groups.map((g) => g.id).sort(), [a.id, b.id].sort())
  t.equal((await client.getSubscriber('ada@example.com'))?.id, first.subscriber.id)
  t.equal(await client.deleteSubscriber(first.subscriber.id), true)
  t.equal(await client.getSubscriber('ada@example.com'), null)
  t.equal(await client.deleteSubscriber(first.subscriber.id), false)
  t.ok((await client.listFields()).some((f) => f.key === 'name'))
})

t.test("Mailerlite's refusals: 401, 422 with field errors, 429 with Retry-After, 503", async (t) => {
  const { client, url, state } = await standIn(t, 3)
  const wrong = createMailerliteClient({ apiKey: 'not-a-key', baseUrl: url })
  const unauthenticated = await refusal(wrong.listGroups())
  t.equal(unauthenticated.status, 401)
  t.equal(unauthenticated.code, 'unauthenticated')
  t.equal(unauthenticated.message, 'Unauthenticated.')
  t.notOk(unauthenticated.message.includes('not-a-key'), 'the key is not in the error')

  const invalid = await refusal(client.upsertSubscriber({ email: 'not an email', groups: ['999'] }))
  t.equal(invalid.status, 422)
  t.equal(invalid.code, 'validation')
  t.same(invalid.fieldErrors?.email, ['The email must be a valid email address.'])
  t.ok(invalid.fieldErrors?.['groups.0'], 'an unknown group is named')
  t.equal(client.rateLimitRemaining, 2, 'remaining counts down (3 a minute here)')
  await client.listGroups()
  await client.listGroups()
  t.equal(client.rateLimitRemaining, 0)
  const limited = await refusal(client.listGroups())
  t.equal(limited.status, 429)
  t.equal(limited.code, 'rate_limited')
  t.ok(
    (limited.retryAfterSeconds ?? 0) >= 1 && (limited.retryAfterSeconds ?? 0) <= 60,
    'Retry-After until the next minute',
  )

  state.reset()
  state.failNext(1, 503, 7)
  const down = await refusal(client.listGroups())
  t.equal(down.status, 503)
  t.equal(down.retryAfterSeconds, 7)
  state.setDown(true)
  t.equal((await refusal(client.listGroups())).code, 'unavailable')
  state.setDown(false)
  state.revokeKey(KEY)
  t.equal((await refusal(client.listGroups())).status, 401, 'a revoked key is refused')
})

t.test('a Mailerlite that never answers: the client gives up at its timeout', async (t) => {
  const silent = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    silent.closeAllConnections()
    silent.close()
  })
  const client = createMailerliteClient({
    apiKey: KEY,
    baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    timeoutMs: 300,
  })
  const started = Date.now()
  const error = await refusal(client.listGroups())
  t.equal(error.code, 'network')
  t.equal(error.status, 0)
  t.ok(Date.now() - started < 2000, 'within the timeout')
})

t.test('cli --help', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    path.join(import.meta.dirname, '../src/cli.ts'),
    '--help',
  ])
  t.match(stdout, /MAILERLITE_API_URL/)
})
