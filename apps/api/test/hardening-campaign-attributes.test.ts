import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'

/*
 * Campaign content is published into the DOM of customers' pages. What an attacker (or a careless
 * teammate) types must not be able to end an attribute or open a tag there, whatever renders the
 * document: URLs are refused when they hold " ' < > ` and stored as URL.href; plain text refuses "
 * and anything a browser would start a tag with, closed or not. URL rules naming another host
 * than the campaign's site are refused, since the popup could then never show (or never hide).
 */

const app = await buildTestApp(t)
await app.ready()
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')
const other = await addSite(app, ann, teamId, 'other.example')
const campaigns = campaignApi(app, ann, teamId)

const problems = (res: LightMyRequestResponse) =>
  ((res.json().details ?? []) as Array<{ field: string; message: string }>).map(
    (detail) => `${detail.field} ${detail.message}`,
  )

function create(body: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/campaigns`,
    headers: ann.headers,
    payload: { name: 'Attack', type: 'modal', siteId: site.id, ...body },
  })
}

/** One variant with one step: the given blocks and buttons, and a form when given. */
function variant(step: Record<string, unknown>) {
  return [{ id: 'a', name: 'A', weight: 100, steps: [{ blocks: [], buttons: [], ...step }] }]
}

const emailField = { name: 'email', type: 'email', label: 'Email', required: true }
const submit = { label: 'Send', action: 'submit' }

t.test(
  'image and link URLs that could end an attribute or a tag are refused, naming the field',
  async (t) => {
    const urls = [
      'https://x/a.png"onerror="alert(1)',
      "https://x/a.png'onerror='alert(1)",
      'https://x/a.png"><script>alert(1)</script>',
      'https://x/<img/src=x/onerror=alert(1)>',
      'https://x/a.png`onerror=alert(1)',
    ]
    for (const url of urls) {
      const image = await create({ variants: variant({ blocks: [{ type: 'image', url, alt: '' }] }) })
      t.equal(image.statusCode, 400, `image ${url}: 400`)
      t.match(problems(image), [
        /^body\.variants\.0\.steps\.0\.blocks\.0\.url must not contain .* \(percent-encode it\)$/,
      ])
      const link = await create({
        variants: variant({ buttons: [{ label: 'Go', action: 'link', url }] }),
      })
      t.equal(link.statusCode, 400, `link ${url}: 400`)
      t.match(problems(link), [/^body\.variants\.0\.steps\.0\.buttons\.0\.url must not contain /])
    }
  },
)

t.test('plain text that ends in attributes refuses " and unclosed tags', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    [
      'blocks.0.alt',
      { blocks: [{ type: 'image', url: 'https://cdn.example/a.png', alt: 'x" onerror="alert(1)' }] },
    ],
    [
      'blocks.0.alt',
      { blocks: [{ type: 'image', url: 'https://cdn.example/a.png', alt: '<img src=x onerror=alert(1)//' }] },
    ],
    ['buttons.0.label', { buttons: [{ label: 'Go" autofocus onfocus="alert(1)', action: 'close' }] }],
    ['buttons.0.label', { buttons: [{ label: '<img src=x onerror=alert(1)//', action: 'close' }] }],
    ['buttons.0.label', { buttons: [{ label: '<svg/onload=alert(1)', action: 'close' }] }],
    [
      'form.fields.1.label',
      {
        buttons: [submit],
        form: { fields: [emailField, { name: 'n', type: 'text', label: 'Name" x="' }] },
      },
    ],
    [
      'form.fields.1.placeholder',
      {
        buttons: [submit],
        form: {
          fields: [emailField, { name: 'n', type: 'text', label: 'Name', placeholder: '" onfocus="x' }],
        },
      },
    ],
    [
      'form.fields.1.value',
      {
        buttons: [submit],
        form: { fields: [emailField, { name: 'src', type: 'hidden', label: '', value: 'a" type="text' }] },
      },
    ],
    [
      'form.fields.1.options.0',
      {
        buttons: [submit],
        form: { fields: [emailField, { name: 's', type: 'select', label: 'Pick', options: ['a"b'] }] },
      },
    ],
    [
      'form.consent.version',
      {
        buttons: [submit],
        form: { fields: [emailField], consent: { text: 'I agree', required: true, version: 'v1" x="' } },
      },
    ],
  ]
  for (const [field, step] of cases) {
    const res = await create({ variants: variant(step) })
    t.equal(res.statusCode, 400, `${field} ${JSON.stringify(step).slice(0, 80)}: 400`)
    t.match(problems(res), [
      new RegExp(`^body\\.variants\\.0\\.steps\\.0\\.${field.replaceAll('.', '\\.')} `),
    ])
  }
  const fine = await create({
    variants: variant({
      blocks: [{ type: 'image', url: 'https://cdn.example/a.png', alt: 'Don’t miss “Spring” 2 < 3' }],
      buttons: [{ label: 'Let’s go', action: 'close' }],
    }),
  })
  t.equal(fine.statusCode, 201, `apostrophes, typographic quotes and a lone < stay allowed (${fine.body})`)
})

