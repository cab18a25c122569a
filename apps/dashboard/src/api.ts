/**
 * The one client of the API (paths and types from @nudge/api-client) and `call`, which gives the
 * data or throws an ApiFailure. Two failures are handled here for every page: a 401 (the session
 * is gone even after the SDK's refresh) sends to sign-in and back, a 402 PLAN_LIMIT offers the
 * upgrade, a 403 reloads the roles (someone may have changed mine: the pages then offer less). main.ts plugs in what those do (the router and the notices store), so this module
 * stays free of them and testable.
 */
import { createApiClient } from '@nudge/api-client'
import { API_URL } from './config.ts'
import { ApiFailure, failureFrom, UNREACHABLE_MESSAGE } from './failure.ts'

export type { FieldProblem } from './failure.ts'
export { ApiFailure, messageOf } from './failure.ts'

// Credentials go with every call: needed in cookie mode, harmless in header mode (the API's CORS
// allows credentials for the dashboard's origins).
export const api = createApiClient({ baseUrl: API_URL, credentials: 'include' })

export const failureHandlers: {
  unauthorized: (failure: ApiFailure) => void
  planLimit: (failure: ApiFailure) => void
  forbidden: (failure: ApiFailure) => void
} = {
  unauthorized: () => {},
  planLimit: () => {},
  forbidden: () => {},
}

type Answer<D> = { data?: D; error?: unknown; response: Response }

/** The data of a call's answer, or an ApiFailure thrown (after the 401 and 402 handlers ran). */
export async function call<D>(request: Promise<Answer<D>>): Promise<D> {
  let answer: Answer<D>
  try {
    answer = await request
  } catch {
    throw new ApiFailure(0, 'NETWORK', UNREACHABLE_MESSAGE)
  }
  if (answer.response.ok) return answer.data as D
  const failure = failureFrom(answer.response.status, answer.error)
  if (failure.status === 401) failureHandlers.unauthorized(failure)
  if (failure.status === 402 && failure.code === 'PLAN_LIMIT') failureHandlers.planLimit(failure)
  if (failure.status === 403 && failure.code === 'FORBIDDEN') failureHandlers.forbidden(failure)
  throw failure
}
