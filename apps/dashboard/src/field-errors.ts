/**
 * The API names a bad field as `body.name`, `body.variants/0/steps/0/blocks/0/text` or
 * `querystring.limit`; inputs are keyed by the path inside the body: `name`,
 * `variants/0/steps/0/blocks/0/text`. Pure, so it is tested in Node.
 */
import type { FieldProblem } from './failure.ts'

/** `body.variants/0/steps[0].text` → `variants/0/steps/0/text`. */
export function fieldKey(field: string): string {
  return field
    .replace(/^(body|querystring|query|params|headers)([./]|$)/, '')
    .replace(/\[(\d+)\]/g, '/$1')
    .replace(/\./g, '/')
    .replace(/^\/+|\/+$/g, '')
}

/** Messages by field key; several problems on one field are joined. */
export function indexProblems(problems: readonly FieldProblem[] | undefined): Map<string, string> {
  const index = new Map<string, string>()
  for (const problem of problems ?? []) {
    const key = fieldKey(problem.field)
    const before = index.get(key)
    index.set(key, before ? `${before}; ${problem.message}` : problem.message)
  }
  return index
}

/** The problems of `key` and of every field inside it (`variants/0` holds `variants/0/weight`). */
export function problemsUnder(index: Map<string, string>, key: string): string[] {
  const prefix = `${key}/`
  return [...index.entries()].filter(([k]) => k === key || k.startsWith(prefix)).map(([, m]) => m)
}
