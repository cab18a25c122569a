import { type ErrorCode, isApiError } from '@nudge/api-client'
import { ACTION_WORDS, isAction } from './permissions.ts'

/** One field the API named in a 400's `details` (`body.name`, `body.variants/0/steps/0/blocks/0/text`). */
export interface FieldProblem {
  field: string
  message: string
}

/** What went wrong with a call, in words for people; `code` for the code to branch on. */
export class ApiFailure extends Error {
  readonly status: number
  /** The API's code, or NETWORK when no answer came, or UNEXPECTED for an answer not in its shape. */
  readonly code: ErrorCode | 'NETWORK' | 'UNEXPECTED'
  /** The fields named by the API (validation errors), when `details` is a list of them. */
  readonly details?: FieldProblem[]
  /** `details` as the API sent it (an object for PLAN_LIMIT, VERSION_CONFLICT, ...). */
  readonly data?: unknown

  constructor(status: number, code: ApiFailure['code'], message: string, details?: unknown) {
    super(message)
    this.name = 'ApiFailure'
    this.status = status
    this.code = code
    this.data = details
    if (isFieldProblems(details)) this.details = details
  }
}

export function isFieldProblems(value: unknown): value is FieldProblem[] {
  return (
    Array.isArray(value) &&
    value.every(
      (item) =>
        typeof item === 'object' &&
        item !== null &&
        typeof (item as FieldProblem).field === 'string' &&
        typeof (item as FieldProblem).message === 'string',
    )
  )
}

export const UNREACHABLE_MESSAGE =
  'The nudge API cannot be reached right now. Check your connection and try again.'

/** The failure an answer stands for: the API's error body when it has one, else words for its status. */
export function failureFrom(status: number, body: unknown): ApiFailure {
  if (isApiError(body)) return new ApiFailure(status, body.code, body.message, body.details)
  if (status === 401)
    return new ApiFailure(401, 'UNAUTHORIZED', 'Your session has ended. Please sign in again.')
  if (status === 403) return new ApiFailure(403, 'FORBIDDEN', 'Your role in this team does not allow this.')
  if (status >= 500)
    return new ApiFailure(
      status,
      'UNEXPECTED',
      `The nudge API had a problem (${status}). Try again in a moment.`,
    )
  return new ApiFailure(status, 'UNEXPECTED', `The nudge API answered ${status}.`)
}

/** The message to show for anything thrown by a call (a failure, or a bug that should not happen). */
/** Whether trying the same call again may work (no answer, overload, a server fault), unlike a refusal. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof ApiFailure)) return true
  return error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiFailure) {
    if (error.status === 403 && error.code === 'FORBIDDEN') {
      // The API names the action ("does not allow member:invite"); people get it in words.
      const action = error.message.match(/\b([a-z]+:[a-z]+)\b/)?.[1]
      const what =
        action && isAction(action)
          ? `Your role in this team does not allow ${ACTION_WORDS[action]}.`
          : error.message.replace(/\.?$/, '.')
      return `${what} Ask an owner or admin of the team if you need it.`
    }
    return error.message
  }
  if (error instanceof Error) return error.message
  return String(error)
}
