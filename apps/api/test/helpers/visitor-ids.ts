import { randomBytes } from 'node:crypto'

/**
 * A UUIDv7 carrying the time `ms` (now by default), as the popup script makes its event and page
 * view ids: the API takes the day an event counts on from it.
 */
export function uuidv7(ms = Date.now()): string {
  const random = randomBytes(10).toString('hex')
  const variant = ((Number.parseInt(random[3] as string, 16) & 0x3) | 0x8).toString(16)
  const hex = `${Math.floor(ms).toString(16).padStart(12, '0')}7${random.slice(0, 3)}${variant}${random.slice(4, 19)}`
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
