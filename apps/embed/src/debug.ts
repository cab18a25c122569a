import type { KeyValue } from './storage.ts'

/*
 * The debug switch: `nudge_debug=1` in the page's URL, or localStorage 'nudge:debug' = '1'. Off,
 * the script is silent: a customer's console is theirs.
 */

export function debugEnabled(search: string, store: KeyValue): boolean {
  let fromUrl: string | null = null
  try {
    fromUrl = new URLSearchParams(search).get('nudge_debug')
  } catch {
    // an unreadable query string is no switch
  }
  return fromUrl === '1' || store.get('nudge:debug') === '1'
}

export interface Log {
  readonly on: boolean
  info(...parts: unknown[]): void
  /** an error caught by the script: reported once per message, in debug mode only */
  error(error: unknown): void
}

export function makeLog(on: boolean, sink: Pick<Console, 'info' | 'error'> = console): Log {
  const reported = new Set<string>()
  return {
    on,
    info(...parts) {
      if (on) sink.info('[nudge]', ...parts)
    },
    error(error) {
      if (!on) return
      const key = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      if (reported.has(key)) return
      reported.add(key)
      sink.error('[nudge]', error)
    },
  }
}
