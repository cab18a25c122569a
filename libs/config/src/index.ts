export {
  type Config,
  ConfigError,
  dashboardOrigin,
  durationsMs,
  list,
  loadConfig,
  loadConfigOrExit,
  readSettings,
} from './config.ts'
export { configPlugin } from './plugin.ts'
export { ConfigSchema, DEV_AUDIT_HASH_KEY, DEV_SERVICE_JWT_SECRET } from './schema.ts'
