import { BadRequest } from './errors.ts'
import type { CoreRouter } from './routes.ts'
import type { CoreUser } from './schema.ts'
import { type CoreStore, normaliseEmail, type PasswordlessUser } from './store.ts'

// The core's AuthRecipeUserInfo JSON. Users are never linked here, so each user has a
// single passwordless login method whose recipeUserId is the user id. A mapped user shows
// its external id in both places (populateExternalUserIdForUsers), and its email
// verification is stored under that id (moved there when the mapping was created).
export function toCoreUser(store: CoreStore, user: PasswordlessUser): CoreUser {
  const id = store.externalUserId(user.id)
  const verified = user.email !== undefined && store.isEmailVerified(id, user.email)
  return {
    id,
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
        recipeUserId: id,
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

export function registerUserRoutes(router: CoreRouter, store: CoreStore): void {
  // GetUserByIdAPI: app-wide, so a tenant in the path is refused (403).
  router.route('get', '/user/id', ({ query, tenant }) => {
    const userId = query.required('userId')
    tenant.app()
    tenant.publicOnly()
    // Either side of a mapping finds the user.
    const user = store.userByAnyId(userId)
    if (user === undefined) return { status: 'UNKNOWN_USER_ID_ERROR' }
    return { status: 'OK', user: toCoreUser(store, user) }
  })

  // ListUsersByAccountInfoAPI: doUnionOfAccountInfo is required and must be spelled
  // true or false; only email and phone number can match a passwordless user, and with
  // doUnionOfAccountInfo false every given field must match.
  router.route<'/<tenantId>/users/by-accountinfo', 'get', never, 'webauthnCredentialId'>(
    'get',
    '/<tenantId>/users/by-accountinfo',
    ({ query, tenant }) => {
      const emailParam = query.optional('email')
      const phoneNumber = query.optional('phoneNumber')?.trim()
      const thirdPartyId = query.optional('thirdPartyId')
      const thirdPartyUserId = query.optional('thirdPartyUserId')
      const webauthnCredentialId = query.optional('webauthnCredentialId')
      const unionParam = query.required('doUnionOfAccountInfo')
      if (unionParam !== 'true' && unionParam !== 'false') {
        throw new BadRequest("'doUnionOfAccountInfo' should be either 'true' or 'false'")
      }
      if ((thirdPartyId === undefined) !== (thirdPartyUserId === undefined)) {
        throw new BadRequest(
          "If 'thirdPartyId' is provided, 'thirdPartyUserId' must also be provided, and vice versa",
        )
      }
      const tenantId = tenant.existing()
      const union = unionParam === 'true'
      const email = emailParam === undefined ? undefined : normaliseEmail(emailParam)
      const wantsOther = thirdPartyId !== undefined || webauthnCredentialId !== undefined
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
    },
  )

  // DeleteUserAPI: an unknown user is not an error. Either side of a mapping names the
  // user; AuthRecipe.deleteUser then removes what the other recipes keep under the
  // external id (sessions, verification, metadata) and under the SuperTokens id, and
  // the mapping itself.
  router.route('post', '/user/remove', ({ body, tenant }) => {
    const userId = body.string('userId')
    body.optionalBoolean('removeAllLinkedAccounts')
    tenant.publicOnly()
    const user = store.userByAnyId(userId)
    if (user === undefined) return { status: 'OK' }
    const ids = new Set([user.id, store.externalUserId(user.id)])
    store.users.delete(user.id)
    store.userIdMappings.delete(user.id)
    for (const session of [...store.sessions.values()]) {
      if (ids.has(session.recipeUserId) || ids.has(session.userId)) store.removeSession(session.handle)
    }
    for (const key of [...store.verifiedEmails]) {
      if (ids.has(key.slice(0, key.indexOf('\n')))) store.verifiedEmails.delete(key)
    }
    for (const id of ids) store.metadata.delete(id)
    return { status: 'OK' }
  })

  // Passwordless UserAPI.doPut (the core routes PUT /recipe/user by the rid header; only
  // the passwordless flavour exists here). `null` clears a field, but a user must keep
  // an email or a phone number. A new address starts unverified because verification
  // is stored per (user, email), and pending sign-ins of the old and new contact end.
  router.route<'/recipe/user', 'put', { status: 'PHONE_NUMBER_ALREADY_EXISTS_ERROR' }, 'phoneNumber'>(
    'put',
    '/recipe/user',
    ({ body, tenant }) => {
      const recipeUserId = body.string('recipeUserId')
      const emailUpdate = !body.has('email')
        ? undefined
        : body.isNull('email')
          ? null
          : normaliseEmail(body.string('email'))
      const phoneNumberUpdate = !body.has('phoneNumber')
        ? undefined
        : body.isNull('phoneNumber')
          ? null
          : body.string('phoneNumber').trim()
      tenant.app()
      tenant.publicOnly()
      const user = store.userByAnyId(recipeUserId)
      if (user === undefined) return { status: 'UNKNOWN_USER_ID_ERROR' }
      const email = emailUpdate === undefined ? user.email : (emailUpdate ?? undefined)
      const phoneNumber =
        phoneNumberUpdate === undefined ? user.phoneNumber : (phoneNumberUpdate ?? undefined)
      if (email === undefined && phoneNumber === undefined) {
        throw new BadRequest('You cannot clear both email and phone number of a user')
      }
      for (const other of store.users.values()) {
        if (other.id === user.id || !other.tenantIds.some((t) => user.tenantIds.includes(t))) continue
        if (typeof emailUpdate === 'string' && other.email === emailUpdate) {
          return { status: 'EMAIL_ALREADY_EXISTS_ERROR' }
        }
        if (typeof phoneNumberUpdate === 'string' && other.phoneNumber === phoneNumberUpdate) {
          return { status: 'PHONE_NUMBER_ALREADY_EXISTS_ERROR' }
        }
      }
      const endSignIns = (contact: 'email' | 'phoneNumber', values: Array<string | undefined>) => {
        for (const [hash, device] of store.devices) {
          if (values.includes(device[contact]) && device[contact] !== undefined) store.devices.delete(hash)
        }
      }
      if (emailUpdate !== undefined && emailUpdate !== user.email) endSignIns('email', [user.email, email])
      if (phoneNumberUpdate !== undefined && phoneNumberUpdate !== user.phoneNumber) {
        endSignIns('phoneNumber', [user.phoneNumber, phoneNumber])
      }
      if (email === undefined) delete user.email
      else user.email = email
      if (phoneNumber === undefined) delete user.phoneNumber
      else user.phoneNumber = phoneNumber
      return { status: 'OK' }
    },
  )

  // Account linking: the SDK asks whether a user may become primary when automatic
  // linking is switched on. Nothing is ever linked here, so only the email conflict
  // rule of the core applies.
  router.route('get', '/recipe/accountlinking/user/primary/check', ({ query, tenant }) => {
    const recipeUserId = query.required('recipeUserId')
    tenant.app()
    tenant.publicOnly()
    const user = store.userByAnyId(recipeUserId)
    if (user === undefined) throw new BadRequest('Unknown user ID provided')
    if (user.isPrimaryUser) {
      return { status: 'OK', wasAlreadyAPrimaryUser: true }
    }
    const conflict = primaryConflict(store, user)
    if (conflict !== undefined) return conflictReply(store.externalUserId(conflict.id))
    return { status: 'OK', wasAlreadyAPrimaryUser: false }
  })

  router.route('post', '/recipe/accountlinking/user/primary', ({ body, tenant }) => {
    const recipeUserId = body.string('recipeUserId')
    tenant.app()
    tenant.publicOnly()
    const user = store.userByAnyId(recipeUserId)
    if (user === undefined) throw new BadRequest('Unknown user ID provided')
    if (user.isPrimaryUser) {
      return {
        status: 'OK',
        wasAlreadyAPrimaryUser: true,
        user: toCoreUser(store, user),
      }
    }
    const conflict = primaryConflict(store, user)
    if (conflict !== undefined) return conflictReply(store.externalUserId(conflict.id))
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
