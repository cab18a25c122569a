import { existsSync } from 'node:fs'
import path from 'node:path'
import {
  DescribeInstanceInformationCommand,
  type DescribeInstanceInformationCommandInput,
  GetCommandInvocationCommand,
  InvalidFilterKey,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  waitUntilCommandExecuted,
} from '@aws-sdk/client-ssm'
import t from 'tap'
import { API, API_2, rejection, send, settled, ssmClient, standIn, tempDir, WORKER } from './helpers.ts'

t.test('targets by tag pick exactly the tagged instances, each running in its own directory', async (t) => {
  const [a, b, w] = [await tempDir(t), await tempDir(t), await tempDir(t)]
  const aws = await standIn(t, {
    instances: [
      { instanceId: API, tags: { Role: 'api', Color: 'blue' }, workingDirectory: a },
      { instanceId: API_2, tags: { Role: 'api', Color: 'green' }, workingDirectory: b },
      { instanceId: WORKER, tags: { Role: 'worker', Color: 'green' }, workingDirectory: w },
    ],
  })
  const ssm = ssmClient(t, aws.url)
  const sent = await ssm.send(
    new SendCommandCommand({
      DocumentName: 'AWS-RunShellScript',
      Targets: [{ Key: 'tag:Role', Values: ['api'] }],
      Parameters: { commands: ['pwd'] },
    }),
  )
  // As AWS answers: targets resolve after SendCommand returns.
  t.match(sent.Command, {
    Status: 'Pending',
    InstanceIds: [],
    TargetCount: 0,
    Targets: [{ Key: 'tag:Role', Values: ['api'] }],
  })
  const commandId = sent.Command?.CommandId as string
  const listed = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId }))
  t.same(listed.CommandInvocations?.map((i) => i.InstanceId).sort(), [API, API_2].sort())
  t.equal((await settled(ssm, commandId, API)).StandardOutputContent, `${a}\n`)
  t.equal((await settled(ssm, commandId, API_2)).StandardOutputContent, `${b}\n`)
  const [command] = (await ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands ?? []
  t.match(command, { TargetCount: 2, CompletedCount: 2, Status: 'Success' })

  const both = await send(ssm, {
    Targets: [
      { Key: 'tag:Role', Values: ['api', 'worker'] },
      { Key: 'tag:Color', Values: ['green'] },
    ],
    Parameters: { commands: ['true'] },
  })
  t.same(
    aws.commands.find((c) => c.commandId === both)?.invocations.map((i) => i.instanceId),
    [API_2, WORKER],
    'every target must match',
  )
  const byId = await send(ssm, {
    Targets: [{ Key: 'InstanceIds', Values: [WORKER] }],
    Parameters: { commands: ['true'] },
  })
  t.same(
    aws.commands.find((c) => c.commandId === byId)?.invocations.map((i) => i.instanceId),
    [WORKER],
  )

  const none = await send(ssm, {
    Targets: [{ Key: 'tag:Role', Values: ['db'] }],
    Parameters: { commands: ['true'] },
  })
  const [empty] = (await ssm.send(new ListCommandsCommand({ CommandId: none }))).Commands ?? []
  t.match(
    empty,
    { TargetCount: 0, Status: 'Success', StatusDetails: 'NoInstancesInTag' },
    'a deploy must check TargetCount',
  )
})

t.test('DescribeInstanceInformation: filters by tag, id and ping status; pages with NextToken', async (t) => {
  const dir = await tempDir(t)
  const ids = ['i-00000000000000001', 'i-00000000000000002', 'i-00000000000000003', 'i-00000000000000004']
  const aws = await standIn(t, {
    instances: [
      { instanceId: API, tags: { Role: 'api' }, workingDirectory: dir, computerName: 'api-1.internal' },
      { instanceId: API_2, tags: { Role: 'api' }, workingDirectory: dir },
      ...ids.map((instanceId) => ({ instanceId, tags: { Role: 'worker' }, workingDirectory: dir })),
    ],
  })
  const ssm = ssmClient(t, aws.url)
  const describe = async (input: DescribeInstanceInformationCommandInput) =>
    ssm.send(new DescribeInstanceInformationCommand(input))

  const api = await describe({ Filters: [{ Key: 'tag:Role', Values: ['api'] }] })
  t.match(api.InstanceInformationList, [
    {
      InstanceId: API,
      PingStatus: 'Online',
      PlatformType: 'Linux',
      IPAddress: '127.0.0.1',
      ComputerName: 'api-1.internal',
      AgentVersion: String,
      LastPingDateTime: Date,
      ResourceType: 'EC2Instance',
    },
    { InstanceId: API_2 },
  ])
  t.equal(api.InstanceInformationList?.length, 2)
  const byId = await describe({ Filters: [{ Key: 'InstanceIds', Values: [API_2] }] })
  t.same(
    byId.InstanceInformationList?.map((i) => i.InstanceId),
    [API_2],
  )

  const first = await describe({ MaxResults: 5 })
  t.equal(first.InstanceInformationList?.length, 5)
  t.type(first.NextToken, 'string')
  const second = await describe({ MaxResults: 5, NextToken: first.NextToken })
  t.equal(second.InstanceInformationList?.length, 1)
  t.equal(second.NextToken, undefined)

  aws.setOnline(API_2, false)
  const lost = await describe({ Filters: [{ Key: 'PingStatus', Values: ['ConnectionLost'] }] })
  t.match(lost.InstanceInformationList, [{ InstanceId: API_2, PingStatus: 'ConnectionLost' }])
  t.equal(lost.InstanceInformationList?.length, 1)

  const bad = await rejection(describe({ Filters: [{ Key: 'Color', Values: ['x'] }] }))
  t.ok(bad instanceof InvalidFilterKey, `got ${bad.name}`)
})

