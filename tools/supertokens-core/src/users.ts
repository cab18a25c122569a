import type { FastifyInstance } from 'fastify'
import { BadRequest, parseBoolean, route } from './routes.ts'
import type { CoreUser } from './schema.ts'
import { type CoreStore, normaliseEmail, type PasswordlessUser } from './store.ts'

// The core's AuthRecipeUserInfo JSON. Users are never linked here, so each user has a
// single passwordless login method whose recipeUserId is the user id.
export function toCoreUser(store: CoreStore, user: PasswordlessUser): CoreUser {
  const verified = user.email !== undefined && store.isEmailVerified(user.id, user.email)
  return {
    id: user.id,
    isPrimaryUser: user.isPrimaryUser,
    tenantIds: [...user.tenantIds],
    timeJoined: user.timeJoined,
    emails: user.email === undefined ? [] : [user.email],
    phoneNumbers: user.phoneNumber === undefined ? [] : [user.phoneNumber],
    thirdParty: [],
    webauthn: { credentialIds: [] },
    loginMethods: [
      {
        recipeId: 'passwordless',
        recipeUserId: user.id,
        tenantIds: [...user.tenantIds],
        timeJoined: user.timeJoined,
        verified,
        ...(user.email === undefined ? {} : { email: user.email }),
        ...(user.phoneNumber === undefined ? {} : { phoneNumber: user.phoneNumber }),
      },
    ],
  }
}

export function findUserByEmail(
  store: CoreStore,
  tenantId: string,
  email: string,
): PasswordlessUser | undefined {
  const normalised = normaliseEmail(email)
  for (const user of store.users.values()) {
    if (user.email === normalised && user.tenantIds.includes(tenantId)) {
      return user
    }
  }
  return undefined
}

export function registerUserRoutes(app: FastifyInstance, store: CoreStore): void {
  route(app, 'get', '/user/id', ({ query }) => {
    const user = query.userId === undefined ? undefined : store.users.get(query.userId)
    if (user === undefined) return { status: 'UNKNOWN_USER_ID_ERROR' }
    return { status: 'OK', user: toCoreUser(store, user) }
  })

  route(app, 'get', '/<tenantId>/users/by-accountinfo', ({ query, tenantId }) => {
    // Only email and phone number can match a passwordless user; with
    // doUnionOfAccountInfo false every given field must match.
    const union = parseBoolean(query.doUnionOfAccountInfo, false)
    const email = query.email === undefined ? undefined : normaliseEmail(query.email)
    const phoneNumber = query.phoneNumber?.trim()
    const wantsOther = query.thirdPartyId !== undefined || query.thirdPartyUserId !== undefined
    const users = [...store.users.values()]
      .filter((user) => user.tenantIds.includes(tenantId))
      .filter((user) => {
        const checks: boolean[] = []
        if (email !== undefined) checks.push(user.email === email)
        if (phoneNumber !== undefined) checks.push(user.phoneNumber === phoneNumber)
        if (wantsOther) checks.push(false)
        if (checks.length === 0) return false
        return union ? checks.some(Boolean) : checks.every(Boolean)
      })
      .sort((a, b) => a.timeJoined - b.timeJoined)
      .map((user) => toCoreUser(store, user))
    return { status: 'OK', users }
  })

  route(app, 'post', '/user/remove', ({ body }) => {
    const userId = body.userId
    if (typeof userId !== 'string') {
      throw new BadRequest("Field name 'userId' is invalid in JSON input")
    }
    if (store.users.delete(userId)) {
      for (const session of [...store.sessions.values()]) {
        if (session.recipeUserId === userId || session.userId === userId) {
          store.removeSession(session.handle)
        }
      }
      for (const key of [...store.verifiedEmails]) {
        if (key.startsWith(`${userId}\n`)) store.verifiedEmails.delete(key)
      }
      store.metadata.delete(userId)
    }
    return { status: 'OK' }
  })

  // Passwordless.updateUser (the core routes PUT /recipe/user by rid; only the
  // passwordless flavour exists here). A new address starts unverified because
  // verification is stored per (user, email).
  route(app, 'put', '/recipe/user', ({ body }) => {
    const user = store.users.get(body?.recipeUserId ?? '')
    if (user === undefined) return { status: 'UNKNOWN_USER_ID_ERROR' }
    const input = (body ?? {}) as { email?: unknown }
    if (input.email === null) {
      throw new BadRequest('Removing the email of a user is not supported by the stand-in')
    }
    if (typeof input.email === 'string') {
      const email = normaliseEmail(input.email)
      for (const tenantId of user.tenantIds) {
        const other = findUserByEmail(store, tenantId, email)
        if (other !== undefined && other.id !== user.id) {
          return { status: 'EMAIL_ALREADY_EXISTS_ERROR' }
        }
      }
      user.email = email
    }
    return { status: 'OK' }
  })

  // Account linking: the SDK asks whether a user may become primary when automatic
  // linking is switched on. Nothing is ever linked here, so only the email conflict
  // rule of the core applies.
  route(app, 'get', '/recipe/accountlinking/user/primary/check', ({ query }) => {
    const user = store.users.get(query.recipeUserId ?? '')
    if (user === undefined) throw new BadRequest('Unknown user id')
    if (user.isPrimaryUser) {
      return { status: 'OK', wasAlreadyAPrimaryUser: true }
    }
    const conflict = primaryConflict(store, user)
    if (conflict !== undefined) return conflictReply(conflict.id)
    return { status: 'OK', wasAlreadyAPrimaryUser: false }
  })

  route(app, 'post', '/recipe/accountlinking/user/primary', ({ body }) => {
    const user = store.users.get(body?.recipeUserId ?? '')
    if (user === undefined) throw new BadRequest('Unknown user id')
    if (user.isPrimaryUser) {
      return {
        status: 'OK',
        wasAlreadyAPrimaryUser: true,
        user: toCoreUser(store, user),
      }
    }
    const conflict = primaryConflict(store, user)
    if (conflict !== undefined) return conflictReply(conflict.id)
    user.isPrimaryUser = true
    return {
      status: 'OK',
      wasAlreadyAPrimaryUser: false,
      user: toCoreUser(store, user),
    }
  })
}

function primaryConflict(store: CoreStore, user: PasswordlessUser): PasswordlessUser | undefined {
  for (const other of store.users.values()) {
    if (
      other.id !== user.id &&
      other.isPrimaryUser &&
      other.email !== undefined &&
      other.email === user.email &&
      other.tenantIds.some((t) => user.tenantIds.includes(t))
    ) {
      return other
    }
  }
  return undefined
}

/** The core's answer when another primary user already has this user's email. */
function conflictReply(primaryUserId: string) {
  return {
    status: 'ACCOUNT_INFO_ALREADY_ASSOCIATED_WITH_ANOTHER_PRIMARY_USER_ID_ERROR' as const,
    primaryUserId,
    description: "This user's email is already associated with another user ID",
  }
}
