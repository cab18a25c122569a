import { fires, scrollPercent, type TriggerFact, type TriggerPlan } from '@nudge/popup'

/*
 * Arms a trigger plan in the page: the rules module says whether an observed fact fires it, this
 * file only observes. Each listener is passive or capture-only (the page's own handlers run
 * unchanged), and every listener and timer is removed once the trigger fires or is disarmed.
 */

const ACTIVITY = ['mousemove', 'mousedown', 'keydown', 'scroll', 'touchstart', 'wheel'] as const

/** Returns the disarm function. `fire` is called at most once. */
export function armTrigger(plan: TriggerPlan, win: Window, fire: () => void): () => void {
  const doc = win.document
  const undo: Array<() => void> = []
  let done = false
  const disarm = () => {
    for (const step of undo.splice(0)) step()
  }
  const observe = (fact: TriggerFact) => {
    if (done || !fires(plan, fact)) return
    done = true
    disarm()
    fire()
  }
  const listen = (target: EventTarget, type: string, handler: (event: Event) => void, capture = false) => {
    const options: AddEventListenerOptions = { passive: true, capture }
    target.addEventListener(type, handler, options)
    undo.push(() => target.removeEventListener(type, handler, options))
  }
  const timer = (ms: number, fact: TriggerFact) => {
    const handle = win.setTimeout(() => observe(fact), ms)
    undo.push(() => win.clearTimeout(handle))
  }

  switch (plan.type) {
    case 'delay':
      timer(plan.ms, { type: 'elapsed', ms: plan.ms })
      break
    case 'scroll': {
      const check = () =>
        observe({
          type: 'scroll',
          percent: scrollPercent(
            win.scrollY || doc.documentElement.scrollTop || 0,
            win.innerHeight,
            Math.max(doc.documentElement.scrollHeight, doc.body ? doc.body.scrollHeight : 0),
          ),
        })
      listen(win, 'scroll', check)
      // A page too short to scroll is seen whole: checked once now, and again when it grows.
      check()
      break
    }
    case 'exit-intent':
      listen(doc, 'mouseout', (event) => {
        const mouse = event as MouseEvent
        if (mouse.relatedTarget === null) observe({ type: 'pointer-leave', clientY: mouse.clientY })
      })
      break
    case 'click':
      listen(
        doc,
        'click',
        (event) => {
          const target = event.target as Element | null
          observe({
            type: 'click',
            matches: (selector) => typeof target?.closest === 'function' && target.closest(selector) !== null,
          })
        },
        true,
      )
      break
    case 'inactivity': {
      let handle = 0
      const restart = () => {
        win.clearTimeout(handle)
        handle = win.setTimeout(() => observe({ type: 'idle', ms: plan.ms }), plan.ms)
      }
      for (const type of ACTIVITY) listen(doc, type, restart, true)
      undo.push(() => win.clearTimeout(handle))
      restart()
      break
    }
    case 'tab-return': {
      let left = doc.visibilityState === 'hidden'
      listen(doc, 'visibilitychange', () => {
        if (doc.visibilityState === 'hidden') left = true
        else if (left) observe({ type: 'tab-return' })
      })
      break
    }
    default:
      break
  }
  return () => {
    done = true
    disarm()
  }
}
