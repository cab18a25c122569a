import { createHash, createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto'
import { decodeJavaBase64, IllegalBase64 } from './base64.ts'
import { BadRequest } from './errors.ts'
import type { JsonInput } from './input.ts'
import type { CoreRouter } from './routes.ts'
import type { Body, Reply } from './schema.ts'
import { type CoreStore, normaliseEmail, type PasswordlessDevice } from './store.ts'
import { findUserByEmail, toCoreUser } from './users.ts'

type ConsumeBody = Body<'/<tenantId>/recipe/signinup/code/consume', 'post'>
type ConsumedDevice = {
  preAuthSessionId: string
  failedCodeInputAttemptCount: number
  email?: string
  phoneNumber?: string
}
type CheckFailure =
  | {
      status: 'INCORRECT_USER_INPUT_CODE_ERROR' | 'EXPIRED_USER_INPUT_CODE_ERROR'
      failedCodeInputAttemptCount: number
      maximumCodeInputAttempts: number
    }
  | { status: 'RESTART_FLOW_ERROR' }
type CheckResult = { status: 'OK'; device: PasswordlessDevice } | CheckFailure

type CreateCodeExtra = { status: 'RESTART_FLOW_ERROR' } | { status: 'USER_INPUT_CODE_ALREADY_USED_ERROR' }

// The schema says timeCreated is a string; the core sends (and the SDK types) a number.
type ListCodesReply = Omit<Reply<'/<tenantId>/recipe/signinup/codes', 'get'>, 'devices'> & {
  devices: Array<{
    preAuthSessionId: string
    failedCodeInputAttemptCount: number
    email?: string
    phoneNumber?: string
    codes: Array<{ codeId: string; timeCreated: number; codeLifetime: number }>
  }>
}

// Encodings follow the real core: deviceId is standard base64 of 32 random bytes,
// preAuthSessionId (deviceIdHash) is unpadded base64url of sha256(deviceId bytes), and
// the link code is an HMAC of the user input code keyed by deviceId || linkCodeSalt.
// The salt never leaves the core, so a client that knows deviceId cannot turn guesses
// of the short input code into link codes and dodge the attempt limit.
function deviceIdHashOf(deviceIdBytes: Buffer): string {
  return createHash('sha256').update(deviceIdBytes).digest('base64url')
}

function linkCodeOf(deviceIdBytes: Buffer, salt: Buffer, userInputCode: string): Buffer {
  return createHmac('sha256', Buffer.concat([deviceIdBytes, salt]))
    .update(userInputCode)
    .digest()
}

function linkCodeHashOf(linkCode: Buffer): string {
  return createHash('sha256').update(linkCode).digest('base64url')
}

// PasswordlessDeviceId/PasswordlessLinkCode.decodeString: the JDK decoder's refusal
// becomes a Base64EncodingException, which the API answers as a 400 naming the field.
function decodeDeviceId(deviceId: string): Buffer {
  return decodeOrThrow(deviceId, false, 'deviceId')
}

function decodeLinkCode(linkCode: string): Buffer {
  return decodeOrThrow(linkCode, true, 'linkCode')
}

function decodeOrThrow(value: string, urlSafe: boolean, source: string): Buffer {
  try {
    return decodeJavaBase64(value, urlSafe)
  } catch (error) {
    if (error instanceof IllegalBase64) throw new BadRequest(`Input encoding error in ${source}`)
    throw error
  }
}

const EXACTLY_ONE_CODE_INPUT = 'Please provide exactly one of linkCode or deviceId+userInputCode'

type CodeInput = { preAuthSessionId: string } & (
  | { linkCode: string; deviceId?: undefined; userInputCode?: undefined }
  | { linkCode?: undefined; deviceId: string; userInputCode: string }
)

// CheckCodeAPI and ConsumeCodeAPI read their input identically, before the tenant.
function readCodeInput(body: JsonInput<ConsumeBody>): CodeInput {
  const preAuthSessionId = body.string('preAuthSessionId')
  if (body.has('linkCode')) {
    if (body.has('userInputCode') || body.has('deviceId')) throw new BadRequest(EXACTLY_ONE_CODE_INPUT)
    return { preAuthSessionId, linkCode: body.string('linkCode') }
  }
  if (body.has('userInputCode') && body.has('deviceId')) {
    return {
      preAuthSessionId,
      deviceId: body.string('deviceId'),
      userInputCode: body.string('userInputCode'),
    }
  }
  throw new BadRequest(EXACTLY_ONE_CODE_INPUT)
}

function generateUserInputCode(): string {
  let code = ''
  for (let i = 0; i < 6; i++) code += String(randomInt(10))
  return code
}

export function registerPasswordlessRoutes(router: CoreRouter, store: CoreStore): void {
  const { config } = store

  const deviceView = (device: PasswordlessDevice): ConsumedDevice => ({
    preAuthSessionId: device.deviceIdHash,
    failedCodeInputAttemptCount: device.failedAttempts,
    ...(device.email === undefined ? {} : { email: device.email }),
    ...(device.phoneNumber === undefined ? {} : { phoneNumber: device.phoneNumber }),
  })

  const findCodeByLinkHash = (tenantId: string, linkCodeHash: string) => {
    for (const device of store.devices.values()) {
      if (device.tenantId !== tenantId) continue
      for (const code of device.codes.values()) {
        if (code.linkCodeHash === linkCodeHash) return { device, code }
      }
    }
    return undefined
  }

  const tenantDevice = (tenantId: string, deviceIdHash: string) => {
    const device = store.devices.get(deviceIdHash)
    return device?.tenantId === tenantId ? device : undefined
  }

  const deleteDevicesOf = (tenantId: string, match: { email?: string; phoneNumber?: string }) => {
    for (const [hash, device] of store.devices) {
      if (device.tenantId !== tenantId) continue
      if (
        (match.email !== undefined && device.email === match.email) ||
        (match.phoneNumber !== undefined && device.phoneNumber === match.phoneNumber)
      ) {
        store.devices.delete(hash)
      }
    }
  }

  // Port of the core's Passwordless.checkCodeAndReturnDevice. An unknown link code or
  // device restarts the flow before preAuthSessionId is compared; only a known one that
  // belongs to another preAuthSessionId is the caller's mistake (400).
  const checkCode = (tenantId: string, input: CodeInput, deleteDevicesOnSuccess: boolean): CheckResult => {
    const now = Date.now()
    const expiredBefore = now - config.passwordlessCodeLifetimeMs

    let deviceIdHash: string
    let linkCodeHash: string
    if (input.linkCode !== undefined) {
      linkCodeHash = linkCodeHashOf(decodeLinkCode(input.linkCode))
      const found = findCodeByLinkHash(tenantId, linkCodeHash)
      // An expired or already used magic link only ever restarts the flow.
      if (found === undefined || found.code.createdAt < expiredBefore) {
        return { status: 'RESTART_FLOW_ERROR' }
      }
      deviceIdHash = found.device.deviceIdHash
    } else {
      const deviceIdBytes = decodeDeviceId(input.deviceId)
      deviceIdHash = deviceIdHashOf(deviceIdBytes)
      const device = tenantDevice(tenantId, deviceIdHash)
      if (device === undefined) return { status: 'RESTART_FLOW_ERROR' }
      linkCodeHash = linkCodeHashOf(linkCodeOf(deviceIdBytes, device.linkCodeSalt, input.userInputCode))
    }

    if (deviceIdHash !== input.preAuthSessionId.replaceAll('=', '')) {
      throw new BadRequest("preAuthSessionId and deviceId doesn't match")
    }

    const device = tenantDevice(tenantId, deviceIdHash)
    if (device === undefined) return { status: 'RESTART_FLOW_ERROR' }
    const max = config.passwordlessMaxCodeInputAttempts
    if (device.failedAttempts >= max) {
      store.devices.delete(deviceIdHash)
      return { status: 'RESTART_FLOW_ERROR' }
    }

    const code = [...device.codes.values()].find((c) => c.linkCodeHash === linkCodeHash)
    if (code === undefined || code.createdAt < expiredBefore) {
      if (input.deviceId !== undefined) {
        // A wrong or expired input code costs an attempt; the last allowed failure
        // destroys the device so the flow has to start over.
        if (device.failedAttempts + 1 >= max) {
          store.devices.delete(deviceIdHash)
          return { status: 'RESTART_FLOW_ERROR' }
        }
        device.failedAttempts += 1
        return {
          status: code === undefined ? 'INCORRECT_USER_INPUT_CODE_ERROR' : 'EXPIRED_USER_INPUT_CODE_ERROR',
          failedCodeInputAttemptCount: device.failedAttempts,
          maximumCodeInputAttempts: max,
        }
      }
      return { status: 'RESTART_FLOW_ERROR' }
    }

    if (deleteDevicesOnSuccess) {
      // Consuming any code ends every pending sign-in of that contact, which is also
      // what makes a magic link single-use.
      deleteDevicesOf(tenantId, device)
    }
    return { status: 'OK', device }
  }

  // CreateCodeAPI: exactly one of email, phoneNumber (a new device) or deviceId (a new
  // code for it, i.e. resend). Input is checked before the tenant; the deviceId's
  // encoding only once the tenant is known.
  router.route<'/<tenantId>/recipe/signinup/code', 'post', CreateCodeExtra>(
    'post',
    '/<tenantId>/recipe/signinup/code',
    ({ body, tenant }) => {
      const email = body.has('email') ? normaliseEmail(body.string('email')) : undefined
      const phoneNumber = body.optionalString('phoneNumber')?.trim()
      const deviceId = body.optionalString('deviceId')
      if ([email, phoneNumber, deviceId].filter((v) => v !== undefined).length !== 1) {
        throw new BadRequest('Please provide exactly one of email, phoneNumber or deviceId')
      }
      const userInputCode = body.optionalString('userInputCode')
      if (userInputCode === '') throw new BadRequest('userInputCode cannot be an empty string.')
      const tenantId = tenant.existing()

      let deviceIdBytes: Buffer
      let device: PasswordlessDevice
      if (deviceId !== undefined) {
        deviceIdBytes = decodeDeviceId(deviceId)
        const existing = tenantDevice(tenantId, deviceIdHashOf(deviceIdBytes))
        if (existing === undefined) return { status: 'RESTART_FLOW_ERROR' }
        device = existing
      } else {
        deviceIdBytes = randomBytes(32)
        device = {
          deviceIdHash: deviceIdHashOf(deviceIdBytes),
          tenantId,
          linkCodeSalt: randomBytes(32),
          failedAttempts: 0,
          codes: new Map(),
          ...(email === undefined ? {} : { email }),
          ...(phoneNumber === undefined ? {} : { phoneNumber }),
        }
      }

      // A generated code that happens to repeat one of the device's is drawn again; a
      // code the caller chose cannot be, so that is USER_INPUT_CODE_ALREADY_USED_ERROR.
      let code = userInputCode ?? generateUserInputCode()
      let linkCode = linkCodeOf(deviceIdBytes, device.linkCodeSalt, code)
      while (findCodeByLinkHash(tenantId, linkCodeHashOf(linkCode)) !== undefined) {
        if (userInputCode !== undefined) return { status: 'USER_INPUT_CODE_ALREADY_USED_ERROR' }
        code = generateUserInputCode()
        linkCode = linkCodeOf(deviceIdBytes, device.linkCodeSalt, code)
      }
      const now = Date.now()
      const codeId = randomUUID()
      device.codes.set(codeId, { codeId, linkCodeHash: linkCodeHashOf(linkCode), createdAt: now })
      store.devices.set(device.deviceIdHash, device)

      return {
        status: 'OK',
        preAuthSessionId: device.deviceIdHash,
        codeId,
        deviceId: deviceIdBytes.toString('base64'),
        userInputCode: code,
        linkCode: linkCode.toString('base64url'),
        timeCreated: now,
        codeLifetime: config.passwordlessCodeLifetimeMs,
      }
    },
  )

  // GetCodesAPI: exactly one filter. preAuthSessionId is looked up as given (no
  // padding stripped); a deviceId must be valid base64.
  router.route<'/<tenantId>/recipe/signinup/codes', 'get', ListCodesReply>(
    'get',
    '/<tenantId>/recipe/signinup/codes',
    ({ query, tenant }) => {
      const email = query.optional('email')
      const phoneNumber = query.optional('phoneNumber')?.trim()
      const deviceId = query.optional('deviceId')
      const preAuthSessionId = query.optional('preAuthSessionId')
      if ([email, phoneNumber, deviceId, preAuthSessionId].filter((v) => v !== undefined).length !== 1) {
        throw new BadRequest('Please provide exactly one of email, phoneNumber, deviceId or preAuthSessionId')
      }
      const tenantId = tenant.existing()
      let devices: PasswordlessDevice[]
      if (deviceId !== undefined) {
        const device = tenantDevice(tenantId, deviceIdHashOf(decodeDeviceId(deviceId)))
        devices = device === undefined ? [] : [device]
      } else if (preAuthSessionId !== undefined) {
        const device = tenantDevice(tenantId, preAuthSessionId)
        devices = device === undefined ? [] : [device]
      } else {
        const all = [...store.devices.values()].filter((d) => d.tenantId === tenantId)
        devices =
          email !== undefined
            ? all.filter((d) => d.email === normaliseEmail(email))
            : all.filter((d) => d.phoneNumber === phoneNumber)
      }
      return {
        status: 'OK',
        devices: devices.map((device) => ({
          ...deviceView(device),
          codes: [...device.codes.values()].map((code) => ({
            codeId: code.codeId,
            timeCreated: code.createdAt,
            codeLifetime: config.passwordlessCodeLifetimeMs,
          })),
        })),
      }
    },
  )

  router.route('post', '/<tenantId>/recipe/signinup/code/check', ({ body, tenant }) => {
    const input = readCodeInput(body)
    const result = checkCode(tenant.existing(), input, false)
    if (result.status !== 'OK') return result
    return { status: 'OK', consumedDevice: deviceView(result.device) }
  })

  router.route('post', '/<tenantId>/recipe/signinup/code/consume', ({ body, tenant }) => {
    const input = readCodeInput(body)
    const tenantId = tenant.existing()
    const result = checkCode(tenantId, input, true)
    if (result.status !== 'OK') return result
    const { device } = result
    if (device.email === undefined) {
      // Phone numbers are out of scope for this stand-in (contactMethod EMAIL).
      throw new BadRequest('Only email passwordless devices are supported')
    }
    let user = findUserByEmail(store, tenantId, device.email)
    const createdNewUser = user === undefined
    if (user === undefined) {
      user = {
        id: randomUUID(),
        isPrimaryUser: false,
        tenantIds: [tenantId],
        email: device.email,
        timeJoined: Date.now(),
      }
      store.users.set(user.id, user)
    }
    // From CDI 4.0 the core marks the email verified: the code proves ownership. A mapped
    // user is known to every other recipe (and to the SDK) by its external id.
    const recipeUserId = store.externalUserId(user.id)
    store.setEmailVerified(recipeUserId, device.email, true)
    return {
      status: 'OK',
      createdNewUser,
      user: toCoreUser(store, user),
      recipeUserId,
      consumedDevice: deviceView(device),
    }
  })

  // DeleteCodeAPI (CDI 5.0+): by codeId, or the whole device by preAuthSessionId.
  router.route('post', '/<tenantId>/recipe/signinup/code/remove', ({ body, tenant }) => {
    const codeId = body.optionalString('codeId')
    const preAuthSessionId = body.optionalString('preAuthSessionId')
    if (codeId === undefined && preAuthSessionId === undefined) {
      throw new BadRequest("Please provide either 'codeId' or 'preAuthSessionId'")
    }
    if (codeId !== undefined && preAuthSessionId !== undefined) {
      throw new BadRequest("Please provide only one of 'codeId' or 'preAuthSessionId'")
    }
    const tenantId = tenant.existing()
    if (preAuthSessionId !== undefined) {
      if (tenantDevice(tenantId, preAuthSessionId) !== undefined) store.devices.delete(preAuthSessionId)
      return { status: 'OK' }
    }
    for (const device of store.devices.values()) {
      if (device.tenantId !== tenantId || codeId === undefined || !device.codes.has(codeId)) continue
      // A device without codes is useless, so the core drops it with its last code.
      if (device.codes.size === 1) store.devices.delete(device.deviceIdHash)
      else device.codes.delete(codeId)
    }
    return { status: 'OK' }
  })

  // DeleteCodesAPI: every device of one email or phone number (no other filter).
  router.route('post', '/<tenantId>/recipe/signinup/codes/remove', ({ body, tenant }) => {
    const email = body.optionalString('email')
    const phoneNumber = body.optionalString('phoneNumber')?.trim()
    if ((email === undefined) === (phoneNumber === undefined)) {
      throw new BadRequest('Please provide exactly one of email or phoneNumber')
    }
    const tenantId = tenant.existing()
    if (email !== undefined) deleteDevicesOf(tenantId, { email: normaliseEmail(email) })
    else deleteDevicesOf(tenantId, { phoneNumber })
    return { status: 'OK' }
  })
}
