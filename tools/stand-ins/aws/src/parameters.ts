import { randomBytes } from 'node:crypto'
import { constraint, errors } from './errors.ts'
import {
  checkLength,
  epochSeconds,
  type Input,
  optionalBoolean,
  optionalInteger,
  optionalList,
  optionalString,
  optionalStringList,
  page,
  requiredString,
} from './wire.ts'

export type ParameterType = 'String' | 'StringList' | 'SecureString'

/** One version of a parameter, as Parameter Store keeps every one (up to 100). */
export interface ParameterVersion {
  version: number
  type: ParameterType
  /** The plain value, also for SecureString (what the stand-in stores instead of KMS ciphertext). */
  value: string
  /** What a SecureString reads as without `WithDecryption`: an opaque base64 blob, fixed per version. */
  ciphertext?: string
  keyId?: string
  description?: string
  allowedPattern?: string
  tier: 'Standard' | 'Advanced'
  lastModifiedDate: Date
}

/** A parameter with its current version's fields on top and its history below. */
export interface StoredParameter extends ParameterVersion {
  name: string
  tags: Array<{ Key: string; Value: string }>
  versions: ParameterVersion[]
}

/** What `parameters` in the options seeds (and `reset()` restores). */
export interface ParameterSeed {
  name: string
  value: string
  type?: ParameterType
  description?: string
}

const TYPES: ParameterType[] = ['String', 'StringList', 'SecureString']
const MAX_VERSIONS = 100
const MAX_DEPTH = 15
const VALUE_LIMIT = { Standard: 4096, Advanced: 8192 }
const DEFAULT_KEY_ID = 'alias/aws/ssm'

export class ParameterStore {
  readonly parameters = new Map<string, StoredParameter>()
  readonly #region: string
  readonly #accountId: string

  constructor(region: string, accountId: string) {
    this.#region = region
    this.#accountId = accountId
  }

  seed(seeds: ParameterSeed[]): void {
    for (const seed of seeds)
      this.put({
        Name: seed.name,
        Value: seed.value,
        Type: seed.type ?? 'String',
        Overwrite: true,
        ...(seed.description === undefined ? {} : { Description: seed.description }),
      })
  }

  put(input: Input) {
    const name = requiredString(input, 'Name', { min: 1, max: 2048 })
    checkName(name)
    const value = requiredString(input, 'Value', { min: 1 })
    const typeGiven = optionalString(input, 'Type')
    if (typeGiven !== undefined && !TYPES.includes(typeGiven as ParameterType))
      throw constraint(
        'type',
        typeGiven,
        'Member must satisfy enum value set: [SecureString, StringList, String]',
      )
    const overwrite = optionalBoolean(input, 'Overwrite') ?? false
    const tags = optionalList(input, 'Tags', { max: 50 })
    if (overwrite && tags !== undefined && tags.length > 0)
      throw errors.validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
      )
    const description = optionalString(input, 'Description')
    if (description !== undefined) checkLength('Description', description, { max: 1024 })
    const keyIdGiven = optionalString(input, 'KeyId')
    const allowedPattern = optionalString(input, 'AllowedPattern')
    const tierGiven = optionalString(input, 'Tier')
    if (tierGiven !== undefined && !['Standard', 'Advanced', 'Intelligent-Tiering'].includes(tierGiven))
      throw constraint(
        'tier',
        tierGiven,
        'Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]',
      )
    const dataType = optionalString(input, 'DataType')
    if (dataType !== undefined && dataType !== 'text')
      throw errors.validation(
        `The following data type is not supported by this stand-in: ${dataType} (only text)`,
      )

    const existing = this.parameters.get(name)
    if (existing && !overwrite) throw errors.parameterAlreadyExists()
    const type = (typeGiven ?? existing?.type) as ParameterType | undefined
    if (type === undefined)
      throw errors.validation('A parameter type is required when you create a parameter.')
    if (keyIdGiven !== undefined && type !== 'SecureString')
      throw errors.validation('KeyId is required for SecureString type parameter only.')

    const tier =
      tierGiven === 'Advanced' ||
      existing?.tier === 'Advanced' ||
      (tierGiven === 'Intelligent-Tiering' && value.length > 4096)
        ? 'Advanced'
        : 'Standard'
    if (value.length > VALUE_LIMIT[tier])
      throw errors.validation(
        tier === 'Standard'
          ? 'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameters tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html'
          : 'Advanced tier parameters support a maximum parameter value of 8192 characters.',
      )
    if (allowedPattern !== undefined) {
      let pattern: RegExp
      try {
        pattern = new RegExp(`^(?:${allowedPattern})$`, 's')
      } catch {
        throw errors.invalidAllowedPattern()
      }
      if (!pattern.test(value)) throw errors.parameterPatternMismatch(allowedPattern)
    }

