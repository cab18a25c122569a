import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { GetCommandInvocationCommand, ListCommandInvocationsCommand } from '@aws-sdk/client-ssm'
import t from 'tap'
import { API, send, settled, ssmClient, standIn, startS3, tempDir } from './helpers.ts'

const BUCKET = 'nudge-deploy-logs'

/** A line of 100 characters numbered `n`, so a truncation point is easy to see. */
const lines = (count: number, tag: string) =>
  Array.from({ length: count }, (_, n) => `${tag}${String(n).padStart(6, '0')}`.padEnd(99, '.')).join('\n')

t.test(
  'output over the limits: truncated in GetCommandInvocation, complete in S3 under the agent layout',
  async (t) => {
    const dir = await tempDir(t)
    const s3 = await startS3(t, BUCKET)
    const aws = await standIn(t, {
      instances: [{ instanceId: API, workingDirectory: dir }],
      outputS3: s3.outputS3,
    })
    const ssm = ssmClient(t, aws.url)
    const stdout = `${lines(300, 'out')}\n` // 30,000 characters
    const stderr = `${lines(100, 'err')}\n` // 10,000 characters
    const commandId = await send(ssm, {
      InstanceIds: [API],
      OutputS3BucketName: BUCKET,
      OutputS3KeyPrefix: 'deploys/r42/',
      Parameters: {
        commands: [
          "printf -v dots '%.0s.' {1..90}",
          'for ((n = 0; n < 300; n++)); do printf \'out%06d%s\\n\' $n "$dots"; done',
          'for ((n = 0; n < 100; n++)); do printf \'err%06d%s\\n\' $n "$dots" >&2; done',
        ],
      },
    })
    const invocation = await settled(ssm, commandId, API)
    t.equal(invocation.Status, 'Success')
    t.equal(invocation.StandardOutputContent, stdout.slice(0, 24000), 'the first 24,000 characters of stdout')
    t.equal(invocation.StandardErrorContent, stderr.slice(0, 8000), 'the first 8,000 of stderr')
    const base = `deploys/r42/${commandId}/${API}/awsrunShellScript/0.awsrunShellScript`
    t.equal(invocation.StandardOutputUrl, `https://s3.eu-central-1.amazonaws.com/${BUCKET}/${base}/stdout`)
    t.equal(invocation.StandardErrorUrl, `https://s3.eu-central-1.amazonaws.com/${BUCKET}/${base}/stderr`)

    const read = async (key: string) =>
      (await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString()
    t.equal(await read(`${base}/stdout`), stdout, 'S3 has all of stdout')
    t.equal(await read(`${base}/stderr`), stderr, 'and all of stderr')

    const detailed = await ssm.send(
      new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }),
    )
    const output = detailed.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output ?? ''
    t.equal(output.length, 2500, "a plugin's Output holds 2,500 characters")
    t.match(output, /---Output truncated---\n----------ERROR-------\nerr000000/)
  },
)

t.test('an empty stream is not uploaded; without outputS3 the command still succeeds', async (t) => {
  const dir = await tempDir(t)
  const s3 = await startS3(t, BUCKET)
  const aws = await standIn(t, {
    instances: [{ instanceId: API, workingDirectory: dir }],
    outputS3: s3.outputS3,
  })
  const ssm = ssmClient(t, aws.url)
  const commandId = await send(ssm, {
    InstanceIds: [API],
    OutputS3BucketName: BUCKET,
    Parameters: { commands: ['echo fine'] },
  })
  t.equal((await settled(ssm, commandId, API)).Status, 'Success')
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: commandId }))
  t.same(
    listed.Contents?.map((o) => o.Key),
    [`${commandId}/${API}/awsrunShellScript/0.awsrunShellScript/stdout`],
    'no prefix: the keys start with the command id; no stderr object',
  )

  const bare = await standIn(t, { instances: [{ instanceId: API, workingDirectory: dir }] })
  const other = ssmClient(t, bare.url)
  const lost = await send(other, {
    InstanceIds: [API],
    OutputS3BucketName: BUCKET,
    Parameters: { commands: ['echo fine'] },
  })
  const invocation = await settled(other, lost, API)
  t.match(invocation, { Status: 'Success', StandardOutputContent: 'fine\n', StandardOutputUrl: /stdout$/ })
  t.match(bare.commands[0]?.invocations[0]?.s3Error, /without outputS3/)
  const again = await other.send(new GetCommandInvocationCommand({ CommandId: lost, InstanceId: API }))
  t.equal(again.ResponseCode, 0)
})
