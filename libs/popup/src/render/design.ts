import type { Design } from './types.ts'

export type PopupType = 'modal' | 'slide-in' | 'bar' | 'full-screen'
export const POPUP_TYPES: readonly string[] = ['modal', 'slide-in', 'bar', 'full-screen']

const COLOR = /^#([0-9a-f]{6}|[0-9a-f]{8})$/i
// The API's pattern for a font-family list: nothing there can end the declaration.
const FONT_FAMILY = /^[A-Za-z0-9 ,'-]{1,100}$/
const SYSTEM_FONT = 'system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif'
const WIDTH: Record<PopupType, number> = { modal: 440, 'slide-in': 360, bar: 0, 'full-screen': 560 }

function color(value: string | undefined, fallback: string): string {
  return value !== undefined && COLOR.test(value) ? value : fallback
}

function whole(value: number | undefined, min: number, max: number, fallback: number): number {
  return Number.isInteger(value) && value! >= min && value! <= max ? value! : fallback
}

/**
 * The step's design tokens as the CSS custom properties the stylesheet reads, each checked
 * against the API's bounds and falling back to the theme's value.
 */
export function designProperties(design: Design | undefined, type: PopupType): Record<string, string> {
  const colors = design?.colors ?? {}
  const family = design?.font?.family
  const edgeToEdge = type === 'bar' || type === 'full-screen'
  const radius = whole(design?.borderRadiusPx, 0, 48, 12)
  return {
    '--bg': color(colors.background, '#ffffff'),
    '--tx': color(colors.text, '#1f2937'),
    '--ac': color(colors.accent, '#2563eb'),
    '--bt': color(colors.buttonText, '#ffffff'),
    '--ov': color(colors.overlay, '#0f172a99'),
    '--ff': family !== undefined && FONT_FAMILY.test(family) ? `${family},${SYSTEM_FONT}` : SYSTEM_FONT,
    '--fs': `${whole(design?.font?.sizePx, 10, 32, 16)}px`,
    '--w': `${whole(design?.widthPx, 200, 1200, WIDTH[type])}px`,
    '--r': `${edgeToEdge ? 0 : radius}px`,
    '--cr': `${Math.min(radius, 8)}px`,
  }
}

/**
 * Where the popup sits, as flex alignment of the layer that holds it: [justify, align]. A bar is
 * at the top unless a bottom position is asked for; a slide-in has no centre, so it takes the
 * bottom-right corner then.
 */
export function placement(position: Design['position'], type: PopupType): [string, string] {
  let place: string = position ?? (type === 'slide-in' ? 'bottom-right' : type === 'bar' ? 'top' : 'center')
  if (type === 'slide-in' && place === 'center') place = 'bottom-right'
  if (type === 'bar') place = place.startsWith('bottom') ? 'bottom' : 'top'
  const edge = (side: string, start: string, end: string) =>
    place.includes(start) ? 'flex-start' : place.includes(end) ? 'flex-end' : side
  return [edge('center', 'left', 'right'), edge('center', 'top', 'bottom')]
}
