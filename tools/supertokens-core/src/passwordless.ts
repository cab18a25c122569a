import { createHash, createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { BadRequest, route } from './routes.ts'
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

function decodeBase64(value: string, what: string): Buffer {
  const bytes = Buffer.from(value, 'base64')
  if (bytes.length === 0) throw new BadRequest(`Input encoding error in ${what}`)
  return bytes
}

function generateUserInputCode(): string {
  let code = ''
  for (let i = 0; i < 6; i++) code += String(randomInt(10))
  return code
}

export function registerPasswordlessRoutes(app: FastifyInstance, store: CoreStore): void {
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

  // Port of the core's Passwordless.checkCodeAndReturnDevice.
  const checkCode = (tenantId: string, body: ConsumeBody, deleteDevicesOnSuccess: boolean): CheckResult => {
    const input = (body ?? {}) as Partial<
      Record<'preAuthSessionId' | 'linkCode' | 'deviceId' | 'userInputCode', unknown>
    >
    const preAuthSessionId = input.preAuthSessionId
    if (typeof preAuthSessionId !== 'string') {
      throw new BadRequest("Field name 'preAuthSessionId' is invalid in JSON input")
    }
    const viaLink = input.linkCode !== undefined
    if (
      viaLink
        ? input.deviceId !== undefined || input.userInputCode !== undefined
        : typeof input.deviceId !== 'string' || typeof input.userInputCode !== 'string'
    ) {
      throw new BadRequest('Please provide exactly one of linkCode or deviceId+userInputCode')
    }
    const now = Date.now()
    const expiredBefore = now - config.passwordlessCodeLifetimeMs

    let deviceIdHash: string
    let linkCodeHash: string
    if (viaLink) {
      if (typeof input.linkCode !== 'string') {
        throw new BadRequest("Field name 'linkCode' is invalid in JSON input")
      }
      linkCodeHash = linkCodeHashOf(Buffer.from(input.linkCode, 'base64url'))
      const found = findCodeByLinkHash(tenantId, linkCodeHash)
      // An expired or already used magic link only ever restarts the flow.
      if (found === undefined || found.code.createdAt < expiredBefore) {
        return { status: 'RESTART_FLOW_ERROR' }
      }
      deviceIdHash = found.device.deviceIdHash
    } else {
      const deviceIdBytes = decodeBase64(input.deviceId as string, 'DeviceId')
      deviceIdHash = deviceIdHashOf(deviceIdBytes)
      const device = store.devices.get(deviceIdHash)
      if (device === undefined || device.tenantId !== tenantId) {
        return { status: 'RESTART_FLOW_ERROR' }
      }
      linkCodeHash = linkCodeHashOf(
        linkCodeOf(deviceIdBytes, device.linkCodeSalt, input.userInputCode as string),
      )
    }

    if (deviceIdHash !== preAuthSessionId.replaceAll('=', '')) {
      throw new BadRequest("preAuthSessionId and deviceId doesn't match")
    }

    const device = store.devices.get(deviceIdHash)
    if (device === undefined) return { status: 'RESTART_FLOW_ERROR' }
    const max = config.passwordlessMaxCodeInputAttempts
    if (device.failedAttempts >= max) {
      store.devices.delete(deviceIdHash)
      return { status: 'RESTART_FLOW_ERROR' }
    }

    const code = [...device.codes.values()].find((c) => c.linkCodeHash === linkCodeHash)
    if (code === undefined || code.createdAt < expiredBefore) {
      if (!viaLink) {
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

  route<'/<tenantId>/recipe/signinup/code', 'post', CreateCodeExtra>(
    app,
    'post',
    '/<tenantId>/recipe/signinup/code',
    ({ body, tenantId }) => {
      const input = (body ?? {}) as Partial<
        Record<'email' | 'phoneNumber' | 'deviceId' | 'userInputCode', unknown>
      >
      const given = ['email', 'phoneNumber', 'deviceId'].filter(
        (k) => input[k as keyof typeof input] !== undefined,
      )
      if (given.length !== 1) {
        throw new BadRequest('Please provide exactly one of email, phoneNumber or deviceId')
      }
      const userInputCode =
        typeof input.userInputCode === 'string' ? input.userInputCode : generateUserInputCode()
      const now = Date.now()

      let deviceIdBytes: Buffer
      let device: PasswordlessDevice
      if (typeof input.deviceId === 'string') {
        deviceIdBytes = decodeBase64(input.deviceId, 'DeviceId')
        const existing = store.devices.get(deviceIdHashOf(deviceIdBytes))
        if (existing === undefined || existing.tenantId !== tenantId) {
          return { status: 'RESTART_FLOW_ERROR' }
        }
        device = existing
      } else {
        deviceIdBytes = randomBytes(32)
        device = {
          deviceIdHash: deviceIdHashOf(deviceIdBytes),
          tenantId,
          linkCodeSalt: randomBytes(32),
          failedAttempts: 0,
          codes: new Map(),
        }
        if (typeof input.email === 'string') {
          device.email = normaliseEmail(input.email)
        } else if (typeof input.phoneNumber === 'string') {
          device.phoneNumber = input.phoneNumber.trim()
        } else {
          throw new BadRequest('Please provide exactly one of email, phoneNumber or deviceId')
        }
      }

      const linkCode = linkCodeOf(deviceIdBytes, device.linkCodeSalt, userInputCode)
      const linkCodeHash = linkCodeHashOf(linkCode)
      if (findCodeByLinkHash(tenantId, linkCodeHash) !== undefined) {
        return { status: 'USER_INPUT_CODE_ALREADY_USED_ERROR' }
      }
      const codeId = randomUUID()
      device.codes.set(codeId, { codeId, linkCodeHash, createdAt: now })
      store.devices.set(device.deviceIdHash, device)

      return {
        status: 'OK',
        preAuthSessionId: device.deviceIdHash,
        codeId,
        deviceId: deviceIdBytes.toString('base64'),
        userInputCode,
        linkCode: linkCode.toString('base64url'),
        timeCreated: now,
        codeLifetime: config.passwordlessCodeLifetimeMs,
      }
    },
  )

  route<'/<tenantId>/recipe/signinup/codes', 'get', ListCodesReply>(
    app,
    'get',
    '/<tenantId>/recipe/signinup/codes',
    ({ query, tenantId }) => {
      let devices = [...store.devices.values()].filter((d) => d.tenantId === tenantId)
      if (query.email !== undefined) {
        const email = normaliseEmail(query.email)
        devices = devices.filter((d) => d.email === email)
      } else if (query.phoneNumber !== undefined) {
        const phoneNumber = query.phoneNumber.trim()
        devices = devices.filter((d) => d.phoneNumber === phoneNumber)
      } else if (query.deviceId !== undefined) {
        const hash = deviceIdHashOf(decodeBase64(query.deviceId, 'DeviceId'))
        devices = devices.filter((d) => d.deviceIdHash === hash)
      } else if (query.preAuthSessionId !== undefined) {
        const hash = query.preAuthSessionId.replaceAll('=', '')
        devices = devices.filter((d) => d.deviceIdHash === hash)
      } else {
        throw new BadRequest('Please provide exactly one of email, phoneNumber, deviceId or preAuthSessionId')
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

  route(app, 'post', '/<tenantId>/recipe/signinup/code/check', ({ body, tenantId }) => {
    const result = checkCode(tenantId, body, false)
    if (result.status !== 'OK') return result
    return { status: 'OK', consumedDevice: deviceView(result.device) }
  })

  route(app, 'post', '/<tenantId>/recipe/signinup/code/consume', ({ body, tenantId }) => {
    const result = checkCode(tenantId, body, true)
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
    // From CDI 4.0 the core marks the email verified: the code proves ownership.
    store.setEmailVerified(user.id, device.email, true)
    return {
      status: 'OK',
      createdNewUser,
      user: toCoreUser(store, user),
      recipeUserId: user.id,
      consumedDevice: deviceView(device),
    }
  })

  route(app, 'post', '/<tenantId>/recipe/signinup/code/remove', ({ body, tenantId }) => {
    const codeId = (body as { codeId?: unknown } | undefined)?.codeId
    if (typeof codeId !== 'string') {
      throw new BadRequest("Field name 'codeId' is invalid in JSON input")
    }
    for (const device of store.devices.values()) {
      if (device.tenantId !== tenantId || !device.codes.has(codeId)) continue
      // A device without codes is useless, so the core drops it with its last code.
      if (device.codes.size === 1) store.devices.delete(device.deviceIdHash)
      else device.codes.delete(codeId)
    }
    return { status: 'OK' }
  })

  route(app, 'post', '/<tenantId>/recipe/signinup/codes/remove', ({ body, tenantId }) => {
    const input = (body ?? {}) as Partial<Record<'email' | 'phoneNumber' | 'preAuthSessionId', unknown>>
    if (typeof input.email === 'string') {
      deleteDevicesOf(tenantId, { email: normaliseEmail(input.email) })
    } else if (typeof input.phoneNumber === 'string') {
      deleteDevicesOf(tenantId, { phoneNumber: input.phoneNumber.trim() })
    } else if (typeof input.preAuthSessionId === 'string') {
      const device = store.devices.get(input.preAuthSessionId)
      if (device?.tenantId === tenantId) {
        store.devices.delete(device.deviceIdHash)
      }
    } else {
      throw new BadRequest('Please provide exactly one of email, phoneNumber or preAuthSessionId')
    }
    return { status: 'OK' }
  })
}
