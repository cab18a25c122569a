import { constraint, errors } from './errors.ts'

/** A request body as AWS JSON 1.1 carries it: one JSON object, member names as in the API reference. */
export type Input = Record<string, unknown>

/** JSON 1.1 sends timestamps as epoch seconds (the SDK turns them into `Date`s). */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000
}

/** `DocumentName` at 'documentName': Coral names members in lower camel case in its messages. */
function field(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1)
}

function wrongType(name: string, expected: string): never {
  throw errors.serialization(`Cannot deserialize '${name}': expected ${expected}`)
}

export function optionalString(input: Input, name: string): string | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') wrongType(name, 'a string')
  return value
}

export function requiredString(
  input: Input,
  name: string,
  rules: { min?: number; max?: number } = {},
): string {
  const value = optionalString(input, name)
  if (value === undefined) throw constraint(field(name), undefined, 'Member must not be null')
  checkLength(name, value, rules)
  return value
}

export function checkLength(name: string, value: string, rules: { min?: number; max?: number }): void {
  if (rules.min !== undefined && value.length < rules.min)
    throw constraint(field(name), value, `Member must have length greater than or equal to ${rules.min}`)
  if (rules.max !== undefined && value.length > rules.max)
    throw constraint(field(name), value, `Member must have length less than or equal to ${rules.max}`)
}

export function optionalBoolean(input: Input, name: string): boolean | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') wrongType(name, 'a boolean')
  return value
}

export function optionalInteger(
  input: Input,
  name: string,
  rules: { min?: number; max?: number } = {},
): number | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) wrongType(name, 'an integer')
  if (rules.min !== undefined && value < rules.min)
    throw constraint(field(name), value, `Member must have value greater than or equal to ${rules.min}`)
  if (rules.max !== undefined && value > rules.max)
    throw constraint(field(name), value, `Member must have value less than or equal to ${rules.max}`)
  return value
}

export function optionalStringList(
  input: Input,
  name: string,
  rules: { min?: number; max?: number } = {},
): string[] | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    wrongType(name, 'a list of strings')
  const list = value as string[]
  if (rules.min !== undefined && list.length < rules.min)
    throw constraint(
      field(name),
      `[${list.join(', ')}]`,
      `Member must have length greater than or equal to ${rules.min}`,
    )
  if (rules.max !== undefined && list.length > rules.max)
    throw constraint(
      field(name),
      `[${list.join(', ')}]`,
      `Member must have length less than or equal to ${rules.max}`,
    )
  return list
}

export function optionalList(input: Input, name: string, rules: { max?: number } = {}): Input[] | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (
    !Array.isArray(value) ||
    !value.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))
  )
    wrongType(name, 'a list of structures')
  if (rules.max !== undefined && value.length > rules.max)
    throw constraint(field(name), '[...]', `Member must have length less than or equal to ${rules.max}`)
  return value as Input[]
}

export function optionalMap(input: Input, name: string): Input | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) wrongType(name, 'a map')
  return value as Input
}

/**
 * `NextToken`s are opaque to callers; ours carry the offset of the next item and which listing
 * they belong to, so a token from one operation is refused by another (`InvalidNextToken`).
 */
export function encodeToken(listing: string, offset: number): string {
  return Buffer.from(JSON.stringify({ l: listing, o: offset })).toString('base64')
}

export function decodeToken(listing: string, token: string | undefined): number {
  if (token === undefined) return 0
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { l?: unknown; o?: unknown }
    if (parsed.l === listing && Number.isInteger(parsed.o) && (parsed.o as number) >= 0)
      return parsed.o as number
  } catch {}
  throw errors.invalidNextToken()
}

/** One page of `items` from the token's offset, with the token for the next page when there is one. */
export function page<T>(
  items: T[],
  listing: string,
  token: string | undefined,
  size: number,
): { items: T[]; nextToken?: string } {
  const offset = decodeToken(listing, token)
  const slice = items.slice(offset, offset + size)
  const next = offset + size
  return next < items.length ? { items: slice, nextToken: encodeToken(listing, next) } : { items: slice }
}
