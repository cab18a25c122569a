import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Every team starts a 14-day trial without a card (teams that exist now get theirs from today).
  // After a failed payment the team keeps its plan until payment_grace_ends_at.
  await db.schema
    .alterTable('teams')
    .addColumn('trial_ends_at', 'timestamptz', (col) => col.defaultTo(sql`now() + interval '14 days'`))
    .addColumn('cancel_at_period_end', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('payment_grace_ends_at', 'timestamptz')
    .addColumn('current_period_start', 'timestamptz')
    // When the subscription state stored here was read from Stripe: an older read never overwrites it.
    .addColumn('billing_synced_at', 'timestamptz')
    // Impression quota: when the owners were told of 80 % and 100 % (once per period), and since
    // when the team's sites serve no campaigns (past 100 % and the grace).
    .addColumn('impressions_80_notified_at', 'timestamptz')
    .addColumn('impressions_100_notified_at', 'timestamptz')
    .addColumn('campaigns_suspended_at', 'timestamptz')
    .execute()
  await sql`UPDATE teams SET trial_ends_at = now() + interval '14 days' WHERE trial_ends_at IS NULL`.execute(
    db,
  )

  // Live campaigns a smaller plan paused (the newest beyond its limit); an upgrade resumes them.
  await db.schema.alterTable('campaigns').addColumn('paused_by_plan_at', 'timestamptz').execute()

  // Stripe webhook idempotency: an event id is recorded in the transaction of its effect.
  await db.schema
    .createTable('stripe_events')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('processed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('stripe_events').execute()
  await db.schema.alterTable('campaigns').dropColumn('paused_by_plan_at').execute()
  await db.schema
    .alterTable('teams')
    .dropColumn('campaigns_suspended_at')
    .dropColumn('impressions_100_notified_at')
    .dropColumn('impressions_80_notified_at')
    .dropColumn('billing_synced_at')
    .dropColumn('current_period_start')
    .dropColumn('payment_grace_ends_at')
    .dropColumn('cancel_at_period_end')
    .dropColumn('trial_ends_at')
    .execute()
}