t.test("an offline instance's invocation stays Pending, then DeliveryTimedOut; it never runs", async (t) => {
  const dir = await tempDir(t)
  const aws = await standIn(t, {
    instances: [{ instanceId: API, workingDirectory: dir }],
    offlineDeliveryTimeoutMs: 300,
  })
  const ssm = ssmClient(t, aws.url)
  aws.setOnline(API, false)
  const commandId = await send(ssm, { InstanceIds: [API], Parameters: { commands: ['touch ran'] } })
  const pending = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: API }))
  t.match(pending, { Status: 'Pending', ResponseCode: -1 })
  const error = await rejection(
    waitUntilCommandExecuted(
      { client: ssm, minDelay: 0.05, maxDelay: 0.1, maxWaitTime: 10 },
      { CommandId: commandId, InstanceId: API },
    ),
  )
  t.match(error.message, /"state":"FAILURE"/)
  t.match(await settled(ssm, commandId, API), {
    Status: 'TimedOut',
    StatusDetails: 'DeliveryTimedOut',
    ResponseCode: -1,
  })
  t.notOk(existsSync(path.join(dir, 'ran')))
  const [command] = (await ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands ?? []
  t.match(command, { Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', DeliveryTimedOutCount: 1 })

  // Back online before the timeout: the agent picks the command up and runs it.
  const later = await send(ssm, { InstanceIds: [API], Parameters: { commands: ['touch ran'] } })
  aws.setOnline(API, true)
  t.match(await settled(ssm, later, API), { Status: 'Success' })
  t.ok(existsSync(path.join(dir, 'ran')))
})

t.test('HTTP controls: instances offline and online, commands with their scripts, reset', async (t) => {
  const dir = await tempDir(t)
  const aws = await standIn(t, {
    instances: [{ instanceId: API, tags: { Role: 'api' }, workingDirectory: dir }],
    parameters: [{ name: '/nudge/seeded', value: 'yes' }],
  })
  const ssm = ssmClient(t, aws.url)
  const control = (suffix: string, method = 'GET') => fetch(`${aws.url}/__stand-in/${suffix}`, { method })

  t.equal((await control(`instances/${API}/offline`, 'POST')).status, 204)
  const described = await ssm.send(new DescribeInstanceInformationCommand({}))
  t.equal(described.InstanceInformationList?.[0]?.PingStatus, 'ConnectionLost')
  t.equal((await control(`instances/${API}/online`, 'POST')).status, 204)
  t.equal((await control('instances/i-99999999999999999/online', 'POST')).status, 404)
  t.match(await (await control('instances')).json(), {
    instances: [{ instanceId: API, pingStatus: 'Online' }],
  })

  const commandId = await send(ssm, { InstanceIds: [API], Parameters: { commands: ['echo a', 'echo b'] } })
  await settled(ssm, commandId, API)
  t.match(await (await control('commands')).json(), {
    commands: [
      {
        commandId,
        script: 'echo a\necho b\n',
        invocations: [{ instanceId: API, status: 'Success', stdout: 'a\nb\n' }],
      },
    ],
  })
  t.match(await (await control('parameters')).json(), {
    parameters: [{ name: '/nudge/seeded', value: 'yes' }],
  })

  t.equal((await control('reset', 'POST')).status, 204)
  t.same(await (await control('commands')).json(), { commands: [] })
  t.equal(aws.commands.length, 0)
})
