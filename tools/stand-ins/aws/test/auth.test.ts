import {
  DescribeDocumentCommand,
  GetParameterCommand,
  InternalServerError,
  PutParameterCommand,
  SSMServiceException,
} from '@aws-sdk/client-ssm'
import t from 'tap'
import { startAwsStandIn } from '../src/index.ts'
import { ACCESS_KEY_ID, rejection, SECRET_ACCESS_KEY, ssmClient, standIn } from './helpers.ts'

const put = (name: string) => new PutParameterCommand({ Name: name, Value: 'v', Type: 'String' })

t.test('a wrong secret key: InvalidSignatureException, and nothing is done', async (t) => {
  const aws = await standIn(t)
  const ssm = ssmClient(t, aws.url, {
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: `${SECRET_ACCESS_KEY}x` },
  })
  const error = await rejection(ssm.send(put('/nudge/a')))
  t.ok(error instanceof SSMServiceException, `got ${String(error)}`)
  t.equal(error.name, 'InvalidSignatureException')
  t.match(error.message, /^The request signature we calculated does not match the signature you provided/)
  t.match(error.message, /The Canonical String for this request should have been\n'POST\n\/\n/)
  t.match(error, { $fault: 'client', $metadata: { httpStatusCode: 400 } })
  t.equal(aws.parameters.size, 0)
})

t.test('a key id the stand-in does not know: UnrecognizedClientException', async (t) => {
  const aws = await standIn(t)
  const ssm = ssmClient(t, aws.url, {
    credentials: { accessKeyId: 'AKIAOTHERKEY00000000', secretAccessKey: SECRET_ACCESS_KEY },
  })
  const error = await rejection(ssm.send(put('/nudge/a')))
  t.equal(error.name, 'UnrecognizedClientException')
  t.equal(error.message, 'The security token included in the request is invalid.')
  t.equal(aws.parameters.size, 0)
})

t.test('signed for another region: InvalidSignatureException naming the scope', async (t) => {
  const aws = await standIn(t)
  const ssm = ssmClient(t, aws.url, { region: 'us-east-1' })
  const error = await rejection(ssm.send(put('/nudge/a')))
  t.equal(error.name, 'InvalidSignatureException')
  t.match(error.message, /Credential should be scoped to a valid region, not 'us-east-1'/)
})

t.test(
  "a skewed clock: the signature has expired; the SDK corrects its clock from the answer's Date",
  async (t) => {
    const aws = await standIn(t)
    const ssm = ssmClient(t, aws.url, { systemClockOffset: -10 * 60 * 1000, maxAttempts: 2 })
    const answer = await ssm.send(put('/nudge/skewed'))
    t.equal(answer.Version, 1)
    t.equal(answer.$metadata.attempts, 2, 'the first attempt was refused as expired')
  },
)

t.test('requests without a signature, and what the SDK does not send', async (t) => {
  const aws = await standIn(t)
  const unsigned = await fetch(aws.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.GetParameter' },
    body: JSON.stringify({ Name: '/nudge/a' }),
  })
  t.equal(unsigned.status, 400)
  t.equal(unsigned.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException')
  t.same(await unsigned.json(), {
    __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
    message: 'Missing Authentication Token',
  })
  const malformed = await fetch(aws.url, {
    method: 'POST',
    headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x', 'x-amz-target': 'AmazonSSM.GetParameter' },
  })
  t.match(await malformed.json(), { __type: /IncompleteSignatureException$/ })

  // An operation of SSM's API the stand-in does not implement.
  const ssm = ssmClient(t, aws.url)
  const unknown = await rejection(ssm.send(new DescribeDocumentCommand({ Name: 'AWS-RunShellScript' })))
  t.equal(unknown.name, 'UnknownOperationException')
})

t.test('failNext: InternalServerError, which the SDK retries; a retry that lands is done once', async (t) => {
  const aws = await standIn(t)
  aws.failNext(2, 500)
  const patient = ssmClient(t, aws.url, { maxAttempts: 3 })
  const answer = await patient.send(put('/nudge/retried'))
  t.equal(answer.Version, 1, 'stored once')
  t.equal(answer.$metadata.attempts, 3, 'after two failures')

  aws.failNext(1, 503)
  const once = ssmClient(t, aws.url)
  const error = await rejection(once.send(new GetParameterCommand({ Name: '/nudge/retried' })))
  t.ok(error instanceof InternalServerError, `got ${error.name}`)
  t.match(error, { $fault: 'server', $metadata: { httpStatusCode: 503 } })
  t.equal((await once.send(new GetParameterCommand({ Name: '/nudge/retried' }))).Parameter?.Value, 'v')

  const control = await fetch(`${aws.url}/__stand-in/fail-next`, {
    method: 'POST',
    body: JSON.stringify({ count: 1, status: 502 }),
  })
  t.equal(control.status, 204)
  t.equal(
    (await rejection(once.send(new GetParameterCommand({ Name: '/nudge/retried' })))).name,
    'InternalServerError',
  )
  t.throws(() => aws.failNext(1, 404), /5xx/)
})

t.test('refuses to start in production', async (t) => {
  const before = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => {
    process.env.NODE_ENV = before
  })
  await t.rejects(startAwsStandIn(), /development and tests only/)
})

t.test('refuses instances it cannot stand in for', async (t) => {
  await t.rejects(
    startAwsStandIn({ instances: [{ instanceId: 'web-1', workingDirectory: '/tmp' }] }),
    /instanceId/,
  )
  await t.rejects(
    startAwsStandIn({ instances: [{ instanceId: 'i-0123456789abcdef0', workingDirectory: '/no/such/dir' }] }),
    /workingDirectory/,
  )
})
