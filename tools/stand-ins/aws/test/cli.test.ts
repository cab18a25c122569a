import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { SSMClient } from '@aws-sdk/client-ssm'
import t from 'tap'
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_REGION, DEFAULT_SECRET_ACCESS_KEY } from '../src/index.ts'
import { alive, send, settled, tempDir, until } from './helpers.ts'

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
const INSTANCE = 'i-0c11c11c11c11c11c'

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return {
    child,
    output: () => ({ stdout, stderr }),
    exit: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
  }
}

t.test('--help prints usage', async (t) => {
  const proc = run(['--help'])
  const [code] = await proc.exit
  t.equal(code, 0)
  t.match(proc.output().stdout, /Usage: node tools\/stand-ins\/aws\/src\/cli\.ts/)
})

t.test('refuses to start in production, or with a bad port', async (t) => {
  const production = run(['--port', '0'], { NODE_ENV: 'production' })
  t.equal((await production.exit)[0], 1)
  t.match(production.output().stderr, /development and tests only/)
  const port = run(['--port', 'abc'])
  t.equal((await port.exit)[0], 1)
  t.match(port.output().stderr, /Invalid --port/)
})

t.test('prints its one line, runs commands for the SDK, and stops on SIGTERM with its scripts', async (t) => {
  const dir = await tempDir(t)
  const instancesFile = path.join(dir, 'instances.json')
  await writeFile(
    instancesFile,
    JSON.stringify([{ instanceId: INSTANCE, tags: { Role: 'api' }, workingDirectory: dir }]),
  )
  const proc = run(['--port', '0', '--instances', instancesFile])
  t.teardown(() => {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL')
  })
  const url = await new Promise<string>((resolve, reject) => {
    proc.child.stdout.on('data', () => {
      const match = /listening on (http:\/\/\S+)\n/.exec(proc.output().stdout)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    proc.child.once('exit', () => reject(new Error(proc.output().stderr)))
  })
  t.match(proc.output().stdout, /^AWS SSM stand-in listening on http:\/\/127\.0\.0\.1:\d+\n$/)

  const ssm = new SSMClient({
    endpoint: url,
    region: DEFAULT_REGION,
    credentials: { accessKeyId: DEFAULT_ACCESS_KEY_ID, secretAccessKey: DEFAULT_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  })
  t.teardown(() => ssm.destroy())
  const quick = await send(ssm, {
    Targets: [{ Key: 'tag:Role', Values: ['api'] }],
    Parameters: { commands: ['pwd'] },
  })
  t.equal((await settled(ssm, quick, INSTANCE)).StandardOutputContent, `${dir}\n`)

  await send(ssm, { InstanceIds: [INSTANCE], Parameters: { commands: ['sleep 30'] } })
  type Listed = { commands: Array<{ script: string; invocations: Array<{ pid?: number; status: string }> }> }
  const listed = async () => (await (await fetch(`${url}/__stand-in/commands`)).json()) as Listed
  let commands = await listed()
  for (let i = 0; i < 100 && commands.commands[1]?.invocations[0]?.status !== 'InProgress'; i++) {
    await delay(20)
    commands = await listed()
  }
  t.same(
    commands.commands.map((c) => c.script),
    ['pwd\n', 'sleep 30\n'],
    'the controls list what was sent',
  )
  const pid = commands.commands[1]?.invocations[0]?.pid as number
  t.ok(alive(pid), 'the script is running')

  await fetch(`${url}/nowhere`)
  proc.child.kill('SIGTERM')
  const [code] = await proc.exit
  t.equal(code, 0)
  await until(() => !alive(pid), 2000)
  t.pass('the running script ended with the stand-in')
  t.match(proc.output().stderr, /unimplemented path/, 'paths it does not implement are logged')
})
