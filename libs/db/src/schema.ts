import type { ColumnType, Selectable } from 'kysely'

/** `timestamptz` columns: read as Date, written as Date or ISO string, defaulted by the database. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>

export interface UsersTable {
  id: string
  email: string
  /**
   * The id SuperTokens reports for this person (sessions' `sub`): their SuperTokens user id if they
   * signed up here, our own `id` if they were imported (their SuperTokens user is mapped to it).
   */
  supertokens_user_id: string
  name: string | null
  last_login_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_at: Timestamp
  updated_at: Timestamp
}

export type Role = 'owner' | 'admin' | 'editor' | 'viewer'

type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export interface TeamsTable {
  id: string
  name: string
  personal: ColumnType<boolean, boolean | undefined, boolean>
  plan: ColumnType<string, string | undefined, string>
  stripe_customer_id: string | null
  stripe_subscription_id: string | null
  subscription_status: string | null
  current_period_end: NullableTimestamp
  current_period_start: NullableTimestamp
  billing_synced_at: NullableTimestamp
  impressions_80_notified_at: NullableTimestamp
  impressions_100_notified_at: NullableTimestamp
  campaigns_suspended_at: NullableTimestamp
  trial_notice_sent_at: NullableTimestamp
  trial_ends_at: NullableTimestamp
  cancel_at_period_end: ColumnType<boolean, boolean | undefined, boolean>
  payment_grace_ends_at: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface StripeEventsTable {
  id: string
  type: string
  processed_at: Timestamp
}

export interface TeamMembersTable {
  team_id: string
  user_id: string
  role: Role
  created_at: Timestamp
  updated_at: Timestamp
}

export interface TeamInvitesTable {
  id: string
  team_id: string
  email: string
  role: Role
  token_hash: Buffer
  invited_by: string | null
  expires_at: ColumnType<Date, Date | string, Date | string>
  accepted_at: NullableTimestamp
  revoked_at: NullableTimestamp
  created_at: Timestamp
}

export interface AuditEventsTable {
  id: string
  team_id: string
  actor_type: 'user' | 'system' | 'stripe'
  actor_id: string | null
  action: string
  target_type: string
  target_id: string | null
  data: ColumnType<Record<string, unknown>, string | undefined, never>
  ip: string | null
  created_at: ColumnType<Date, Date | string | undefined, never>
}

export interface SitesTable {
  id: string
  team_id: string
  hostname: string
  first_seen_at: NullableTimestamp
  settings: ColumnType<Record<string, unknown>, string | undefined, string>
  created_at: Timestamp
  updated_at: Timestamp
}

export type CampaignStatus = 'draft' | 'test' | 'live' | 'paused' | 'archived'
export type CampaignType = 'modal' | 'slide-in' | 'bar' | 'full-screen'

/** jsonb written as JSON text, read back as the value. */
type Json<T> = ColumnType<T, string, string>

export interface CampaignsTable {
  id: string
  team_id: string
  site_id: string | null
  name: string
  type: CampaignType
  status: ColumnType<CampaignStatus, CampaignStatus | undefined, CampaignStatus>
  variants: Json<unknown[]>
  targeting: Json<Record<string, unknown>>
  frequency: Json<Record<string, unknown>>
  schedule: ColumnType<Record<string, unknown> | null, string | null, string | null>
  version: ColumnType<number, number | undefined, number>
  published_version: number | null
  published_at: NullableTimestamp
  /** Every variant id the campaign has shown visitors (with traffic), current or retired. */
  published_variant_ids: ColumnType<string[], string[] | undefined, string[]>
  /** Every consent version the campaign's published forms have shown, current or retired. */
  published_consent_versions: ColumnType<string[], string[] | undefined, string[]>
  paused_by_plan_at: NullableTimestamp
  status_changed_at: NullableTimestamp
  created_by: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface EdgePurgesPendingTable {
  url: string
  created_at: Timestamp
}

export interface LeadsTable {
  id: string
  team_id: string
  campaign_id: string | null
  variant_id: string
  email: string
  fields: ColumnType<Record<string, unknown>, string | undefined, string>
  consent: ColumnType<boolean, boolean | undefined, boolean>
  consent_version: string | null
  country: string | null
  page_url: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface LeadSubmissionsTable {
  campaign_id: string
  idempotency_key: string
  lead_id: string | null
  request_hash: Buffer
  created_at: Timestamp
}

export interface LeadOutboxTable {
  id: string
  lead_id: string
  team_id: string
  event: 'created' | 'updated'
  created_at: Timestamp
}

export type IntegrationKind = 'mailerlite' | 'webhook'
export type IntegrationStatus = 'active' | 'paused' | 'disabled'

export interface IntegrationsTable {
  id: string
  team_id: string
  kind: IntegrationKind
  name: string
  status: ColumnType<IntegrationStatus, IntegrationStatus | undefined, IntegrationStatus>
  status_reason: string | null
  url: string | null
  /** encrypted (see modules/integrations/secrets.ts) */
  secret: string
  secret_last4: string
  account_key: string | null
  consecutive_failures: ColumnType<number, number | undefined, number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface CampaignIntegrationsTable {
  campaign_id: string
  integration_id: string
  team_id: string
  settings: ColumnType<Record<string, unknown>, string | undefined, string>
  created_at: Timestamp
}

export type DeliveryStatus =
  | 'pending'
  | 'delivering'
  | 'retrying'
  | 'held'
  | 'succeeded'
  | 'failed'
  | 'cancelled'

export interface IntegrationDeliveriesTable {
  id: string
  team_id: string
  integration_id: string
  lead_id: string | null
  source_id: string | null
  event: 'lead.created' | 'lead.updated' | 'lead.erased' | 'test'
  status: DeliveryStatus
  payload: string | null
  attempts: ColumnType<number, number | undefined, number>
  claimed_at: NullableTimestamp
  next_attempt_at: NullableTimestamp
  last_response_status: number | null
  last_error: string | null
  created_at: Timestamp
  updated_at: Timestamp
  completed_at: NullableTimestamp
}

export interface IntegrationDeliveryAttemptsTable {
  delivery_id: string
  attempt: number
  at: Date
  response_status: number | null
  latency_ms: number
  response_body: string | null
  error: string | null
}

export interface OutboundRateWindowsTable {
  account_key: string
  window_start: Date
  used: number
}

/** bigint counters (read as numbers: see db.ts). */
type Counter = ColumnType<number, number | undefined, number>

export interface CampaignStatsDailyTable {
  campaign_id: string
  variant_id: string
  /** 'YYYY-MM-DD' (UTC day) */
  day: string
  country: ColumnType<string, string | undefined, string>
  impressions: Counter
  closes: Counter
  conversions: Counter
  leads: Counter
}

/** Step reach: visitors who moved on to `step` (1-based, 2 to 5) of a variant on a UTC day. */
export interface CampaignStepStatsDailyTable {
  campaign_id: string
  variant_id: string
  /** 'YYYY-MM-DD' (UTC day) */
  day: string
  step: number
  reached: Counter
}

export interface VisitorEventsTable {
  day: string
  event_id: string
}

/** Go-Live: an id of the old system (kind + legacy id) → the new row's id. */
export interface LegacyIdsTable {
  kind: string
  legacy_id: string
  new_id: string
  created_at: ColumnType<Date | null, Date | string | undefined, never>
}

/** Go-Live: one row per `golive migrate` run; a finished one's source_time starts the next delta. */
export interface GoliveRunsTable {
  id: string
  since: NullableTimestamp
  source_time: ColumnType<Date, Date | string, Date | string>
  started_at: Timestamp
  finished_at: NullableTimestamp
}

/** Go-Live: generated webhook secrets a report has not shown yet. */
export interface GoliveSecretNoticesTable {
  integration_id: string
  reported_at: NullableTimestamp
}

/** One flagd flag object per key (see libs/flags), validated before it is written. */
export interface FeatureFlagsTable {
  key: string
  definition: ColumnType<Record<string, unknown>, string, string>
  updated_at: Timestamp
  updated_by: string
}

/** Append-only: who changed which flag, from what to what (null: the flag did not exist). */
export interface FeatureFlagChangesTable {
  id: string
  flag_key: string
  actor: string
  before: ColumnType<Record<string, unknown> | null, string | null, never>
  after: ColumnType<Record<string, unknown> | null, string | null, never>
  created_at: ColumnType<Date, Date | string | undefined, never>
}

/**
 * One row: bumped by a trigger in the transaction of every change to team_members that can take a
 * role away or change it; what each worker's cached roles are versioned by (apps/api teams module).
 */
export interface MembershipEpochTable {
  id: ColumnType<boolean, never, never>
  epoch: ColumnType<number, never, never>
}

/**
 * One counter per kind of answer each worker holds and must never serve once taken back
 * (libs/cache lease.ts): 'memberships' (bumped by the team_members trigger) and 'sessions'
 * (bumped by each revocation). `membership_epoch` is its predecessor, bumped alongside until dropped.
 */
export interface EpochsTable {
  name: ColumnType<EpochName, never, never>
  /** Only ever `epoch + 1`. */
  epoch: ColumnType<number, never, number>
}

export type EpochName = 'memberships' | 'sessions'

/** The database as the app sees it; grows with each migration. */
export interface DB {
  users: UsersTable
  teams: TeamsTable
  team_members: TeamMembersTable
  membership_epoch: MembershipEpochTable
  epochs: EpochsTable
  team_invites: TeamInvitesTable
  audit_events: AuditEventsTable
  sites: SitesTable
  campaigns: CampaignsTable
  edge_purges_pending: EdgePurgesPendingTable
  leads: LeadsTable
  lead_submissions: LeadSubmissionsTable
  lead_outbox: LeadOutboxTable
  campaign_stats_daily: CampaignStatsDailyTable
  campaign_step_stats_daily: CampaignStepStatsDailyTable
  visitor_events: VisitorEventsTable
  integrations: IntegrationsTable
  campaign_integrations: CampaignIntegrationsTable
  integration_deliveries: IntegrationDeliveriesTable
  integration_delivery_attempts: IntegrationDeliveryAttemptsTable
  outbound_rate_windows: OutboundRateWindowsTable
  stripe_events: StripeEventsTable
  feature_flags: FeatureFlagsTable
  feature_flag_changes: FeatureFlagChangesTable
  legacy_ids: LegacyIdsTable
  golive_runs: GoliveRunsTable
  golive_secret_notices: GoliveSecretNoticesTable
}

export type User = Selectable<UsersTable>
export type TeamInvite = Selectable<TeamInvitesTable>
export type AuditEvent = Selectable<AuditEventsTable>
export type Site = Selectable<SitesTable>
export type Campaign = Selectable<CampaignsTable>
export type Lead = Selectable<LeadsTable>
export type Integration = Selectable<IntegrationsTable>
export type IntegrationDelivery = Selectable<IntegrationDeliveriesTable>
