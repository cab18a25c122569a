/**
 * Build-time settings (Vite's `import.meta.env`, fixed when the bundle is built).
 * - VITE_API_URL: the API's origin (production: https://api.nudge.example).
 * - VITE_SESSION_MODE: how the SuperTokens session travels, 'cookie' (production's choice, see
 *   README "Dashboard") or 'header'. Both work against an API on another origin.
 */
export type SessionMode = 'cookie' | 'header'

export const API_URL: string = (import.meta.env.VITE_API_URL || 'http://localhost:3000').replace(/\/+$/, '')

export const SESSION_MODE: SessionMode = import.meta.env.VITE_SESSION_MODE === 'header' ? 'header' : 'cookie'

/** In development the API's dev mailbox holds the magic links (no email is sent). */
export const DEV_MAILBOX_URL: string | null = import.meta.env.DEV ? `${API_URL}/dev/mailbox` : null
