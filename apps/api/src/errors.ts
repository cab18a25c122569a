import createError from '@fastify/error'
import { Type } from 'typebox'

/**
 * The one error vocabulary of the API. Every 4xx/5xx body has this shape; `code` is stable
 * for clients to branch on, `message` is for people, `details` names fields where it can.
 */
export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'ErrorResponse', description: 'Error' },
)

/**
 * 401 from a session check: SuperTokens' own wire format, which the dashboard's frontend SDK
 * acts on ("try refresh token" → refresh; "unauthorised" → sign in again).
 */
export const SessionErrorResponse = Type.Object(
  { message: Type.String({ examples: ['try refresh token'] }) },
  { $id: 'SessionErrorResponse', description: 'Session missing, expired or revoked' },
)

/** What a signed-in route can answer besides its success: for `schema.response`. */
export const SessionRouteErrors = {
  400: ErrorResponse,
  401: SessionErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
}

/** OpenAPI security of routes that need a session. */
export const sessionSecurity = [{ session: [] }]

export const NotFound = createError<[string]>('NOT_FOUND', '%s not found', 404)

export const Forbidden = createError<[string]>('FORBIDDEN', 'Your role in this team does not allow %s', 403)
export const LastOwner = createError<[string]>(
  'LAST_OWNER',
  'A team keeps at least one owner: %s; make someone else owner first',
  409,
)
export const RoleNotAllowed = createError<[string]>('ROLE_NOT_ALLOWED', '%s', 403)
export const AlreadyMember = createError('ALREADY_MEMBER', 'This person is already a member of the team', 409)
export const InviteEmailMismatch = createError(
  'INVITE_EMAIL_MISMATCH',
  'This invite was sent to another email address; sign in with that address to accept it',
  403,
)
export const InviteExpired = createError('INVITE_EXPIRED', 'This invite has expired; ask for a new one', 410)
export const InviteRevoked = createError('INVITE_REVOKED', 'This invite was revoked', 410)
export const InviteUsed = createError('INVITE_USED', 'This invite has already been accepted', 410)
export const InvalidCursor = createError(
  'INVALID_CURSOR',
  'The cursor is not one this API gave out; start again without it',
  400,
)
export const TeamHasSubscription = createError(
  'TEAM_HAS_SUBSCRIPTION',
  'This team has an active paid subscription; cancel it before deleting the team',
  409,
)
