import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ApiFailure } from '../failure.ts'

export interface Toast {
  id: number
  kind: 'info' | 'success' | 'error'
  text: string
}

/** What the whole app shows over pages: short toasts and the upgrade dialog (any 402 PLAN_LIMIT). */
export const useNotices = defineStore('notices', () => {
  const toasts = ref<Toast[]>([])
  /** The 402 that opened the upgrade dialog, or null when it is closed. */
  const upgrade = ref<ApiFailure | null>(null)
  let next = 1

  function say(text: string, kind: Toast['kind'] = 'info', ms = 5000): void {
    const id = next++
    toasts.value.push({ id, kind, text })
    if (ms > 0) setTimeout(() => dismiss(id), ms)
  }
  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((toast) => toast.id !== id)
  }
  function offerUpgrade(failure: ApiFailure): void {
    upgrade.value = failure
  }
  function closeUpgrade(): void {
    upgrade.value = null
  }
  return { toasts, upgrade, say, dismiss, offerUpgrade, closeUpgrade }
})
