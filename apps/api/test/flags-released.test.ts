import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { signServiceToken } from '@nudge/auth'
import { FlagdCore } from '@openfeature/flagd-core'
import t from 'tap'
import { TAB_RETURN_TRIGGER_FLAG } from '../src/modules/flags/released.ts'
import { buildTestApp, storageDir } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { BOOLEAN_OFF, flagsApi } from './helpers/flags.ts'
import { signInAs } from './helpers/session.ts'

/*
 * The two things behind flags, end to end: a campaign trigger type the API accepts only for teams
 * that have it, and features listed in what is published for a team's sites. Each at 0 %, for one
 * team, at a percentage and back to off.
 */

/**
 * A percentage at which the rollout rule puts `first` in and `second` out (or the reverse), found
 * with flagd's own evaluator: which teams a percentage picks depends on the hash of key + team.
 */
function splittingPercent(key: string, first: string, second: string) {
  const core = new FlagdCore()
  for (let percent = 1; percent < 100; percent++) {
    const targeting = {
      fractional: [
        ['on', percent],
        ['off', 100 - percent],
      ],
    }
    core.setConfigurations(JSON.stringify({ flags: { [key]: { ...BOOLEAN_OFF, targeting } } }))
    const on = (teamId: string) => core.resolveBooleanEvaluation(key, false, { targetingKey: teamId }).value
    if (on(first) !== on(second)) return { percent, inTeam: on(first) ? first : second }
  }
  throw new Error('the two teams share a bucket: no percentage splits them')
}

async function twoTeams(app: Awaited<ReturnType<typeof buildTestApp>>) {
  const ann = await signInAs(app, 'ann@example.com')
  const bob = await signInAs(app, 'bob@example.com')
  const teams = {
    ann: { who: ann, teamId: await personalTeam(app, ann) },
    bob: { who: bob, teamId: await personalTeam(app, bob) },
  }
  return teams
}

