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

/** A problem with one field of the input, as validation errors list them. */
export interface FieldProblem {
  field: string
  message: string
}

const ValidationFailed = createError<[string]>('VALIDATION_ERROR', 'Invalid request: %s', 400)

/** The 400 of a rule the schema cannot express, in the same shape as schema validation errors. */
export function invalidInput(problems: FieldProblem[]) {
  const error = new ValidationFailed(problems.map((p) => `${p.field} ${p.message}`).join('; '))
  return Object.assign(error, { details: problems })
}

export const HostnameTaken = createError<[string]>(
  'HOSTNAME_TAKEN',
  '%s is already registered with nudge; a hostname belongs to one team',
  409,
)

const StatusTransition = createError<[string]>('STATUS_TRANSITION_NOT_ALLOWED', '%s', 409)

/** 409 naming the transitions that are allowed from the current status. */
export function statusTransitionNotAllowed(from: string, to: string, allowed: readonly string[]) {
  const error = new StatusTransition(
    `A ${from} campaign cannot become ${to}; from ${from} it can become ${allowed.join(' or ') || 'nothing else'}`,
  )
  return Object.assign(error, { details: { from, to, allowed } })
}

export const VersionRequired = createError(
  'VERSION_REQUIRED',
  'Send If-Match with the version you edited (the ETag of GET); changes without it could overwrite someone else’s',
  428,
)

const StaleVersion = createError<[string, number]>(
  'VERSION_CONFLICT',
  'The campaign changed since version %s: it is now at version %s. Reload it and apply your change again',
  412,
)

/** 412 with the current version, so the client can reload and retry. */
export function staleVersion(sent: string, current: number) {
  return Object.assign(new StaleVersion(sent, current), { details: { currentVersion: current } })
}

export const CampaignConflict = createError<[string]>('CAMPAIGN_CONFLICT', '%s', 409)

export const OriginNotAllowed = createError(
  'ORIGIN_NOT_ALLOWED',
  'This request must come from a page of the campaign’s site (the Origin header names another site, or none)',
  403,
)

/** Visitor reports on a campaign that is not running: a draft or archived one. */
export const CampaignNotAccepting = createError<[string, string]>(
  'CAMPAIGN_NOT_ACCEPTING',
  'Campaign %s is %s: it takes no events or leads',
  409,
)

export const CampaignPaused = createError<[string, string, number]>(
  'CAMPAIGN_PAUSED',
  'Campaign %s was paused at %s: it takes leads and events for %d minutes after a pause (pages already open), none now',
  409,
)

export const NotThroughEdge = createError(
  'NOT_THROUGH_EDGE',
  'Visitor events and leads are taken only through the edge (the popup script sends them there), not directly',
  403,
)

export const IdempotencyKeyReused = createError(
  'IDEMPOTENCY_KEY_REUSED',
  'This Idempotency-Key was already used for a different submission; use a new key for a new submission',
  422,
)

export const VariantHasNoForm = createError<[string]>(
  'VARIANT_HAS_NO_LEAD_FORM',
  'Variant %s of this campaign has no form that captures leads',
  409,
)

/** 503 for every request of an event group whose write failed: nothing of it was stored. */
export const EventsNotStored = createError<[string]>('EVENTS_NOT_STORED', '%s', 503)

/** An integration's outside service (Mailerlite) could not be reached or failed: try again later. */
export const IntegrationUnavailable = createError<[string]>('INTEGRATION_UNAVAILABLE', '%s', 502)
/** The integration's stored credentials were refused by its service (a key revoked since). */
export const IntegrationCredentialsRejected = createError<[string]>(
  'INTEGRATION_CREDENTIALS_REJECTED',
  '%s',
  409,
)
export const IntegrationNotActive = createError<[string]>(
  'INTEGRATION_NOT_ACTIVE',
  'The integration is %s; set it active first',
  409,
)
export const DeliveryNotRedeliverable = createError<[string]>('DELIVERY_NOT_REDELIVERABLE', '%s', 409)

/** 402 with `details: { resource, limit, usage, plan }`: the plan does not allow one more. */
export const PlanLimitReached = createError<[string]>('PLAN_LIMIT', '%s', 402)
export const BillingNotConfigured = createError(
  'BILLING_NOT_CONFIGURED',
  'Billing is not configured on this server (STRIPE_SECRET_KEY)',
  503,
)
export const PaymentsUnavailable = createError<[string]>('PAYMENTS_UNAVAILABLE', '%s', 502)
export const InvalidStripeSignature = createError<[string]>('INVALID_SIGNATURE', '%s', 400)
export const AlreadySubscribed = createError(
  'ALREADY_SUBSCRIBED',
  'The team already has a subscription; change its plan in the billing portal',
  409,
)

/** Feature flags (operators' routes and CLI, modules/flags). */
export const FlagNotFound = createError<[string]>('FLAG_NOT_FOUND', 'Flag %s not found', 404)
const FlagInvalid = createError<[string, string]>(
  'FLAG_INVALID',
  'The definition of flag %s is refused: %s',
  400,
)
/** 400 naming what flagd (or our rules) finds wrong with a definition; nothing was written. */
export function flagInvalid(key: string, problem: string) {
  return Object.assign(new FlagInvalid(key, problem), { details: [{ field: 'body', message: problem }] })
}
/** rollout/enable write a rule of their own shape; a flag with hand-written targeting is changed with `set`. */
export const FlagNotManaged = createError<[string]>('FLAG_NOT_MANAGED', '%s', 409)
