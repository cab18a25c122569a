/*
 * Campaign text with markup (text blocks, consent wording) reaches customers' pages only as DOM
 * nodes built from this parse: the same allowlist the API enforces when it stores the text
 * (apps/api/src/modules/campaigns/markup.ts), checked again here because what the browser runs
 * must not trust what it downloads. Anything the check does not accept is shown as plain text.
 */

export interface MarkupElement {
  tag: string
  href?: string
  children: MarkupNode[]
}
export type MarkupNode = string | MarkupElement

const TAGS = ['b', 'strong', 'i', 'em', 'u', 's', 'br', 'p', 'a']
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' }
// Controls other than tab and newlines, and UTF-16 surrogates without their pair.
const BAD_CHARACTER =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose
  /[\0-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const ENTITY = /&(?:([a-zA-Z][a-zA-Z0-9]{0,31})|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));/y
const CLOSE_TAG = /<\/([a-zA-Z][^\t\n\f\r />]*)[\t\n\f\r ]*>/y
const OPEN_TAG =
  /<([a-zA-Z][^\t\n\f\r />]*)(?:[\t\n\f\r ]+(href)[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'))?[\t\n\f\r ]*(\/?)>/iy

/** The character an entity at `at` stands for and where it ends, or null when it is not allowed. */
function readEntity(text: string, at: number): [string, number] | null {
  ENTITY.lastIndex = at
  const match = ENTITY.exec(text)
  if (!match) return null
  const [whole, name, decimal, hex] = match
  if (name) return name in NAMED ? [NAMED[name]!, at + whole.length] : null
  const code = decimal ? Number.parseInt(decimal, 10) : Number.parseInt(hex!, 16)
  const valid =
    code > 0 &&
    code <= 0x10ffff &&
    !(code >= 0xd800 && code <= 0xdfff) &&
    !(code < 0x20 && code !== 9 && code !== 10 && code !== 13) &&
    !(code >= 0x7f && code <= 0x9f) &&
    !(code >= 0xfdd0 && code <= 0xfdef) &&
    (code & 0xfffe) !== 0xfffe
  return valid ? [String.fromCodePoint(code), at + whole.length] : null
}

/** Text with its entities decoded, or null when it holds a bare & or <, or a bad character. */
function decode(text: string): string | null {
  if (BAD_CHARACTER.test(text)) return null
  let out = ''
  for (let at = 0; at < text.length; ) {
    const char = text[at]!
    if (char === '<') return null
    if (char !== '&') {
      out += char
      at += 1
      continue
    }
    const entity = readEntity(text, at)
    if (!entity) return null
    out += entity[0]
    at = entity[1]
  }
  return out
}

/**
 * Whether a link target may be rendered: http(s) with a host and no credentials, or mailto with an
 * address. Browsers drop controls and spaces before reading a scheme, so none are allowed at all.
 */
export function safeHref(href: string): boolean {
  if (/[\0- \x7f-\x9f"'<>`\\]/.test(href)) return false
  if (/^mailto:/i.test(href)) return /^mailto:[^@]+@[^@]+$/i.test(href)
  return safeHttpUrl(href)
}

/** An absolute http(s) URL naming a host, without user name or password (images, link buttons). */
export function safeHttpUrl(url: string): boolean {
  if (!/^https?:\/\/[^\0- \x7f-\x9f"'<>`\\]+$/i.test(url)) return false
  try {
    const parsed = new URL(url)
    return parsed.hostname !== '' && parsed.username === '' && parsed.password === ''
  } catch {
    return false
  }
}

/** The tree of allowed markup in `text`, or null when anything in it is not allowed. */
export function parseMarkup(text: string): MarkupNode[] | null {
  if (BAD_CHARACTER.test(text)) return null
  const root: MarkupElement = { tag: '', children: [] }
  const open = [root]
  let at = 0
  let plain = ''
  const add = (child: MarkupNode) => open.at(-1)!.children.push(child)
  while (at < text.length) {
    const char = text[at]!
    if (char === '&') {
      const entity = readEntity(text, at)
      if (!entity) return null
      plain += entity[0]
      at = entity[1]
      continue
    }
    if (char !== '<') {
      plain += char
      at += 1
      continue
    }
    if (plain) add(plain)
    plain = ''
    CLOSE_TAG.lastIndex = at
    const close = CLOSE_TAG.exec(text)
    if (close) {
      const innermost = open.at(-1)!
      if (open.length < 2 || innermost.tag !== close[1]!.toLowerCase()) return null
      open.pop()
      at += close[0].length
      continue
    }
    OPEN_TAG.lastIndex = at
    const tag = OPEN_TAG.exec(text)
    if (!tag) return null
    const [whole, rawName, href, doubleQuoted, singleQuoted, selfClosing] = tag
    const name = rawName!.toLowerCase()
    if (!TAGS.includes(name) || (href && name !== 'a') || (selfClosing && name !== 'br')) return null
    if ((name === 'a' || name === 'p') && open.some((element) => element.tag === name)) return null
    const element: MarkupElement = { tag: name, children: [] }
    if (href) {
      const value = decode(doubleQuoted ?? singleQuoted ?? '')
      if (value === null || !safeHref(value)) return null
      element.href = value
    }
    add(element)
    if (name !== 'br') open.push(element)
    at += whole.length
  }
  if (plain) add(plain)
  return open.length === 1 ? root.children : null
}

/**
 * Appends `text` to `parent` as DOM nodes: its allowed markup as elements, or, when anything in it
 * is not allowed, the whole text as it was written.
 */
export function appendMarkup(parent: Element, text: string): void {
  const nodes = parseMarkup(text)
  if (nodes) build(parent, nodes)
  else parent.append(text)
}

function build(parent: Element, nodes: MarkupNode[]): void {
  // Blocks whose paragraphs sit on lines of their own: the newlines between them are not text.
  const paragraphs = nodes.some((node) => typeof node !== 'string' && node.tag === 'p')
  for (const node of nodes) {
    if (typeof node === 'string') {
      if (!paragraphs || node.trim()) parent.append(node)
      continue
    }
    const element = parent.ownerDocument.createElement(node.tag)
    if (node.tag === 'a') {
      if (node.href !== undefined) element.setAttribute('href', node.href)
      element.setAttribute('target', '_blank')
      element.setAttribute('rel', 'noopener noreferrer')
    }
    build(element, node.children)
    parent.append(element)
  }
}
