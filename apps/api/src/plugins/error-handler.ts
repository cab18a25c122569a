import { isAuthError, replyToAuthError } from '@nudge/auth'
import { httpErrorFromDatabase } from '@nudge/db'
import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Static } from 'typebox'
import {
  type ErrorCode,
  ErrorResponse,
  type FieldProblem,
  isErrorCode,
  Overloaded,
  SessionErrorResponse,
} from '../errors.ts'
import { PATTERN_MESSAGES } from '../schemas.ts'

const MAX_LISTED_PROBLEMS = 20

/** An answer's body: its code is one of the catalogue's. */
type ErrorBody = Static<typeof ErrorResponse>

/** "body/email" style paths from AJV turned into "body.email", one entry per offending field. */
export function fieldProblems(
  issues: Array<{ instancePath: string; params: object; message?: string | undefined }>,
  context = 'request',
): FieldProblem[] {
  return issues.map((issue) => {
    const params = issue.params as Record<string, unknown>
    const base = `${context}${issue.instancePath.replaceAll('/', '.')}`
    if (typeof params.missingProperty === 'string') {
      return { field: `${base}.${params.missingProperty}`, message: 'is required' }
    }
    if (typeof params.additionalProperty === 'string') {
      return { field: `${base}.${params.additionalProperty}`, message: 'is not allowed' }
    }
    const patternMessage = typeof params.pattern === 'string' ? PATTERN_MESSAGES[params.pattern] : undefined
    if (patternMessage) return { field: base, message: patternMessage }
    if (Array.isArray(params.allowedValues)) {
      return { field: base, message: `must be one of: ${params.allowedValues.join(', ')}` }
    }
    return { field: base, message: issue.message ?? 'is invalid' }
  })
}

/**
 * One error handler and one 404 handler for the whole API: 4xx answers say what is wrong,
 * 5xx answers say nothing about internals and the cause goes to the log and NewRelic.
 */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.addSchema(ErrorResponse)
    app.addSchema(SessionErrorResponse)

    app.setNotFoundHandler((request, reply) => {
      const body: ErrorBody = {
        statusCode: 404,
        code: 'NOT_FOUND',
        message: `Route ${request.method} ${request.url.split('?')[0]} not found`,
      }
      reply.code(404).send(body)
    })

    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      if (isAuthError(error)) return replyToAuthError(error, request, reply)
      if (error.validation) {
        // A body of a million mistakes gets the first few named, not a response a million long.
        const all = fieldProblems(error.validation, error.validationContext)
        const details = all.slice(0, MAX_LISTED_PROBLEMS)
        const more = all.length - details.length
        const body: ErrorBody = {
          statusCode: 400,
          code: 'VALIDATION_ERROR',
          message: `Invalid request: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
          details,
        }
        return reply.code(400).send(body)
      }
      // Our errors carry a catalogue code; anything else (Fastify's FST_ codes, a library's own)
      // is answered with the code of its status.
      const ourCode = isErrorCode(error.code) ? error.code : undefined
      const { details, headers } = error as FastifyError & {
        details?: unknown
        headers?: Record<string, string>
      }
      // Errors that already carry an HTTP status are not database errors, whatever their code: a
      // client that hangs up mid-body is an ECONNRESET too, and Fastify answers it with a 400.
      const database = error.statusCode === undefined ? httpErrorFromDatabase(error) : undefined
      const statusCode =
        database?.statusCode ?? (error.statusCode && error.statusCode >= 400 ? error.statusCode : 500)
      // retry-after and the like; on a 5xx only from an error of ours (OVERLOADED).
      if (headers && (ourCode || statusCode < 500)) reply.headers(headers)
      if (statusCode >= 500) {
        if (!(error instanceof Overloaded)) {
          request.log.error({ err: error }, 'request failed')
          app.observe.noticeError(error, { requestId: request.id })
        }
        // Errors we raised on purpose (a statusCode and our own code) carry a message written
        // for the client; anything else may hold internals and gets the generic answer.
        const meant = ourCode !== undefined && error.statusCode !== undefined
        return reply.code(statusCode).send({
          statusCode,
          code:
            database?.code ??
            (meant ? ourCode : statusCode === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR'),
          message:
            database?.message ??
            (meant ? error.message : 'Something went wrong on our side; it has been logged'),
        })
      }
      if (database) {
        return reply.code(statusCode).send({ ...database })
      }
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        // Routes have limits of their own (visitors' events and leads: a few KB): say which applies.
        const limitBytes = request.routeOptions.bodyLimit
        const body: ErrorBody = {
          statusCode: 413,
          code: codeFor(413),
          message: `The request body is larger than the ${limitBytes} bytes this route accepts`,
          details: { limitBytes },
        }
        return reply.code(413).send(body)
      }
      const body: ErrorBody = {
        statusCode,
        code: ourCode ?? codeFor(statusCode),
        message: error.message,
      }
      if (details !== undefined) body.details = details
      return reply.code(statusCode).send(body)
    })
  },
  { name: 'error-handler', dependencies: ['logging'], fastify: '5.x' },
)

/** The code of a status, for errors without one of ours (Fastify's own, a library's). */
const codes: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'RATE_LIMITED',
}

function codeFor(statusCode: number): ErrorCode {
  return codes[statusCode] ?? 'BAD_REQUEST'
}
