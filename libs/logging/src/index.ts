export { loggerOptions, redactPaths, requestIdFrom } from './logger.ts'
export { loggingPlugin, type Observe } from './plugin.ts'
export {
  currentTimings,
  recordTiming,
  serverTimingHeader,
  type Timings,
  timed,
  withTimings,
} from './timing.ts'
