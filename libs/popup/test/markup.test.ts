import t from 'tap'
import { parseMarkup, safeHref, safeHttpUrl } from '../src/render/markup.ts'

/*
 * The renderer's own check of campaign markup: what the API's allowlist accepts becomes a tree of
 * allowed elements; anything else is refused (null), so the renderer shows the text as written.
 */

t.test('the allowed tags and entities become a tree', async (t) => {
  t.same(parseMarkup('plain text'), ['plain text'])
  t.same(parseMarkup('Get <b>10%</b> <STRONG>off</STRONG>'), [
    'Get ',
    { tag: 'b', children: ['10%'] },
    ' ',
    { tag: 'strong', children: ['off'] },
  ])
  t.same(parseMarkup('<p><i>a</i><em>b</em><u>c</u><s>d</s></p><p>line<br>two<br/>three<br /></p>'), [
    {
      tag: 'p',
      children: [
        { tag: 'i', children: ['a'] },
        { tag: 'em', children: ['b'] },
        { tag: 'u', children: ['c'] },
        { tag: 's', children: ['d'] },
      ],
    },
    {
      tag: 'p',
      children: [
        'line',
        { tag: 'br', children: [] },
        'two',
        { tag: 'br', children: [] },
        'three',
        { tag: 'br', children: [] },
      ],
    },
  ])
  t.same(parseMarkup('<a href="https://shop.example/sale?a=1&amp;b=2">sale</a>'), [
    { tag: 'a', href: 'https://shop.example/sale?a=1&b=2', children: ['sale'] },
  ])
  t.same(parseMarkup("<a href='mailto:hi@shop.example'>mail</a>"), [
    { tag: 'a', href: 'mailto:hi@shop.example', children: ['mail'] },
  ])
  t.same(parseMarkup('&lt;3 &amp; &gt; &quot;&apos;&nbsp;&#233;&#x1F600;'), ['<3 & > "\'\u00a0é😀'])
  t.same(parseMarkup('tab\tand\nnewline'), ['tab\tand\nnewline'])
  t.same(parseMarkup(''), [])
})

t.test('hostile or unknown markup is refused as a whole', async (t) => {
  const refused = [
    '<img src=x onerror=alert(1)>',
    '<img src=x onerror=alert(1)//',
    '<script>alert(1)</script>',
    '<scr<script>ipt>alert(1)</script>',
    '<svg onload=alert(1)>',
    '<b onclick="alert(1)">x</b>',
    '<b style="color:red">x</b>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="data:text/html,<script>">x</a>',
    '<a href="vbscript:x">x</a>',
    '<a href="https://x.example/&quot;onerror=alert(1)">x</a>',
    '<a href="https://x.example/"onerror="alert(1)">x</a>',
    '<a href="https://x.example/\'onerror=alert(1)">x</a>',
    '<a href=https://x.example/>x</a>',
    '<a href="https://user:pass@x.example/">x</a>',
    '<a href="//x.example/">x</a>',
    '<a href="/relative">x</a>',
    '<a href="mailto:">x</a>',
    '<a href="https://x.example" href="https://y.example">x</a>',
    '<a href="https://x.example" target="_self">x</a>',
    '<a href="https://a.example"><a href="https://b.example">x</a></a>',
    '<p><p>x</p></p>',
    '<b>unclosed',
    '<b><i>crossed</b></i>',
    'closed</b>',
    '<br></br>',
    '<b/>',
    '<!-- comment -->',
    '<![CDATA[x]]>',
    '<!doctype html>',
    '<?xml?>',
    'a < b',
    'fish & chips',
    '&unknown;',
    '&#0;',
    '&#x0;',
    '&#xD800;',
    '&#x110000;',
    '&#1;',
    '&#x9F;',
    '\u0000nul',
    '\u0007bell',
    'lone \ud800 surrogate',
    '<b\u0000>x</b>',
    '<a href="https://x.example">x',
    '<div>x</div>',
    '<iframe src="https://evil.example"></iframe>',
    '<style>*{}</style>',
    '<b =x>y</b>',
  ]
  for (const text of refused) t.equal(parseMarkup(text), null, JSON.stringify(text))
})

t.test('URLs for images, link buttons and hrefs', async (t) => {
  t.ok(safeHttpUrl('https://images.example/a.png'))
  t.ok(safeHttpUrl('http://images.example/a.png?x=1#y'))
  for (const url of [
    'javascript:alert(1)',
    'data:image/png;base64,AAAA',
    '//images.example/a.png',
    '/a.png',
    'https://u:p@images.example/a.png',
    'https://images.example/a b.png',
    'https://images.example/"onerror=alert(1)',
    "https://images.example/'x",
    'https://images.example/<x>',
    'https:\\\\images.example',
    'https://',
    ' https://images.example/a.png',
  ]) {
    t.notOk(safeHttpUrl(url), url)
  }
  t.ok(safeHref('mailto:a@b.example'))
  t.notOk(safeHref('mailto:nobody'))
  t.notOk(safeHref('tel:+4930123'))
})