t.test(
  'the tab-return trigger: refused at 0 %, accepted for one team, for a percentage, refused again when off',
  async (t) => {
    const app = await buildTestApp(t)
    const ops = flagsApi(app)
    const { ann, bob } = await twoTeams(app)
    const sites = {
      [ann.teamId]: (await addSite(app, ann.who, ann.teamId, 'ann.example')).id,
      [bob.teamId]: (await addSite(app, bob.who, bob.teamId, 'bob.example')).id,
    }
    const byTeam = new Map([
      [ann.teamId, ann.who],
      [bob.teamId, bob.who],
    ])
    const targeting = { trigger: { type: 'tab-return' } }
    const create = (teamId: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/teams/${teamId}/campaigns`,
        headers: byTeam.get(teamId)?.headers ?? {},
        payload: { name: 'Come back', type: 'modal', siteId: sites[teamId], targeting },
      })
    const accepted = async (teamId: string) => {
      const res = await create(teamId)
      if (res.statusCode === 400) {
        t.match(res.json(), {
          code: 'VALIDATION_ERROR',
          details: [{ field: 'body.targeting.trigger.type', message: /not available to this team yet/ }],
        })
      }
      return res.statusCode === 201
    }

    t.equal(await accepted(ann.teamId), false, 'no flag at all: refused')
    await ops.ok(ops.rollout(TAB_RETURN_TRIGGER_FLAG, 0))
    t.equal(await accepted(ann.teamId), false, '0 %: refused, naming the field')
    const other = await newCampaign(app, bob.who, bob.teamId, { siteId: sites[bob.teamId] })
    const patched = await campaignApi(app, bob.who, bob.teamId).patch(other.id, other.version, { targeting })
    t.equal(patched.statusCode, 400, '0 %: a change to it is refused too')
    t.equal(
      (await newCampaign(app, bob.who, bob.teamId, { siteId: sites[bob.teamId] })).status,
      'draft',
      'other triggers are unaffected',
    )

    const { percent, inTeam } = splittingPercent(TAB_RETURN_TRIGGER_FLAG, ann.teamId, bob.teamId)
    const outTeam = inTeam === ann.teamId ? bob.teamId : ann.teamId
    await ops.ok(ops.rollout(TAB_RETURN_TRIGGER_FLAG, percent))
    t.equal(await accepted(inTeam), true, `${percent} %: a team in the percentage may use it`)
    t.equal(await accepted(outTeam), false, `${percent} %: a team outside it may not`)

    await ops.ok(ops.rollout(TAB_RETURN_TRIGGER_FLAG, 0))
    await ops.ok(ops.enable(TAB_RETURN_TRIGGER_FLAG, outTeam))
    t.equal(await accepted(outTeam), true, 'one team: that team may')
    t.equal(await accepted(inTeam), false, 'one team: no other')

    await ops.ok(ops.disable(TAB_RETURN_TRIGGER_FLAG))
    t.equal(await accepted(outTeam), false, 'off: refused again for everyone')
    t.equal(await accepted(inTeam), false)
  },
)

t.test(
  'published features: what a team’s site documents list follows the flag at each publish',
  async (t) => {
    const dir = await storageDir(t)
    const app = await buildTestApp(t, { STORAGE_DIR: dir })
    const ops = flagsApi(app)
    const { ann, bob } = await twoTeams(app)
    const hosts = { [ann.teamId]: 'ann.example', [bob.teamId]: 'bob.example' }
    await addSite(app, ann.who, ann.teamId, hosts[ann.teamId] ?? '')
    await addSite(app, bob.who, bob.teamId, hosts[bob.teamId] ?? '')
    const cron = { authorization: `Bearer ${signServiceToken(app.config.SERVICE_JWT_SECRET, 'cron', 60)}` }
    const republish = async () => {
      const res = await app.inject({ method: 'POST', url: '/internal/v1/republish', headers: cron })
      t.equal(res.statusCode, 200, res.body)
    }
    const published = async (teamId: string) =>
      JSON.parse(await readFile(path.join(dir, `domains/${hosts[teamId]}.json`), 'utf8')).features as
        | string[]
        | undefined
    const served = async (teamId: string) =>
      (await app.inject({ method: 'GET', url: `/public/v1/sites/${hosts[teamId]}` })).json().features as
        | string[]
        | undefined
    const FLAG = 'embed-new-renderer'
    const features = async (teamId: string) => {
      const [stored, api] = [await published(teamId), await served(teamId)]
      t.same(api, stored, 'the API serves what the edge has')
      return stored ?? []
    }

    await ops.ok(ops.set(FLAG, { ...BOOLEAN_OFF, metadata: { published: true } }))
    await ops.ok(ops.set('server-side-thing', { ...BOOLEAN_OFF, defaultVariant: 'on' }))
    await republish()
    t.same(await features(ann.teamId), [], '0 %: no features (and no unpublished flag)')
    t.same(await features(bob.teamId), [])

    await ops.ok(ops.enable(FLAG, ann.teamId))
    t.same(await published(ann.teamId), undefined, 'it takes effect on the next publish, not before')
    await republish()
    t.same(await features(ann.teamId), [FLAG], 'one team: its document lists it')
    t.same(await features(bob.teamId), [], 'the other team’s does not')

    const { percent, inTeam } = splittingPercent(FLAG, ann.teamId, bob.teamId)
    const outTeam = inTeam === ann.teamId ? bob.teamId : ann.teamId
    await ops.ok(ops.set(FLAG, { ...BOOLEAN_OFF, metadata: { published: true } }))
    await ops.ok(ops.rollout(FLAG, percent))
    await republish()
    t.same(await features(inTeam), [FLAG], `${percent} %: a team in the percentage`)
    t.same(await features(outTeam), [], `${percent} %: a team outside it`)

    await ops.ok(ops.disable(FLAG))
    await republish()
    t.same(await features(ann.teamId), [], 'off: gone from every document')
    t.same(await features(bob.teamId), [])
  },
)
