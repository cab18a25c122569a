/**
 * The aws driver against stand-ins at the AWS and Cloudflare HTTP boundaries, driven by the real
 * SDKs: SSM (Run Command runs the scripts on this machine, one directory per "instance", so the
 * install steps themselves run), Parameter Store, S3 (fauxqs) and Cloudflare DNS. A tiny proxy
 * plays Cloudflare's edge: api.<domain> goes wherever the CNAME points.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readlink, rm, stat, writeFile } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { startAwsStandIn } from '@nudge/aws-stand-in'
import { startCloudflareStandIn } from '@nudge/cloudflare-stand-in'
import { dropDatabase, freePort, freshDatabase } from '@nudge/dev-tools/database.ts'
import { signInByMagicLink } from '@nudge/dev-tools/sign-in.ts'
import { startSuperTokensCore } from '@nudge/supertokens-core'
import { buildApp as fauxqs } from 'fauxqs'
import t from 'tap'
import { loadDeployConfig, repositoryRoot } from '../src/config.ts'
import { AwsDriver } from '../src/drivers/aws.ts'
import { hostAnswer } from '../src/host-scripts.ts'

const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const database = `nudge_deploy_aws_${process.pid}`
const region = 'eu-central-1'
const accessKeyId = 'AKIADEPLOYTEST000000'
const secretAccessKey = 'deploy-test-secret-access-key-never-printed'
const domain = 'nudge.test'
const bucket = 'nudge-releases'

const root = await mkdtemp(path.join(os.tmpdir(), 'nudge-deploy-aws-'))
const hosts = [
  { id: 'i-0b1ee000000000001', colour: 'blue', port: await freePort() },
  { id: 'i-0b1ee000000000002', colour: 'blue', port: await freePort() },
  { id: 'i-06eee000000000001', colour: 'green', port: await freePort() },
]
const hostDir = (id: string) => path.join(root, id)

const s3Server = fauxqs({ logger: false })
await s3Server.listen({ port: 0, host: '127.0.0.1' })
const s3Url = `http://127.0.0.1:${(s3Server.server.address() as { port: number }).port}`
const s3 = new S3Client({
  region,
  endpoint: s3Url,
  forcePathStyle: true,
  credentials: { accessKeyId, secretAccessKey },
})
await s3.send(new CreateBucketCommand({ Bucket: bucket }))

const databaseUrl = await freshDatabase(server, database)
const core = await startSuperTokensCore({ port: await freePort() })
const serviceSecret = randomBytes(32).toString('base64url')
const ssmPort = await freePort()
const hostEnvironment = {
  AWS_ACCESS_KEY_ID: accessKeyId,
  AWS_SECRET_ACCESS_KEY: secretAccessKey,
  AWS_REGION: region,
  AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${ssmPort}`,
}
for (const host of hosts) {
  await mkdir(hostDir(host.id), { recursive: true })
  await writeFile(
    path.join(hostDir(host.id), 'host.env'),
    `PORT=${host.port}\nHOST=127.0.0.1\nPM2_INSTANCES=1\nPM2_WORKER_INSTANCES=1\n`,
  )
}
const parameter = (name: string, value: string, type: 'String' | 'SecureString' = 'String') => ({
  name: `/nudge/test/${name}`,
  value,
  type,
})
const aws = await startAwsStandIn({
  port: ssmPort,
  region,
  accessKeyId,
  secretAccessKey,
  outputS3: { endpoint: s3Url, region, credentials: { accessKeyId, secretAccessKey }, forcePathStyle: true },
  instances: hosts.map((host) => ({
    instanceId: host.id,
    tags: { 'nudge:environment': 'test', 'nudge:colour': host.colour, Name: `api-${host.colour}` },
    workingDirectory: hostDir(host.id),
    env: { ...hostEnvironment, NUDGE_HOST_ROOT: hostDir(host.id), NUDGE_HOST_NAME: host.id },
  })),
  parameters: [
    parameter('NODE_ENV', 'development'),
    parameter('DATABASE_URL', databaseUrl, 'SecureString'),
    parameter('SUPERTOKENS_CONNECTION_URI', core.url),
    parameter('DEV_MAILBOX', 'true'),
    parameter('STORAGE_DIR', path.join(root, 'published')),
    parameter('LOG_LEVEL', 'warn'),
    parameter('SERVICE_JWT_SECRET', serviceSecret, 'SecureString'),
    parameter('RATE_LIMIT_MAX', '1000000'),
    parameter('HEALTH_TIMING_LIMIT_PER_MINUTE', '10000'),
  ],
})
const cf = await startCloudflareStandIn({ zoneName: domain })

/** A load balancer per colour (round robin over its hosts) and Cloudflare's edge for api.<domain>. */
function proxy(pick: () => number | undefined): Promise<{ url: string; server: http.Server }> {
  const balancer = http.createServer((request, response) => {
    const port = pick() ?? 0
    const upstream = http.request(
      { host: '127.0.0.1', port, path: request.url, method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      },
    )
    upstream.on('error', () => {
      response.writeHead(502).end('origin unreachable')
    })
    request.pipe(upstream)
  })
  return new Promise((resolve) =>
    balancer.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(balancer.address() as { port: number }).port}`, server: balancer }),
    ),
  )
}
const roundRobin = (colour: string) => {
  let next = 0
  const ports = hosts.filter((h) => h.colour === colour).map((h) => h.port)
  return () => ports[next++ % ports.length]
}
const blue = await proxy(roundRobin('blue'))
const green = await proxy(roundRobin('green'))
const colourPorts = { blue: new URL(blue.url).port, green: new URL(green.url).port }
const edge = await proxy(() => {
  const record = cf.records.find((r) => r.name === `api.${domain}`)
  const colour = record?.content.split('.')[0] as 'blue' | 'green' | undefined
  return colour ? Number(colourPorts[colour]) : undefined
})

// The driver's SDK clients read credentials and endpoints from the environment, as on an operator's machine.
const sdkEnvironment = {
  AWS_REGION: region,
  AWS_ACCESS_KEY_ID: accessKeyId,
  AWS_SECRET_ACCESS_KEY: secretAccessKey,
  AWS_ENDPOINT_URL_SSM: aws.url,
  AWS_ENDPOINT_URL_S3: s3Url,
}
Object.assign(process.env, sdkEnvironment)
const deployEnv: Record<string, string> = {
  ...sdkEnvironment,
  DEPLOY_DRIVER: 'aws',
  DEPLOY_DOMAIN: domain,
  DEPLOY_ENVIRONMENT: 'test',
  DEPLOY_S3_BUCKET: bucket,
  DEPLOY_S3_FORCE_PATH_STYLE: 'true',
  DEPLOY_BLUE_URL: blue.url,
  DEPLOY_GREEN_URL: green.url,
  DEPLOY_STABLE_URL: edge.url,
  DEPLOY_WATCH_SECONDS: '2',
  DEPLOY_FINISH_AFTER_MINUTES: '30',
  DEPLOY_COMMAND_TIMEOUT_SECONDS: '300',
  CLOUDFLARE_API_TOKEN: 'cloudflare-stand-in-token',
  CLOUDFLARE_ZONE_ID: '023e105f4ecef8ad9ca31a8372d0c353',
  CLOUDFLARE_API_URL: cf.url,
}

t.teardown(async () => {
  // Every simulated host's PM2 (and so its API and worker) goes, whatever state the test left.
  for (const host of hosts) {
    const release = await readlink(path.join(hostDir(host.id), 'current')).catch(() => '')
    if (!release) continue
    const bin = path.join(hostDir(host.id), release, 'node_modules/.bin')
    await new Promise((resolve) =>
      spawn(path.join(bin, 'pm2'), ['kill'], {
        env: { PATH: `${bin}:/usr/bin:/bin`, PM2_HOME: path.join(hostDir(host.id), 'pm2') },
        stdio: 'ignore',
      }).on('close', resolve),
    )
  }
  for (const proxyServer of [blue, green, edge]) proxyServer.server.close()
  await aws.close()
  await cf.close()
  await s3Server.close()
  await core.close()
  s3.destroy()
  await dropDatabase(server, database)
  await rm(root, { recursive: true, force: true })
})

function deploy(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repositoryRoot, 'deploy/src/cli.ts'), ...args], {
      cwd: repositoryRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...deployEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.on('close', (code) => resolve({ code: code ?? 1, output }))
  })
}

const health = async (url: string) => {
  try {
    return ((await (await fetch(`${url}/health`)).json()) as { release?: string }).release
  } catch {
    return undefined
  }
}
const apiRecord = () => cf.records.find((r) => r.name === `api.${domain}`)
const secrets = [serviceSecret, databaseUrl, secretAccessKey]
const leaks = (text: string) => secrets.filter((secret) => text.includes(secret))

t.test('a dry run reads the hosts and changes nothing', async (t) => {
  const run = await deploy(['release', '--dry-run'])
  t.equal(run.code, 0, run.output)
  t.match(run.output, /to blue \[i-0b1ee000000000001, i-0b1ee000000000002\]; nothing is live yet/)
  t.match(run.output, /plan: install on blue/)
  t.notMatch(run.output, /released/, 'a plan does not say it released')
  const withSwitch = await deploy(['release', '--switch', '--dry-run'])
  t.equal(withSwitch.code, 0, withSwitch.output)
  t.match(withSwitch.output, /plan: switch api\.nudge\.test to blue, then watch both colours/)
  t.equal(aws.commands.length, 0, 'no command was sent to a host')
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  t.equal(objects.KeyCount ?? 0, 0, 'nothing was uploaded')
})

t.test('the first release installs on every blue host without printing a secret', async (t) => {
  const run = await deploy(['release'])
  t.equal(run.code, 0, run.output)
  const release = /release (\S+) \(/.exec(run.output)?.[1] ?? ''
  t.match(release, /^\d{8}T\d{6}Z-[0-9a-f]{7}$/)
  for (const host of hosts.filter((h) => h.colour === 'blue')) {
    t.equal(
      await readlink(path.join(hostDir(host.id), 'current')),
      path.join('releases', release),
      `${host.id} runs it`,
    )
    const env = await stat(path.join(hostDir(host.id), 'releases', release, 'release-env.json'))
    t.equal(env.mode & 0o777, 0o600, 'the rendered environment is readable by its owner only')
    t.equal(await health(`http://127.0.0.1:${host.port}`), release)
  }
  t.equal(
    await readlink(path.join(hostDir('i-06eee000000000001'), 'current')).catch(() => null),
    null,
    'green untouched',
  )
  t.equal(apiRecord(), undefined, 'nothing is live before the switch')
  const keys = (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key) ?? []
  t.ok(
    keys.some((key) => /^nudge\/test\/artifacts\/[0-9a-f]{40}\.tgz$/.test(key ?? '')),
    'the artifact is in S3',
  )
  t.ok(
    keys.some((key) => key?.startsWith('nudge/test/ssm-output/')),
    'command output is kept in S3',
  )
  t.same(leaks(run.output), [], 'the deploy printed no secret')
  t.same(leaks(aws.commands.map((c) => c.script).join('\n')), [], 'no secret travelled in a command')
  t.ok(
    aws.commands.every((c) => c.parameters.commands?.length === 1),
    'AWS-RunShellScript, one script each',
  )
})

