import type { Deps } from '../../deps.ts'
import { listSecrets, replaceSecret } from './repository.ts'
import { decryptSecret, encryptSecret, needsReencryption } from './secrets.ts'
import { deliverySettings } from './settings.ts'

/** Moves every stored secret encrypted with an older key to the current one; returns how many. */
export async function reencryptSecrets(deps: Deps): Promise<number> {
  const { keyring } = deliverySettings(deps.config)
  const rows = await listSecrets(deps.db)
  let moved = 0
  for (const row of rows) {
    if (!needsReencryption(keyring, row.secret)) continue
    const secret = encryptSecret(keyring, decryptSecret(keyring, row.secret))
    // Only if nobody changed it meanwhile (a new key saved, a rotation).
    moved += await replaceSecret(deps.db, row.id, row.secret, secret)
  }
  if (moved > 0) deps.log.info({ moved }, 'integration secrets re-encrypted with the current key')
  return moved
}
