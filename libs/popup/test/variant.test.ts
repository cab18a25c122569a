import { createHash } from 'node:crypto'
import t from 'tap'
import { randomVisitorId } from '../src/rules/ids.ts'
import { assignVariant } from '../src/rules/variant.ts'

const VISITORS = 10_000
/**
 * 10,000 visitor ids shaped as `randomVisitorId` makes them (a v4 UUID), from a fixed seed: the
 * split is then the same on every run, so a pass is a pass and never a lucky draw.
 */
const visitorIds = Array.from({ length: VISITORS }, (_, n) => {
  const bytes = createHash('sha256').update(`visitor ${n}`).digest().subarray(0, 16)
  bytes[6] = 0x40 | ((bytes[6] as number) & 0x0f)
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f)
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
})

t.test('the fixed ids have the shape of the random ones', async (t) => {
  const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  t.match(randomVisitorId(), shape)
  t.ok(visitorIds.every((id) => shape.test(id)))
  t.equal(new Set(visitorIds).size, VISITORS, 'all different')
})

function shares(weights: number[], campaignId: string): number[] {
  const variants = weights.map((weight, index) => ({ id: `v${index}`, weight }))
  const counts = weights.map(() => 0)
  for (const id of visitorIds) {
    const chosen = assignVariant(variants, id, campaignId)
    if (chosen) counts[Number(chosen.id.slice(1))]! += 1
  }
  return counts.map((count) => (count / VISITORS) * 100)
}

const WEIGHT_SETS = [
  [100],
  [50, 50],
  [90, 10],
  [25, 25, 25, 25],
  [70, 0, 30],
  [0, 100],
  [34, 33, 33],
  [1, 99],
]

for (const weights of WEIGHT_SETS) {
  t.test(`10,000 visitors split ${weights.join('/')} within 2 points of the weights`, async (t) => {
    for (const campaignId of ['0193b1a2-0000-7000-8000-000000000001', 'another-campaign']) {
      const got = shares(weights, campaignId)
      weights.forEach((weight, index) => {
        if (weight === 0) t.equal(got[index], 0, `a 0-weight variant is never chosen (${campaignId})`)
        else
          t.ok(
            Math.abs(got[index]! - weight) <= 2,
            `variant ${index}: ${got[index]!.toFixed(2)} % ≈ ${weight} %`,
          )
      })
    }
  })
}

t.test('sticky: the same visitor and campaign always get the same variant', async (t) => {
  const variants = [
    { id: 'a', weight: 50 },
    { id: 'b', weight: 50 },
  ]
  for (const id of visitorIds.slice(0, 200)) {
    const first = assignVariant(variants, id, 'c1')
    t.equal(assignVariant(variants, id, 'c1'), first)
    t.equal(assignVariant([...variants], id, 'c1')?.id, first?.id, 'a fresh copy of the document')
  }
})

t.test('campaigns split independently of each other', async (t) => {
  const variants = [
    { id: 'a', weight: 50 },
    { id: 'b', weight: 50 },
  ]
  let same = 0
  for (const id of visitorIds) {
    if (assignVariant(variants, id, 'c1')?.id === assignVariant(variants, id, 'c2')?.id) same += 1
  }
  t.ok(Math.abs(same / VISITORS - 0.5) < 0.03, `${same} of ${VISITORS} got the same letter in both`)
})

t.test('no variant with weight: none', async (t) => {
  t.equal(assignVariant([], 'v', 'c'), undefined)
  t.equal(assignVariant([{ id: 'a', weight: 0 }], 'v', 'c'), undefined)
})
