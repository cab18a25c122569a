import type { Device } from './types.ts'

/*
 * The visitor's device from what the browser tells: the user agent first, then touch and the
 * viewport's width for what the user agent hides (iPadOS says "Macintosh"; some phones' browsers
 * ask for desktop sites).
 */

export interface DeviceHints {
  userAgent: string
  /** navigator.maxTouchPoints */
  maxTouchPoints?: number
  /** the viewport's width in CSS px (innerWidth) */
  viewportWidth?: number
}

const TABLET_UA = /iPad|Tablet|PlayBook|Silk|Kindle|Android(?!.*Mobi)/i
const MOBILE_UA = /Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry|Opera Mini/i
/** Narrower touch screens than this are phones, wider ones tablets (CSS breakpoints agree). */
const PHONE_MAX_WIDTH = 600
const TABLET_MAX_WIDTH = 1024

export function deviceOf({ userAgent, maxTouchPoints = 0, viewportWidth }: DeviceHints): Device {
  if (TABLET_UA.test(userAgent)) return 'tablet'
  if (MOBILE_UA.test(userAgent)) return 'mobile'
  if (maxTouchPoints > 1 && viewportWidth !== undefined) {
    if (viewportWidth < PHONE_MAX_WIDTH) return 'mobile'
    // A touch screen on a desktop browser's user agent: an iPad, or a touch laptop when wider.
    if (/Macintosh/.test(userAgent) || viewportWidth <= TABLET_MAX_WIDTH) return 'tablet'
  }
  return 'desktop'
}
