import { sql } from 'kysely'
import t from 'tap'
import { PRUNE_LEAD_SUBMISSIONS_JOB } from '../src/modules/operations/jobs.ts'
import { LEAD_IDEMPOTENCY_DAYS, pruneLeadSubmissions } from '../src/modules/visitors/lead-submissions.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, liveLeadCampaign, personalTeam } from './helpers/campaigns.ts'
import { eventually } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

/*
 * The Idempotency-Keys of POST /public/v1/leads are remembered for LEAD_IDEMPOTENCY_DAYS, then
 * deleted by the worker's maintenance job, in batches.
 */

const app = await buildTestApp(t, { JOBS_POLL_SECONDS: '0.5', LEAD_MIN_FILL_MS: '0' }, { worker: true })
await app.ready()
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')
const created = await liveLeadCampaign(app, ann, teamId, site.id)

function submit(key: string, email = 'visitor@example.com') {
  return app.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers: { origin: 'https://shop.example', 'idempotency-key': key },
    payload: { campaignId: created.id, variantId: 'a', email, fillMs: 5000 },
  })
}

/** Submits with each key, then dates its idempotency row `daysAgo` days back. */
async function submittedDaysAgo(daysAgo: number, keys: string[]) {
  for (const key of keys) t.equal((await submit(key, `${key}@example.com`)).statusCode, 202)
  await sql`UPDATE lead_submissions SET created_at = now() - make_interval(days => ${daysAgo})
    WHERE idempotency_key = ANY(${keys}::text[])`.execute(app.db)
}

const keysLeft = async () => {
  const { rows } = await sql<{ key: string }>`
    SELECT idempotency_key AS key FROM lead_submissions ORDER BY 1`.execute(app.db)
  return rows.map((row) => row.key)
}

t.test('rows past the window go, in batches; those within it stay and still answer', async (t) => {
  t.equal(LEAD_IDEMPOTENCY_DAYS, 7)
  await submittedDaysAgo(8, ['old-1', 'old-2', 'old-3', 'old-4', 'old-5'])
  await submittedDaysAgo(LEAD_IDEMPOTENCY_DAYS + 1, ['just-past'])
  await submittedDaysAgo(LEAD_IDEMPOTENCY_DAYS - 1, ['recent'])
  await submittedDaysAgo(0, ['today'])
  const leadsBefore = await app.db.selectFrom('leads').select('id').execute()

  t.same(await pruneLeadSubmissions(app, { batchSize: 2 }), { deleted: 6, batches: 4 }, '6 rows, 2 a time')
  t.same(await keysLeft(), ['recent', 'today'])
  t.equal(
    (await app.db.selectFrom('leads').select('id').execute()).length,
    leadsBefore.length,
    'the leads themselves are kept',
  )
  t.same(await pruneLeadSubmissions(app), { deleted: 0, batches: 1 }, 'nothing left to delete')

  // A key still within its window answers as before: one lead, nothing new stored.
  const leads = await app.db.selectFrom('leads').select('id').execute()
  t.equal((await submit('recent', 'recent@example.com')).statusCode, 202)
  t.equal((await app.db.selectFrom('leads').select('id').execute()).length, leads.length)
})

t.test('the worker runs it as a scheduled maintenance job', async (t) => {
  await submittedDaysAgo(30, ['ancient'])
  const schedules = (await app.jobs.boss.getSchedules()) as Array<{ name: string; cron: string }>
  t.match(
    schedules.find((schedule) => schedule.name === PRUNE_LEAD_SUBMISSIONS_JOB),
    { cron: '45 3 * * *' },
    'on a daily cron',
  )
  const id = await app.jobs.send(PRUNE_LEAD_SUBMISSIONS_JOB, {})
  await eventually(async () => {
    const { rows } = await sql<{ state: string }>`SELECT state FROM pgboss.job WHERE id = ${id}`.execute(
      app.db,
    )
    return rows[0]?.state === 'completed'
  })
  t.notOk((await keysLeft()).includes('ancient'), 'deleted by the job')
  t.ok((await keysLeft()).includes('today'), 'the rest kept')
})
