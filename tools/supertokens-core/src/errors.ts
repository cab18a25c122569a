// The core's error answers, from WebserverAPI.service: a plain-text body (written with
// println, so it ends in a newline) whose status says whose fault it was. The SDK turns
// any non-200 into `SuperTokens core threw an error for a <METHOD> request to path:
// '<path>' with status code: <status> and message: <body>`, so the text is part of the
// interface.

export class CoreError extends Error {
  readonly statusCode: number

  constructor(statusCode: number, message: string) {
    super(message)
    this.statusCode = statusCode
  }
}

/** BadRequestException: the caller's input is wrong (400). */
export class BadRequest extends CoreError {
  constructor(message: string) {
    super(400, message)
  }
}

/** BadPermissionException: e.g. an app-wide API called on a tenant path (403). */
export class BadPermission extends CoreError {
  constructor(message: string) {
    super(403, message)
  }
}

/**
 * TenantOrAppNotFoundException, answered as a 400. Its text names the tenant as the
 * core's TenantIdentifier does: (connectionUriDomain, appId, tenantId), lower-cased.
 */
export class TenantOrAppNotFound extends CoreError {
  constructor(appId: string, tenantId: string) {
    super(
      400,
      `AppId or tenantId not found => Tenant with the following connectionURIDomain, appId and tenantId combination not found: (, ${appId}, ${tenantId})`,
    )
  }
}

/**
 * An exception the core does not map to a status: it answers 500 with the exception's
 * Java toString(), "<class>: <message>" (just "<class>" when there is no message).
 */
export class JavaException extends CoreError {
  constructor(javaClass: string, message?: string) {
    super(500, message === undefined ? javaClass : `${javaClass}: ${message}`)
  }
}

export function invalidField(name: string): BadRequest {
  return new BadRequest(`Field name '${name}' is invalid in JSON input`)
}

export function missingQueryParam(name: string): BadRequest {
  return new BadRequest(`Field name '${name}' is missing in GET request`)
}
