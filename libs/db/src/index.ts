export { createDb, createPool } from './db.ts'
export { httpErrorFromDatabase, isCausedByRows, isRetryableConflict, isViolation } from './errors.ts'
export { isUuid, newId } from './ids.ts'
export {
  isContractMigration,
  migrateDown,
  migrateToLatest,
  migrationsFolder,
  migrator,
  pendingMigrations,
} from './migrate.ts'
export { dbPlugin } from './plugin.ts'
export type {
  AuditEvent,
  Campaign,
  CampaignStatus,
  CampaignType,
  DB,
  DeliveryStatus,
  Integration,
  IntegrationDelivery,
  IntegrationKind,
  Lead,
  Role,
  Site,
  TeamInvite,
  User,
} from './schema.ts'
export { type AfterCommit, transaction } from './transaction.ts'
