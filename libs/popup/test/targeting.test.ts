import t from 'tap'
import { matchesTargeting, type Visitor } from '../src/rules/targeting.ts'
import type { Targeting, UrlRule } from '../src/rules/types.ts'

const visitor = (over: Partial<Visitor> = {}): Visitor => ({
  url: 'https://shop.example.com/products/shoes?colour=red#reviews',
  device: 'desktop',
  country: 'DE',
  returning: false,
  languages: ['de-DE', 'en'],
  ...over,
})

const included = (rule: UrlRule, url: string) =>
  matchesTargeting({ urls: { include: [rule] } }, visitor({ url })).show

t.test('empty or missing targeting shows to everyone', async (t) => {
  t.equal(matchesTargeting(undefined, visitor()).show, true)
  t.equal(matchesTargeting({}, visitor({ country: null, languages: [], device: 'tablet' })).show, true)
  t.equal(matchesTargeting({ urls: {}, languages: [] }, visitor()).show, true, 'empty lists mean any')
})

t.test('exact: a path rule is the whole path; a query in the rule compares the query too', async (t) => {
  t.equal(
    included({ match: 'exact', value: '/products/shoes' }, 'https://shop.example.com/products/shoes?x=1'),
    true,
  )
  t.equal(
    included({ match: 'exact', value: '/products/shoes' }, 'https://shop.example.com/products/shoes/'),
    false,
  )
  t.equal(included({ match: 'exact', value: '/products' }, 'https://shop.example.com/products/shoes'), false)
  t.equal(included({ match: 'exact', value: '/search?q=a' }, 'https://shop.example.com/search?q=a'), true)
  t.equal(included({ match: 'exact', value: '/search?q=a' }, 'https://shop.example.com/search?q=b'), false)
  t.equal(
    included({ match: 'exact', value: '/Products/shoes' }, 'https://shop.example.com/products/shoes'),
    false,
    'paths keep their case',
  )
})

t.test('prefix: a path rule matches the start of the path, not of the URL', async (t) => {
  t.equal(included({ match: 'prefix', value: '/products/' }, 'https://shop.example.com/products/shoes'), true)
  t.equal(
    included({ match: 'prefix', value: '/products/' }, 'https://shop.example.com/sale/products/'),
    false,
  )
  t.equal(
    included({ match: 'prefix', value: '/products/' }, 'https://shop.example.com/?next=/products/'),
    false,
  )
})

t.test('a full URL rule names the site host; scheme and host compare without case', async (t) => {
  const rule = { match: 'prefix', value: 'HTTPS://Shop.Example.com/products/' } as const
  t.equal(included(rule, 'https://shop.example.com/products/shoes'), true)
  t.equal(included(rule, 'https://SHOP.example.com/products/shoes'), true)
  t.equal(included(rule, 'http://shop.example.com/products/shoes'), false, 'the scheme counts')
  t.equal(included(rule, 'https://blog.example.com/products/shoes'), false, 'another host')
  t.equal(
    included(
      { match: 'prefix', value: '//shop.example.com/products/' },
      'http://shop.example.com/products/a',
    ),
    true,
  )
  t.equal(
    included({ match: 'exact', value: 'https://shop.example.com/' }, 'https://shop.example.com/#top'),
    true,
    'the fragment never counts',
  )
})

t.test('contains: text anywhere in the page URL', async (t) => {
  t.equal(included({ match: 'contains', value: 'sale' }, 'https://shop.example.com/spring-sale'), true)
  t.equal(included({ match: 'contains', value: 'colour=red' }, 'https://shop.example.com/p?colour=red'), true)
  t.equal(
    included({ match: 'contains', value: '/checkout' }, 'https://shop.example.com/cart/checkout/pay'),
    true,
  )
  t.equal(included({ match: 'contains', value: 'reviews' }, 'https://shop.example.com/p#reviews'), false)
  t.equal(included({ match: 'contains', value: 'sale' }, 'https://shop.example.com/products'), false)
})

t.test('glob: * is any characters, the rest is literal', async (t) => {
  t.equal(
    included(
      { match: 'glob', value: '/products/*/reviews' },
      'https://shop.example.com/products/shoes/reviews',
    ),
    true,
  )
  t.equal(
    included({ match: 'glob', value: '/products/*/reviews' }, 'https://shop.example.com/products/shoes/info'),
    false,
  )
  t.equal(included({ match: 'glob', value: '/a.b' }, 'https://shop.example.com/axb'), false, 'a dot is a dot')
  t.equal(included({ match: 'glob', value: 'https://*.example.com/*' }, 'https://blog.example.com/x'), true)
  t.equal(included({ match: 'glob', value: '*sale*' }, 'https://shop.example.com/big-sale/now'), true)
})

