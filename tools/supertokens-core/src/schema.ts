// Route types come from the CDI 5.4 OpenAPI schema that supertokens-node ships, so the
// stand-in's request/response shapes drift with the SDK rather than with our guesses.
import type { paths } from 'supertokens-node/lib/ts/core/versions/5.4/schema'

export type CorePath = keyof paths
type Method = 'get' | 'post' | 'put' | 'delete'

type Operation<P extends CorePath, M extends Method> = NonNullable<paths[P][M]>

export type Body<P extends CorePath, M extends Method> =
  Operation<P, M> extends {
    requestBody?: { content: { 'application/json': infer B } }
  }
    ? B
    : never

export type Reply<P extends CorePath, M extends Method> =
  Operation<P, M> extends {
    responses: { 200: { content: { 'application/json': infer R } } }
  }
    ? R
    : never

// The names of the query parameters the schema lists (their values always arrive as
// strings, whatever the schema says they mean).
export type QueryField<P extends CorePath, M extends Method> =
  Operation<P, M> extends {
    parameters: { query?: infer Q }
  }
    ? Extract<keyof NonNullable<Q>, string>
    : never

export type CoreUser =
  Reply<'/user/id', 'get'> extends infer R ? (R extends { user?: infer U } ? NonNullable<U> : never) : never
