import t from 'tap'
import { designProperties, placement } from '../src/render/design.ts'

t.test('design tokens become the stylesheet’s properties, within the API’s bounds', async (t) => {
  t.same(designProperties(undefined, 'modal'), {
    '--bg': '#ffffff',
    '--tx': '#1f2937',
    '--ac': '#2563eb',
    '--bt': '#ffffff',
    '--ov': '#0f172a99',
    '--ff': 'system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif',
    '--fs': '16px',
    '--w': '440px',
    '--r': '12px',
    '--cr': '8px',
  })
  const custom = designProperties(
    {
      colors: {
        background: '#102030',
        text: '#FAFAFA',
        accent: '#e4572e80',
        buttonText: '#000000',
        overlay: '#00000080',
      },
      font: { family: "Inter, 'Open Sans', sans-serif", sizePx: 18 },
      widthPx: 600,
      borderRadiusPx: 4,
    },
    'slide-in',
  )
  t.match(custom, {
    '--bg': '#102030',
    '--tx': '#FAFAFA',
    '--ac': '#e4572e80',
    '--bt': '#000000',
    '--ov': '#00000080',
    '--fs': '18px',
    '--w': '600px',
    '--r': '4px',
    '--cr': '4px',
  })
  t.match(custom['--ff'], /^Inter, 'Open Sans', sans-serif,system-ui/)
  t.equal(designProperties(undefined, 'slide-in')['--w'], '360px')
  t.equal(designProperties({ borderRadiusPx: 20 }, 'bar')['--r'], '0px', 'a bar has square corners')
  t.equal(designProperties({ borderRadiusPx: 20 }, 'full-screen')['--cr'], '8px', 'its fields keep theirs')
})

t.test('values outside the API’s bounds fall back to the theme', async (t) => {
  const hostile = designProperties(
    {
      colors: { background: 'red;}body{display:none', text: '#fff', accent: 'url(x)' },
      font: { family: 'x;}*{color:red}', sizePx: 400 },
      widthPx: 10,
      borderRadiusPx: 1.5,
    },
    'modal',
  )
  t.match(hostile, {
    '--bg': '#ffffff',
    '--tx': '#1f2937',
    '--ac': '#2563eb',
    '--fs': '16px',
    '--w': '440px',
    '--r': '12px',
  })
  t.match(hostile['--ff'], /^system-ui/)
})

t.test('placement as flex alignment [justify, align]', async (t) => {
  t.same(placement(undefined, 'modal'), ['center', 'center'])
  t.same(placement('top', 'modal'), ['center', 'flex-start'])
  t.same(placement(undefined, 'slide-in'), ['flex-end', 'flex-end'], 'a slide-in defaults to bottom-right')
  t.same(placement('center', 'slide-in'), ['flex-end', 'flex-end'])
  t.same(placement('top-left', 'slide-in'), ['flex-start', 'flex-start'])
  t.same(placement('bottom-left', 'slide-in'), ['flex-start', 'flex-end'])
  t.same(placement(undefined, 'bar'), ['center', 'flex-start'], 'a bar defaults to the top')
  t.same(placement('bottom-right', 'bar'), ['center', 'flex-end'])
  t.same(placement('center', 'bar'), ['center', 'flex-start'])
})
