import type { FastifyRequest } from 'fastify'
import { type TSchema, Type } from 'typebox'
import { Value } from 'typebox/value'
import { UnsupportedContentType, ValidationError } from './errors.ts'

// The core decodes these and answers 400 for anything else; the SDK would turn that into a 500.
// deviceId is standard base64 (the core issues 43 characters and "="), linkCode URL-safe base64.
const DeviceId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9+/]+={0,2}$' })
const LinkCode = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' })
// Never decoded by the core, only compared: bounded, in the alphabet it issues.
const PreAuthSessionId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_=-]+$' })

/**
 * What the SDK's /auth endpoints read from a body, with the types they assume. Other fields are
 * the frontend SDK's business and pass through; the body limit bounds them.
 */
const AuthBody = Type.Object({
  // 254: the longest address an SMTP path carries (RFC 5321).
  email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
  phoneNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  preAuthSessionId: Type.Optional(PreAuthSessionId),
  deviceId: Type.Optional(DeviceId),
  linkCode: Type.Optional(LinkCode),
  userInputCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  shouldTryLinkingWithSessionUser: Type.Optional(Type.Boolean()),
})

/** Query parameters are single strings to the SDK (`?email=a&email=b` would be an array). */
const AuthQuery = Type.Record(Type.String(), Type.String({ maxLength: 2048 }))

/** Carries the schema's errors as Fastify's own validation does: the error handler names each field. */
function invalid(context: 'body' | 'querystring', schema: TSchema, value: unknown) {
  const validation = Value.Errors(schema, value)
  return Object.assign(new ValidationError(`Invalid ${context}`), { validation, validationContext: context })
}

/**
 * Refuses /auth input the SDK would choke on, with the API's validation error naming each field.
 * The body, if any, is a JSON object (not null, an array or a scalar).
 */
export function checkAuthInput(request: FastifyRequest): void {
  const { body, query } = request
  if (!Value.Check(AuthQuery, query)) throw invalid('querystring', AuthQuery, query)
  const type = request.headers['content-type']
  if (type && !/^application\/(json|x-www-form-urlencoded)\s*(;|$)/i.test(type)) {
    // The SDK reads JSON or form bodies only; with any other type it finds no body at all.
    throw new UnsupportedContentType()
  }
  if (body === undefined) {
    // The SDK reads fields off the body of every POST it serves; without one it meets a TypeError.
    // An absent body is an empty one: it then names what is missing.
    if (request.method === 'POST') request.body = {}
    return
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw Object.assign(new ValidationError('Invalid body: must be a JSON object'), {
      details: [{ field: 'body', message: 'must be a JSON object' }],
    })
  }
  if (!Value.Check(AuthBody, body)) throw invalid('body', AuthBody, body)
}