    const version: ParameterVersion = {
      version: (existing?.version ?? 0) + 1,
      type,
      value,
      tier,
      lastModifiedDate: new Date(),
      ...(type === 'SecureString'
        ? { ciphertext: fakeCiphertext(value), keyId: keyIdGiven ?? existing?.keyId ?? DEFAULT_KEY_ID }
        : {}),
      ...((description ?? existing?.description) === undefined
        ? {}
        : { description: (description ?? existing?.description) as string }),
      ...(allowedPattern === undefined ? {} : { allowedPattern }),
    }
    const versions = [...(existing?.versions ?? []), version].slice(-MAX_VERSIONS)
    this.parameters.set(name, {
      ...version,
      name,
      tags: existing?.tags ?? (tags ?? []).map((tag) => ({ Key: String(tag.Key), Value: String(tag.Value) })),
      versions,
    })
    return { Version: version.version, Tier: tier }
  }

  get(input: Input) {
    const name = requiredString(input, 'Name', { min: 1, max: 2048 })
    const decrypt = optionalBoolean(input, 'WithDecryption') ?? false
    const found = this.#select(name)
    if (found === 'missing') throw errors.parameterNotFound()
    if (found === 'no-version') throw errors.parameterVersionNotFound(...splitSelector(name))
    return { Parameter: this.#describe(found.parameter, found.version, decrypt, found.selector) }
  }

  getMany(input: Input) {
    const names = optionalStringList(input, 'Names', { min: 1, max: 10 })
    if (names === undefined) throw constraint('names', undefined, 'Member must not be null')
    const decrypt = optionalBoolean(input, 'WithDecryption') ?? false
    const found: unknown[] = []
    const invalid: string[] = []
    for (const name of new Set(names)) {
      const hit = this.#select(name)
      if (typeof hit === 'string') invalid.push(name)
      else found.push(this.#describe(hit.parameter, hit.version, decrypt, hit.selector))
    }
    return { Parameters: found, InvalidParameters: invalid }
  }

  getByPath(input: Input) {
    const path = requiredString(input, 'Path', { min: 1, max: 2048 })
    if (!path.startsWith('/') || !/^[a-zA-Z0-9_.\-/]+$/.test(path) || path.includes('//'))
      throw errors.validation(
        'The parameter path is not valid. A parameter path must begin with a forward slash (/) and can consist of sub-paths divided by slash symbols; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_',
      )
    if (path.split('/').length - 1 > MAX_DEPTH) throw errors.hierarchyLevelLimitExceeded()
    const recursive = optionalBoolean(input, 'Recursive') ?? false
    const decrypt = optionalBoolean(input, 'WithDecryption') ?? false
    const maxResults = optionalInteger(input, 'MaxResults', { min: 1, max: 10 }) ?? 10
    const filters = readPathFilters(input)
    const prefix = path.endsWith('/') ? path : `${path}/`
    const names = [...this.parameters.keys()]
      .filter((name) => name.startsWith(prefix) && (recursive || !name.slice(prefix.length).includes('/')))
      .sort()
    const matching = names
      .map((name) => this.parameters.get(name) as StoredParameter)
      .filter((parameter) => filters.every((filter) => filter(parameter)))
    const listing = `GetParametersByPath ${prefix} ${recursive}`
    const result = page(matching, listing, optionalString(input, 'NextToken'), maxResults)
    return {
      Parameters: result.items.map((parameter) => this.#describe(parameter, parameter, decrypt)),
      ...(result.nextToken === undefined ? {} : { NextToken: result.nextToken }),
    }
  }

  delete(input: Input) {
    const name = requiredString(input, 'Name', { min: 1, max: 2048 })
    if (!this.parameters.delete(name)) throw errors.parameterNotFound()
    return {}
  }

  deleteMany(input: Input) {
    const names = optionalStringList(input, 'Names', { min: 1, max: 10 })
    if (names === undefined) throw constraint('names', undefined, 'Member must not be null')
    const deleted: string[] = []
    const invalid: string[] = []
    for (const name of new Set(names)) (this.parameters.delete(name) ? deleted : invalid).push(name)
    return { DeletedParameters: deleted, InvalidParameters: invalid }
  }

  /** `name`, `name:<version>` or `name:<label>` (labels are not kept: never found). */
  #select(
    nameWithSelector: string,
  ): 'missing' | 'no-version' | { parameter: StoredParameter; version: ParameterVersion; selector?: string } {
    const [name, selector] = splitSelector(nameWithSelector)
    const parameter = this.parameters.get(name)
    if (!parameter) return 'missing'
    if (selector === '') return { parameter, version: parameter }
    const wanted = /^\d+$/.test(selector) ? Number(selector) : Number.NaN
    const version = parameter.versions.find((v) => v.version === wanted)
    if (!version) return 'no-version'
    return { parameter, version, selector: `:${selector}` }
  }

  #describe(parameter: StoredParameter, version: ParameterVersion, decrypt: boolean, selector?: string) {
    const hidden = version.type === 'SecureString' && !decrypt
    return {
      Name: parameter.name,
      Type: version.type,
      Value: hidden ? version.ciphertext : version.value,
      Version: version.version,
      ...(selector === undefined ? {} : { Selector: selector }),
      LastModifiedDate: epochSeconds(version.lastModifiedDate),
      ARN: `arn:aws:ssm:${this.#region}:${this.#accountId}:parameter/${parameter.name.replace(/^\//, '')}`,
      DataType: 'text',
    }
  }
}

