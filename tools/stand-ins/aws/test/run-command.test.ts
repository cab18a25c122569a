import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import {
  CancelCommandCommand,
  DuplicateInstanceId,
  GetCommandInvocationCommand,
  InvalidDocument,
  InvalidInstanceId,
  InvalidParameters,
  InvocationDoesNotExist,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  ValidationException,
  waitUntilCommandExecuted,
} from '@aws-sdk/client-ssm'
import t from 'tap'
import { API, API_2, alive, rejection, send, settled, ssmClient, standIn, tempDir, until } from './helpers.ts'

const waiter = { minDelay: 0.05, maxDelay: 0.2, maxWaitTime: 20 }

t.test('a script runs in the instance directory with its env; exit code and output come back', async (t) => {
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'release.txt'), 'r42\n')
  const aws = await standIn(t, {
    instances: [
      { instanceId: API, tags: { Role: 'api' }, workingDirectory: dir, env: { DEPLOY_COLOR: 'green' } },
    ],
  })
  const ssm = ssmClient(t, aws.url)
  const sent = await ssm.send(
    new SendCommandCommand({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [API],
      Comment: 'deploy r42',
      TimeoutSeconds: 60,
      Parameters: {
        commands: [
          'pwd',
          'cat release.txt',
          'echo "color=$DEPLOY_COLOR node=$AWS_SSM_INSTANCE_ID"',
          'false',
          'echo after',
        ],
      },
    }),
  )
  t.match(sent.Command, {
    CommandId: /^[0-9a-f-]{36}$/,
    Status: 'Pending',
    InstanceIds: [API],
    TargetCount: 1,
    DocumentName: 'AWS-RunShellScript',
    Comment: 'deploy r42',
    TimeoutSeconds: 60,
    RequestedDateTime: Date,
  })
  const commandId = sent.Command?.CommandId as string
  const done = await waitUntilCommandExecuted(
    { client: ssm, ...waiter },
    { CommandId: commandId, InstanceId: API },
  )
  t.equal(done.state, 'SUCCESS')
  const invocation = await ssm.send(
    new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: API }),
  )
  t.equal(invocation.Status, 'Success')
  t.equal(invocation.ResponseCode, 0, 'without -e, a failing line does not end the script')
  t.equal(invocation.StandardOutputContent, `${dir}\nr42\ncolor=green node=${API}\nafter\n`)
  t.equal(invocation.StandardErrorContent, '')
  t.equal(invocation.PluginName, 'aws:runShellScript')
  t.ok(
    Date.parse(invocation.ExecutionEndDateTime ?? '') >= Date.parse(invocation.ExecutionStartDateTime ?? ''),
  )
  t.match(invocation.ExecutionElapsedTime, /^PT\d+\.\d{3}S$/)

  t.equal(aws.commands.length, 1, 'the handle lists what was sent')
  t.equal(
    aws.commands[0]?.script,
    'pwd\ncat release.txt\necho "color=$DEPLOY_COLOR node=$AWS_SSM_INSTANCE_ID"\nfalse\necho after\n',
  )

  // Parameters.workingDirectory wins over the instance's.
  const sub = path.join(dir, 'releases', 'r43')
  await mkdir(sub, { recursive: true })
  const inSub = await send(ssm, {
    InstanceIds: [API],
    Parameters: { commands: ['pwd'], workingDirectory: [sub] },
  })
  t.equal((await settled(ssm, inSub, API)).StandardOutputContent, `${sub}\n`)
})

