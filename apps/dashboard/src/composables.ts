import { computed, type MaybeRefOrGetter, type Ref, ref, shallowRef, toValue } from 'vue'
import type { ApiFailure } from './failure.ts'
import { indexProblems, problemsUnder } from './field-errors.ts'
import { CursorTrail } from './pagination.ts'

/**
 * A page's data loaded by `load`: `loading`, `error` (for PageState, with `run` as the retry)
 * and `data`. `run` may be called again (filters changed, retry).
 */
export function useLoad<T>(load: () => Promise<T>) {
  const data = shallowRef<T | null>(null) as Ref<T | null>
  const loading = ref(false)
  const error = shallowRef<unknown>(null)
  let generation = 0
  async function run(): Promise<void> {
    const mine = ++generation
    loading.value = true
    error.value = null
    try {
      const value = await load()
      if (mine === generation) data.value = value
    } catch (cause) {
      if (mine === generation) error.value = cause
    } finally {
      if (mine === generation) loading.value = false
    }
  }
  return { data, loading, error, run }
}

/**
 * A cursor-paginated list: `fetchPage(cursor)` returns `{ items, nextCursor }`. next/previous
 * move along; reset() starts again from the first page (filters changed).
 */
export function usePagedList<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
) {
  const trail = new CursorTrail()
  const page = ref(1)
  const hasPrevious = ref(false)
  const nextCursor = ref<string | null>(null)
  const state = useLoad(async () => {
    const answer = await fetchPage(trail.current)
    nextCursor.value = answer.nextCursor
    return answer.items
  })
  const sync = () => {
    page.value = trail.page
    hasPrevious.value = trail.hasPrevious
  }
  async function next(): Promise<void> {
    if (!nextCursor.value) return
    trail.forward(nextCursor.value)
    sync()
    await state.run()
  }
  async function previous(): Promise<void> {
    trail.back()
    sync()
    await state.run()
  }
  async function reset(): Promise<void> {
    trail.reset()
    sync()
    await state.run()
  }
  return {
    items: state.data,
    loading: state.loading,
    error: state.error,
    run: state.run,
    page,
    hasPrevious,
    hasNext: computed(() => nextCursor.value !== null),
    next,
    previous,
    reset,
  }
}

/**
 * Field errors of a failed save: `errorFor('name')` is the API's message for `body.name`;
 * `others` are the problems no input claimed (shown above the form), given the keys that have inputs.
 */
export function useFieldErrors(failure: MaybeRefOrGetter<ApiFailure | null | undefined>) {
  const index = computed(() => indexProblems(toValue(failure)?.details))
  function errorFor(key: string): string | undefined {
    return index.value.get(key)
  }
  function errorsUnder(key: string): string[] {
    return problemsUnder(index.value, key)
  }
  function others(claimed: readonly string[]): string[] {
    return [...index.value.entries()]
      .filter(([key]) => !claimed.some((c) => key === c || key.startsWith(`${c}/`)))
      .map(([key, message]) => `${key || 'request'}: ${message}`)
  }
  return { errorFor, errorsUnder, others, hasErrors: computed(() => index.value.size > 0) }
}
