// java.util.Base64's decoders, which the core uses on ids it is given (deviceId with the
// basic alphabet, linkCode with the URL-safe one, the refresh token's encrypted part).
// Node's Buffer.from(s, 'base64') skips characters it does not know and mixes both
// alphabets, so it accepts ids the core rejects with a 400; this follows the JDK instead:
// one alphabet, '=' padding optional but exact when present, nothing after it, and the
// JDK's IllegalArgumentException messages (the core passes some of them on).

const BASIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function table(alphabet: string): Int8Array {
  const values = new Int8Array(256).fill(-1)
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i
  values['='.charCodeAt(0)] = -2
  return values
}

const BASIC_TABLE = table(BASIC)
const URL_TABLE = table(URL_SAFE)

/** The IllegalArgumentException a JDK decoder throws, with its message. */
export class IllegalBase64 extends Error {}

/**
 * Base64.getDecoder().decode(String) (or getUrlDecoder() when urlSafe). The string is
 * first encoded as ISO-8859-1, so characters beyond U+00FF become '?'.
 */
export function decodeJavaBase64(text: string, urlSafe: boolean): Buffer {
  const src = Buffer.alloc(text.length)
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    src[i] = code > 0xff ? 0x3f : code
  }
  const values = urlSafe ? URL_TABLE : BASIC_TABLE
  const length = src.length
  if (length === 0) return Buffer.alloc(0)
  if (length < 2) {
    throw new IllegalBase64('Input byte[] should at least have 2 bytes for base64 bytes')
  }

  const out: number[] = []
  let bits = 0
  let shiftTo = 18
  let sp = 0
  while (sp < length) {
    const byte = src[sp++] as number
    const value = values[byte] as number
    if (value < 0) {
      if (value === -2) {
        // '=' may only end a unit of two characters ("xx==") or three ("xxx=").
        if ((shiftTo === 6 && (sp === length || src[sp++] !== 0x3d)) || shiftTo === 18) {
          throw new IllegalBase64('Input byte array has wrong 4-byte ending unit')
        }
        break
      }
      // Integer.toString of a signed Java byte: 0xe9 prints as -17.
      const signed = byte > 0x7f ? byte - 0x100 : byte
      throw new IllegalBase64(`Illegal base64 character ${signed.toString(16)}`)
    }
    bits |= value << shiftTo
    shiftTo -= 6
    if (shiftTo < 0) {
      out.push((bits >> 16) & 0xff, (bits >> 8) & 0xff, bits & 0xff)
      shiftTo = 18
      bits = 0
    }
  }
  if (shiftTo === 6) {
    out.push((bits >> 16) & 0xff)
  } else if (shiftTo === 0) {
    out.push((bits >> 16) & 0xff, (bits >> 8) & 0xff)
  } else if (shiftTo === 12) {
    throw new IllegalBase64('Last unit does not have enough valid bits')
  }
  if (sp < length) {
    throw new IllegalBase64(`Input byte array has incorrect ending byte at ${sp}`)
  }
  return Buffer.from(out)
}
