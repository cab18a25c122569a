import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // What a campaign has ever shown visitors (the variants with traffic, the consent wordings of
  // their forms), kept after an edit retires them: visitors' leads and events may name only
  // these, and a page opened before the edit still sends the old ones.
  await sql`
    ALTER TABLE campaigns
      ADD COLUMN published_variant_ids text[] NOT NULL DEFAULT '{}',
      ADD COLUMN published_consent_versions text[] NOT NULL DEFAULT '{}'
  `.execute(db)
  // Campaigns visitors may report on today: what they show now (what they showed before is
  // not recorded anywhere).
  await sql`
    UPDATE campaigns c SET
      published_variant_ids = coalesce((
        SELECT array_agg(DISTINCT v->>'id')
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.variants) = 'array' THEN c.variants ELSE '[]' END) v
        WHERE v->>'id' IS NOT NULL AND jsonb_typeof(v->'weight') = 'number' AND (v->>'weight')::numeric > 0
      ), '{}'),
      published_consent_versions = coalesce((
        SELECT array_agg(DISTINCT s->'form'->'consent'->>'version')
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.variants) = 'array' THEN c.variants ELSE '[]' END) v,
          jsonb_array_elements(CASE WHEN jsonb_typeof(v->'steps') = 'array' THEN v->'steps' ELSE '[]' END) s
        WHERE jsonb_typeof(v->'weight') = 'number' AND (v->>'weight')::numeric > 0
          AND s->'form'->'consent'->>'version' IS NOT NULL
      ), '{}')
    WHERE c.status IN ('test', 'live', 'paused') OR c.published_version IS NOT NULL
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE campaigns DROP COLUMN published_variant_ids, DROP COLUMN published_consent_versions
  `.execute(db)
}
