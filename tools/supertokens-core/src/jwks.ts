import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto'
import type { Reply } from './schema.ts'

type Jwk = Reply<'/.well-known/jwks.json', 'get'>['keys'][number]

interface SigningKey {
  kid: string
  privateKey: KeyObject
  publicKey: KeyObject
}

// The SDK checks the kid prefix against its useDynamicAccessTokenSigningKey setting
// ("d-" dynamic, "s-" static) and asks for a refresh on a mismatch, so the stand-in
// keeps one key of each kind, like the real core. Neither rotates: a restart of the
// stand-in is a key rotation.
export class SigningKeys {
  readonly dynamicKey: SigningKey
  readonly staticKey: SigningKey

  constructor() {
    this.dynamicKey = createKey('d-')
    this.staticKey = createKey('s-')
  }

  keyFor(useStaticKey: boolean): SigningKey {
    return useStaticKey ? this.staticKey : this.dynamicKey
  }

  jwks(): Jwk[] {
    return [this.dynamicKey, this.staticKey].map(toJwk)
  }

  signJwt(payload: Record<string, unknown>, useStaticKey: boolean, version: string): string {
    const key = this.keyFor(useStaticKey)
    const header = { alg: 'RS256', typ: 'JWT', version, kid: key.kid }
    const signingInput = `${encodeSegment(header)}.${encodeSegment(payload)}`
    const signature = sign('sha256', Buffer.from(signingInput), key.privateKey)
    return `${signingInput}.${signature.toString('base64url')}`
  }

  /** The public key with this kid, if it is one of ours. */
  publicKeyFor(kid: string): KeyObject | undefined {
    return [this.dynamicKey, this.staticKey].find((k) => k.kid === kid)?.publicKey
  }
}

function createKey(prefix: string): SigningKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    kid: `${prefix}${randomUUID()}`,
    privateKey,
    publicKey: createPublicKey(privateKey),
  }
}

function toJwk(key: SigningKey): Jwk {
  const jwk = key.publicKey.export({ format: 'jwk' })
  if (jwk.n === undefined || jwk.e === undefined) {
    throw new Error('RSA public key export lacks n/e')
  }
  return {
    kty: 'RSA',
    kid: key.kid,
    alg: 'RS256',
    use: 'sig',
    n: jwk.n,
    e: jwk.e,
  }
}

function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