t.test('switch points the proxied CNAME at blue', async (t) => {
  const run = await deploy(['switch'])
  t.equal(run.code, 0, run.output)
  const record = apiRecord()
  t.equal(record?.type, 'CNAME')
  t.equal(record?.content, `blue.api.${domain}`)
  t.equal(record?.proxied, true)
  t.equal(await health(edge.url), await health(blue.url))
  t.match(run.output, /watch both colours for 2s/)
})

let releaseToGreen = ''
t.test('a failed gate stops the release with the live colour untouched', async (t) => {
  // The canary site exists only once created through the API: the smoke check must fail first.
  const changes = cf.dnsChanges.length
  const failed = await deploy(['release'], { DEPLOY_CANARY_HOSTNAME: 'canary.nudge.test' })
  t.equal(failed.code, 1, failed.output)
  t.match(failed.output, /FAILED smoke: green\.api\.nudge\.test .*canary\.nudge\.test answered 404/)
  t.match(failed.output, /api\.nudge\.test points at blue/)
  t.equal(cf.dnsChanges.length, changes, 'no DNS edit')
  t.equal(apiRecord()?.content, `blue.api.${domain}`)

  // The dev mailbox is one file per port: ask one host, not the round robin.
  const token = await signInByMagicLink(`http://127.0.0.1:${hosts[0]?.port}`, 'operator@example.com')
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const teams = (await (await fetch(`${edge.url}/v1/teams`, { headers })).json()) as {
    items: Array<{ id: string }>
  }
  const site = await fetch(`${edge.url}/v1/teams/${teams.items[0]?.id}/sites`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ hostname: 'canary.nudge.test' }),
  })
  t.equal(site.status, 201)
  const passed = await deploy(['release'], { DEPLOY_CANARY_HOSTNAME: 'canary.nudge.test' })
  t.equal(passed.code, 0, passed.output)
  t.match(
    passed.output,
    /ok smoke: green\.api\.nudge\.test through its subdomain .*site document 200, JWKS \d+ keys, service read 200/,
  )
  releaseToGreen = /release (\S+) \(/.exec(passed.output)?.[1] ?? ''
  t.equal(await health(green.url), releaseToGreen)
})

