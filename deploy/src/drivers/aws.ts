import { createReadStream } from 'node:fs'
import path from 'node:path'
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import {
  DeleteParameterCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  GetParameterCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SendCommandCommand,
  SSMClient,
  waitUntilCommandExecuted,
} from '@aws-sdk/client-ssm'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import Cloudflare from 'cloudflare'
import { type DeployConfig, parameterPath } from '../config.ts'
import {
  COLOURS,
  type Colour,
  type Driver,
  type HostRun,
  type LiveColour,
  type StoredArtifact,
} from '../driver.ts'
import type { Target } from '../http.ts'
import { DeployError } from '../steps.ts'

/** SSM keeps the first 24,000 characters of stdout and 8,000 of stderr; the rest is in S3 (OutputS3BucketName). */
const SSM_STDOUT_LIMIT = 24_000
const SSM_STDERR_LIMIT = 8_000
/** A lock older than this was left by a deploy that died. */
const LOCK_STALE_MS = 2 * 3600_000

/**
 * EC2 hosts found by tag (nudge:environment, nudge:colour), driven by SSM Run Command
 * (AWS-RunShellScript, no SSH), artifacts in S3 fetched by hosts through presigned URLs, the
 * release environment in Parameter Store (read by the hosts themselves with their instance
 * profile), and api.<domain> a proxied Cloudflare CNAME to <colour>.api.<domain>.
 * Endpoints follow the SDKs' own settings (AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_S3,
 * CLOUDFLARE_API_URL), which is how tests point them at the stand-ins.
 */
export class AwsDriver implements Driver {
  readonly name = 'aws' as const
  private readonly config: DeployConfig
  private readonly ssm: SSMClient
  private readonly s3: S3Client
  private readonly cloudflare: Cloudflare
  private readonly bucket: string
  private readonly prefix: string
  private readonly zoneId: string
  private readonly apiName: string

  constructor(config: DeployConfig) {
    this.config = config
    const region = config.AWS_REGION
    this.ssm = new SSMClient({ region })
    this.s3 = new S3Client({
      region,
      forcePathStyle: config.DEPLOY_S3_FORCE_PATH_STYLE,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })
    this.cloudflare = new Cloudflare({
      apiToken: config.CLOUDFLARE_API_TOKEN,
      ...(config.CLOUDFLARE_API_URL ? { baseURL: config.CLOUDFLARE_API_URL } : {}),
      maxRetries: 2,
      timeout: 20_000,
    })
    this.bucket = config.DEPLOY_S3_BUCKET ?? ''
    this.prefix = `nudge/${config.DEPLOY_ENVIRONMENT}/`
    this.zoneId = config.CLOUDFLARE_ZONE_ID ?? ''
    this.apiName = `api.${config.DEPLOY_DOMAIN}`
  }

  describe(): string {
    return `aws: ${this.config.AWS_REGION}, hosts tagged nudge:environment=${this.config.DEPLOY_ENVIRONMENT} and nudge:colour, artifacts in s3://${this.bucket}/${this.prefix}, environment in Parameter Store ${parameterPath(this.config)}, ${this.apiName} in Cloudflare zone ${this.zoneId}`
  }

  async prepare(): Promise<void> {}

  async hosts(colour: Colour): Promise<string[]> {
    const ids: string[] = []
    let NextToken: string | undefined
    do {
      const page = await this.ssm.send(
        new DescribeInstanceInformationCommand({
          Filters: [
            { Key: 'tag:nudge:environment', Values: [this.config.DEPLOY_ENVIRONMENT] },
            { Key: 'tag:nudge:colour', Values: [colour] },
          ],
          NextToken,
        }),
      )
      for (const instance of page.InstanceInformationList ?? [])
        if (instance.InstanceId) ids.push(instance.InstanceId)
      NextToken = page.NextToken
    } while (NextToken)
    return ids.sort()
  }