t.test('exclude wins over include and names the rule', async (t) => {
  const targeting: Targeting = {
    urls: {
      include: [{ match: 'prefix', value: '/products/' }],
      exclude: [{ match: 'contains', value: '/checkout' }],
    },
  }
  t.equal(matchesTargeting(targeting, visitor({ url: 'https://shop.example.com/products/a' })).show, true)
  const out = matchesTargeting(targeting, visitor({ url: 'https://shop.example.com/products/checkout' }))
  t.same(out, { show: false, reason: 'urls: excluded by contains "/checkout"' })
  const elsewhere = matchesTargeting(targeting, visitor({ url: 'https://shop.example.com/blog' }))
  t.equal(elsewhere.show, false)
  t.match(elsewhere.reason, /no include rule matches \(prefix "\/products\/"\)/)
  const onlyExclude = { urls: { exclude: [{ match: 'exact', value: '/cart' }] } } as Targeting
  t.equal(matchesTargeting(onlyExclude, visitor({ url: 'https://shop.example.com/blog' })).show, true)
})

t.test('devices', async (t) => {
  const targeting: Targeting = { devices: ['desktop', 'tablet'] }
  t.equal(matchesTargeting(targeting, visitor({ device: 'tablet' })).show, true)
  t.same(matchesTargeting(targeting, visitor({ device: 'mobile' })), {
    show: false,
    reason: 'devices: mobile is not one of desktop, tablet',
  })
})

t.test('countries: allow and deny; an unknown country is in no list', async (t) => {
  const allow: Targeting = { countries: { mode: 'allow', codes: ['DE', 'AT'] } }
  t.equal(matchesTargeting(allow, visitor({ country: 'AT' })).show, true)
  t.equal(matchesTargeting(allow, visitor({ country: 'at' })).show, true, 'the header value in any case')
  t.match(matchesTargeting(allow, visitor({ country: 'FR' })), {
    show: false,
    reason: /FR is not in the allow list/,
  })
  t.match(matchesTargeting(allow, visitor({ country: null })), { show: false, reason: /unknown country/ })
  const deny: Targeting = { countries: { mode: 'deny', codes: ['US'] } }
  t.equal(matchesTargeting(deny, visitor({ country: 'DE' })).show, true)
  t.equal(matchesTargeting(deny, visitor({ country: null })).show, true)
  t.match(matchesTargeting(deny, visitor({ country: 'US' })), {
    show: false,
    reason: /US is in the deny list/,
  })
})

t.test('new or returning visitors', async (t) => {
  t.equal(matchesTargeting({ visitors: 'all' }, visitor({ returning: true })).show, true)
  t.equal(matchesTargeting({ visitors: 'new' }, visitor({ returning: false })).show, true)
  t.same(matchesTargeting({ visitors: 'new' }, visitor({ returning: true })), {
    show: false,
    reason: 'visitors: only new visitors (this one is returning)',
  })
  t.equal(matchesTargeting({ visitors: 'returning' }, visitor({ returning: true })).show, true)
  t.equal(matchesTargeting({ visitors: 'returning' }, visitor({ returning: false })).show, false)
})

t.test(
  'languages: BCP 47 without case, a language covers its regions, any preferred one counts',
  async (t) => {
    t.equal(matchesTargeting({ languages: ['de'] }, visitor({ languages: ['de-AT'] })).show, true)
    t.equal(matchesTargeting({ languages: ['pt-BR'] }, visitor({ languages: ['pt-br'] })).show, true)
    t.equal(matchesTargeting({ languages: ['pt-BR'] }, visitor({ languages: ['pt-PT', 'pt'] })).show, false)
    t.equal(matchesTargeting({ languages: ['en'] }, visitor({ languages: ['fr', 'en-GB'] })).show, true)
    t.equal(
      matchesTargeting({ languages: ['de'] }, visitor({ languages: ['dsb'] })).show,
      false,
      'not a text prefix',
    )
    t.match(matchesTargeting({ languages: ['fr'] }, visitor({ languages: [] })), {
      show: false,
      reason: 'languages: none known not in fr',
    })
  },
)

t.test('an unreadable page URL fails URL rules but not a targeting without them', async (t) => {
  t.match(
    matchesTargeting({ urls: { include: [{ match: 'contains', value: 'a' }] } }, visitor({ url: 'nope' })),
    {
      show: false,
      reason: /cannot be read/,
    },
  )
  t.equal(matchesTargeting({}, visitor({ url: 'nope' })).show, true)
})
