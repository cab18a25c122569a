export { bindToRequestLog, loggerOptions, redactPaths, requestIdFrom } from './logger.ts'
export { loggingPlugin, type Observe } from './plugin.ts'
export {
  recordTiming,
  serverTimingHeader,
  type Timings,
  withTimings,
} from './timing.ts'
