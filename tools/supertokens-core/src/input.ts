// The core's InputParser, which every endpoint reads its input through. Its rules come
// from Gson, and they are what decides between a 400 and an answer:
// - the body must be a JSON object, or the answer is "Invalid Json Input";
// - a field read as a string must be a JSON string, or an array holding exactly one
//   (Gson's JsonArray.getAsString unwraps it, so ["a@b.c"] reads as "a@b.c");
// - a boolean may be a number (read as false) but never a string or null;
// - an optional field may be absent, but an explicit null is still "invalid";
// - query parameters are strings; a missing required one is "missing in GET request".
import { BadRequest, invalidField, missingQueryParam } from './errors.ts'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

/** Every key of every member of a (union) body type from the CDI schema. */
type FieldOf<B> = B extends unknown ? Extract<keyof B, string> : never

/** InputParser.parseJsonObjectOrThrowError(request): the body as a JSON object. */
export function parseJsonBody(raw: string): JsonObject {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw new BadRequest('Invalid Json Input')
  }
  if (!isJsonObject(value)) throw new BadRequest('Invalid Json Input')
  return value
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// JsonElement.getAsString behind InputParser's check that the JSON text has a quote in it.
function gsonString(value: Json | undefined): string | undefined {
  if (typeof value === 'string') return value
  if (Array.isArray(value) && value.length === 1) return gsonString(value[0])
  return undefined
}

// JsonElement.getAsBoolean behind InputParser's check that the JSON text has no quote:
// a number is Boolean.parseBoolean("1"), i.e. false.
function gsonBoolean(value: Json | undefined): boolean | undefined {
  if (value === undefined || JSON.stringify(value).includes('"')) return undefined
  if (typeof value === 'boolean') return value
  if (typeof value === 'number') return false
  if (Array.isArray(value) && value.length === 1) return gsonBoolean(value[0])
  return undefined
}

/**
 * The body of a POST or PUT, read field by field the way the core reads it. Field names
 * are those of the CDI schema's body type B, plus X for fields the core reads that the
 * schema leaves out.
 */
export class JsonInput<B, X extends string = never> {
  readonly json: JsonObject

  constructor(json: JsonObject) {
    this.json = json
  }

  /** JsonObject.has: present, even when null. */
  has(name: FieldOf<B> | X): boolean {
    return Object.hasOwn(this.json, name)
  }

  isNull(name: FieldOf<B> | X): boolean {
    return this.json[name] === null
  }

  private value(name: string): Json | undefined {
    return Object.hasOwn(this.json, name) ? this.json[name] : undefined
  }

  string(name: FieldOf<B> | X): string {
    const value = gsonString(this.value(name))
    if (value === undefined) throw invalidField(name)
    return value
  }

  optionalString(name: FieldOf<B> | X): string | undefined {
    return this.has(name) ? this.string(name) : undefined
  }

  boolean(name: FieldOf<B> | X): boolean {
    const value = gsonBoolean(this.value(name))
    if (value === undefined) throw invalidField(name)
    return value
  }

  optionalBoolean(name: FieldOf<B> | X): boolean | undefined {
    return this.has(name) ? this.boolean(name) : undefined
  }

  object(name: FieldOf<B> | X): JsonObject {
    const value = this.value(name)
    if (!isJsonObject(value)) throw invalidField(name)
    return value
  }

  optionalObject(name: FieldOf<B> | X): JsonObject | undefined {
    return this.has(name) ? this.object(name) : undefined
  }

  /** parseArrayOrThrowError plus parseStringFromElementOrThrowError on each item. */
  optionalStringArray(name: FieldOf<B> | X): string[] | undefined {
    if (!this.has(name)) return undefined
    const value = this.value(name)
    if (!Array.isArray(value)) throw invalidField(name)
    return value.map((item) => {
      const text = gsonString(item)
      if (text === undefined) throw invalidField(name)
      return text
    })
  }
}

/**
 * Query parameters as HttpServletRequest.getParameter sees them: the first value. N
 * names the parameters the handler may read.
 */
export class QueryInput<N extends string> {
  private readonly query: Record<string, string | string[] | undefined>

  constructor(query: Record<string, string | string[] | undefined>) {
    this.query = query
  }

  optional(name: N): string | undefined {
    const value = Object.hasOwn(this.query, name) ? this.query[name] : undefined
    return Array.isArray(value) ? value[0] : value
  }

  required(name: N): string {
    const value = this.optional(name)
    if (value === undefined) throw missingQueryParam(name)
    return value
  }
}