t.test('switch to green, then rollback to blue in well under a minute', async (t) => {
  const blueRelease = await health(blue.url)
  // Cloudflare's API down (the SDK's three attempts all answer 503): the switch fails, nothing moves.
  cf.failNext(3, 503)
  const down = await deploy(['switch'])
  t.equal(down.code, 1, 'a switch with Cloudflare down fails')
  t.equal(apiRecord()?.content, `blue.api.${domain}`)
  t.equal(await health(edge.url), blueRelease)
  const switched = await deploy(['switch'])
  t.equal(switched.code, 0, switched.output)
  t.equal(await health(edge.url), releaseToGreen)
  const started = Date.now()
  const rolled = await deploy(['rollback'])
  t.equal(rolled.code, 0, rolled.output)
  t.equal(apiRecord()?.content, `blue.api.${domain}`)
  t.equal(await health(edge.url), blueRelease)
  const seconds = Number(/rollback: ([\d.]+)s from the command to traffic moved/.exec(rolled.output)?.[1])
  t.ok(seconds < 60 && Date.now() - started < 60_000, `rollback moved traffic in ${seconds}s`)
})

/** Stops every process of one simulated host, as a crash of the release there would. */
async function crash(hostId: string): Promise<void> {
  const release = await readlink(path.join(hostDir(hostId), 'current'))
  const bin = path.join(hostDir(hostId), release, 'node_modules/.bin')
  await new Promise((resolve) =>
    spawn(path.join(bin, 'pm2'), ['kill'], {
      env: { PATH: `${bin}:/usr/bin:/bin`, PM2_HOME: path.join(hostDir(hostId), 'pm2') },
      stdio: 'ignore',
    }).on('close', resolve),
  )
}

