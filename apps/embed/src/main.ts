import { type DecideContext, decide, deviceOf, type PublishedCampaign } from '@nudge/popup'
import { debugEnabled, type Log, makeLog } from './debug.ts'
import { browserTransport, EventQueue } from './events.ts'
import { browserLeadTransport } from './leads.ts'
import { loadPreview, loadSite } from './site.ts'
import { Stage } from './stage.ts'
import { type KeyValue, safeStorage } from './storage.ts'
import { armTrigger } from './triggers-dom.ts'
import { historyStore, visitorState } from './visitor.ts'

/*
 * The script a customer pastes:
 *   <script async src="{edge}/nudge.js" data-site="{siteId}"></script>
 * (or, on pages not updated since Go-Live, the old snippet: see TAG).
 * It runs once per page however often it is pasted, does nothing in browsers that lack what it
 * needs, and never lets an error reach the host page: each is caught, and reported once to the
 * console in debug mode only.
 */

const GUARD = '__nudge'

// The old system's snippet (Go-Live), still on pages until their owners replace it, loads this
// script from its old URL: <script async src="{old CDN}/widget.js" data-account="17"></script>.
// Its account number is not needed: the site document is the page's hostname's.
const TAG = 'script[data-site][src*="nudge"],script[data-account][src*="/widget.js"]'

function scriptTag(doc: Document): HTMLScriptElement | null {
  const current = doc.currentScript
  if (current instanceof HTMLScriptElement && current.src) return current
  return doc.querySelector<HTMLScriptElement>(TAG)
}

function supported(win: Window): boolean {
  return (
    typeof win.fetch === 'function' &&
    typeof Promise === 'function' &&
    typeof Element === 'function' &&
    typeof Element.prototype.attachShadow === 'function' &&
    typeof win.crypto?.getRandomValues === 'function'
  )
}

function start(win: Window, log: Log, store: KeyValue, script: HTMLScriptElement): void {
  const edge = new URL(script.src, win.location.href).origin
  const hostname = script.getAttribute('data-hostname') || win.location.hostname
  const events = new EventQueue({ url: `${edge}/public/v1/events`, transport: browserTransport, store, log })
  const leave = () => {
    try {
      events.leave()
    } catch (error) {
      log.error(error)
    }
  }
  win.addEventListener('pagehide', leave)
  win.document.addEventListener('visibilitychange', () => {
    if (win.document.visibilityState === 'hidden') leave()
  })
  const previewId = new URLSearchParams(win.location.search).get('nudge_preview')
  const run = previewId
    ? preview(edge, previewId, win, log, events)
    : live(edge, hostname, win, log, store, events)
  run.catch((error) => log.error(error))
}

async function preview(edge: string, id: string, win: Window, log: Log, events: EventQueue) {
  const campaign = await loadPreview(edge, id, log)
  if (!campaign) return
  const variantId = campaign.variants?.find((v) => v.weight > 0)?.id ?? campaign.variants?.[0]?.id
  if (!variantId) return log.info(`preview ${id}: the campaign has no variant`)
  log.info(`preview ${id}: shown without targeting, schedule, frequency or trigger`)
  new Stage({ edge, win, events, history: undefined, leads: browserLeadTransport, log, preview: true }).show(
    campaign,
    variantId,
  )
}

async function live(
  edge: string,
  hostname: string,
  win: Window,
  log: Log,
  store: KeyValue,
  events: EventQueue,
) {
  events.resendKept()
  const site = await loadSite(edge, hostname, log)
  if (!site) return
  const now = Date.now()
  const visitor = visitorState(store, now)
  const history = historyStore(store)
  const nav = win.navigator
  const context: DecideContext = {
    now,
    visitorId: visitor.id,
    history,
    features: site.features,
    visitor: {
      url: win.location.href,
      device: deviceOf({
        userAgent: nav.userAgent,
        maxTouchPoints: nav.maxTouchPoints,
        viewportWidth: win.innerWidth,
      }),
      country: site.country,
      returning: visitor.returning,
      languages: nav.languages?.length ? nav.languages : [nav.language],
    },
  }
  log.info(`site ${site.site ?? hostname}: ${site.campaigns.length} live campaign(s)`, {
    country: site.country,
    visitor: context.visitor,
  })
  const stage = new Stage({ edge, win, events, history, leads: browserLeadTransport, log })
  for (const campaign of site.campaigns) consider(campaign, context, win, stage, log)
}

function consider(campaign: PublishedCampaign, context: DecideContext, win: Window, stage: Stage, log: Log) {
  try {
    const decision = decide(campaign, context)
    log.info(
      `campaign ${campaign.id}: ${decision.show ? 'armed' : 'not shown'}: ${decision.reasons.join('; ')}`,
    )
    const plan = decision.trigger
    const variantId = decision.variantId
    if (!decision.show || !plan || !variantId) return
    armTrigger(plan, win, () => {
      try {
        log.info(`campaign ${campaign.id}: trigger ${plan.type} fired`)
        stage.show(campaign, variantId)
      } catch (error) {
        log.error(error)
      }
    })
  } catch (error) {
    log.error(error)
  }
}

;(() => {
  let log = makeLog(false)
  try {
    const win = window
    const record = win as unknown as Record<string, unknown>
    if (record[GUARD] || !supported(win)) return
    record[GUARD] = true
    const store = safeStorage(() => win.localStorage)
    log = makeLog(debugEnabled(win.location.search, store))
    const script = scriptTag(win.document)
    if (!script) return log.info('the script tag (data-site, or an old data-account) was not found')
    start(win, log, store, script)
  } catch (error) {
    log.error(error)
  }
})()
