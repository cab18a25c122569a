export { type Config, ConfigError, list, loadConfig } from './config.ts'
export { configPlugin } from './plugin.ts'
export { ConfigSchema } from './schema.ts'