t.test(
  "a failing script: Failed with its exit status, stderr with the agent's line; the waiter rejects",
  async (t) => {
    const dir = await tempDir(t)
    const aws = await standIn(t, { instances: [{ instanceId: API, workingDirectory: dir }] })
    const ssm = ssmClient(t, aws.url)
    const commandId = await send(ssm, {
      InstanceIds: [API],
      Parameters: { commands: ['echo migrating', 'echo "relation missing" >&2', 'exit 7'] },
    })
    const error = await rejection(
      waitUntilCommandExecuted({ client: ssm, ...waiter }, { CommandId: commandId, InstanceId: API }),
    )
    t.match(error.message, /"state":"FAILURE"/)
    const invocation = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: API }),
    )
    t.match(invocation, {
      Status: 'Failed',
      StatusDetails: 'Failed',
      ResponseCode: 7,
      StandardOutputContent: 'migrating\n',
      StandardErrorContent: 'relation missing\n\nfailed to run commands: exit status 7',
    })

    const missing = await send(ssm, {
      InstanceIds: [API],
      Parameters: { commands: ['pwd'], workingDirectory: [path.join(dir, 'nowhere')] },
    })
    t.match(await settled(ssm, missing, API), {
      Status: 'Failed',
      ResponseCode: 1,
      StandardErrorContent: /chdir .*nowhere: no such file or directory/,
    })
  },
)

