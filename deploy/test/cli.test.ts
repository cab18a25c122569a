import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '@nudge/dev-tools/database.ts'
import t from 'tap'
import { repositoryRoot } from '../src/config.ts'

const dir = await mkdtemp(path.join(os.tmpdir(), 'nudge-deploy-cli-'))
const proxyPort = String(await freePort())
t.teardown(async () => {
  // The local driver starts its HAProxy (the edge) when it first runs; this test stops it.
  const pid = Number(await readFile(path.join(dir, 'proxy/haproxy.pid'), 'utf8').catch(() => ''))
  if (pid > 0) process.kill(pid, 'SIGTERM')
  await rm(dir, { recursive: true, force: true })
})

function deploy(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repositoryRoot, 'deploy/src/cli.ts'), ...args], {
      cwd: repositoryRoot,
      // A local driver in a directory of its own, with no release: nothing here deploys.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DEPLOY_LOCAL_DIR: dir,
        DEPLOY_LOCAL_PROXY_PORT: proxyPort,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk
    })
    child.on('close', (code) => resolve({ code: code ?? 1, out, err }))
  })
}

t.test('--help prints every command; a wrong command or argument is refused with the usage', async (t) => {
  const help = await deploy(['--help'])
  t.equal(help.code, 0)
  for (const command of ['status', 'release [REF]', 'switch', 'rollback', 'finish', '--dry-run'])
    t.match(help.out, command)
  for (const args of [[], ['deploy'], ['switch', 'extra'], ['release', 'a', 'b'], ['status', '--force']]) {
    const run = await deploy(args)
    t.equal(run.code, 2, `${args.join(' ') || '(nothing)'} refused`)
    t.match(run.out + run.err, /usage: npm run deploy/)
  }
})

t.test('bad settings are named, each on a line of its own, before anything is done', async (t) => {
  const bad = await deploy(['status'], {
    DEPLOY_DRIVER: 'ssh',
    DEPLOY_WATCH_SECONDS: 'soon',
    DEPLOY_DOMAIN: 'Not A Domain',
  })
  t.equal(bad.code, 2)
  t.match(bad.err, /DEPLOY_DRIVER: /)
  t.match(bad.err, /DEPLOY_WATCH_SECONDS: /)
  t.match(bad.err, /DEPLOY_DOMAIN: /)
  const aws = await deploy(['status'], { DEPLOY_DRIVER: 'aws', CLOUDFLARE_API_TOKEN: 'a-secret-token' })
  t.equal(aws.code, 2)
  for (const name of ['AWS_REGION', 'DEPLOY_S3_BUCKET', 'CLOUDFLARE_ZONE_ID'])
    t.match(aws.err, new RegExp(`${name}: required with DEPLOY_DRIVER=aws`))
  t.notMatch(aws.err, /a-secret-token/)
})

t.test('a ref that names no commit, or is not a ref at all, stops the release before building', async (t) => {
  const missing = await deploy(['release', 'no-such-branch', '--dry-run'])
  t.equal(missing.code, 1)
  t.match(missing.err, /no-such-branch does not name a commit/)
  const hostile = await deploy(['release', 'HEAD;rm -rf /', '--dry-run'])
  t.equal(hostile.code, 1)
  t.match(hostile.err, /not a git ref/)
})

t.test('rollback and finish with nothing live say so', async (t) => {
  const rollback = await deploy(['rollback'])
  t.equal(rollback.code, 1)
  t.match(rollback.err, /nothing is live: there is nothing to roll back/)
  const finish = await deploy(['finish', '--now'])
  t.equal(finish.code, 1)
  t.match(finish.err, /nothing is live: nothing to finish/)
})

t.test(
  'edge --dry-run builds the Worker offline with the popup script; a real deploy names its credentials',
  async (t) => {
    const embed = JSON.parse(
      await readFile(path.join(repositoryRoot, 'apps/embed/package.json'), 'utf8'),
    ) as {
      scripts?: Record<string, string>
    }
    // The real popup script when apps/embed can be built here, else the Worker tests' stand-in.
    const script: Record<string, string> = embed.scripts?.build
      ? {}
      : { EDGE_SCRIPT_FILE: path.join(repositoryRoot, 'apps/edge/test/fixtures/nudge.js') }
    const dry = await deploy(['edge', '--dry-run'], { ...script, NO_COLOR: '1' })
    t.equal(dry.code, 0, dry.err)
    t.match(dry.out, /\[edge\] popup script .* bundled: \/nudge\.js and \/nudge\.[0-9a-f]{10}\.js/)
    t.match(dry.out, /env\.OBJECTS \(nudge-objects\)/)
    t.match(dry.out, /--dry-run: exiting now/)
    t.match(dry.err, /built into apps\/edge\/dist, nothing deployed/)
    const real = await deploy(['edge'], { CLOUDFLARE_ACCOUNT_ID: '0123' })
    t.equal(real.code, 2)
    t.match(real.err, /CLOUDFLARE_API_TOKEN: required to deploy the edge Worker/)
    t.notMatch(real.err, /CLOUDFLARE_ACCOUNT_ID: required/)
    t.equal(real.out, '', 'wrangler was not run')
    const help = await deploy(['--help'])
    t.match(help.out, /edge\s+publish the edge Worker/)
  },
)
