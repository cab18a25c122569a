import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** AES-256 keys by id; the first one encrypts, every one decrypts (so a key can be rotated). */
export interface Keyring {
  current: string
  keys: Map<string, Buffer>
}

/**
 * Known to everyone (it is in the repository): development and tests only. Production config
 * refuses to start without SECRETS_ENCRYPTION_KEYS.
 */
export const DEV_SECRETS_KEYRING = `dev:${Buffer.alloc(32, 7).toString('base64')}`

/** `id:base64key[,id:base64key]` → a keyring; a bad item is named by position, never echoed. */
export function parseKeyring(value: string): Keyring {
  const keys = new Map<string, Buffer>()
  let current = ''
  value.split(',').forEach((item, index) => {
    const [id = '', encoded = '', ...rest] = item.trim().split(':')
    const key = Buffer.from(encoded, 'base64')
    if (!/^[A-Za-z0-9_-]{1,16}$/.test(id) || rest.length > 0 || key.length !== 32)
      throw new Error(`SECRETS_ENCRYPTION_KEYS: item ${index + 1} is not keyId:<base64 of 32 bytes>`)
    if (keys.has(id)) throw new Error(`SECRETS_ENCRYPTION_KEYS: key id ${id} appears twice`)
    keys.set(id, key)
    if (index === 0) current = id
  })
  return { current, keys }
}

export class SecretUnreadable extends Error {
  constructor(reason: string) {
    super(`a stored secret cannot be decrypted: ${reason}`)
    this.name = 'SecretUnreadable'
  }
}

/** `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url), AES-256-GCM with a random 12-byte IV. */
export function encryptSecret(keyring: Keyring, plaintext: string): string {
  const key = keyring.keys.get(keyring.current) as Buffer
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  // The key id is authenticated too: a value cannot be moved to another key's name.
  cipher.setAAD(Buffer.from(keyring.current))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return ['v1', keyring.current, iv, cipher.getAuthTag(), ciphertext]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.')
}

export function keyIdOf(stored: string): string {
  return stored.split('.')[1] ?? ''
}

export function decryptSecret(keyring: Keyring, stored: string): string {
  const [version, keyId = '', iv = '', tag = '', ciphertext = ''] = stored.split('.')
  if (version !== 'v1') throw new SecretUnreadable('unknown format')
  const key = keyring.keys.get(keyId)
  if (!key) throw new SecretUnreadable(`key ${keyId} is not in SECRETS_ENCRYPTION_KEYS`)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
    decipher.setAAD(Buffer.from(keyId))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    )
  } catch {
    throw new SecretUnreadable('it was altered or encrypted with another key of that id')
  }
}

/** Encrypted with a key that is no longer the first: re-encrypt it before that key is dropped. */
export function needsReencryption(keyring: Keyring, stored: string): boolean {
  return keyIdOf(stored) !== keyring.current
}

/** What the API shows of a secret. */
export function lastFour(secret: string): string {
  return secret.slice(-4)
}
