import {
  type FormSubmission,
  type HistoryStore,
  type PublishedCampaign,
  recordClose,
  recordConversion,
  recordShow,
  renderPopup,
  type SubmitOutcome,
  uuidv7,
} from '@nudge/popup'
import type { Log } from './debug.ts'
import type { EventQueue } from './events.ts'
import { emailFieldName, type LeadForm, type LeadTransport, leadBody, submitLead } from './leads.ts'

/*
 * The page's one popup at a time: a campaign whose trigger fires while another is open waits in
 * line and shows when that one closes. Showing counts an impression and records it in this
 * browser's history; the visitor's closing, moving on a step, following a link and sending a form
 * become events (and history, which frequency reads on the next page).
 */

export interface StageOptions {
  edge: string
  win: Window
  events: EventQueue
  /** undefined in preview: a preview leaves no trace in the visitor's history */
  history: HistoryStore | undefined
  leads: LeadTransport
  log: Log
  preview?: boolean
}

interface Entry {
  campaign: PublishedCampaign
  variantId: string
}

type Step = { form?: LeadForm & { capturesLeads?: boolean } }

export class Stage {
  private open = false
  private readonly waiting: Entry[] = []
  /** one Idempotency-Key per form until it succeeds: a second press after a failure reuses it */
  private readonly keys = new Map<string, { body: string; key: string }>()

  private readonly options: StageOptions

  constructor(options: StageOptions) {
    this.options = options
  }

  show(campaign: PublishedCampaign, variantId: string): void {
    if (this.open) {
      this.options.log.info(`campaign ${campaign.id}: waits until the open popup closes`)
      this.waiting.push({ campaign, variantId })
      return
    }
    this.open = true
    try {
      this.render({ campaign, variantId })
    } catch (error) {
      this.open = false
      this.options.log.error(error)
      this.next()
    }
  }

  /** A handler the renderer calls from the page's events: an error in it stays in the script. */
  private guard<A extends unknown[]>(handler: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        handler(...args)
      } catch (error) {
        this.options.log.error(error)
      }
    }
  }

  private next(): void {
    const entry = this.waiting.shift()
    if (entry) this.show(entry.campaign, entry.variantId)
  }

  private render({ campaign, variantId }: Entry): void {
    const { events, history, log } = this.options
    const now = () => Date.now()
    const event = (type: 'impression' | 'close' | 'conversion' | 'step', step?: number) =>
      events.add({ campaignId: campaign.id, variantId, type, ...(step === undefined ? {} : { step }) })
    const converted = () => {
      if (history) recordConversion(history, campaign.id, now())
      event('conversion')
    }
    const variant = campaign.variants?.find((v) => v.id === variantId)
    const steps = (variant?.steps ?? []) as Step[]

    renderPopup({
      campaign,
      variantId,
      preview: this.options.preview,
      document: this.options.win.document,
      handlers: {
        onClose: this.guard((how) => {
          this.open = false
          log.info(`campaign ${campaign.id}: closed (${how})`)
          if (how !== 'done') {
            if (history) recordClose(history, campaign.id, now())
            event('close')
          }
          this.next()
        }),
        onStep: this.guard((index) => void event('step', index + 1)),
        onLink: this.guard(() => converted()),
        onSubmit: (submission) =>
          this.submit(campaign, variantId, steps[submission.step]?.form, submission, converted).catch(
            (error) => {
              log.error(error)
              return { ok: false, message: 'Something went wrong. Please try again.' }
            },
          ),
      },
    })
    if (history) recordShow(history, campaign.id, now())
    event('impression')
    log.info(`campaign ${campaign.id}: shown (variant ${variantId})`)
  }

  private async submit(
    campaign: PublishedCampaign,
    variantId: string,
    form: Step['form'],
    submission: FormSubmission,
    converted: () => void,
  ): Promise<SubmitOutcome> {
    if (!submission.capturesLeads) {
      converted()
      return { ok: true }
    }
    const body = leadBody(campaign.id, variantId, submission, this.options.win.location.href)
    const slot = `${campaign.id}:${submission.step}`
    // The same answers sent again (after a failure the visitor saw) are the same submission.
    const { fillMs: _, ...answers } = body
    const json = JSON.stringify(answers)
    const known = this.keys.get(slot)
    const key = known && known.body === json ? known.key : uuidv7()
    this.keys.set(slot, { body: json, key })
    const result = await submitLead(
      `${this.options.edge}/public/v1/leads`,
      body,
      emailFieldName(form),
      this.options.leads,
      key,
    )
    this.options.log.info(`campaign ${campaign.id}: lead ${result.ok ? 'accepted' : 'not accepted'}`, result)
    if (result.ok) {
      this.keys.delete(slot)
      converted()
    }
    return result
  }
}
