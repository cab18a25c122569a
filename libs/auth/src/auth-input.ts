import type { FastifyRequest } from 'fastify'
import { type TSchema, Type } from 'typebox'
import { Value } from 'typebox/value'

// The core's ids are base64 or base64url text of a few dozen characters.
const CoreToken = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_\\-+/]+={0,2}$' })

/**
 * What the SDK's /auth endpoints read from a body, with the types they assume. Other fields are
 * the frontend SDK's business and pass through; the body limit bounds them.
 */
const AuthBody = Type.Object({
  // 254: the longest address an SMTP path carries (RFC 5321).
  email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
  phoneNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  preAuthSessionId: Type.Optional(CoreToken(128)),
  deviceId: Type.Optional(CoreToken(128)),
  linkCode: Type.Optional(CoreToken(256)),
  userInputCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  shouldTryLinkingWithSessionUser: Type.Optional(Type.Boolean()),
})

/** Query parameters are single strings to the SDK (`?email=a&email=b` would be an array). */
const AuthQuery = Type.Record(Type.String(), Type.String({ maxLength: 2048 }))

function invalid(context: 'body' | 'querystring', schema: TSchema, value: unknown) {
  const validation = Value.Errors(schema, value)
  return Object.assign(new Error(`Invalid ${context}`), {
    statusCode: 400,
    validation,
    validationContext: context,
  })
}

/**
 * Refuses /auth input the SDK would choke on, with the API's validation error naming each field.
 * The body, if any, is a JSON object (not null, an array or a scalar).
 */
export function checkAuthInput(request: FastifyRequest): void {
  const { body, query } = request
  if (!Value.Check(AuthQuery, query)) throw invalid('querystring', AuthQuery, query)
  if (body === undefined) return
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw Object.assign(new Error('Invalid body: must be a JSON object'), {
      statusCode: 400,
      code: 'VALIDATION_ERROR',
      details: [{ field: 'body', message: 'must be a JSON object' }],
    })
  }
  if (!Value.Check(AuthBody, body)) throw invalid('body', AuthBody, body)
}