t.test('a new colour that fails while watched is rolled back by itself', async (t) => {
  const blueRelease = await health(blue.url)
  const switching = deploy(['switch'], { DEPLOY_WATCH_SECONDS: '8' })
  // Green goes down once it has the traffic.
  const deadline = Date.now() + 60_000
  while (apiRecord()?.content !== `green.api.${domain}` && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(apiRecord()?.content, `green.api.${domain}`, 'the switch happened')
  await crash('i-06eee000000000001')
  const run = await switching
  t.equal(run.code, 1, 'the switch fails')
  t.match(run.output, /roll back to blue: green's error rate/)
  t.match(run.output, /green failed the watch and traffic is back on blue/)
  t.equal(apiRecord()?.content, `blue.api.${domain}`)
  t.equal(await health(edge.url), blueRelease)
})

t.test('finish waits for the live time, then stops the old colour', async (t) => {
  const early = await deploy(['finish'])
  t.equal(early.code, 1)
  t.match(early.output, /less than DEPLOY_FINISH_AFTER_MINUTES \(30\); wait, or pass --now/)
  const run = await deploy(['finish', '--now'])
  t.equal(run.code, 0, run.output)
  t.match(run.output, /ok stop green's processes/)
  t.match(run.output, /ok apply contract migrations .*none pending/)
  t.equal(await health(green.url), undefined, 'green no longer answers')
  t.ok(await health(edge.url), 'blue still serves')
  const status = await deploy(['status'])
  t.equal(status.code, 0, status.output)
  t.match(status.output, /live: blue since/)
  t.match(status.output, /i-06eee000000000001: release \S+, not ready/)
  const rollback = await deploy(['rollback'])
  t.equal(rollback.code, 1, 'no rollback to a finished colour')
  t.match(rollback.output, /cannot roll back to green/)
})

t.test('output past SSM’s 24,000 characters is read back from S3', async (t) => {
  const driver = new AwsDriver(loadDeployConfig({ ...deployEnv }))
  t.teardown(() => driver.close())
  const [run] = await driver.run(
    'blue',
    `head -c 30000 /dev/zero | tr '\\0' x; echo; echo '{"host":"h","ok":true}'`,
    {
      timeoutSeconds: 60,
      only: ['i-0b1ee000000000001'],
    },
  )
  t.equal(run?.exitCode, 0)
  t.ok((run?.stdout.length ?? 0) > 30000, `all ${run?.stdout.length} characters`)
  t.same(hostAnswer(run?.stdout ?? ''), { host: 'h', ok: true })
})

t.test('an unreachable host fails the release clearly; a held lock refuses a second deploy', async (t) => {
  aws.setOnline('i-06eee000000000001', false)
  const offline = await deploy(['release'])
  aws.setOnline('i-06eee000000000001', true)
  t.equal(offline.code, 1)
  t.match(offline.output, /install failed on 1 of 1 hosts:\s+i-06eee000000000001 .*DeliveryTimedOut/s)
  t.equal(apiRecord()?.content, `blue.api.${domain}`, 'live colour untouched')

  const driver = new AwsDriver(loadDeployConfig({ ...deployEnv }))
  const unlock = await driver.lock('someone else')
  const refused = await deploy(['switch'])
  await unlock()
  await driver.close()
  t.equal(refused.code, 1)
  t.match(refused.output, /another deploy holds the lock: someone else/)
})
