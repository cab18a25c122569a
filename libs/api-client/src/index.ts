import createClient, { type Client, type Middleware } from 'openapi-fetch'
import type { components, operations, paths } from './schema.ts'

export type { components, operations, paths }

/** Every route of the API, typed from its OpenAPI document. */
export type ApiClient = Client<paths>

/** The body of every error answer: `{ statusCode, code, message, details? }`. */
export type ApiError = components['schemas']['ErrorResponse']
export type ErrorCode = ApiError['code']

export interface ApiClientOptions {
  /** The API's origin, e.g. https://api.nudge.example (no trailing slash). */
  baseUrl: string
  /**
   * 'include' for cookie sessions across origins; the dashboard's choice is in its README.
   * Defaults to 'same-origin', fetch's own default.
   */
  credentials?: RequestCredentials
  /** A fetch of the caller's (SuperTokens' interceptor wraps `window.fetch`, so pass nothing in a browser). */
  fetch?: typeof globalThis.fetch
  middleware?: Middleware[]
}

/** A client over openapi-fetch: paths, parameters, bodies and answers are the API's own types. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    credentials: options.credentials ?? 'same-origin',
    // Late bound: SuperTokens replaces window.fetch after this module is loaded.
    fetch: options.fetch ?? ((request: Request) => globalThis.fetch(request)),
  })
  for (const middleware of options.middleware ?? []) client.use(middleware)
  return client
}

/** Whether an answer's body is the API's error shape (a proxy's HTML page is not). */
export function isApiError(body: unknown): body is ApiError {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as ApiError).code === 'string' &&
    typeof (body as ApiError).message === 'string'
  )
}
