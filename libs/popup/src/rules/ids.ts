/*
 * Ids made in the visitor's browser. crypto.randomUUID exists only in secure contexts (not on
 * plain-http pages), getRandomValues everywhere.
 */

function hex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out
}

const dashed = (h: string) =>
  `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`

/**
 * A UUIDv7 (RFC 9562): the millisecond time in the first 48 bits, version 7, variant 10, the
 * rest random; the API checks exactly this for eventId and pageViewId and files events by it.
 */
export function uuidv7(now: number = Date.now()): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  let time = Math.floor(now)
  for (let i = 5; i >= 0; i -= 1) {
    bytes[i] = time % 256
    time = Math.floor(time / 256)
  }
  bytes[6] = 0x70 | (bytes[6]! & 0x0f)
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  return dashed(hex(bytes))
}

/** A visitor id: a random UUIDv4, kept by the script in localStorage (nothing personal in it). */
export function randomVisitorId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = 0x40 | (bytes[6]! & 0x0f)
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  return dashed(hex(bytes))
}
