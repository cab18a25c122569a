import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createMailerliteClient } from '../../../../libs/marketing/src/mailerlite.ts'

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

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
  t.match(proc.output().stdout, /Usage: node tools\/stand-ins\/mailerlite\/src\/cli\.ts/)
  t.match(proc.output().stdout, /MAILERLITE_API_URL/)
})

t.test('refuses to start in production', async (t) => {
  const proc = run(['--port', '0'], { NODE_ENV: 'production' })
  const [code] = await proc.exit
  t.equal(code, 1)
  t.match(proc.output().stderr, /development and tests only/)
})

t.test('refuses a bad port or limit', async (t) => {
  const port = run(['--port', 'abc'])
  t.equal((await port.exit)[0], 1)
  t.match(port.output().stderr, /Invalid --port/)
  const limit = run(['--port', '0', '--requests-per-minute', '0'])
  t.equal((await limit.exit)[0], 1)
  t.match(limit.output().stderr, /Invalid --requests-per-minute/)
})

t.test('serves each --api-key as an account, with the controls, until SIGTERM', async (t) => {
  const proc = run(['--port', '0', '--api-key', 'cli-key-one', '--api-key', 'cli-key-two'])
  const url = await new Promise<string>((resolve, reject) => {
    proc.child.stdout.on('data', () => {
      const match = /listening on (http:\/\/\S+)\n/.exec(proc.output().stdout)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    proc.child.once('exit', () => reject(new Error(proc.output().stderr)))
  })
  t.match(proc.output().stdout, /^Mailerlite API stand-in listening on http:\/\/127\.0\.0\.1:\d+\n$/)
  const one = createMailerliteClient({ apiKey: 'cli-key-one', baseUrl: url })
  const two = createMailerliteClient({ apiKey: 'cli-key-two', baseUrl: url })
  await one.createGroup('One')
  t.same(await two.listGroups(), [], 'two accounts')
  t.equal(one.rateLimitRemaining, 119)

  const fail = await fetch(`${url}/__stand-in/fail`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ count: 1, status: 503 }),
  })
  t.equal(fail.status, 200)
  const failed = await one.listGroups().then(
    () => undefined,
    (error: { status?: number }) => error,
  )
  t.equal(failed?.status, 503, 'the next call fails as asked')
  const requests = (await (await fetch(`${url}/__stand-in/requests`)).json()) as {
    requests: Array<{ status: number }>
  }
  t.same(
    requests.requests.map((r) => r.status),
    [201, 200, 503],
  )

  await fetch(`${url}/api/campaigns`, { headers: { authorization: 'Bearer cli-key-one' } })
  proc.child.kill('SIGTERM')
  const [code] = await proc.exit
  t.equal(code, 0)
  t.match(proc.output().stderr, /unimplemented path/, 'paths it does not implement are logged')
})
