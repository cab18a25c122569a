import { designProperties, POPUP_TYPES, type PopupType, placement } from './design.ts'
import { appendMarkup, safeHttpUrl } from './markup.ts'
import { CSS } from './styles.ts'
import type { Button, Field, FormSubmission, Popup, RenderOptions, Step, SubmitOutcome } from './types.ts'

const FOCUSABLE =
  'a[href],button:not(:disabled),input:not([type=hidden]):not([tabindex="-1"]),select:not(:disabled),[tabindex="0"]'
const FAILED = 'Something went wrong. Please try again.'

type Control = HTMLInputElement | HTMLSelectElement
/**
 * The consent box's key among a form's controls: no field name can equal it, so a form field
 * named "consent" (refused by the API now, possible in campaigns stored before) keeps its own
 * errors and checks. Outside, in SubmitOutcome.fieldErrors, the box is still 'consent'.
 */
const CONSENT = Symbol()
type Key = string | typeof CONSENT
type Attributes = Record<string, string | undefined>

/**
 * Shows one variant of a campaign in a Shadow DOM popup and reports what the visitor does through
 * `handlers`. On a page (the container is the body) it takes focus and, when modal, keeps it;
 * in another container (the dashboard's preview) it leaves focus to the page around it.
 */
export function renderPopup(options: RenderOptions): Popup {
  const { campaign, handlers } = options
  const doc = options.document ?? globalThis.document
  const container = options.container ?? doc.body
  const onPage = container === doc.body
  const type = (POPUP_TYPES.includes(campaign.type) ? campaign.type : 'modal') as PopupType
  const modal = type === 'modal' || type === 'full-screen'
  const variant = campaign.variants?.find((candidate) => candidate.id === options.variantId)
  if (!variant) throw new Error(`nudge: campaign ${campaign.id} has no variant ${options.variantId}`)
  const steps = variant.steps as Step[]

  const element = <K extends keyof HTMLElementTagNameMap>(
    tag: K,
    attributes: Attributes = {},
    ...children: (Node | string)[]
  ): HTMLElementTagNameMap[K] => {
    const created = doc.createElement(tag)
    for (const [name, value] of Object.entries(attributes)) {
      if (value !== undefined) created.setAttribute(name, value)
    }
    created.append(...children)
    return created
  }

  const host = element('div', { 'data-nudge-campaign': campaign.id })
  // Inline and !important (through the CSSOM, which a page's CSP allows), so no rule of the page
  // can hide, move or restyle the host; inherited styles stop here.
  for (const [name, value] of Object.entries({
    all: 'initial',
    position: onPage ? 'fixed' : 'absolute',
    inset: '0',
    display: 'block',
    'z-index': '2147483647',
    'pointer-events': 'none',
  })) {
    host.style.setProperty(name, value, 'important')
  }
  const root = host.attachShadow({ mode: 'open' })
  try {
    const sheet = new (doc.defaultView ?? globalThis).CSSStyleSheet()
    sheet.replaceSync(CSS)
    root.adoptedStyleSheets = [sheet]
  } catch {
    root.append(element('style', {}, CSS))
  }

  const closeButton = element('button', { type: 'button', class: 'x', 'aria-label': 'Close' }, '×')
  const dialog = element(
    'div',
    // dir=auto: a campaign written in Arabic or Hebrew reads right to left.
    { class: 'd', role: 'dialog', tabindex: '-1', dir: 'auto', 'aria-modal': modal ? 'true' : undefined },
    closeButton,
  )
  if (options.preview) dialog.prepend(element('div', { class: 'p' }, 'Preview'))
  // The dashboard's preview draws it again on every edit: fading in each time would flicker.
  if (!onPage) dialog.style.animation = 'none'
  const layer = element('div', { class: `o ${type}` }, dialog)
  root.append(layer)

  const previousFocus = doc.activeElement as HTMLElement | null
  let current = -1
  let content: HTMLFormElement | undefined
  let closed = false

  const focusables = () =>
    Array.from(dialog.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((candidate) => candidate.offsetParent)
  const focusFirst = () => (focusables()[0] ?? dialog).focus({ preventScroll: true })

  const detach = () => {
    doc.removeEventListener('keydown', onKey, true)
    doc.removeEventListener('focusin', onFocusIn)
  }
  const close = () => {
    if (closed) return
    closed = true
    detach()
    host.remove()
    if (onPage && previousFocus?.isConnected) previousFocus.focus({ preventScroll: true })
  }
  const closeBy = (how: 'button' | 'escape' | 'overlay' | 'done') => {
    if (closed) return
    close()
    handlers.onClose(how)
  }
  // Past the last step a form's success closes it as 'done'; a next-step button just closes it.
  const moveOn = (last: 'done' | 'button') => {
    if (current + 1 >= steps.length) return closeBy(last)
    showStep(current + 1)
    handlers.onStep(current)
  }

  const trapped = modal && onPage
  // On the document, so that Esc and Tab work even when a click left focus on the page.
  // A page that removed the host itself (a single-page app redrawing its body) gets its keys back.
  function onKey(event: KeyboardEvent) {
    if (!host.isConnected) return detach()
    const inside = event.target === host
    if (event.key === 'Escape' && !event.isComposing && (inside || trapped)) {
      event.stopPropagation()
      closeBy('escape')
    } else if (event.key === 'Tab' && trapped) {
      const list = focusables()
      const active = root.activeElement
      const edge = event.shiftKey ? list[0] : list.at(-1)
      if (!inside || !active || active === edge || (event.shiftKey && active === dialog) || !list.length) {
        event.preventDefault()
        ;(event.shiftKey ? list.at(-1) : list[0])?.focus()
      }
    }
  }
  function onFocusIn(event: FocusEvent) {
    // Another popup's focus is left to it: two modals pulling focus back would never stop.
    if (!host.isConnected) return detach()
    if (trapped && !(event.target as Element).hasAttribute?.('data-nudge-campaign')) focusFirst()
  }
  doc.addEventListener('keydown', onKey, true)
  doc.addEventListener('focusin', onFocusIn)
  closeButton.addEventListener('click', () => closeBy('button'))
  // Only a press that starts and ends on the overlay: selecting text in the popup and letting go
  // outside it is not a click on the overlay.
  let pressedOverlay = false
  layer.addEventListener('pointerdown', (event) => {
    pressedOverlay = event.target === layer
  })
  layer.addEventListener('click', (event) => {
    if (event.target === layer && pressedOverlay && type === 'modal') closeBy('overlay')
  })

  function buildButton(button: Button): HTMLButtonElement | undefined {
    const { action, url } = button
    if (action === 'link' && !(url && safeHttpUrl(url))) return undefined
    const node = element(
      'button',
      {
        type: action === 'submit' ? 'submit' : 'button',
        class: action === 'close' ? 'g' : undefined,
      },
      button.label,
    )
    if (action !== 'submit') {
      node.addEventListener('click', () => {
        if (action === 'close') closeBy('button')
        else if (action === 'next-step') moveOn('button')
        else {
          handlers.onLink(url!, !!button.newTab)
          const view = doc.defaultView
          if (button.newTab) view?.open(url, '_blank', 'noopener,noreferrer')
          else view?.location.assign(url!)
        }
      })
    }
    return node
  }

  function buildStep(step: Step, index: number): HTMLFormElement {
    const form = element('form', { class: 'c', novalidate: '' })
    let label: string | undefined
    for (const [at, block] of (step.blocks ?? []).entries()) {
      if (block.type === 'image') {
        if (block.url && safeHttpUrl(block.url))
          form.append(element('img', { src: block.url, alt: block.alt ?? '' }))
      } else if (block.text) {
        const heading = block.style === 'heading'
        const id = `t${index}-${at}`
        const node = heading
          ? element('h2', { id })
          : element('div', { id, class: block.style === 'small' ? 's' : 't' })
        appendMarkup(node, block.text)
        form.append(node)
        if (heading && !label?.startsWith('h')) label = `h${id}`
        label ??= `t${id}`
      }
    }
    if (label) dialog.setAttribute('aria-labelledby', label.slice(1))
    else dialog.setAttribute('aria-label', (step.buttons?.[0]?.label ?? 'Popup').slice(0, 60))

    const controls = new Map<Key, Control>()
    const errors = new Map<Key, HTMLElement>()
    const hidden: Record<string, string> = {}
    let emailName: string | undefined
    const fieldOf = (key: Key, id: string, control: Control, labelNode: HTMLElement, checkbox: boolean) => {
      const error = element('div', { class: 'e', id: `${id}-e` })
      control.id = id
      control.setAttribute('aria-describedby', error.id)
      controls.set(key, control)
      errors.set(key, error)
      form.append(
        checkbox
          ? element('div', { class: 'k' }, control, labelNode, error)
          : element('div', { class: 'f' }, labelNode, control, error),
      )
    }
    const spec = step.form
    const honeypot = element('input', {
      name: 'url',
      tabindex: '-1',
      autocomplete: 'off',
      'aria-hidden': 'true',
    })
    for (const field of spec?.fields ?? []) {
      if (field.type === 'hidden') {
        hidden[field.name] = field.value ?? ''
        continue
      }
      const control = buildControl(field)
      if (field.type === 'email') emailName ??= field.name
      if (field.required) control.required = true
      const id = `f_${field.name}`
      // An empty label is the marketer's choice not to show one; screen readers still get a name.
      const labelNode = field.label
        ? element('label', { for: id }, field.label)
        : element('label', { for: id, class: 'h' }, field.placeholder || field.name)
      fieldOf(field.name, id, control, labelNode, field.type === 'checkbox')
    }
    let consentBox: HTMLInputElement | undefined
    if (spec?.consent) {
      const box = element('input', { type: 'checkbox' })
      consentBox = box
      box.required = spec.consent.required
      const labelNode = element('label', { for: 'consent' })
      appendMarkup(labelNode, spec.consent.text)
      fieldOf(CONSENT, 'consent', box, labelNode, true)
    }
    if (spec) form.append(element('div', { class: 'h', 'aria-hidden': 'true' }, honeypot))
    const message = element('div', { class: 'm', role: 'alert' })
    form.append(message)

    const row = element('div', { class: 'b' })
    let submitButton: HTMLButtonElement | undefined
    for (const button of step.buttons ?? []) {
      const node = buildButton(button)
      if (!node) continue
      if (button.action === 'submit') submitButton ??= node
      row.append(node)
    }
    if (row.childElementCount) form.append(row)

    const shownAt = Date.now()
    let busy = false
    const showErrors = (fieldErrors: Map<Key, string>, text: string) => {
      let first: Control | undefined
      let unplaced = ''
      for (const [key, problem] of fieldErrors) {
        const control = controls.get(key)
        if (!control) {
          unplaced += ` ${problem}`
          continue
        }
        control.setAttribute('aria-invalid', 'true')
        errors.get(key)!.textContent = problem
        first ??= control
      }
      message.textContent = `${text}${unplaced}`.trim()
      ;(first ?? submitButton)?.focus()
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      if (!submitButton || busy) return
      const problems = new Map<Key, string>()
      for (const [key, control] of controls) {
        control.removeAttribute('aria-invalid')
        errors.get(key)!.textContent = ''
        if (control.type === 'text' || control.type === 'tel') control.value = control.value.trim()
        if (!control.checkValidity()) problems.set(key, control.validationMessage)
      }
      message.textContent = ''
      if (problems.size) return showErrors(problems, '')

      const fields: Record<string, string | boolean> = { ...hidden }
      for (const field of spec?.fields ?? []) {
        const control = controls.get(field.name)
        if (control && field.name !== emailName) {
          fields[field.name] =
            control.type === 'checkbox' ? (control as HTMLInputElement).checked : control.value
        }
      }
      const submission: FormSubmission = {
        step: index,
        capturesLeads: spec ? spec.capturesLeads !== false : false,
        fields,
        hp: honeypot.value,
        fillMs: Date.now() - shownAt,
      }
      if (emailName) submission.email = controls.get(emailName)!.value
      if (spec?.consent) {
        submission.consent = !!consentBox?.checked
        submission.consentVersion = spec.consent.version
      }

      busy = true
      submitButton.disabled = true
      form.setAttribute('aria-busy', 'true')
      let outcome: SubmitOutcome
      try {
        outcome = await handlers.onSubmit(submission)
      } catch {
        outcome = { ok: false, message: FAILED }
      }
      busy = false
      submitButton.disabled = false
      form.removeAttribute('aria-busy')
      if (closed) return
      if (outcome.ok) moveOn('done')
      else {
        const answered = new Map<Key, string>()
        for (const [name, problem] of Object.entries(outcome.fieldErrors ?? {})) {
          answered.set(name === 'consent' && consentBox ? CONSENT : name, problem)
        }
        showErrors(answered, outcome.message || FAILED)
      }
    })
    return form
  }

  function buildControl(field: Field): Control {
    if (field.type === 'select') {
      const select = element(
        'select',
        { name: field.name },
        element('option', { value: '' }, field.placeholder ?? ''),
      )
      for (const option of field.options ?? []) select.append(element('option', {}, option))
      return select
    }
    const kinds: Record<string, [string, string]> = {
      email: ['email', 'email'],
      phone: ['tel', 'tel'],
      checkbox: ['checkbox', 'off'],
    }
    const [kind, autocomplete] = kinds[field.type] ?? ['text', 'on']
    return element('input', {
      type: kind,
      name: field.name,
      autocomplete,
      placeholder: field.placeholder,
      inputmode: kind === 'email' ? 'email' : undefined,
    })
  }

  function showStep(index: number) {
    if (closed) return
    const at = Math.max(0, Math.min(steps.length - 1, Math.floor(index) || 0))
    const step = steps[at] ?? {}
    current = at
    dialog.removeAttribute('aria-label')
    dialog.removeAttribute('aria-labelledby')
    const next = buildStep(step, at)
    if (content) content.replaceWith(next)
    else dialog.append(next)
    content = next
    for (const [name, value] of Object.entries(designProperties(step.design, type))) {
      layer.style.setProperty(name, value)
    }
    const [justify, align] = placement(step.design?.position, type)
    layer.style.justifyContent = justify
    layer.style.alignItems = align
    if (onPage) focusFirst()
  }

  container.append(host)
  if (onPage && 'showPopover' in host) {
    // The top layer is above every z-index the page can set; browsers without it have the z-index.
    host.setAttribute('popover', 'manual')
    host.showPopover()
  }
  showStep(0)
  return { host, root, showStep, close }
}
