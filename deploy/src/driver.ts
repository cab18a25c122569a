import type { Target } from './http.ts'

export const COLOURS = ['blue', 'green'] as const
export type Colour = (typeof COLOURS)[number]
export const otherColour = (colour: Colour): Colour => (colour === 'blue' ? 'green' : 'blue')

/** What one host printed and returned for a script the driver ran there. */
export interface HostRun {
  host: string
  exitCode: number
  stdout: string
  stderr: string
}

export interface LiveColour {
  colour: Colour
  /** When api.<domain> was last pointed at it. */
  since: Date
}

/** A release artifact in the driver's store, ready for hosts to download. */
export interface StoredArtifact {
  /** What hosts fetch with curl (a presigned S3 URL, or a file:// URL for the local driver). */
  url: string
  sha256: string
}

/**
 * Everything a release needs from the place it runs: hosts per colour, a way to run a shell
 * script on them, an artifact store, the release's secrets and the DNS edit that moves
 * api.<domain>. Two implementations: `aws` (SSM Run Command, S3, Parameter Store, Cloudflare)
 * and `local` (PM2 process sets on this machine behind HAProxy).
 */
export interface Driver {
  readonly name: 'aws' | 'local'
  /** One line for plans and status: where this driver acts. */
  describe(): string
  /** Gets ready to act (the local driver provisions its hosts and starts its proxy). */
  prepare(): Promise<void>
  /** The hosts of a colour (instance ids, or local host directories' names). */
  hosts(colour: Colour): Promise<string[]>
  /** Runs `script` with bash on every host of `colour` (or on `only`), in parallel; never throws for a host's failure. */
  run(
    colour: Colour,
    script: string,
    options: { timeoutSeconds: number; only?: string[] },
  ): Promise<HostRun[]>
  /** Puts the artifact file in the store (once per release) and says how hosts fetch it. */
  storeArtifact(releaseId: string, file: string, sha256: string): Promise<StoredArtifact>
  /** The argument hosts pass to `host.ts install --secrets`: where the release environment comes from. */
  secretsSource(): string
  /** One value of the release environment, for the deploy tool itself (SERVICE_JWT_SECRET for the smoke check). */
  secret(name: string): Promise<string | undefined>
  /** Which colour api.<domain> points at, or null before the first switch. */
  live(): Promise<LiveColour | null>
  /** Points api.<domain> at `colour` (the switch and the rollback). */
  pointApiAt(colour: Colour, note: string): Promise<void>
  /** How the deploy tool reaches a colour's subdomain and the stable name. */
  colourTarget(colour: Colour): Target
  stableTarget(): Target
  /** Real traffic's 5xx answers per colour since `since`, where the driver can see them (the local proxy can). */
  trafficErrors?(colour: Colour): Promise<{ requests: number; errors: number }>
  /** One deploy at a time: throws when another holds the lock; resolves with its release. */
  lock(owner: string): Promise<() => Promise<void>>
  close(): Promise<void>
}
