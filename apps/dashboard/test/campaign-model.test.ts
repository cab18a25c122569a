import t from 'tap'
import { FULL_CAMPAIGN_EXAMPLE } from '../../api/src/modules/campaigns/content.ts'
import {
  TRANSITIONS as API_TRANSITIONS,
  isRetired as apiIsRetired,
} from '../../api/src/modules/campaigns/lifecycle.ts'
import {
  addVariant,
  changedFields,
  conflictOf,
  type Draft,
  evenWeights,
  instantToWallTime,
  isRetired,
  movesFrom,
  normaliseField,
  parseCodes,
  patchOf,
  removeVariant,
  STATUSES,
  TRANSITIONS,
  toPublished,
  triggerOfType,
  type Variant,
  wallTimeToInstant,
  weightProblem,
} from '../src/views/campaigns/model.ts'

const example = (): Draft => ({
  ...(structuredClone(FULL_CAMPAIGN_EXAMPLE) as unknown as Omit<Draft, 'siteId'>),
  siteId: '0190b5a4-3c2e-7d1a-9f00-1c2d3e4f5a6b',
})

t.test('the lifecycle is the API’s, and each move has a button', async (t) => {
  t.same(TRANSITIONS, API_TRANSITIONS)
  for (const status of STATUSES) {
    t.equal(isRetired(status), apiIsRetired(status), `${status}: deletable as the API says`)
    t.same(
      movesFrom(status).map((move) => move.to),
      API_TRANSITIONS[status],
    )
  }
  t.same(
    movesFrom('draft').map((move) => move.label),
    ['Test', 'Archive'],
  )
  t.same(
    movesFrom('live').map((move) => move.label),
    ['Pause'],
  )
})

t.test('weights stay at 100 when variants come and go', async (t) => {
  t.same(evenWeights(1), [100])
  t.same(evenWeights(3), [34, 33, 33])
  t.same(evenWeights(4), [25, 25, 25, 25])
  const one = example()
    .variants.slice(0, 1)
    .map((variant) => ({ ...variant, weight: 100 }))
  const two = addVariant(one)
  t.same(
    two.map((variant) => variant.weight),
    [50, 50],
  )
  t.equal(two[1]?.name, 'Variant B')
  t.equal(two[1]?.id, undefined, 'the API names the copy')
  t.same(two[1]?.steps, one[0]?.steps, 'the copy starts with the same content')
  const four = addVariant(addVariant(two))
  t.equal(addVariant(four).length, 4, 'never more than 4')
  const three = removeVariant(four, 1)
  t.same(
    three.map((variant) => variant.weight),
    [50, 25, 25],
  )
  t.same(removeVariant(one, 0), one, 'the last variant stays')
  t.equal(weightProblem(three), null)
  t.equal(
    weightProblem([{ weight: 60 }, { weight: 30 }] as Variant[]),
    'The weights sum to 90; they must sum to 100.',
  )
})

t.test('a save sends only what changed; a conflict names what the other side changed', async (t) => {
  const base = example()
  const mine = example()
  mine.name = 'Renamed'
  mine.variants[0]!.steps[0]!.blocks[0]!.text = 'New headline'
  t.same(changedFields(base, mine), ['name', 'variants'])
  const patch = patchOf(base, mine)
  t.same(Object.keys(patch).sort(), ['name', 'variants'])
  t.equal(patch.variants?.[0]?.steps[0]?.blocks[0]?.text, 'New headline')
  const detached = { ...mine, siteId: null }
  t.notOk('siteId' in patchOf(base, detached), 'no site is never sent')

  const theirs = example()
  theirs.variants[1]!.weight = 40
  theirs.variants[0]!.weight = 60
  theirs.frequency = { show: 'once', stopAfterClose: false, stopAfterConversion: true }
  t.same(conflictOf(base, mine, theirs), { theirs: ['variants', 'frequency'], both: ['variants'] })
})

t.test('the preview gets the campaign as the script does, new variants included', async (t) => {
  const draft = example()
  draft.variants = addVariant(draft.variants.slice(0, 1))
  const published = toPublished('c1', draft)
  t.equal(published.type, 'modal')
  t.same(
    published.variants?.map((variant) => variant.id),
    ['a', 'new-1'],
  )
  t.same(published.variants?.[1]?.steps, draft.variants[1]?.steps)
})

