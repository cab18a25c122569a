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

export const NotFound = createError<[string]>('NOT_FOUND', '%s not found', 404)
