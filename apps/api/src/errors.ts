import createError from '@fastify/error'
import { ForbiddenError, NotFoundError, ValidationError } from '@nudge/auth/errors'
import { Type } from 'typebox'

/**
 * Every code the API can answer, in one list: what clients branch on, and the enum of
 * `ErrorResponse.code` in the OpenAPI. The libs define the errors they raise (a lib cannot import
 * the app) and this file re-exports them, so the API imports every error from here. A code is
 * defined once: a `createError` in this file or in one lib (error-catalogue.test.ts checks both).
 */
export const ERROR_CODES = [
  // Fastify's own errors, by status (the error handler's fallback table), and the generic answers.
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'NOT_ACCEPTABLE',
  'CONFLICT',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNPROCESSABLE_ENTITY',
  'INTERNAL_ERROR',
  'SERVICE_UNAVAILABLE',
  // Input: schema validation and the rules a schema cannot express; list cursors.
  'VALIDATION_ERROR',
  'INVALID_CURSOR',
  // Limits and load: per-client limits (libs/edge), load shedding (plugins/http.ts).
  'RATE_LIMITED',
  'OVERLOADED',
  // PostgreSQL errors a request can run into (libs/db errors.ts; CONFLICT above is a unique key).
  'REFERENCE_CONFLICT',
  'MISSING_FIELD',
  'INVALID_VALUE',
  'CONCURRENT_UPDATE',
  'DATABASE_TIMEOUT',
  'DATABASE_UNAVAILABLE',
  // Sign-in and service tokens (libs/auth).
  'AUTH_BAD_REQUEST',
  'AUTH_UNAVAILABLE',
  'INVALID_SERVICE_TOKEN',
  // Outside services the libs talk to: jobs, mail, object storage, Cloudflare.
  'JOBS_UNAVAILABLE',
  'MAIL_UNAVAILABLE',
  'EMAIL_REJECTED',
  'STORAGE_FAILED',
  'PURGE_FAILED',
  // Teams, roles and invites.
  'LAST_OWNER',
  'ROLE_NOT_ALLOWED',
  'ALREADY_MEMBER',
  'INVITE_EMAIL_MISMATCH',
  'INVITE_EXPIRED',
  'INVITE_REVOKED',
  'INVITE_USED',
  'TEAM_HAS_SUBSCRIPTION',
  // Sites.
  'HOSTNAME_TAKEN',
  // Campaigns: status changes and versioned edits.
  'STATUS_TRANSITION_NOT_ALLOWED',
  'VERSION_REQUIRED',
  'VERSION_CONFLICT',
  'CAMPAIGN_CONFLICT',
  // Visitors' events and leads.
  'ORIGIN_NOT_ALLOWED',
  'CAMPAIGN_NOT_ACCEPTING',
  'CAMPAIGN_PAUSED',
  'NOT_THROUGH_EDGE',
  'IDEMPOTENCY_KEY_REUSED',
  'VARIANT_HAS_NO_LEAD_FORM',
  'EVENTS_NOT_STORED',
  // Integrations and their deliveries.
  'INTEGRATION_UNAVAILABLE',
  'INTEGRATION_CREDENTIALS_REJECTED',
  'INTEGRATION_NOT_ACTIVE',
  'DELIVERY_NOT_REDELIVERABLE',
  // Plans and billing.
  'PLAN_LIMIT',
  'BILLING_NOT_CONFIGURED',
  'PAYMENTS_UNAVAILABLE',
  'INVALID_SIGNATURE',
  'ALREADY_SUBSCRIBED',
  // Feature flags (operators).
  'FLAG_NOT_FOUND',
  'FLAG_INVALID',
  'FLAG_NOT_MANAGED',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

const errorCodes: ReadonlySet<string> = new Set(ERROR_CODES)

/** Whether an error's code is one of ours; the error handler answers any other by its status. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && errorCodes.has(code)
}

/**
 * The one error vocabulary of the API. Every 4xx/5xx body has this shape; `code` is stable
 * for clients to branch on, `message` is for people, `details` names fields where it can.
 */
export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    // A plain string enum (not a union of literals): the serializer writes it as a string.
    code: Type.Unsafe<ErrorCode>({ type: 'string', enum: [...ERROR_CODES] }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'ErrorResponse', description: 'Error' },
)

// The errors the libs raise, so that this file is the API's one import place for errors. The
// codes FORBIDDEN, NOT_FOUND and VALIDATION_ERROR are libs/auth's: this file words its own
// messages for them (NotFound, Forbidden, invalidInput below).
export {
  AuthRequestRejected,
  AuthUnavailable,
  ForbiddenError,
  InvalidServiceToken,
  NotFoundError,
  NotSignedIn,
  ServiceNotAllowed,
  UnknownTenant,
  UnsupportedContentType,
  ValidationError,
} from '@nudge/auth/errors'
export { PurgeFailed, RateLimited, rateLimited } from '@nudge/edge'
export { JobsUnavailableError } from '@nudge/jobs'
export { MailUnavailableError, RecipientRejectedError } from '@nudge/mailer'
export { StorageFailed } from '@nudge/storage'

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

/** 404 of a thing by name: `new NotFound('Site')` says "Site not found". */
export class NotFound extends NotFoundError {
  constructor(what: string) {
    super(`${what} not found`)
  }
}

/** 403 of a team role that does not allow an action (plugins/team-access.ts). */
export class Forbidden extends ForbiddenError {
  constructor(action: string) {
    super(`Your role in this team does not allow ${action}`)
  }
}

/** 503 of a dependency that is down, for a route that checks it rather than failing on it. */
export const ServiceUnavailable = createError<[string]>('SERVICE_UNAVAILABLE', '%s', 503)

/**
 * 503 of load shedding (plugins/http.ts), with retry-after. Not logged: shedding is the server
 * working as meant, and a log line per refused request would add to the load.
 */
export const Overloaded = createError<[type: string, value: number | undefined]>(
  'OVERLOADED',
  'Server overloaded (%s: %s); retry shortly',
  503,
)
export function overloaded(type: string, value: number | undefined, retryAfterSeconds: number) {
  return Object.assign(new Overloaded(type, value), {
    headers: { 'retry-after': String(retryAfterSeconds) },
  })
}

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

/** The 400 of a rule the schema cannot express, in the same shape as schema validation errors. */
export function invalidInput(problems: FieldProblem[]) {
  const error = new ValidationError(
    `Invalid request: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
  )
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