  async run(
    colour: Colour,
    script: string,
    options: { timeoutSeconds: number; only?: string[] },
  ): Promise<HostRun[]> {
    const instances = options.only ?? (await this.hosts(colour))
    if (instances.length === 0) return []
    const keyPrefix = `${this.prefix}ssm-output`
    const sent = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: instances,
        Parameters: { commands: [script], executionTimeout: [String(options.timeoutSeconds)] },
        // How long an instance may take to pick the command up.
        TimeoutSeconds: 120,
        OutputS3BucketName: this.bucket,
        OutputS3KeyPrefix: keyPrefix,
        Comment: `nudge deploy (${colour})`,
      }),
    )
    const commandId = sent.Command?.CommandId
    if (!commandId) throw new DeployError('SSM accepted the command but gave no command id')
    return Promise.all(
      instances.map((instance) => this.result(commandId, instance, keyPrefix, options.timeoutSeconds)),
    )
  }

  private async result(
    commandId: string,
    instance: string,
    keyPrefix: string,
    timeoutSeconds: number,
  ): Promise<HostRun> {
    await waitUntilCommandExecuted(
      { client: this.ssm, maxWaitTime: timeoutSeconds + 180, minDelay: 1, maxDelay: 5 },
      { CommandId: commandId, InstanceId: instance },
    ).catch(() => {}) // a failed command ends the waiter too; the invocation below says how
    let invocation: GetCommandInvocationCommandOutput
    try {
      invocation = await this.ssm.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instance }),
      )
    } catch (error) {
      return { host: instance, exitCode: -1, stdout: '', stderr: `SSM: ${(error as Error).message}` }
    }
    let stdout = invocation.StandardOutputContent ?? ''
    let stderr = invocation.StandardErrorContent ?? ''
    const key = (stream: string) =>
      `${keyPrefix}/${commandId}/${instance}/awsrunShellScript/0.awsrunShellScript/${stream}`
    if (stdout.length >= SSM_STDOUT_LIMIT) stdout = (await this.read(key('stdout'))) ?? stdout
    if (stderr.length >= SSM_STDERR_LIMIT) stderr = (await this.read(key('stderr'))) ?? stderr
    const success = invocation.Status === 'Success'
    const exitCode = invocation.ResponseCode ?? -1
    return {
      host: instance,
      exitCode: success ? 0 : exitCode === 0 ? -1 : exitCode,
      stdout,
      stderr: success
        ? stderr
        : `${stderr}\n(SSM: ${invocation.Status} ${invocation.StatusDetails ?? ''})`.trim(),
    }
  }

  private async read(key: string): Promise<string | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      return await object.Body?.transformToString()
    } catch {
      return undefined
    }
  }

  async storeArtifact(_releaseId: string, file: string, sha256: string): Promise<StoredArtifact> {
    const Key = `${this.prefix}artifacts/${path.basename(file)}`
    const present = await this.s3
      .send(new HeadObjectCommand({ Bucket: this.bucket, Key }))
      .then((head) => head.Metadata?.sha256 === sha256)
      .catch(() => false)
    if (!present) {
      // Multipart, parts uploaded four at a time: an artifact is over 100 MB.
      const upload = new Upload({
        client: this.s3,
        params: {
          Bucket: this.bucket,
          Key,
          Body: createReadStream(file),
          ContentType: 'application/gzip',
          Metadata: { sha256 },
        },
        partSize: 8 * 1024 * 1024,
        queueSize: 4,
      })
      await upload.done()
    }
    // Hosts download with curl: no AWS CLI or S3 permission needed on them.
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key }), {
      expiresIn: 3600,
    })
    return { url, sha256 }
  }

  secretsSource(): string {
    return `ssm:${parameterPath(this.config)}`
  }

  async secret(name: string): Promise<string | undefined> {
    try {
      const found = await this.ssm.send(
        new GetParameterCommand({ Name: `${parameterPath(this.config)}${name}`, WithDecryption: true }),
      )
      return found.Parameter?.Value
    } catch (error) {
      if (error instanceof ParameterNotFound) return undefined
      throw error
    }
  }

  private async apiRecord() {
    for await (const record of this.cloudflare.dns.records.list({
      zone_id: this.zoneId,
      name: { exact: this.apiName },
    })) {
      if (record.type === 'CNAME') return record
      throw new DeployError(
        `${this.apiName} is a ${record.type} record: make it a CNAME to a colour (see deploy/README.md)`,
      )
    }
    return undefined
  }

  async live(): Promise<LiveColour | null> {
    const record = await this.apiRecord()
    if (!record) return null
    const colour = COLOURS.find((c) => record.content === `${c}.api.${this.config.DEPLOY_DOMAIN}`)
    if (!colour) throw new DeployError(`${this.apiName} points at ${record.content}, which is neither colour`)
    return { colour, since: new Date(record.modified_on ?? record.created_on ?? Date.now()) }
  }

  async pointApiAt(colour: Colour, note: string): Promise<void> {
    const record = await this.apiRecord()
    const body = {
      zone_id: this.zoneId,
      type: 'CNAME' as const,
      name: this.apiName,
      content: `${colour}.api.${this.config.DEPLOY_DOMAIN}`,
      proxied: true,
      ttl: 1 as const,
      comment: `nudge deploy: ${note}`.slice(0, 100),
    }
    if (record) await this.cloudflare.dns.records.edit(record.id, body)
    else await this.cloudflare.dns.records.create(body)
  }

  colourTarget(colour: Colour): Target {
    const name = `${colour}.api.${this.config.DEPLOY_DOMAIN}`
    const url = colour === 'blue' ? this.config.DEPLOY_BLUE_URL : this.config.DEPLOY_GREEN_URL
    return { name, url: url ?? `https://${name}` }
  }

  stableTarget(): Target {
    return { name: this.apiName, url: this.config.DEPLOY_STABLE_URL ?? `https://${this.apiName}` }
  }

  /** A Parameter Store entry created only if absent (PutParameter without Overwrite) is the lock. */
  async lock(owner: string): Promise<() => Promise<void>> {
    const Name = `/nudge-deploy/${this.config.DEPLOY_ENVIRONMENT}/lock`
    const Value = JSON.stringify({ owner, at: new Date().toISOString() })
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', Overwrite: false }))
        return async () => {
          await this.ssm.send(new DeleteParameterCommand({ Name })).catch(() => {})
        }
      } catch (error) {
        if (!(error instanceof ParameterAlreadyExists)) throw error
        const held = await this.ssm.send(new GetParameterCommand({ Name })).catch(() => undefined)
        const holder = JSON.parse(held?.Parameter?.Value ?? '{}') as { owner?: string; at?: string }
        if (holder.at && Date.now() - Date.parse(holder.at) < LOCK_STALE_MS) {
          throw new DeployError(
            `another deploy holds the lock: ${holder.owner} since ${holder.at} (Parameter Store ${Name})`,
          )
        }
        await this.ssm.send(new DeleteParameterCommand({ Name })).catch(() => {}) // stale: its deploy died
      }
    }
    throw new DeployError(`could not take the deploy lock ${Name}`)
  }

  async close(): Promise<void> {
    this.ssm.destroy()
    this.s3.destroy()
  }
}
