import { mkdir, open } from 'node:fs/promises'
import path from 'node:path'
import type { Change } from './convert.ts'

/** What one kind of row did: read from the old system, and where each went. */
export interface KindCounts {
  /** rows read from the old system */
  in: number
  /** new rows written */
  created: number
  /** rows written before (an earlier run) and left as they are */
  unchanged: number
  /** existing rows brought up to date (a delta: edited in the old system since) */
  updated: number
  /** rows folded into another (same person, same hostname, same lead) */
  merged: number
  /** rows not brought across; each is in `skipped` with the reason */
  skipped: number
}

/** A change, and the kind of old row it is about ('account', 'domain', …: as Skipped.kind). */
export type ReportedChange = Change & { row: string }

export interface Skipped {
  kind: string
  legacyId: string
  reason: string
}

/** A generated webhook signing secret, for its owner: shown in one report, never stored in clear. */
export interface SecretNotice {
  integrationId: string
  legacyId: string
  teamId: string
  ownerEmail: string
  url: string
  secret: string
}

export interface MigrationReport {
  runId: string | null
  dryRun: boolean
  since: string | null
  sourceTime: string
  startedAt: string
  finishedAt: string | null
  counts: Record<string, KindCounts>
  tables: Array<{ table: string; rows: number; seconds: number; rowsPerSecond: number }>
  /** every row changed on the way (converter changes, decisions such as a site given to a campaign) */
  changes: ReportedChange[]
  skipped: Skipped[]
  republish: { sites: number; written: number; deleted: number; unchanged: number } | null
  legacyMap: { key: string; domains: number; campaigns: number; until: string } | null
  webhookSecrets: SecretNotice[]
}

export function emptyCounts(): KindCounts {
  return { in: 0, created: 0, unchanged: 0, updated: 0, merged: 0, skipped: 0 }
}

/** Reasons printed (most frequent first); the report lists every row whatever their number. */
const SUMMARY_REASONS = 40

/** The summary printed at the end: counts per kind, then how many rows were changed or skipped and why. */
export function summarise(report: MigrationReport): string {
  const lines = [
    `golive migrate${report.dryRun ? ' (dry run: nothing written)' : ''}${report.since ? ` since ${report.since}` : ''}`,
    'kind          in   created unchanged  updated   merged  skipped',
  ]
  for (const [kind, c] of Object.entries(report.counts)) {
    lines.push(
      `${kind.padEnd(12)}${[c.in, c.created, c.unchanged, c.updated, c.merged, c.skipped].map((n) => String(n).padStart(9)).join('')}`,
    )
  }
  const reasons = new Map<string, number>()
  for (const change of report.changes) {
    const key = `changed ${change.row} ${change.field} (${change.kind}): ${change.reason}`
    reasons.set(key, (reasons.get(key) ?? 0) + 1)
  }
  for (const skip of report.skipped) {
    const key = `skipped ${skip.kind}: ${skip.reason}`
    reasons.set(key, (reasons.get(key) ?? 0) + 1)
  }
  const sorted = [...reasons].sort((a, b) => b[1] - a[1])
  for (const [reason, count] of sorted.slice(0, SUMMARY_REASONS)) lines.push(`  ${count} × ${reason}`)
  if (sorted.length > SUMMARY_REASONS) {
    lines.push(`  … and ${sorted.length - SUMMARY_REASONS} other reasons: every row is in the report`)
  }
  if (report.republish) {
    const r = report.republish
    lines.push(
      `republished ${r.sites} sites: ${r.written} objects written, ${r.deleted} deleted, ${r.unchanged} unchanged`,
    )
  }
  if (report.legacyMap) {
    const m = report.legacyMap
    lines.push(`legacy map ${m.key}: ${m.domains} domains, ${m.campaigns} campaigns, until ${m.until}`)
  }
  if (report.webhookSecrets.length > 0) {
    lines.push(
      `${report.webhookSecrets.length} webhook signing secrets for their owners are in the report (shown once)`,
    )
  }
  return `${lines.join('\n')}\n`
}

/** The report holds webhook secrets: owner-only, and on disk (fsync) before they count as shown. */
export async function writeReport(file: string, report: MigrationReport): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true })
  const handle = await open(file, 'w', 0o600)
  try {
    await handle.writeFile(`${JSON.stringify(report, null, 2)}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
}
