/**
 * Tests that need a system program or a service the machine may not have. On a developer's
 * machine without it such a test skips with one line naming the Debian package; under CI=true,
 * where .ci/run installs and starts it, its absence fails the test file instead of hiding a gap.
 */
export function skipUnless(available: boolean, what: string, debianPackage: string): false | string {
  if (available) return false
  const reason = `needs ${what} (apt-get install ${debianPackage})`
  if (process.env.CI === 'true') throw new Error(`${reason}: CI provides it, so its absence is a failure`)
  return reason
}

/** For tests of the shared cache level: a running memcached named by MEMCACHED_SERVERS. */
export const skipWithoutSharedMemcached = (): false | string =>
  skipUnless(Boolean(process.env.MEMCACHED_SERVERS), 'a running memcached in MEMCACHED_SERVERS', 'memcached')
