import { createHash, randomBytes } from 'node:crypto'
import { SigningKeys } from './jwks.ts'

export interface CoreConfig {
  passwordlessCodeLifetimeMs: number
  passwordlessMaxCodeInputAttempts: number
  accessTokenValiditySeconds: number
  refreshTokenValidityMinutes: number
}

// Defaults of the real core's config.yaml.
export const defaultCoreConfig: CoreConfig = {
  passwordlessCodeLifetimeMs: 15 * 60 * 1000,
  passwordlessMaxCodeInputAttempts: 5,
  accessTokenValiditySeconds: 3600,
  refreshTokenValidityMinutes: 144000,
}

export const PUBLIC_TENANT = 'public'

export interface PasswordlessUser {
  id: string
  isPrimaryUser: boolean
  tenantIds: string[]
  email?: string
  phoneNumber?: string
  timeJoined: number
}

export interface PasswordlessCode {
  codeId: string
  linkCodeHash: string
  createdAt: number
}

export interface PasswordlessDevice {
  deviceIdHash: string
  tenantId: string
  email?: string
  phoneNumber?: string
  linkCodeSalt: Buffer
  failedAttempts: number
  codes: Map<string, PasswordlessCode>
}

// A row of the core's userid_mapping table: unique on each side.
export interface UserIdMappingRecord {
  superTokensUserId: string
  externalUserId: string
  externalUserIdInfo?: string
}

export type UserIdType = 'SUPERTOKENS' | 'EXTERNAL' | 'ANY'

export interface SessionRecord {
  handle: string
  tenantId: string
  userId: string
  recipeUserId: string
  refreshTokenHash2: string
  expiry: number
  timeCreated: number
  userDataInJWT: Record<string, unknown>
  userDataInDatabase: Record<string, unknown>
  useStaticKey: boolean
}

export class CoreStore {
  readonly config: CoreConfig
  readonly keys = new SigningKeys()
  readonly users = new Map<string, PasswordlessUser>()
  readonly devices = new Map<string, PasswordlessDevice>()
  readonly sessions = new Map<string, SessionRecord>()
  // Encrypts refresh tokens, which carry their session like the core's do.
  readonly refreshTokenKey = randomBytes(32)
  // "<recipeUserId>\n<email>" of verified addresses, as the core's emailverification table.
  readonly verifiedEmails = new Set<string>()
  readonly emailVerificationTokens = new Map<
    string,
    { tenantId: string; userId: string; email: string; expiry: number }
  >()
  readonly metadata = new Map<string, Record<string, unknown>>()
  // By SuperTokens user id; the external side is found by a scan (a handful of users here).
  readonly userIdMappings = new Map<string, UserIdMappingRecord>()

  constructor(config: CoreConfig) {
    this.config = config
  }

  removeSession(handle: string): boolean {
    return this.sessions.delete(handle)
  }

  // The core deletes expired sessions in a cron job; doing it on access is enough here.
  liveSession(handle: string): SessionRecord | undefined {
    const session = this.sessions.get(handle)
    if (session === undefined) return undefined
    if (session.expiry < Date.now()) {
      this.removeSession(handle)
      return undefined
    }
    return session
  }

  // UserIdMapping.getUserIdMapping: with ANY, a mapping whose SuperTokens side is the id
  // wins over one whose external side is (both may exist).
  userIdMapping(userId: string, type: UserIdType): UserIdMappingRecord | undefined {
    if (type !== 'EXTERNAL') {
      const bySuperTokensId = this.userIdMappings.get(userId)
      if (bySuperTokensId !== undefined || type === 'SUPERTOKENS') return bySuperTokensId
    }
    for (const mapping of this.userIdMappings.values()) {
      if (mapping.externalUserId === userId) return mapping
    }
    return undefined
  }

  // What the core shows for a SuperTokens user id: its external id when mapped.
  externalUserId(superTokensUserId: string): string {
    return this.userIdMappings.get(superTokensUserId)?.externalUserId ?? superTokensUserId
  }

  // enforcePublicTenantAndGetStorageAndUserIdMappingForAppSpecificApi with ANY, as the
  // app-wide user APIs use it: either id of a mapped user finds the user.
  userByAnyId(userId: string): PasswordlessUser | undefined {
    const mapping = this.userIdMapping(userId, 'ANY')
    return this.users.get(mapping?.superTokensUserId ?? userId)
  }

  isEmailVerified(userId: string, email: string): boolean {
    return this.verifiedEmails.has(`${userId}\n${email}`)
  }

  setEmailVerified(userId: string, email: string, verified: boolean): void {
    const key = `${userId}\n${email}`
    if (verified) this.verifiedEmails.add(key)
    else this.verifiedEmails.delete(key)
  }
}

// The core stores emails trimmed and lower-cased, and the SDK compares against that.
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase()
}

// Hex, as the core's Utils.hashSHA256: refreshTokenHash1 = sha256(token),
// refreshTokenHash2 = sha256(refreshTokenHash1).
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}
