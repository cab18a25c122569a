export { createDb, createPool } from './db.ts'
export {
  type DatabaseHttpError,
  httpErrorFromDatabase,
  isCausedByRows,
  isRetryableConflict,
  isViolation,
} from './errors.ts'
export { isUuid, newId } from './ids.ts'
export {
  isContractMigration,
  type MigrationPhase,
  migrateDown,
  migrateToLatest,
  migrationsFolder,
  migrator,
  type PendingMigration,
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
  IntegrationStatus,
  Lead,
  NewUser,
  Role,
  Site,
  Team,
  TeamInvite,
  TeamMember,
  User,
  UsersTable,
  UserUpdate,
} from './schema.ts'
export { type AfterCommit, transaction } from './transaction.ts'