function splitSelector(nameWithSelector: string): [string, string] {
  const colon = nameWithSelector.indexOf(':')
  return colon === -1
    ? [nameWithSelector, '']
    : [nameWithSelector.slice(0, colon), nameWithSelector.slice(colon + 1)]
}

/** Names: letters, digits, `_.-/`; a path begins with `/`; at most 15 levels; no `aws`/`ssm` prefix. */
function checkName(name: string): void {
  if (
    !/^[a-zA-Z0-9_.\-/]+$/.test(name) ||
    /^\/?(aws|ssm)/i.test(name) ||
    name.endsWith('/') ||
    name.includes('//')
  )
    throw errors.invalidParameterName()
  if (name.includes('/') && !name.startsWith('/')) throw errors.notFullyQualified()
  if (name.split('/').length - 1 > MAX_DEPTH) throw errors.hierarchyLevelLimitExceeded()
}

/** `Type` and `KeyId` (Equals), `Label` (never matches here) and `tag:<key>`, as GetParametersByPath takes. */
function readPathFilters(input: Input): Array<(parameter: StoredParameter) => boolean> {
  return (optionalList(input, 'ParameterFilters', { max: 50 }) ?? []).map((filter) => {
    const key = optionalString(filter, 'Key')
    const option = optionalString(filter, 'Option') ?? 'Equals'
    const values = optionalStringList(filter, 'Values') ?? []
    if (key === undefined)
      throw constraint('parameterFilters.1.member.key', undefined, 'Member must not be null')
    if (key === 'Name' || key === 'Path' || key === 'Tier' || key === 'DataType')
      throw errors.invalidFilterKey(
        `The following filter key is not valid: ${key}. Valid filter keys include: [Type, KeyId, Label].`,
      )
    if (key !== 'Type' && key !== 'KeyId' && key !== 'Label' && !key.startsWith('tag:'))
      throw errors.invalidFilterKey(`The following filter key is not valid: ${key}.`)
    if (option !== 'Equals' && !(key.startsWith('tag:') && option === 'BeginsWith'))
      throw errors.invalidFilterOption(
        `The following filter option is not valid: ${option}. Valid options include: [Equals].`,
      )
    if (key === 'Type') {
      if (!values.every((v) => TYPES.includes(v as ParameterType)))
        throw errors.invalidFilterValue(`The following filter value is not valid: ${values.join(', ')}.`)
      return (p) => values.includes(p.type)
    }
    if (key === 'KeyId') return (p) => p.keyId !== undefined && values.includes(p.keyId)
    if (key === 'Label') return () => false
    const tagKey = key.slice('tag:'.length)
    return (p) =>
      p.tags.some(
        (tag) =>
          tag.Key === tagKey &&
          (values.length === 0 ||
            values.some((v) => (option === 'BeginsWith' ? tag.Value.startsWith(v) : tag.Value === v))),
      )
  })
}

/** Looks like what KMS returns for the aws/ssm key (base64 starting `AQICAH`), and says nothing of the value. */
function fakeCiphertext(value: string): string {
  const header = Buffer.from([0x01, 0x02, 0x02, 0x00, 0x78])
  return Buffer.concat([header, randomBytes(150 + Math.ceil(value.length / 16) * 16)]).toString('base64')
}
