import type { PublishedCampaign } from '../rules/types.ts'

/*
 * The content of a step as the API stores and publishes it (apps/api/src/modules/campaigns/
 * content.ts), mirrored rather than imported: this code runs in visitors' browsers. Published
 * objects are compacted, so anything optional may be missing.
 */

export interface Block {
  type: 'text' | 'image'
  text?: string
  style?: 'heading' | 'body' | 'small'
  url?: string
  alt?: string
}

export interface Button {
  label: string
  action: 'close' | 'next-step' | 'link' | 'submit'
  url?: string
  newTab?: boolean
}

export interface Field {
  name: string
  type: 'email' | 'text' | 'phone' | 'checkbox' | 'select' | 'hidden'
  label: string
  required?: boolean
  placeholder?: string
  options?: string[]
  value?: string
}

export interface Form {
  capturesLeads?: boolean
  fields: Field[]
  consent?: { text: string; required: boolean; version: string }
}

export interface Design {
  colors?: { background?: string; text?: string; accent?: string; buttonText?: string; overlay?: string }
  font?: { family: string; sizePx: number }
  position?: 'center' | 'top' | 'bottom' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right'
  widthPx?: number
  borderRadiusPx?: number
}

export interface Step {
  blocks?: Block[]
  buttons?: Button[]
  form?: Form
  design?: Design
}

export interface FormSubmission {
  /** 0-based index of the step whose form was sent. */
  step: number
  /** form.capturesLeads (default true). */
  capturesLeads: boolean
  /** The value of the form's email field. */
  email?: string
  /** Every other field by name (checkbox: boolean), hidden ones too. */
  fields: Record<string, string | boolean>
  /** Only when the form has consent. */
  consent?: boolean
  consentVersion?: string
  /** The honeypot input's value ('' for people). */
  hp: string
  /** Milliseconds from the form first shown to the submit. */
  fillMs: number
}

export type SubmitOutcome =
  | { ok: true }
  /** fieldErrors keys: form field names, and 'consent'. */
  | { ok: false; message: string; fieldErrors?: Record<string, string> }

export interface PopupHandlers {
  /** 'done': it closed itself after the last step's submit succeeded. */
  onClose(how: 'button' | 'escape' | 'overlay' | 'done'): void
  /** Moved on to step `index` (0-based, >= 1). */
  onStep(index: number): void
  /** A link button was pressed; the renderer navigates itself. */
  onLink(url: string, newTab: boolean): void
  onSubmit(submission: FormSubmission): Promise<SubmitOutcome>
}

export interface RenderOptions {
  campaign: PublishedCampaign
  variantId: string
  handlers: PopupHandlers
  /** Default globalThis.document. */
  document?: Document
  /** Default document.body; the popup's host element is appended here. */
  container?: HTMLElement
  /** Dashboard preview: shows a small "Preview" badge. */
  preview?: boolean
}

export interface Popup {
  /** <div data-nudge-campaign="{id}"> holding an open shadow root. */
  host: HTMLElement
  root: ShadowRoot
  showStep(index: number): void
  /** Removes it and restores focus; does not call onClose. */
  close(): void
}