t.test('schedules: wall time in the campaign’s zone, instants for the API', async (t) => {
  t.equal(wallTimeToInstant('2030-03-20T08:00', 'Europe/Berlin'), '2030-03-20T08:00:00+01:00')
  t.equal(wallTimeToInstant('2030-07-20T08:00', 'Europe/Berlin'), '2030-07-20T08:00:00+02:00', 'summer time')
  t.equal(wallTimeToInstant('2030-01-05T23:30', 'America/New_York'), '2030-01-05T23:30:00-05:00')
  t.equal(wallTimeToInstant('2030-01-05T12:00', 'Asia/Kolkata'), '2030-01-05T12:00:00+05:30')
  t.equal(wallTimeToInstant('2030-01-05T12:00', 'UTC'), '2030-01-05T12:00:00+00:00')
  t.equal(wallTimeToInstant('', 'UTC'), null)
  t.equal(instantToWallTime('2030-04-20T23:59:59+02:00', 'Europe/Berlin'), '2030-04-20T23:59')
  t.equal(instantToWallTime('2030-04-20T21:59:59Z', 'America/New_York'), '2030-04-20T17:59')
  for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']) {
    const instant = wallTimeToInstant('2030-10-27T10:15', zone)
    t.equal(instantToWallTime(instant ?? '', zone), '2030-10-27T10:15', `${zone} round trip`)
  }
})

t.test('small helpers', async (t) => {
  t.same(parseCodes('de, AT ch;de'), ['DE', 'AT', 'CH'])
  t.same(
    parseCodes('de pt-BR', (code) => code),
    ['de', 'pt-BR'],
  )
  t.same(triggerOfType('scroll'), { type: 'scroll', percent: 50 })
  t.same(triggerOfType('exit-intent'), { type: 'exit-intent' })
  t.equal(normaliseField('body.variants/0/steps/0/blocks/0/text'), 'body.variants.0.steps.0.blocks.0.text')
})

t.test('contrast of drawn colours', async (t) => {
  const { contrastRatio, parseRgb } = await import('../src/views/campaigns/model.ts')
  t.same(parseRgb('rgb(17, 34, 51)'), [17, 34, 51, 1])
  t.same(parseRgb('rgba(0, 0, 0, 0.5)'), [0, 0, 0, 0.5])
  t.same(parseRgb('rgb(0 0 0 / 50%)'), [0, 0, 0, 0.5])
  t.equal(parseRgb('transparent'), null)
  t.equal(Math.round(contrastRatio([255, 255, 255], [0, 0, 0])), 21)
  t.equal(contrastRatio([31, 41, 55], [31, 41, 55]), 1)
  t.ok(contrastRatio([255, 255, 255], [31, 41, 55]) > 4.5, 'the theme’s text on white is legible')
  t.ok(contrastRatio([17, 34, 51], [31, 41, 55]) < 1.5, 'the theme’s text on a dark background is not')
})

t.test('field errors from a 400 reach the editor’s inputs and are named in words', async (t) => {
  const { ref } = await import('vue')
  const { describePath, editorErrors, errorId, inputId } = await import(
    '../src/views/campaigns/fieldErrors.ts'
  )
  const problems = ref([
    { field: 'body.variants.1.steps.0.blocks.0.text', message: 'tag <blink> is not allowed' },
    { field: 'body.variants/1/steps/0/buttons/0/url', message: 'must be an http: or https: URL' },
    { field: 'body.variants', message: 'must have weights that sum to 100 (they sum to 90)' },
    { field: 'body.targeting.urls.include.0.value', message: 'must be on the campaign’s site' },
  ])
  const errors = editorErrors(problems)
  t.equal(errors.at('variants.1.steps.0.blocks.0.text'), 'tag <blink> is not allowed')
  t.equal(
    errors.at('variants.1.steps.0.buttons.0.url'),
    'must be an http: or https: URL',
    'slashes or dots alike',
  )
  t.equal(errors.under('variants'), 3, 'the Content tab counts every problem under variants')
  t.equal(errors.under('variants.1.steps.0'), 2)
  t.equal(errors.under('targeting'), 1)
  t.equal(errors.at('name'), undefined)
  t.equal(inputId('variants.1.steps.0.blocks.0.text'), 'f-variants-1-steps-0-blocks-0-text')
  t.equal(errorId('variants.1.steps.0.blocks.0.text'), 'e-variants-1-steps-0-blocks-0-text')
  const draft = example()
  t.equal(
    describePath('variants.1.steps.0.blocks.0.text', draft),
    'Newsletter first › step 1 › block 1 › text',
  )
  t.equal(describePath('targeting.urls.include.0.value', draft), 'targeting › urls › show on 1 › value')
  problems.value = []
  t.equal(errors.under('variants'), 0, 'a new answer replaces the old problems')
})

t.test('a problem leads to its tab, variant and step', async (t) => {
  const { locate } = await import('../src/views/campaigns/model.ts')
  t.same(locate('variants.1.steps.2.blocks.0.text'), { tab: 'content', variant: 1, step: 2 })
  t.same(locate('variants.0.steps.0.design.colors.text'), { tab: 'design', variant: 0, step: 0 })
  t.same(locate('variants.3.weight'), { tab: 'content', variant: 3 })
  t.same(locate('variants'), { tab: 'content' })
  t.same(locate('targeting.trigger.seconds'), { tab: 'targeting' })
  t.same(locate('schedule.endAt'), { tab: 'when' })
  t.same(locate('name'), { tab: null })
})
