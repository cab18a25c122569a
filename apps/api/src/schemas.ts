import { type TObject, type TProperties, Type } from 'typebox'

/**
 * What clients send (bodies, params, query strings): an object that refuses unknown fields, so a
 * misspelt field is a 400 naming it rather than silently ignored. Bodies give `examples` that a
 * dashboard developer can send as they are.
 */
export function Input<T extends TProperties>(
  properties: T,
  options: { examples?: unknown[]; description?: string } = {},
): TObject<T> {
  return Type.Object(properties, { ...options, additionalProperties: false })
}
