/*
 * The markup a marketer may put in campaign text, which our script inserts into customers' pages.
 * Anything the check does not understand is refused: an allowlist read by a small tokenizer that
 * follows what a browser's HTML parser would do with the same characters (tag names end at
 * whitespace, / or >; a URL loses its tabs and newlines before its scheme is read), so that what
 * passes here cannot become a script, a style or another element there.
 */

const ALLOWED_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 's', 'br', 'p', 'a'])
const TAG_LIST = 'b, strong, i, em, u, s, br, p, a'
const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
}
const ENTITY_LIST = '&amp; &lt; &gt; &quot; &#39; &apos; &nbsp; and numeric ones such as &#233; or &#x1F600;'
const HREF_SCHEMES = new Set(['http', 'https', 'mailto'])

const BARE_LT = 'a bare < is not allowed: write &lt; for a literal <'
const BARE_AMP = 'a bare & is not allowed: write &amp; for a literal &'

/** What the HTML tokenizer treats as whitespace inside a tag. */
function isTagSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\f'
}

function isAsciiLetter(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z]$/.test(char)
}

/** C0 and C1 control characters and DEL; with `space`, the space too (what URLs must not hold). */
function isControl(code: number, { space = false } = {}): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (space && code === 0x20)
}

/** The text without its controls (and spaces, with `space`), or with them replaced. */
function withoutControls(text: string, options: { space?: boolean; replacement?: string } = {}): string {
  let result = ''
  for (const char of text)
    result += isControl(char.charCodeAt(0), options) ? (options.replacement ?? '') : char
  return result
}

/** Whether `text` holds a control character (or a space, with `space`). */
export function hasControlCharacter(text: string, options: { space?: boolean } = {}): boolean {
  for (let index = 0; index < text.length; index += 1) {
    if (isControl(text.charCodeAt(index), options)) return true
  }
  return false
}

/** Shown in a message without letting a long or odd input take it over. */
function shown(value: string): string {
  const printable = withoutControls(value, { replacement: '?' })
  return printable.length > 30 ? `${printable.slice(0, 30)}…` : printable
}

function codePointName(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
}

/** A problem with one character of text, or null: controls other than tab/newline, lone surrogates. */
function characterProblem(text: string, index: number): string | null {
  const code = text.charCodeAt(index)
  if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || (code >= 0x7f && code <= 0x9f)) {
    return `control character ${codePointName(code)} is not allowed`
  }
  if (code >= 0xd800 && code <= 0xdfff) {
    const high = code <= 0xdbff
    const next = text.charCodeAt(index + 1)
    const previous = text.charCodeAt(index - 1)
    const paired = high ? next >= 0xdc00 && next <= 0xdfff : previous >= 0xd800 && previous <= 0xdbff
    if (!paired) return 'contains an invalid character (a lone UTF-16 surrogate)'
  }
  return null
}

type Read = { end: number; value: string } | { problem: string }

/** Reads the entity starting at `start` (text[start] is '&'). */
function readEntity(text: string, start: number): Read {
  const rest = text.slice(start, start + 40)
  const named = /^&([A-Za-z][A-Za-z0-9]{0,31});/.exec(rest)
  if (named) {
    const name = named[1]!
    const value = NAMED_ENTITIES[name]
    if (value === undefined) return { problem: `entity &${name}; is not allowed (allowed: ${ENTITY_LIST})` }
    return { end: start + named[0].length, value }
  }
  const numeric = /^&#(?:([0-9]{1,8})|[xX]([0-9a-fA-F]{1,8}));/.exec(rest)
  if (numeric) {
    const code = numeric[1] !== undefined ? Number.parseInt(numeric[1], 10) : Number.parseInt(numeric[2]!, 16)
    const valid =
      code > 0 &&
      code <= 0x10ffff &&
      !(code >= 0xd800 && code <= 0xdfff) &&
      !(code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) &&
      !(code >= 0x7f && code <= 0x9f) &&
      !(code >= 0xfdd0 && code <= 0xfdef) &&
      (code & 0xfffe) !== 0xfffe
    if (!valid) return { problem: `${numeric[0]} is not a valid character` }
    return { end: start + numeric[0].length, value: String.fromCodePoint(code) }
  }
  return { problem: BARE_AMP }
}

/**
 * Problems with a URL that must be an absolute http(s) URL, phrased to follow the field's name
 * ("must …"). Shared by image and link URLs and by href.
 */