t.test('URLs are stored and published as URL.href, one spelling per URL', async (t) => {
  const created = await newCampaign(app, ann, teamId, {
    siteId: site.id,
    variants: variant({
      blocks: [
        { type: 'image', url: 'HTTPS://CDN.Example.COM/ä/spring sale.jpg'.replace(' ', '%20'), alt: '' },
      ],
      buttons: [{ label: 'Shop', action: 'link', url: 'https://Bücher.example/a?q=ö' }],
    }),
  })
  const step = (
    created as unknown as { variants: Array<{ steps: Array<Record<string, Array<{ url: string }>>> }> }
  ).variants[0]!.steps[0]!
  t.equal(step.blocks![0]!.url, 'https://cdn.example.com/%C3%A4/spring%20sale.jpg')
  t.equal(step.buttons![0]!.url, 'https://xn--bcher-kva.example/a?q=%C3%B6')
  await campaigns.walk(created.id, created.version, 'test')
  const published = await app.inject({ url: `/public/v1/sites/shop.example/preview/${created.id}` })
  t.equal(published.statusCode, 200)
  t.match(published.body, '"url":"https://cdn.example.com/%C3%A4/spring%20sale.jpg"')
  t.match(published.body, '"url":"https://xn--bcher-kva.example/a?q=%C3%B6"')
})

t.test('content saved before these checks is published with its URLs made safe', async (t) => {
  const created = await newCampaign(app, ann, teamId, { siteId: site.id })
  // As a row saved before the API refused these characters holds them.
  const hostile = variant({
    blocks: [{ type: 'image', url: 'https://x/a.png"onerror="alert(1)', alt: '' }],
    buttons: [{ label: 'Go', action: 'link', url: "https://x/a'onmouseover='alert(1)'`" }],
  })
  await sql`UPDATE campaigns SET variants = ${JSON.stringify(hostile)}::jsonb WHERE id = ${created.id}`.execute(
    app.db,
  )
  await campaigns.walk(created.id, created.version, 'test')
  const published = await app.inject({ url: `/public/v1/sites/shop.example/preview/${created.id}` })
  t.equal(published.statusCode, 200)
  const step = published.json().variants[0].steps[0]
  t.equal(step.blocks[0].url, 'https://x/a.png%22onerror=%22alert(1)')
  t.equal(step.buttons[0].url, 'https://x/a%27onmouseover=%27alert(1)%27%60')
  t.notMatch(published.body, /onerror="|'onmouseover/, 'nothing left to end an attribute')
})

t.test('URL rules naming another host than the campaign’s site are refused', async (t) => {
  const withRules = (include: string[], exclude: string[] = []) => ({
    targeting: {
      urls: {
        include: include.map((value) => ({ match: 'prefix', value })),
        exclude: exclude.map((value) => ({ match: 'contains', value })),
      },
      trigger: { type: 'delay', seconds: 3 },
    },
  })
  for (const value of [
    'https://other.example/products/',
    'http://shop.example.evil.test/',
    '//other.example/',
    'https://evilshop.example/',
    'https://*.other.example/*',
  ]) {
    const res = await create(withRules([value]))
    t.equal(res.statusCode, 400, `include ${value}: 400`)
    t.match(problems(res), [/^body\.targeting\.urls\.include\.0\.value names the host .* shop\.example/])
  }
  const excluded = await create(withRules([], ['https://other.example/checkout']))
  t.equal(excluded.statusCode, 400, 'an exclude rule on another host: 400')
  t.match(problems(excluded), [/^body\.targeting\.urls\.exclude\.0\.value names the host other\.example/])

  for (const value of [
    '/products/',
    'sale',
    'https://shop.example/products/',
    'https://SHOP.example:443/',
    'https://www.shop.example/',
    'https://*.shop.example/*',
    'https://*/*',
  ]) {
    const res = await create(withRules([value]))
    t.equal(res.statusCode, 201, `include ${value}: 201 (${res.body})`)
  }

  // Moving a campaign to another site checks its rules against that site.
  const moved = await newCampaign(app, ann, teamId, {
    siteId: site.id,
    ...withRules(['https://shop.example/products/']),
  })
  const archived = await campaigns.walk(moved.id, moved.version, 'archived')
  const res = await campaigns.patch(moved.id, archived.version, { siteId: other.id })
  t.equal(res.statusCode, 400, 'moved to a site its rules do not name: 400')
  t.match(problems(res), [/^body\.targeting\.urls\.include\.0\.value names the host shop\.example/])
})

t.test('the OpenAPI example creates a campaign as sent, on any site', async (t) => {
  const doc = (await app.inject({ url: '/docs/json' })).json()
  const media = doc.paths['/v1/teams/{teamId}/campaigns'].post.requestBody.content['application/json']
  const body = (media.example ?? media.schema.examples?.[0]) as Record<string, unknown>
  t.ok(body, 'an example is documented')
  const res = await create({ ...body, siteId: other.id })
  t.equal(res.statusCode, 201, `the example is valid as sent (${res.body})`)
})
