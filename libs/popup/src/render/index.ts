export { appendMarkup, type MarkupNode, parseMarkup, safeHref, safeHttpUrl } from './markup.ts'
export { renderPopup } from './popup.ts'
export type * from './types.ts'
