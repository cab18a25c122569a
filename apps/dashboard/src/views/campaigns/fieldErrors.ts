/**
 * The editor's field errors: a 400's `details` keyed by their path in the body without "body."
 * ("variants.0.steps.0.blocks.0.text"), handed down to every input of the editor, and words for
 * where a path is ("Variant B › step 1 › block 2 › text") for the summary at the top.
 */
import { computed, type InjectionKey, inject, type Ref } from 'vue'
import type { FieldProblem } from '../../failure.ts'
import { indexProblems, problemsUnder } from '../../field-errors.ts'
import type { Draft } from './model.ts'

export type { FieldProblem }

export interface EditorErrors {
  /** The messages for exactly this path. */
  at(path: string): string | undefined
  /** How many problems are at or under this path (for tab and section badges). */
  under(path: string): number
}

export const ERRORS: InjectionKey<EditorErrors> = Symbol('campaign editor errors')

/** The editor's dotted paths ("variants.0.name") as the shell's field keys ("variants/0/name"). */
const keyOf = (path: string) => path.replaceAll('.', '/')

/** Built on the shell's index of a 400's details (src/field-errors.ts), so both read `details` alike. */
export function editorErrors(problems: Ref<readonly FieldProblem[]>): EditorErrors {
  const index = computed(() => indexProblems(problems.value))
  return {
    at: (path) => index.value.get(keyOf(path)),
    under: (path) => problemsUnder(index.value, keyOf(path)).length,
  }
}

export function useEditorErrors(): EditorErrors {
  return inject(ERRORS, { at: () => undefined, under: () => 0 })
}

const WORDS: Record<string, string> = {
  blocks: 'block',
  buttons: 'button',
  fields: 'field',
  steps: 'step',
  include: 'show on',
  exclude: 'never on',
}

/** "variants.1.steps.0.blocks.2.text" → "Variant B › step 1 › block 3 › text". */
export function describePath(path: string, draft: Draft): string {
  const parts = path.split('.')
  const words: string[] = []
  for (let index = 0; index < parts.length; index += 1) {
    const part = parts[index] ?? ''
    const next = parts[index + 1]
    if (part === 'variants' && next !== undefined && /^\d+$/.test(next)) {
      words.push(draft.variants[Number(next)]?.name ?? `variant ${Number(next) + 1}`)
      index += 1
    } else if (WORDS[part] && next !== undefined && /^\d+$/.test(next)) {
      words.push(`${WORDS[part]} ${Number(next) + 1}`)
      index += 1
    } else {
      words.push(part)
    }
  }
  return words.join(' › ')
}

/** An id for the input at `path` (for its label). */
export const inputId = (path: string) => `f-${path.replaceAll('.', '-')}`
/** The id of the error message shown under the input at `path`. */
export const errorId = (path: string) => `e-${path.replaceAll('.', '-')}`

/** Attributes for the input at `path`: its id, and its error described and marked invalid. */
export function bindField(errors: EditorErrors, path: string) {
  const message = errors.at(path)
  return {
    id: inputId(path),
    'aria-invalid': message ? (true as const) : undefined,
    'aria-describedby': message ? errorId(path) : undefined,
  }
}
