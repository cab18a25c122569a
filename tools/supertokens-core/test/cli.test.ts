import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'

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
  t.match(proc.output().stdout, /Usage: node tools\/supertokens-core\/src\/cli\.ts/)
})

t.test('refuses to start in production', async (t) => {
  const proc = run(['--port', '0'], { NODE_ENV: 'production' })
  const [code] = await proc.exit
  t.equal(code, 1)
  t.match(proc.output().stderr, /development and tests only/)
})

t.test('serves until SIGTERM', async (t) => {
  const proc = run(['--port', '0'])
  const url = await new Promise<string>((resolve, reject) => {
    proc.child.stdout.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(proc.output().stdout)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    proc.child.once('exit', () => reject(new Error(proc.output().stderr)))
  })
  t.match(proc.output().stdout, /^SuperTokens core stand-in listening on http:\/\/127\.0\.0\.1:\d+\n$/)
  const res = await fetch(`${url}/apiversion`)
  t.same(await res.json(), { versions: ['5.4'] })
  await fetch(`${url}/no/such/path`)
  proc.child.kill('SIGTERM')
  const [code] = await proc.exit
  t.equal(code, 0)
  t.match(proc.output().stderr, /unimplemented core path/, 'unknown paths are logged')
})
