import t from 'tap'
import {
  fires,
  scrollPercent,
  selectorWorks,
  TAB_RETURN_FEATURE,
  triggerPlan,
} from '../src/rules/triggers.ts'

t.test('delay: fires once the seconds have passed; 0 fires at once; bounds 0 to 600', async (t) => {
  const plan = triggerPlan({ type: 'delay', seconds: 5 })
  t.same(plan, { type: 'delay', ms: 5000 })
  t.equal(fires(plan, { type: 'elapsed', ms: 4999 }), false)
  t.equal(fires(plan, { type: 'elapsed', ms: 5000 }), true)
  t.equal(fires(triggerPlan({ type: 'delay', seconds: 0 }), { type: 'elapsed', ms: 0 }), true)
  t.same(
    triggerPlan({ type: 'delay', seconds: 3600 }),
    { type: 'delay', ms: 600_000 },
    'delay is at most 600 s',
  )
  t.same(triggerPlan({ type: 'delay' }), { type: 'delay', ms: 3000 }, 'the default targeting’s 3 s')
  t.same(triggerPlan(undefined), { type: 'delay', ms: 3000 }, 'no trigger: the default')
  t.equal(fires(plan, { type: 'scroll', percent: 100 }), false, 'other facts do not fire it')
})

t.test('scroll: past the percent of the page', async (t) => {
  const plan = triggerPlan({ type: 'scroll', percent: 50 })
  t.equal(fires(plan, { type: 'scroll', percent: 49.9 }), false)
  t.equal(fires(plan, { type: 'scroll', percent: 50 }), true)
  t.equal(fires(plan, { type: 'elapsed', ms: 1e9 }), false)
  t.same(triggerPlan({ type: 'scroll', percent: 0 }), { type: 'scroll', percent: 1 }, 'at least 1')
  t.same(triggerPlan({ type: 'scroll', percent: 150 }), { type: 'scroll', percent: 100 }, 'at most 100')
})

t.test(
  'scrollPercent: share of the scrollable distance; a page that does not scroll is all seen',
  async (t) => {
    t.equal(scrollPercent(0, 800, 2800), 0)
    t.equal(scrollPercent(1000, 800, 2800), 50)
    t.equal(scrollPercent(2000, 800, 2800), 100)
    t.equal(scrollPercent(2100, 800, 2800), 100, 'overscroll (iOS bounce) stays 100')
    t.equal(scrollPercent(-40, 800, 2800), 0)
    t.equal(scrollPercent(0, 800, 600), 100)
  },
)

t.test('exit intent: the pointer leaves through the top of the page', async (t) => {
  const plan = triggerPlan({ type: 'exit-intent' })
  t.equal(fires(plan, { type: 'pointer-leave', clientY: -3 }), true)
  t.equal(fires(plan, { type: 'pointer-leave', clientY: 0 }), true)
  t.equal(fires(plan, { type: 'pointer-leave', clientY: 400 }), false, 'leaving sideways or downwards')
})

t.test('click: on an element matching the selector; a bad selector never fires', async (t) => {
  const plan = triggerPlan({ type: 'click', selector: '#offer-button' })
  t.same(plan, { type: 'click', selector: '#offer-button' })
  // What Element.closest answers for a click on <button id="offer-button"> and on something else.
  const onButton = (selector: string) => selector === '#offer-button'
  t.equal(fires(plan, { type: 'click', matches: onButton }), true)
  t.equal(fires(plan, { type: 'click', matches: () => false }), false)
  const bad = triggerPlan({ type: 'click', selector: 'a[href' })
  const throwsLikeTheDom = (selector: string) => {
    throw new SyntaxError(`'${selector}' is not a valid selector`)
  }
  t.equal(fires(bad, { type: 'click', matches: throwsLikeTheDom }), false)
  t.equal(selectorWorks('a[href', throwsLikeTheDom), false)
  t.equal(
    selectorWorks('#offer-button', () => null),
    true,
  )
  t.same(triggerPlan({ type: 'click', selector: '  ' }), {
    type: 'never',
    reason: 'trigger: click without a selector',
  })
})

t.test('inactivity: no interaction for the seconds; bounds 1 to 3600', async (t) => {
  const plan = triggerPlan({ type: 'inactivity', seconds: 30 })
  t.equal(fires(plan, { type: 'idle', ms: 29_999 }), false)
  t.equal(fires(plan, { type: 'idle', ms: 30_000 }), true)
  t.same(triggerPlan({ type: 'inactivity', seconds: 0 }), { type: 'inactivity', ms: 1000 })
  t.same(triggerPlan({ type: 'inactivity', seconds: 99_999 }), { type: 'inactivity', ms: 3_600_000 })
})

t.test('tab-return: only where the flag released it', async (t) => {
  t.same(triggerPlan({ type: 'tab-return' }), {
    type: 'never',
    reason: `trigger: tab-return is not released for this site (${TAB_RETURN_FEATURE})`,
  })
  const plan = triggerPlan({ type: 'tab-return' }, [TAB_RETURN_FEATURE])
  t.equal(fires(plan, { type: 'tab-return' }), true)
  t.equal(fires(plan, { type: 'elapsed', ms: 10_000 }), false)
  t.match(triggerPlan({ type: 'shake' as 'delay' }), { type: 'never', reason: /unknown type "shake"/ })
})
