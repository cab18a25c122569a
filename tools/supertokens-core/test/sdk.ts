// One supertokens-node init per test process (the SDK is a process-wide singleton),
// wired to a stand-in core and to a fastify app that serves the SDK's /auth routes.
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import supertokens from 'supertokens-node'
import { errorHandler, plugin } from 'supertokens-node/framework/fastify'
import Passwordless from 'supertokens-node/recipe/passwordless'
import Session from 'supertokens-node/recipe/session'
import { type StartSuperTokensCoreOptions, type SuperTokensCore, startSuperTokensCore } from '../src/index.ts'

export interface SentEmail {
  email: string
  urlWithLinkCode?: string
  userInputCode?: string
  preAuthSessionId: string
}

export interface Harness {
  core: SuperTokensCore
  api: FastifyInstance
  emails: SentEmail[]
  close(): Promise<void>
}

export async function startHarness(coreOptions: StartSuperTokensCoreOptions = {}): Promise<Harness> {
  const core = await startSuperTokensCore(coreOptions)
  const emails: SentEmail[] = []
  supertokens.init({
    framework: 'fastify',
    supertokens: { connectionURI: core.url },
    appInfo: {
      appName: 'nudge-test',
      apiDomain: 'http://localhost:3000',
      websiteDomain: 'http://localhost:5173',
      apiBasePath: '/auth',
      websiteBasePath: '/auth',
    },
    recipeList: [
      Passwordless.init({
        contactMethod: 'EMAIL',
        flowType: 'MAGIC_LINK',
        emailDelivery: {
          // Capture instead of sending: the SDK's default email service must never run.
          override: (original) => ({
            ...original,
            sendEmail: async (input) => {
              emails.push({
                email: input.email,
                preAuthSessionId: input.preAuthSessionId,
                ...(input.urlWithLinkCode === undefined ? {} : { urlWithLinkCode: input.urlWithLinkCode }),
                ...(input.userInputCode === undefined ? {} : { userInputCode: input.userInputCode }),
              })
            },
          }),
        },
      }),
      Session.init({ getTokenTransferMethod: () => 'header', antiCsrf: 'NONE' }),
    ],
  })
  const api = Fastify()
  api.setErrorHandler(errorHandler())
  await api.register(formbody)
  await api.register(plugin)
  await api.ready()
  return {
    core,
    api,
    emails,
    close: async () => {
      await api.close()
      await core.close()
    },
  }
}

export function linkFrom(email: SentEmail | undefined): {
  preAuthSessionId: string
  linkCode: string
} {
  if (email?.urlWithLinkCode === undefined) throw new Error('no magic link sent')
  const url = new URL(email.urlWithLinkCode)
  const preAuthSessionId = url.searchParams.get('preAuthSessionId')
  const linkCode = url.hash.slice(1)
  if (preAuthSessionId === null || linkCode === '') {
    throw new Error(`unexpected magic link ${email.urlWithLinkCode}`)
  }
  return { preAuthSessionId, linkCode }
}

export function decodeJwt(token: string): {
  header: Record<string, unknown>
  payload: Record<string, unknown>
} {
  const [header, payload] = token.split('.')
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')),
  }
}