export function httpUrlProblem(url: string): string | null {
  if (hasControlCharacter(url, { space: true })) {
    return 'must not contain spaces or control characters (write %20 for a space)'
  }
  if (url.includes('\\')) return 'must not contain backslashes'
  // Image and link URLs end in attributes on customers' pages; however a renderer builds the tag,
  // these must not be there to end the attribute or the tag (a URL carries them percent-encoded).
  const breakout = /["'<>`]/.exec(url)
  if (breakout) return `must not contain ${breakout[0]} (percent-encode it)`
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase()
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    return `must be an http: or https: URL (${shown(scheme)}: is not allowed)`
  }
  if (!/^https?:\/\//i.test(url)) return 'must be an absolute URL starting with https:// or http://'
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not a valid URL'
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return 'must not contain a user name or password (user:password@)'
  }
  if (parsed.hostname === '') return 'must name a host'
  return null
}

/** The form an http(s) URL is stored and published in: what `URL` makes of it, one spelling per URL. */
export function normalisedHttpUrl(url: string): string {
  return new URL(url).href
}

/** Problems with the (entity-decoded) value of an href. */
function hrefProblem(href: string): string | null {
  // Browsers drop tabs and newlines anywhere in a URL and controls and spaces around it before
  // they read the scheme: `jav&#x09;ascript:` and ` JavaScript:` are both javascript: to them.
  const squeezed = withoutControls(href, { space: true }).toLowerCase()
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(squeezed)?.[1]
  if (scheme === undefined) return 'href must be an absolute http:, https: or mailto: URL'
  if (!HREF_SCHEMES.has(scheme)) {
    return `href scheme ${shown(scheme)}: is not allowed (allowed: http:, https:, mailto:)`
  }
  if (hasControlCharacter(href, { space: true })) {
    return 'href must not contain spaces or control characters (write %20 for a space)'
  }
  // Legal in a quoted attribute, but a renderer that rebuilds the tag from its parts would be
  // one quote away from a new attribute; a URL can carry them percent-encoded.
  const breakout = /["'<>`]/.exec(href)
  if (breakout) return `href must not contain ${breakout[0]} (percent-encode it)`
  if (scheme === 'mailto') {
    return /^mailto:[^@]+@[^@]+$/i.test(href) ? null : 'href mailto: must be followed by an email address'
  }
  const problem = httpUrlProblem(href)
  return problem === null ? null : `href ${problem}`
}

/** Decodes an attribute value, holding it to the same entity rules as text. */
function decodeAttribute(raw: string): Read {
  let value = ''
  let index = 0
  while (index < raw.length) {
    const char = raw[index]!
    if (char === '&') {
      const entity = readEntity(raw, index)
      if ('problem' in entity) return entity
      value += entity.value
      index = entity.end
      continue
    }
    if (char === '<') return { problem: BARE_LT }
    value += char
    index += 1
  }
  return { end: raw.length, value }
}

/**
 * Reads the tag starting at `start` (text[start] is '<'), checks it against the allowlist and the
 * open tags, and updates `open`. Returns the index after the tag, or the problem.
 */
function readTag(text: string, start: number, open: string[]): number | string {
  const next = text[start + 1]
  if (next === '!') {
    if (text.startsWith('<!--', start)) return 'comments (<!-- … -->) are not allowed'
    if (text.startsWith('<![CDATA[', start)) return 'CDATA sections (<![CDATA[ … ]]>) are not allowed'
    if (/^<!doctype/i.test(text.slice(start, start + 9))) return 'a doctype (<!DOCTYPE …>) is not allowed'
    return 'declarations (<! … >) are not allowed'
  }
  if (next === '?') return 'processing instructions (<? … ?>) are not allowed'

  if (next === '/') {
    if (!isAsciiLetter(text[start + 2])) return BARE_LT
    let index = start + 2
    while (index < text.length && !isTagSpace(text[index]) && text[index] !== '/' && text[index] !== '>')
      index += 1
    const name = text.slice(start + 2, index).toLowerCase()
    if (!ALLOWED_TAGS.has(name)) return `tag </${shown(name)}> is not allowed (allowed: ${TAG_LIST})`
    while (isTagSpace(text[index])) index += 1
    if (index >= text.length) return `closing tag </${name}> is not finished: > is missing`
    if (text[index] !== '>') return `closing tag </${name}> cannot have anything but its name`
    if (name === 'br') return '<br> has no closing tag: write <br> or <br/>'
    const innermost = open.at(-1)
    if (innermost !== name) {
      if (!open.includes(name)) return `closing tag </${name}> has no matching <${name}>`
      return `<${innermost}> must be closed before </${name}>: close tags in the reverse order they were opened`
    }
    open.pop()
    return index + 1
  }

  if (!isAsciiLetter(next)) return BARE_LT

  let index = start + 1
  while (index < text.length && !isTagSpace(text[index]) && text[index] !== '/' && text[index] !== '>')
    index += 1
  const name = text.slice(start + 1, index).toLowerCase()
  if (!ALLOWED_TAGS.has(name)) return `tag <${shown(name)}> is not allowed (allowed: ${TAG_LIST})`

  let hasHref = false
  let selfClosing = false
  for (;;) {
    while (isTagSpace(text[index])) index += 1
    if (index >= text.length) return `tag <${name}> is not finished: > is missing`
    const char = text[index]
    if (char === '>') {
      index += 1
      break
    }
    if (char === '/') {
      if (text[index + 1] !== '>') return `tag <${name}> has a / that does not end it`
      selfClosing = true
      index += 2
      break
    }
    const nameStart = index
    // An attribute name runs to whitespace, /, > or = (a leading = belongs to the name too).
    index += 1
    while (index < text.length && !isTagSpace(text[index]) && !'/>='.includes(text[index]!)) index += 1
    const attribute = text.slice(nameStart, index).toLowerCase()
    if (name !== 'a' || attribute !== 'href') {
      return `attribute ${shown(attribute)} is not allowed on <${name}> (allowed: href on <a>, nothing else)`
    }
    if (hasHref) return '<a> has more than one href'
    hasHref = true
    while (isTagSpace(text[index])) index += 1
    if (text[index] !== '=') return 'href needs a value: href="https://…"'
    index += 1
    while (isTagSpace(text[index])) index += 1
    const quote = text[index]
    if (quote !== '"' && quote !== "'") return 'the href value must be in quotes: href="https://…"'
    const close = text.indexOf(quote, index + 1)
    if (close === -1) return 'the href value has no closing quote'
    const decoded = decodeAttribute(text.slice(index + 1, close))
    if ('problem' in decoded) return `href: ${decoded.problem}`
    const problem = hrefProblem(decoded.value)
    if (problem) return problem
    index = close + 1
  }

  if (name === 'br') return index
  if (selfClosing) return `<${name}/> is not allowed: only <br> closes itself; write <${name}>…</${name}>`
  if (name === 'a' && open.includes('a')) return 'a link cannot contain another link: close </a> first'
  if (name === 'p' && open.includes('p')) return 'a paragraph cannot contain another <p>: close </p> first'
  open.push(name)
  return index
}

/**
 * Null when `text` is plain text or uses only the allowed markup; otherwise a short message saying
 * what was found and what is allowed, e.g. "tag <script> is not allowed (allowed: b, strong, …)".
 */
export function markupProblem(text: string): string | null {
  const open: string[] = []
  let index = 0
  while (index < text.length) {
    const char = text[index]
    if (char === '<') {
      const end = readTag(text, index, open)
      if (typeof end === 'string') return end
      index = end
      continue
    }
    if (char === '&') {
      const entity = readEntity(text, index)
      if ('problem' in entity) return entity.problem
      index = entity.end
      continue
    }
    const problem = characterProblem(text, index)
    if (problem) return problem
    index += 1
  }
  const unclosed = open.at(-1)
  return unclosed === undefined ? null : `tag <${unclosed}> is not closed: add </${unclosed}>`
}

/**
 * Problems with a one-line plain-text field (labels, alt text, options), which is shown as text:
 * markup there would appear as is, so it is refused rather than shown to visitors.
 */
export function plainTextProblem(text: string, { allowEmpty = false } = {}): string | null {
  if (!allowEmpty && text.trim() === '') return 'must not be blank'
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index)
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      return `must be one line of plain text (control character ${codePointName(code)} found)`
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const problem = characterProblem(text, index)
      if (problem) return problem
    }
  }
  // A tag need not be closed to be one: `<img src=x onerror=alert(1)//` is an element to a
  // browser parsing it, so any < that starts a tag is refused, closed or not.
  const tag = /<[A-Za-z!?/]/.exec(text)
  if (tag) {
    const rest = text.slice(tag.index)
    const markup = /^<[^<>]{0,40}>/.exec(rest)?.[0] ?? rest
    return `is plain text: markup such as ${shown(markup)} is not rendered here; remove it`
  }
  // Labels, placeholders, alt text, options and hidden values end up in attributes.
  if (text.includes('"')) return 'must not contain " (use typographic quotes “ ” instead)'
  return null
}
