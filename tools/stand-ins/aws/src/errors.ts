import { randomUUID } from 'node:crypto'
import type { FastifyReply } from 'fastify'

/** Where AWS's request framework (Coral) puts the errors it raises before an operation runs. */
const CORAL = 'com.amazon.coral.service'

/**
 * An answer SSM gives instead of a result. `code` is what the SDK turns into its exception class
 * (`InvalidInstanceId`, `ParameterNotFound`, ...); `namespace` is set for the framework's own errors,
 * which AWS sends as `com.amazon.coral.service#Code`.
 */
export class AwsError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly namespace: string | undefined
  /** Some SSM errors carry no message at all (`ParameterNotFound`, `InvocationDoesNotExist`). */
  readonly hasMessage: boolean

  constructor(code: string, message: string | undefined, statusCode = 400, namespace?: string) {
    super(message ?? code)
    this.code = code
    this.statusCode = statusCode
    this.namespace = namespace
    this.hasMessage = message !== undefined
  }
}

export const JSON_1_1 = 'application/x-amz-json-1.1'

/** AWS JSON 1.1: the status, `x-amzn-ErrorType`, and `{"__type", "message"}`. */
export function sendError(reply: FastifyReply, error: AwsError) {
  const body: Record<string, string> = {
    __type: error.namespace === undefined ? error.code : `${error.namespace}#${error.code}`,
  }
  if (error.hasMessage) body.message = error.message
  return reply
    .code(error.statusCode)
    .header('x-amzn-RequestId', randomUUID())
    .header('x-amzn-ErrorType', error.code)
    .type(JSON_1_1)
    .send(JSON.stringify(body))
}

/** Coral's validation message, one error at a time: `Value 'x' at 'field' failed to satisfy ...`. */
export function constraint(field: string, value: unknown, rule: string): AwsError {
  const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`
  return new AwsError(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${rule}`,
  )
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'

const NAME_RULES =
  'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_'

/*
 * The messages are those public reports of the real service quote (see README); where we found
 * none, the message is the stand-in's own and the README says so.
 */
export const errors = {
  // Authentication (Coral, before any operation).
  missingAuthentication: () =>
    new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400, CORAL),
  incompleteSignature: (message: string) => new AwsError('IncompleteSignatureException', message, 400, CORAL),
  unrecognizedClient: () =>
    new AwsError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
      400,
      CORAL,
    ),
  invalidSignature: (message: string) => new AwsError('InvalidSignatureException', message, 400, CORAL),
  signatureMismatch: (canonicalRequest: string, stringToSign: string) =>
    new AwsError(
      'InvalidSignatureException',
      `${SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
      400,
      CORAL,
    ),
  unknownOperation: () => new AwsError('UnknownOperationException', undefined, 400, CORAL),
  serialization: (message: string) => new AwsError('SerializationException', message, 400, CORAL),
  validation: (message: string) => new AwsError('ValidationException', message),
  /** What `failNext` makes the API answer: SSM having a bad moment (the SDK retries it). */
  simulated: (statusCode: number) =>
    new AwsError(
      'InternalServerError',
      'An error occurred on the server side (simulated by the AWS SSM stand-in).',
      statusCode,
    ),

  // Run Command.
  invalidDocument: (name: string) =>
    new AwsError('InvalidDocument', `Document with name ${name} does not exist.`),
  invalidDocumentVersion: () => new AwsError('InvalidDocumentVersion', 'The document version is not valid.'),
  invalidParameters: (message: string) => new AwsError('InvalidParameters', message),
  invalidInstanceId: (instanceIds: string[], accountId: string) =>
    new AwsError(
      'InvalidInstanceId',
      `Instances [[${instanceIds.join(', ')}]] not in a valid state for account ${accountId}`,
    ),
  duplicateInstanceId: () => new AwsError('DuplicateInstanceId', undefined),
  invalidCommandId: () => new AwsError('InvalidCommandId', undefined),
  invocationDoesNotExist: () => new AwsError('InvocationDoesNotExist', undefined),
  invalidPluginName: () => new AwsError('InvalidPluginName', undefined),
  invalidFilterKey: (message?: string) => new AwsError('InvalidFilterKey', message),
  invalidFilterValue: (message: string) => new AwsError('InvalidFilterValue', message),
  invalidFilterOption: (message: string) => new AwsError('InvalidFilterOption', message),
  invalidNextToken: () => new AwsError('InvalidNextToken', "The specified token isn't valid."),
  invalidInstanceInformationFilterValue: (message: string) =>
    new AwsError('InvalidInstanceInformationFilterValue', message),

  // Parameter Store.
  parameterNotFound: () => new AwsError('ParameterNotFound', undefined),
  parameterVersionNotFound: (name: string, selector: string) =>
    new AwsError(
      'ParameterVersionNotFound',
      `Systems Manager could not find version ${selector} of ${name}. Verify the version and try again.`,
    ),
  parameterAlreadyExists: () =>
    new AwsError(
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    ),
  invalidParameterName: () => new AwsError('ValidationException', NAME_RULES),
  notFullyQualified: () =>
    new AwsError('ValidationException', 'Parameter name must be a fully qualified name.'),
  hierarchyLevelLimitExceeded: () =>
    new AwsError(
      'HierarchyLevelLimitExceededException',
      'A hierarchy can have a maximum of 15 levels. For more information, see Requirements and constraints for parameter names in the AWS Systems Manager User Guide.',
    ),
  parameterPatternMismatch: (pattern: string) =>
    new AwsError(
      'ParameterPatternMismatchException',
      `Parameter value failed to satisfy constraint specified in AllowedPattern: ${pattern}`,
    ),
  invalidAllowedPattern: () =>
    new AwsError(
      'InvalidAllowedPatternException',
      'The request does not meet the regular expression requirement.',
    ),
}
