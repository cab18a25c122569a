export { type DecideContext, type Decision, decide } from './decide.ts'
export { type DeviceHints, deviceOf } from './device.ts'
export {
  allowsShow,
  checkFrequency,
  type History,
  type HistoryStore,
  recordClose,
  recordConversion,
  recordShow,
} from './frequency.ts'
export { randomVisitorId, uuidv7 } from './ids.ts'
export { inSchedule } from './schedule.ts'
export { matchesTargeting, type Visitor } from './targeting.ts'
export {
  fires,
  scrollPercent,
  selectorWorks,
  TAB_RETURN_FEATURE,
  type TriggerFact,
  type TriggerPlan,
  triggerPlan,
} from './triggers.ts'
export type * from './types.ts'
export { assignVariant } from './variant.ts'
