import type { DeployConfig } from '../config.ts'
import type { Driver } from '../driver.ts'
import { LocalDriver } from './local.ts'

/** The driver DEPLOY_DRIVER names, configured from the deploy settings. */
export async function createDriver(config: DeployConfig): Promise<Driver> {
  if (config.DEPLOY_DRIVER === 'local') return new LocalDriver(config)
  const { AwsDriver } = await import('./aws.ts')
  return new AwsDriver(config)
}
