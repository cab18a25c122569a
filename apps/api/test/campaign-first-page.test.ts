import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'

// The opening list is sent as bytes serialized once per page size (campaigns/routes.ts): each
// size must still be its own page, in the schema's shape, and follow every change.

t.test(
  'first pages of several sizes from one cached list: each its own, each follows a change',
  async (t) => {
    const app = await buildTestApp(t)
    const ann = await signInAs(app, 'ann@example.com')
    const teamId = await personalTeam(app, ann)
    const site = await addSite(app, ann, teamId, 'shop.example')
    const made = []
    for (const name of ['First', 'Second', 'Third'])
      made.push(await newCampaign(app, ann, teamId, { name, siteId: site.id }))
    const list = (query: string) =>
      app.inject({ url: `/v1/teams/${teamId}/campaigns${query}`, headers: ann.headers })
    const names = (body: { items: Array<{ name: string }> }) => body.items.map((c) => c.name)

    for (let round = 0; round < 2; round++) {
      const one = await list('?limit=1')
      t.equal(one.headers['content-type'], 'application/json; charset=utf-8')
      t.same(names(one.json()), ['Third'])
      t.type(one.json().nextCursor, 'string', 'a cursor to the rest')
      t.same(names((await list('?limit=2')).json()), ['Third', 'Second'])
      const all = (await list('')).json()
      t.same(names(all), ['Third', 'Second', 'First'], 'the default size')
      t.equal(all.nextCursor, null, 'nothing after the whole list')
      t.same(Object.keys(all.items[0]).sort(), [
        'createdAt',
        'id',
        'name',
        'publishedAt',
        'publishedVersion',
        'siteId',
        'status',
        'type',
        'updatedAt',
        'variantCount',
        'version',
      ])
      const next = await list(`?limit=1&cursor=${one.json().nextCursor}`)
      t.same(names(next.json()), ['Second'], 'the cursor of a cached page leads on')
    }

    const renamed = await campaignApi(app, ann, teamId).patch(made[2]?.id ?? '', made[2]?.version, {
      name: 'Renamed',
    })
    t.equal(renamed.statusCode, 200, renamed.body)
    t.same(names((await list('?limit=1')).json()), ['Renamed'], 'a change reaches every cached size')
    t.same(names((await list('?limit=2')).json()), ['Renamed', 'Second'])
    t.same(names((await list('')).json()), ['Renamed', 'Second', 'First'])
    const head = await app.inject({
      method: 'HEAD',
      url: `/v1/teams/${teamId}/campaigns?limit=2`,
      headers: ann.headers,
    })
    t.equal(head.statusCode, 200)
    t.equal(head.body, '', 'HEAD sends no body')
  },
)
