import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { personalTeam } from './helpers/campaigns.ts'
import { BOOLEAN_OFF, within } from './helpers/flags.ts'
import { signInAs } from './helpers/session.ts'

/*
 * `npm run flags` (apps/api/src/cli/flags.ts), run as operators run it: its own process on the
 * deployment's database, while an API worker runs and must follow every change within a second.
 */

// Each run is a Node process loading the layers (seconds on a busy machine); the test runs eight.
t.setTimeout(240_000)

const run = promisify(execFile)
const cli = path.resolve(import.meta.dirname, '../src/cli/flags.ts')

t.test(
  'operators list, set, roll out, enable, disable and read the history; the running API follows',
  async (t) => {
    const app = await buildTestApp(t)
    const user = await signInAs(app, 'ops-target@example.com')
    const teamId = await personalTeam(app, user)
    const dir = await mkdtemp(path.join(tmpdir(), 'nudge-flags-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', DATABASE_URL: app.config.DATABASE_URL }
    for (const name of Object.keys(env)) if (/^MEMCACHED_/.test(name)) delete env[name]
    const flags = async (...args: string[]) => {
      try {
        const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env })
        return { code: 0, stdout, stderr }
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string }
        return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
      }
    }
    const evaluates = (value: boolean, forTeam = teamId) =>
      within(1000, async () => app.flags.boolean('checkout-v2', false, { teamId: forTeam }) === value)

    const file = path.join(dir, 'def.json')
    await writeFile(
      file,
      JSON.stringify({
        ...BOOLEAN_OFF,
        targeting: {
          fractional: [
            ['on', 100],
            ['off', 0],
          ],
        },
      }),
    )
    const set = await flags('set', 'checkout-v2', '--file', file)
    t.equal(set.code, 0, set.stderr)
    t.match(JSON.parse(set.stdout), { key: 'checkout-v2', definition: { state: 'ENABLED' } })
    t.ok((await evaluates(true)) >= 0, 'the API evaluates the new definition within a second')

    await writeFile(file, JSON.stringify({ ...BOOLEAN_OFF, defaultVariant: 'maybe' }))
    const invalid = await flags('set', 'checkout-v2', '--file', file)
    t.equal(invalid.code, 1)
    t.match(invalid.stderr, /FLAG_INVALID: .*defaultVariant "maybe" is not one of the variants/)
    await writeFile(file, '{ not json')
    const notJson = await flags('set', 'checkout-v2', '--file', file)
    t.equal(notJson.code, 2)
    t.match(notJson.stderr, /--file .*def\.json: /)

    const rollout = await flags('rollout', 'checkout-v2', '--percent', '0')
    t.equal(rollout.code, 0, rollout.stderr)
    t.ok((await evaluates(false)) >= 0, 'rolled back to 0 % within a second')
    const enable = await flags('enable', 'checkout-v2', '--team', teamId)
    t.equal(enable.code, 0, enable.stderr)
    t.ok((await evaluates(true)) >= 0, 'on for the named team within a second')
    t.equal(app.flags.boolean('checkout-v2', false, { teamId: randomUUID() }), false, 'and no other')
    const disable = await flags('disable', 'checkout-v2')
    t.equal(disable.code, 0, disable.stderr)
    t.ok((await evaluates(false)) >= 0, 'off within a second')

    const list = await flags('list')
    t.same(
      JSON.parse(list.stdout).flags.map((flag: { key: string }) => flag.key),
      ['checkout-v2'],
    )
    const get = await flags('get', 'checkout-v2')
    t.equal(JSON.parse(get.stdout).definition.state, 'DISABLED')
    const history = JSON.parse((await flags('history', 'checkout-v2')).stdout).changes
    t.equal(history.length, 4, 'set, rollout, enable, disable; the refused one is not there')
    t.ok(
      history.every(
        (change: { actor: string }) => change.actor === `cli:${userInfo().username}@${hostname()}`,
      ),
      'each names who ran it',
    )
    t.same(history[0].before, history[1].after, 'each change records the state before it')

    for (const [args, reason] of [
      [['rollout', 'checkout-v2', '--percent', '150'], /--percent N, a whole number from 0 to 100/],
      [['enable', 'checkout-v2', '--team', 'acme'], /--team TEAM_ID/],
      [['explode'], /unknown command: explode/],
      [['get'], /get needs the flag's KEY/],
      [[], /a command is required/],
    ] as Array<[string[], RegExp]>) {
      const res = await flags(...args)
      t.equal(res.code, 2, `${args.join(' ')}: exit 2`)
      t.match(res.stderr, reason)
    }
    const missing = await flags('disable', 'no-such-flag')
    t.equal(missing.code, 1)
    t.match(missing.stderr, /FLAG_NOT_FOUND/)
    t.match((await flags('--help')).stdout, /usage: npm run flags/)
  },
)
