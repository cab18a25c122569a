import { BadRequest } from './errors.ts'
import type { CoreRouter } from './routes.ts'
import type { CoreStore, UserIdType } from './store.ts'

// The core's user id mapping (webserver/api/useridmapping/*, useridmapping/UserIdMapping.java):
// a SuperTokens user id ↔ an id of the app's own, after which the core shows the external
// id everywhere (users, sessions, tokens) and accepts either id on the app-wide user APIs.

// Input ids are trimmed, and an empty one is refused, as each of these APIs does.
function nonEmpty(value: string, name: string): string {
  const trimmed = value.trim()
  if (trimmed.length === 0) throw new BadRequest(`Field name '${name}' cannot be an empty String`)
  return trimmed
}

function userIdType(value: string | undefined): UserIdType {
  if (value === undefined) return 'ANY'
  const trimmed = value.trim()
  if (trimmed === 'SUPERTOKENS' || trimmed === 'EXTERNAL' || trimmed === 'ANY') return trimmed
  throw new BadRequest("Field name 'userIdType' should be one of 'SUPERTOKENS', 'EXTERNAL' or 'ANY'")
}

// What UserIdMapping.findNonAuthStoragesWhereUserIdIsUsedOrAssertIfUsed finds here, in its
// order (Session, UserMetadata, UserRoles, EmailVerification, TOTP; roles and TOTP do not
// exist in the stand-in).
function nonAuthRecipesUsing(store: CoreStore, userId: string): string[] {
  const recipes: string[] = []
  if ([...store.sessions.values()].some((s) => s.recipeUserId === userId || s.userId === userId)) {
    recipes.push('Session')
  }
  if (store.metadata.has(userId)) recipes.push('UserMetadata')
  if ([...store.verifiedEmails].some((key) => key.startsWith(`${userId}\n`))) {
    recipes.push('EmailVerification')
  }
  return recipes
}

export function registerUserIdMappingRoutes(router: CoreRouter, store: CoreStore): void {
  // UserIdMappingAPI.doPost, then UserIdMapping.createUserIdMapping with
  // makeExceptionForEmailVerification (CDI >= 4.0): passwordless marks the email verified
  // on sign-up, so that verification moves to the external id instead of blocking the
  // mapping. Anything else already stored under the SuperTokens id blocks it unless forced.
  router.route('post', '/recipe/userid/map', ({ body, tenant }) => {
    const superTokensUserId = nonEmpty(body.string('superTokensUserId'), 'superTokensUserId')
    const externalUserId = nonEmpty(body.string('externalUserId'), 'externalUserId')
    const externalUserIdInfo =
      body.has('externalUserIdInfo') && body.isNull('externalUserIdInfo')
        ? undefined
        : body.optionalString('externalUserIdInfo')
    const info =
      externalUserIdInfo === undefined ? undefined : nonEmpty(externalUserIdInfo, 'externalUserIdInfo')
    const force = body.optionalBoolean('force') ?? false
    tenant.app()
    tenant.publicOnly()

    const byExternal = store.userIdMapping(externalUserId, 'EXTERNAL')
    if (byExternal !== undefined) {
      return {
        status: 'USER_ID_MAPPING_ALREADY_EXISTS_ERROR',
        doesSuperTokensUserIdExist: byExternal.superTokensUserId === superTokensUserId,
        doesExternalUserIdExist: true,
      }
    }
    if (!store.users.has(superTokensUserId)) return { status: 'UNKNOWN_SUPERTOKENS_USER_ID_ERROR' }
    if (!force) {
      if (store.users.has(externalUserId)) {
        throw new BadRequest(
          'Cannot create a userId mapping where the externalId is also a SuperTokens userID',
        )
      }
      const recipes = nonAuthRecipesUsing(store, superTokensUserId)
      if (recipes.length === 1 && recipes[0] === 'EmailVerification') {
        for (const key of [...store.verifiedEmails]) {
          if (!key.startsWith(`${superTokensUserId}\n`)) continue
          store.verifiedEmails.delete(key)
          store.verifiedEmails.add(`${externalUserId}${key.slice(superTokensUserId.length)}`)
        }
      } else if (recipes.length > 0) {
        throw new BadRequest(`UserId is already in use in ${recipes[0]} recipe`)
      }
    }
    // The table is unique on each side: a second mapping of the same SuperTokens user fails.
    if (store.userIdMappings.has(superTokensUserId)) {
      return {
        status: 'USER_ID_MAPPING_ALREADY_EXISTS_ERROR',
        doesSuperTokensUserIdExist: true,
        doesExternalUserIdExist: false,
      }
    }
    store.userIdMappings.set(superTokensUserId, {
      superTokensUserId,
      externalUserId,
      ...(info === undefined ? {} : { externalUserIdInfo: info }),
    })
    return { status: 'OK' }
  })

  router.route('get', '/recipe/userid/map', ({ query, tenant }) => {
    const userId = nonEmpty(query.required('userId'), 'userId')
    const type = userIdType(query.optional('userIdType'))
    tenant.app()
    tenant.publicOnly()
    const mapping = store.userIdMapping(userId, type)
    if (mapping === undefined) return { status: 'UNKNOWN_MAPPING_ERROR' }
    return {
      status: 'OK',
      superTokensUserId: mapping.superTokensUserId,
      externalUserId: mapping.externalUserId,
      ...(mapping.externalUserIdInfo === undefined ? {} : { externalUserIdInfo: mapping.externalUserIdInfo }),
    }
  })

  // RemoveUserIdMappingAPI / UserIdMapping.deleteUserIdMapping: not forced, it refuses while
  // other recipes keep data under the external id (it would be orphaned). The user stays.
  router.route('post', '/recipe/userid/map/remove', ({ body, tenant }) => {
    const userId = nonEmpty(body.string('userId'), 'userId')
    const type = userIdType(body.optionalString('userIdType'))
    const force = body.optionalBoolean('force') ?? false
    tenant.app()
    tenant.publicOnly()
    const mapping = store.userIdMapping(userId, type)
    if (mapping === undefined) return { status: 'OK', didMappingExist: false }
    // State "A4" of the core: the external id is itself a SuperTokens user, so nothing of
    // the other recipes can be told apart; the mapping simply goes.
    if (!force && !store.users.has(mapping.externalUserId)) {
      const recipes = nonAuthRecipesUsing(store, mapping.externalUserId)
      if (recipes.length > 0) throw new BadRequest(`UserId is already in use in ${recipes[0]} recipe`)
    }
    store.userIdMappings.delete(mapping.superTokensUserId)
    return { status: 'OK', didMappingExist: true }
  })
}
