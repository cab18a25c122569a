import { DnsZone } from './records.ts'

/** A URL to purge, alone or with the request headers its cache key includes. */
export type PurgedFile = string | { url: string; headers?: Record<string, string> }

/** One purge Cloudflare accepted, in the order they arrived. */
export interface PurgeRecord {
  /** The `result.id` the API answered with. */
  id: string
  zoneId: string
  /** ISO 8601, when the stand-in accepted it. */
  at: string
  files?: PurgedFile[]
  tags?: string[]
  hosts?: string[]
  prefixes?: string[]
  purgeEverything?: true
}

export interface StandInConfig {
  token: string
  zoneId: string
  /** Purge by URL: 30 below Enterprise (what the edge layer batches by). */
  maxFilesPerRequest: number
  /** Purge by tag, host or prefix. */
  maxItemsPerRequest: number
}

/** What the stand-in remembers, shared by the HTTP controls and the in-process handle. */
export class StandInState {
  readonly purges: PurgeRecord[] = []
  readonly zone: DnsZone
  failures: Array<{ statusCode: number }> = []

  constructor(zoneName: string) {
    this.zone = new DnsZone(zoneName)
  }

  failNext(count: number, statusCode: number): void {
    for (let i = 0; i < count; i++) this.failures.push({ statusCode })
  }

  /** Purges and pending failures only: what `DELETE /__stand-in/purges` has always forgotten. */
  forgetPurges(): void {
    this.purges.length = 0
    this.failures = []
  }

  reset(): void {
    this.forgetPurges()
    this.zone.clear()
  }
}
