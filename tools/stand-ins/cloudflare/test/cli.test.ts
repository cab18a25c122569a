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
  t.match(proc.output().stdout, /Usage: node tools\/stand-ins\/cloudflare\/src\/cli\.ts/)
})

t.test('refuses to start in production', async (t) => {
  const proc = run(['--port', '0'], { NODE_ENV: 'production' })
  const [code] = await proc.exit
  t.equal(code, 1)
  t.match(proc.output().stderr, /development and tests only/)
})

t.test('refuses a bad port or zone id', async (t) => {
  const port = run(['--port', 'abc'])
  t.equal((await port.exit)[0], 1)
  t.match(port.output().stderr, /Invalid --port/)
  const zone = run(['--port', '0', '--zone-id', 'example.com'])
  t.equal((await zone.exit)[0], 1)
  t.match(zone.output().stderr, /zoneId must be 32 hex/)
})

t.test('serves the API and the test controls until SIGTERM', async (t) => {
  const token = 'cli-test-token'
  const zone = 'abcdef0123456789abcdef0123456789'
  const proc = run(['--port', '0', '--token', token, '--zone-id', zone, '--zone-name', 'nudge.test'])
  const url = await new Promise<string>((resolve, reject) => {
    proc.child.stdout.on('data', () => {
      const match = /listening on (http:\/\/\S+)\n/.exec(proc.output().stdout)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    proc.child.once('exit', () => reject(new Error(proc.output().stderr)))
  })
  t.match(
    proc.output().stdout,
    /^Cloudflare API stand-in listening on http:\/\/127\.0\.0\.1:\d+\/client\/v4\n$/,
  )
  const origin = new URL(url).origin
  const purge = () =>
    fetch(`${url}/zones/${zone}/purge_cache`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ files: ['https://edge.nudge.example/a.json'] }),
    })

  const failNext = await fetch(`${origin}/__stand-in/fail-next`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ count: 1, status: 502 }),
  })
  t.equal(failNext.status, 204)
  t.equal((await purge()).status, 502, 'the next call fails as asked')
  t.equal((await purge()).status, 200, 'and only that one')

  const recorded = await fetch(`${origin}/__stand-in/purges`)
  t.match(await recorded.json(), {
    purges: [{ zoneId: zone, files: ['https://edge.nudge.example/a.json'], at: String }],
  })
  t.equal((await fetch(`${origin}/__stand-in/purges`, { method: 'DELETE' })).status, 204)
  t.same(await (await fetch(`${origin}/__stand-in/purges`)).json(), { purges: [] })

  const seeded = await fetch(`${origin}/__stand-in/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ records: [{ type: 'CNAME', name: 'api', content: 'blue.api.nudge.test' }] }),
  })
  t.equal(seeded.status, 201)
  const listed = await fetch(`${url}/zones/${zone}/dns_records?name=api.nudge.test`, {
    headers: { authorization: `Bearer ${token}` },
  })
  t.match(await listed.json(), {
    result: [{ name: 'api.nudge.test', content: 'blue.api.nudge.test' }],
    result_info: { total_count: 1 },
  })

  await fetch(`${url}/accounts`)
  proc.child.kill('SIGTERM')
  const [code] = await proc.exit
  t.equal(code, 0)
  t.match(proc.output().stderr, /unimplemented path/, 'paths it does not implement are logged')
})
