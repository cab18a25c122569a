import type { PublishedVariant } from './types.ts'

/*
 * Sticky assignment: the same visitor always gets the same variant of a campaign (no stored
 * choice needed), and across visitors the shares follow the weights. A 32-bit FNV-1a hash of
 * visitor and campaign, finished with MurmurHash3's mixer so that ids differing in one character
 * spread over the whole range, picks a point in [0, total weight).
 */

export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The visitor's variant, or undefined when no variant has weight. Weight-0 variants never win. */
export function assignVariant<V extends Pick<PublishedVariant, 'id' | 'weight'>>(
  variants: readonly V[],
  visitorId: string,
  campaignId: string,
): V | undefined {
  const served = variants.filter((variant) => variant.weight > 0)
  const total = served.reduce((sum, variant) => sum + variant.weight, 0)
  if (total <= 0) return undefined
  const point = (hash32(`${campaignId}:${visitorId}`) / 2 ** 32) * total
  let upTo = 0
  for (const variant of served) {
    upTo += variant.weight
    if (point < upTo) return variant
  }
  return served.at(-1)
}
