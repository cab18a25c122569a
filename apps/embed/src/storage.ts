/*
 * localStorage that never throws: Safari's private mode, disabled storage or a full quota make
 * every call throw, and the host page must not notice. What cannot be kept there is kept in
 * memory for this page view (the visitor then counts as new on every page, which is the most
 * such a browser lets us know).
 */

export interface KeyValue {
  get(key: string): string | null
  set(key: string, value: string): void
  remove(key: string): void
}

/** `open` returns the browser's storage; it is called inside the try, since reading it may throw. */
export function safeStorage(open: () => Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>): KeyValue {
  const memory = new Map<string, string>()
  return {
    get(key) {
      if (memory.has(key)) return memory.get(key) ?? null
      try {
        return open().getItem(key)
      } catch {
        return null
      }
    },
    set(key, value) {
      try {
        open().setItem(key, value)
        memory.delete(key)
      } catch {
        memory.set(key, value)
      }
    },
    remove(key) {
      memory.delete(key)
      try {
        open().removeItem(key)
      } catch {
        // nothing kept there to remove
      }
    },
  }
}

/** Parses what this script stored; anything else (edited by hand, another script's) is ignored. */
export function readJson<T>(store: KeyValue, key: string): T | undefined {
  const text = store.get(key)
  if (text === null) return undefined
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}
