import supertokens from 'supertokens-node'
import Passwordless from 'supertokens-node/recipe/passwordless'
import { IMPORT_CONTEXT } from './supertokens.ts'

/**
 * Makes sure SuperTokens has a passwordless user for `email`, mapped to `externalUserId`, and
 * returns the id SuperTokens now reports for that person (in sessions, tokens, getUser).
 *
 * Why `Passwordless.signInUp` + `createUserIdMapping` rather than the core's bulk import
 * (`/bulk-import/users`, core 9+): supertokens-node has no call for bulk import (we would talk
 * to the core by hand), the core imports those users later, in a cron job, so the caller must
 * poll for the outcome, and a crash between "queued" and "imported" is the core's state to
 * untangle. signInUp (create a code, consume it, inside the core: no email is sent) and the
 * mapping are two synchronous calls through the SDK, each safe to repeat, so the import is
 * resumable user by user. The mapping makes SuperTokens report our own user id for the person
 * from then on: the first magic-link sign-in after the switch lands in their account.
 *
 * Resumable: an existing user with this email is reused; if it is already mapped, its external id
 * wins over `externalUserId` (an earlier run chose it), and if it is not, it is mapped now (a run
 * that crashed between the two calls). A user who signed up natively must not come here: their
 * sessions are stored under their SuperTokens id, and the core refuses to map it ("UserId is
 * already in use in Session recipe"), which is reported as an error.
 *
 * The signInUp runs with IMPORT_CONTEXT, so the sign-in hook (`onSignIn`: users row, personal
 * team, marketing sync) does not run: an import is nobody signing in.
 */
export async function importSignInUser(input: {
  email: string
  externalUserId: string
  /** Kept by the core beside the mapping (we keep the Auth0 user id there). */
  externalUserIdInfo?: string | undefined
}): Promise<{ userId: string; superTokensUserId: string }> {
  const email = input.email.trim().toLowerCase()
  const user = await superTokensUserFor(email)
  if (user.mapping) return user.mapping
  const superTokensUserId = user.id
  const mapped = await supertokens.createUserIdMapping({
    superTokensUserId,
    externalUserId: input.externalUserId,
    ...(input.externalUserIdInfo ? { externalUserIdInfo: input.externalUserIdInfo } : {}),
  })
  if (mapped.status === 'OK') return { userId: input.externalUserId, superTokensUserId }
  if (mapped.status === 'USER_ID_MAPPING_ALREADY_EXISTS_ERROR' && mapped.doesSuperTokensUserIdExist) {
    // Another run mapped this user between our two calls: its choice stands.
    const mapping = await supertokens.getUserIdMapping({
      userId: superTokensUserId,
      userIdType: 'SUPERTOKENS',
    })
    if (mapping.status === 'OK') return { userId: mapping.externalUserId, superTokensUserId }
  }
  throw new Error(`SuperTokens refused to map the user: ${mapped.status}`)
}

/** The person's SuperTokens user, created if missing, with its mapping when it has one. */
async function superTokensUserFor(
  email: string,
): Promise<{ id: string; mapping?: { userId: string; superTokensUserId: string } }> {
  let failure: unknown
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [existing] = await supertokens.listUsersByAccountInfo('public', { email })
    if (existing) {
      const mapping = await supertokens.getUserIdMapping({ userId: existing.id, userIdType: 'ANY' })
      if (mapping.status !== 'OK') return { id: existing.id }
      return {
        id: mapping.superTokensUserId,
        mapping: { userId: mapping.externalUserId, superTokensUserId: mapping.superTokensUserId },
      }
    }
    try {
      const created = await Passwordless.signInUp({
        tenantId: 'public',
        email,
        userContext: { ...IMPORT_CONTEXT },
      })
      // Ours, so not mapped yet: its id is the SuperTokens id. Not new: a concurrent import made
      // it first and may have mapped it (then `user.id` is the external id): look it up again.
      if (created.status === 'OK' && created.createdNewRecipeUser) return { id: created.user.id }
    } catch (error) {
      // A concurrent sign-up of the same email consumed first, which ends every pending code of
      // that email, ours too ("Failed to create user. Please retry"): the user exists now.
      failure = error
    }
  }
  throw new Error('SuperTokens did not create the user in three attempts', { cause: failure })
}
