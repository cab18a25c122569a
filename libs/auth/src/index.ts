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
} from './errors.ts'
export { importSignInUser } from './import-user.ts'
export { magicLinkEmail } from './magic-link-email.ts'
export {
  type AuthPluginOptions,
  type AuthUser,
  authCorsHeaders,
  authPlugin,
  type ServiceCaller,
  signedInUser,
} from './plugin.ts'
export { isAuthError, replyToAuthError } from './sdk-errors.ts'
export { SERVICE_AUDIENCES, type ServiceAudience, signServiceToken } from './service-tokens.ts'
export { IMPORT_CONTEXT } from './supertokens.ts'