t.test('executionTimeout: TimedOut with exit code 137, and the whole process group is gone', async (t) => {
  const dir = await tempDir(t)
  const aws = await standIn(t, { instances: [{ instanceId: API, workingDirectory: dir }] })
  const ssm = ssmClient(t, aws.url)
  const commandId = await send(ssm, {
    InstanceIds: [API],
    Parameters: {
      commands: ['echo $$ > shell.pid', 'sleep 30 &', 'echo $! > child.pid', 'echo started', 'wait'],
      executionTimeout: ['1'],
    },
  })
  const started = Date.now()
  const invocation = await settled(ssm, commandId, API)
  t.ok(Date.now() - started < 5000, 'stopped after about a second')
  t.match(invocation, { Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut', ResponseCode: 137 })
  const shell = Number(readFileSync(path.join(dir, 'shell.pid'), 'utf8'))
  const child = Number(readFileSync(path.join(dir, 'child.pid'), 'utf8'))
  await until(() => !alive(shell) && !alive(child), 2000)
  t.pass('the script and the sleep it started are both gone')
  const [command] = (await ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands ?? []
  t.match(command, {
    Status: 'TimedOut',
    StatusDetails: 'ExecutionTimedOut',
    ErrorCount: 1,
    CompletedCount: 1,
  })
})

t.test(
  'commands on one instance run one at a time in arrival order; other instances run meanwhile',
  async (t) => {
    const dir = await tempDir(t)
    const other = await tempDir(t)
    const aws = await standIn(t, {
      instances: [
        { instanceId: API, workingDirectory: dir },
        { instanceId: API_2, workingDirectory: other },
      ],
    })
    const ssm = ssmClient(t, aws.url)
    const step = (n: number) => ({
      InstanceIds: [API],
      Parameters: { commands: [`echo start ${n} >> log`, 'sleep 0.2', `echo end ${n} >> log`] },
    })
    const first = await send(ssm, step(1))
    const second = await send(ssm, step(2))
    const third = await send(ssm, step(3))
    const parallel = await send(ssm, { InstanceIds: [API_2], Parameters: { commands: ['sleep 0.2'] } })
    const waiting = await ssm.send(new GetCommandInvocationCommand({ CommandId: second, InstanceId: API }))
    t.equal(waiting.Status, 'Pending', 'the second waits for the first')
    t.equal(waiting.ResponseCode, -1)

    for (const id of [first, second, third]) t.equal((await settled(ssm, id, API)).Status, 'Success')
    t.equal(readFileSync(path.join(dir, 'log'), 'utf8'), 'start 1\nend 1\nstart 2\nend 2\nstart 3\nend 3\n')
    const [one, , three] = aws.commands.map((c) => c.invocations[0])
    const onOther = aws.commands[3]?.invocations[0]
    t.equal((await settled(ssm, parallel, API_2)).Status, 'Success')
    t.ok(
      (onOther?.startedAt?.getTime() ?? Infinity) < (one?.endedAt?.getTime() ?? 0),
      'the other instance did not wait for this one',
    )
    t.ok(
      (three?.startedAt?.getTime() ?? 0) >= (aws.commands[1]?.invocations[0]?.endedAt?.getTime() ?? Infinity),
    )
  },
)

t.test('CancelCommand stops the running script and cancels the queued one', async (t) => {
  const dir = await tempDir(t)
  const aws = await standIn(t, { instances: [{ instanceId: API, workingDirectory: dir }] })
  const ssm = ssmClient(t, aws.url)
  const running = await send(ssm, {
    InstanceIds: [API],
    Parameters: { commands: ['echo $$ > shell.pid', 'sleep 30'] },
  })
  const queued = await send(ssm, { InstanceIds: [API], Parameters: { commands: ['touch queued-ran'] } })
  const after = await send(ssm, { InstanceIds: [API], Parameters: { commands: ['echo next'] } })
  await until(() => aws.commands[0]?.invocations[0]?.pid !== undefined)

  await ssm.send(new CancelCommandCommand({ CommandId: queued }))
  await ssm.send(new CancelCommandCommand({ CommandId: running, InstanceIds: [API] }))
  t.match(await settled(ssm, running, API), { Status: 'Cancelled', ResponseCode: 137 })
  t.match(await settled(ssm, queued, API), { Status: 'Cancelled', ResponseCode: -1 })
  t.match(await settled(ssm, after, API), { Status: 'Success', StandardOutputContent: 'next\n' })
  const shell = aws.commands[0]?.invocations[0]?.pid as number
  await until(() => !alive(shell), 2000)
  t.notOk(alive(shell), 'the cancelled script is gone')
  t.throws(() => readFileSync(path.join(dir, 'queued-ran')), 'the cancelled command never ran')
})

t.test('ListCommands and ListCommandInvocations: Details with the plugin output, paging', async (t) => {
  const dir = await tempDir(t)
  const aws = await standIn(t, { instances: [{ instanceId: API, workingDirectory: dir }] })
  const ssm = ssmClient(t, aws.url)
  const ok = await send(ssm, { InstanceIds: [API], Parameters: { commands: ['echo one'] } })
  const bad = await send(ssm, {
    InstanceIds: [API],
    Parameters: { commands: ['echo two', 'echo oops >&2', 'exit 2'] },
  })
  await settled(ssm, bad, API)

  const detailed = await ssm.send(new ListCommandInvocationsCommand({ CommandId: bad, Details: true }))
  t.match(detailed.CommandInvocations, [
    {
      CommandId: bad,
      InstanceId: API,
      Status: 'Failed',
      CommandPlugins: [
        {
          Name: 'aws:runShellScript',
          Status: 'Failed',
          ResponseCode: 2,
          Output: 'two\n\n----------ERROR-------\noops\n\nfailed to run commands: exit status 2',
          ResponseStartDateTime: Date,
          ResponseFinishDateTime: Date,
        },
      ],
    },
  ])
  const plain = await ssm.send(new ListCommandInvocationsCommand({ CommandId: ok }))
  t.same(plain.CommandInvocations?.[0]?.CommandPlugins, [], 'no plugin details unless asked')

  const firstPage = await ssm.send(new ListCommandInvocationsCommand({ MaxResults: 1 }))
  t.equal(firstPage.CommandInvocations?.[0]?.CommandId, bad, 'newest first')
  t.type(firstPage.NextToken, 'string')
  const secondPage = await ssm.send(
    new ListCommandInvocationsCommand({ MaxResults: 1, NextToken: firstPage.NextToken }),
  )
  t.equal(secondPage.CommandInvocations?.[0]?.CommandId, ok)
  t.equal(secondPage.NextToken, undefined)

  const commands = await ssm.send(new ListCommandsCommand({}))
  t.match(commands.Commands, [
    { CommandId: bad, Status: 'Failed', TargetCount: 1, CompletedCount: 1, ErrorCount: 1 },
    { CommandId: ok, Status: 'Success', TargetCount: 1, CompletedCount: 1, ErrorCount: 0 },
  ])
  const failedOnly = await ssm.send(
    new ListCommandsCommand({ Filters: [{ key: 'Status', value: 'Failed' }] }),
  )
  t.same(
    failedOnly.Commands?.map((c) => c.CommandId),
    [bad],
  )
})

t.test('requests SSM refuses, with the SDK error classes', async (t) => {
  const dir = await tempDir(t)
  const aws = await standIn(t, { instances: [{ instanceId: API, workingDirectory: dir }] })
  const ssm = ssmClient(t, aws.url)
  const commands = { commands: ['true'] }

  const unknown = await rejection(send(ssm, { InstanceIds: ['i-0000000000000000f'], Parameters: commands }))
  t.ok(unknown instanceof InvalidInstanceId, `got ${unknown.name}`)
  t.match(unknown.message, /Instances \[\[i-0000000000000000f\]\] not in a valid state for account \d{12}/)
  t.ok(
    (await rejection(send(ssm, { InstanceIds: [API, API], Parameters: commands }))) instanceof
      DuplicateInstanceId,
  )
  const document = await rejection(
    send(ssm, { DocumentName: 'AWS-RunPowerShellScript', InstanceIds: [API], Parameters: commands }),
  )
  t.ok(document instanceof InvalidDocument, `got ${document.name}`)
  t.ok((await rejection(send(ssm, { InstanceIds: [API], Parameters: {} }))) instanceof InvalidParameters)
  t.ok(
    (await rejection(
      send(ssm, { InstanceIds: [API], Parameters: { ...commands, executionTimeout: ['0'] } }),
    )) instanceof InvalidParameters,
  )
  t.ok((await rejection(send(ssm, { Parameters: commands }))) instanceof ValidationException, 'no targets')
  t.ok(
    (await rejection(send(ssm, { InstanceIds: [API], Parameters: commands, TimeoutSeconds: 5 }))) instanceof
      ValidationException,
  )
  const notSent = await rejection(
    ssm.send(
      new GetCommandInvocationCommand({ CommandId: '00000000-0000-4000-8000-000000000000', InstanceId: API }),
    ),
  )
  t.ok(notSent instanceof InvocationDoesNotExist, `got ${notSent.name}`)
  t.equal(aws.commands.length, 0, 'nothing was accepted')
})

t.test('new invocations are invisible for a moment, as on AWS; the waiter rides it out', async (t) => {
  const dir = await tempDir(t)
  const aws = await standIn(t, {
    instances: [{ instanceId: API, workingDirectory: dir }],
    // Long enough that a loaded machine still asks within it (300 ms was missed under load).
    invocationVisibleAfterMs: 3000,
  })
  const ssm = ssmClient(t, aws.url)
  const commandId = await send(ssm, { InstanceIds: [API], Parameters: { commands: ['echo hi'] } })
  const early = await rejection(
    ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: API })),
  )
  t.ok(early instanceof InvocationDoesNotExist)
  const listed = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId }))
  t.same(listed.CommandInvocations, [])
  const done = await waitUntilCommandExecuted(
    { client: ssm, ...waiter },
    { CommandId: commandId, InstanceId: API },
  )
  t.equal(done.state, 'SUCCESS')
})

t.test('close() ends the scripts still running', async (t) => {
  const dir = await tempDir(t)
  const aws = await standIn(t, { instances: [{ instanceId: API, workingDirectory: dir }] })
  const ssm = ssmClient(t, aws.url)
  await send(ssm, {
    InstanceIds: [API],
    Parameters: { commands: ['sleep 30 &', 'echo $! > child.pid', 'wait'] },
  })
  await until(() => {
    try {
      return readFileSync(path.join(dir, 'child.pid'), 'utf8').trim() !== ''
    } catch {
      return false
    }
  })
  const child = Number(readFileSync(path.join(dir, 'child.pid'), 'utf8'))
  t.ok(alive(child))
  await aws.close()
  await until(() => !alive(child), 2000)
  t.notOk(alive(child), 'what the script started is gone too')
})
