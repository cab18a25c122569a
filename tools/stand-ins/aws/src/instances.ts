import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import { errors } from './errors.ts'
import { epochSeconds, type Input, optionalInteger, optionalList, optionalString, page } from './wire.ts'

/** A machine the stand-in pretends is a managed node: its commands run here, in `workingDirectory`. */
export interface InstanceConfig {
  /** `i-` and 8 or 17 word characters (EC2), or `mi-` and 17 (hybrid), as SSM's ids are. */
  instanceId: string
  /** EC2 tags, what `Targets: [{ Key: 'tag:<name>' }]` and `tag:<name>` filters match. */
  tags?: Record<string, string>
  /** The directory commands run in when `Parameters.workingDirectory` is not given (must exist). */
  workingDirectory: string
  /** Added to this process's environment for every command run on the instance. */
  env?: Record<string, string>
  /** `ComputerName` in DescribeInstanceInformation; `ip-127-0-0-1.<region>.compute.internal` by default. */
  computerName?: string
}

/** What DescribeInstanceInformation reports, and whether the agent is reachable. */
export interface Instance {
  readonly instanceId: string
  readonly tags: Readonly<Record<string, string>>
  readonly workingDirectory: string
  readonly env: Readonly<Record<string, string>>
  readonly computerName: string
  /** false: the agent stopped pinging (`PingStatus: ConnectionLost`); commands wait, then time out. */
  online: boolean
  lastPingAt: Date
  readonly registeredAt: Date
}

export const INSTANCE_ID_PATTERN = /^(i-(\w{8}|\w{17})|mi-\w{17})$/
/** What a current SSM Agent on Amazon Linux 2023 reports. */
export const AGENT_VERSION = '3.3.1611.0'

export function makeInstances(configs: InstanceConfig[], region: string): Map<string, Instance> {
  const instances = new Map<string, Instance>()
  const now = new Date()
  for (const config of configs) {
    const { instanceId } = config
    if (!INSTANCE_ID_PATTERN.test(instanceId))
      throw new Error(
        `instanceId must look like an SSM managed node id (i-0123456789abcdef0), got ${instanceId}`,
      )
    if (instances.has(instanceId)) throw new Error(`instance ${instanceId} is listed twice`)
    if (!path.isAbsolute(config.workingDirectory) || !existsSync(config.workingDirectory))
      throw new Error(`instance ${instanceId}: workingDirectory must be an existing absolute path`)
    if (!statSync(config.workingDirectory).isDirectory())
      throw new Error(`instance ${instanceId}: workingDirectory is not a directory`)
    instances.set(instanceId, {
      instanceId,
      tags: { ...config.tags },
      workingDirectory: config.workingDirectory,
      env: { ...config.env },
      computerName: config.computerName ?? `ip-127-0-0-1.${region}.compute.internal`,
      online: true,
      lastPingAt: now,
      registeredAt: now,
    })
  }
  return instances
}

export function pingStatus(instance: Instance): 'Online' | 'ConnectionLost' {
  return instance.online ? 'Online' : 'ConnectionLost'
}

/** Whether `tag:<name>` / `tag-key` criteria (Targets or filters) pick this instance. */
export function matchesTag(instance: Instance, key: string, values: string[]): boolean {
  if (key === 'tag-key') return values.some((name) => Object.hasOwn(instance.tags, name))
  const name = key.slice('tag:'.length)
  const value = instance.tags[name]
  return value !== undefined && values.includes(value)
}

const STRING_FILTER_KEYS = [
  'InstanceIds',
  'AgentVersion',
  'PingStatus',
  'PlatformTypes',
  'ResourceType',
  'AssociationStatus',
  'ActivationIds',
  'IamRole',
]
const PING_STATUSES = ['Online', 'ConnectionLost', 'Inactive']

function resourceType(instance: Instance): string {
  return instance.instanceId.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance'
}

/** One instance's value for a non-tag filter key, or undefined when the stand-in has none. */
function filterValue(instance: Instance, key: string): string | undefined {
  switch (key) {
    case 'InstanceIds':
      return instance.instanceId
    case 'AgentVersion':
      return AGENT_VERSION
    case 'PingStatus':
      return pingStatus(instance)
    case 'PlatformTypes':
      return 'Linux'
    case 'ResourceType':
      return resourceType(instance)
    default:
      return undefined
  }
}

type Criterion = { key: string; values: string[] }

function readCriteria(input: Input): Criterion[] {
  const criteria: Criterion[] = []
  for (const filter of optionalList(input, 'Filters', { max: 50 }) ?? []) {
    const key = optionalString(filter, 'Key')
    const values = filter.Values
    if (key === undefined || !Array.isArray(values) || values.length === 0)
      throw errors.validation('1 validation error detected: Filters must have a Key and 1 to 100 Values')
    if (!(STRING_FILTER_KEYS.includes(key) || key === 'tag-key' || key.startsWith('tag:')))
      throw errors.invalidFilterKey()
    criteria.push({ key, values: values.map(String) })
  }
  // The older form: key/valueSet, without tags.
  for (const filter of optionalList(input, 'InstanceInformationFilterList') ?? []) {
    const key = optionalString(filter, 'key')
    const values = filter.valueSet
    if (key === undefined || !Array.isArray(values) || values.length === 0)
      throw errors.validation('1 validation error detected: filters must have a key and a valueSet')
    if (!STRING_FILTER_KEYS.includes(key)) throw errors.invalidFilterKey()
    criteria.push({ key, values: values.map(String) })
  }
  for (const { key, values } of criteria) {
    if (key === 'PingStatus' && !values.every((v) => PING_STATUSES.includes(v)))
      throw errors.invalidInstanceInformationFilterValue(`${values.join(', ')} is not a valid PingStatus`)
  }
  return criteria
}

export function describeInstanceInformation(instances: Map<string, Instance>, input: Input) {
  const criteria = readCriteria(input)
  const maxResults = optionalInteger(input, 'MaxResults', { min: 5, max: 50 }) ?? 50
  const matching = [...instances.values()].filter((instance) =>
    criteria.every(({ key, values }) => {
      if (key === 'tag-key' || key.startsWith('tag:')) return matchesTag(instance, key, values)
      const value = filterValue(instance, key)
      return value !== undefined && values.includes(value)
    }),
  )
  const result = page(matching, 'DescribeInstanceInformation', optionalString(input, 'NextToken'), maxResults)
  return {
    InstanceInformationList: result.items.map((instance) => ({
      InstanceId: instance.instanceId,
      PingStatus: pingStatus(instance),
      LastPingDateTime: epochSeconds(instance.online ? new Date() : instance.lastPingAt),
      AgentVersion: AGENT_VERSION,
      IsLatestVersion: false,
      PlatformType: 'Linux',
      PlatformName: 'Amazon Linux',
      PlatformVersion: '2023',
      ResourceType: resourceType(instance),
      IPAddress: '127.0.0.1',
      ComputerName: instance.computerName,
      RegistrationDate: epochSeconds(instance.registeredAt),
      SourceId: instance.instanceId,
      SourceType:
        resourceType(instance) === 'EC2Instance' ? 'AWS::EC2::Instance' : 'AWS::SSM::ManagedInstance',
    })),
    ...(result.nextToken === undefined ? {} : { NextToken: result.nextToken }),
  }
}
