import type { FastifyRequest } from 'fastify'
import supertokens from 'supertokens-node'
import OAuth2Provider from 'supertokens-node/recipe/oauth2provider'
import Passwordless from 'supertokens-node/recipe/passwordless'
import Session from 'supertokens-node/recipe/session'

/** What the SDK's callbacks need from the app that registered the auth layer. */
export interface AuthBridge {
  /** Sends a sign-in link; `request` is the HTTP request that asked for it, when there is one. */
  sendSignInLink(input: {
    to: string
    link: string
    lifetimeMs: number
    request: FastifyRequest | undefined
  }): Promise<void>
  onSignIn(user: { supertokensUserId: string; email: string }): Promise<void>
  /** Called before the core revokes: throws when the revocation could not be followed after it. */
  beforeSessionsRevoked(): Promise<void>
  /** Sessions revoked through this process: every worker must stop accepting them. */
  onSessionsRevoked(sessionHandles: string[]): Promise<void>
}

export interface SuperTokensSettings {
  connectionURI: string
  apiKey?: string | undefined
  apiDomain: string
  websiteDomain: string
}

/**
 * supertokens-node keeps its configuration in a process-wide singleton, so it is initialised
 * once per process and its callbacks reach the app through `bridge`, which the most recently
 * registered auth layer points at its own app (one per worker in production; tests may build
 * several apps on one database in a process, which share everything the callbacks touch).
 */
let initialisedWith: string | undefined
let bridge: AuthBridge | undefined

export function connectBridge(next: AuthBridge): () => void {
  bridge = next
  return () => {
    if (bridge === next) bridge = undefined
  }
}

function current(): AuthBridge {
  if (!bridge) throw new Error('the auth layer is not registered in this process')
  return bridge
}

/**
 * userContext of SDK calls that create a user for a data import (Go-Live): nobody is signing in,
 * so the sign-in hook does not run (it would create a personal team and sync marketing). Only our
 * own code can set it: for an HTTP request the SDK builds the userContext itself.
 */
export const IMPORT_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({ nudgeImport: true })

function isImport(userContext: Record<string, unknown>): boolean {
  return userContext.nudgeImport === true
}

/** The Fastify request behind an SDK call made while serving one (the SDK's default user context). */
function requestFrom(userContext: Record<string, unknown>): FastifyRequest | undefined {
  return (userContext._default as { request?: { original?: FastifyRequest } } | undefined)?.request?.original
}

export function initSuperTokens(settings: SuperTokensSettings): void {
  const identity = `${settings.connectionURI} ${settings.apiDomain} ${settings.websiteDomain}`
  if (initialisedWith !== undefined) {
    if (initialisedWith !== identity) {
      throw new Error(
        `SuperTokens is already initialised in this process with other settings (${initialisedWith})`,
      )
    }
    return
  }
  supertokens.init({
    framework: 'fastify',
    supertokens: {
      connectionURI: settings.connectionURI,
      ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    },
    appInfo: {
      appName: 'nudge',
      apiDomain: settings.apiDomain,
      websiteDomain: settings.websiteDomain,
      apiBasePath: '/auth',
      websiteBasePath: '/auth',
    },
    // The SDK reports usage to SuperTokens' servers unless told not to; we talk to our core only.
    telemetry: false,
    recipeList: [
      Passwordless.init({
        contactMethod: 'EMAIL',
        flowType: 'MAGIC_LINK',
        // Our mailer, never the SDK's default email service (which calls the SuperTokens SaaS).
        emailDelivery: {
          service: {
            sendEmail: async (input) => {
              if (!input.urlWithLinkCode) throw new Error('magic link flow produced no link')
              await current().sendSignInLink({
                to: input.email,
                link: input.urlWithLinkCode,
                lifetimeMs: input.codeLifetime,
                request: requestFrom(input.userContext),
              })
            },
          },
        },
        override: {
          // "Does this email have an account?" would undo answering known and unknown emails alike.
          apis: (original) => ({ ...original, emailExistsGET: undefined, phoneNumberExistsGET: undefined }),
          functions: (original) => ({
            ...original,
            consumeCode: async (input) => {
              const result = await original.consumeCode(input)
              if (result.status === 'OK' && !isImport(input.userContext)) {
                const email = result.consumedDevice.email ?? result.user.emails[0]
                if (email) await current().onSignIn({ supertokensUserId: result.user.id, email })
              }
              return result
            },
          }),
        },
      }),
      // The SDK serves OAuth2 provider endpoints under /auth unless told otherwise; nudge is no
      // OAuth2 provider, so none of them is served.
      OAuth2Provider.init({ override: { apis: (original) => withoutApis(original) } }),
      Session.init({
        override: {
          functions: (original) => ({
            ...original,
            revokeSession: async (input) => {
              await current().beforeSessionsRevoked()
              const revoked = await original.revokeSession(input)
              await current().onSessionsRevoked([input.sessionHandle])
              return revoked
            },
            revokeMultipleSessions: async (input) => {
              await current().beforeSessionsRevoked()
              const revoked = await original.revokeMultipleSessions(input)
              await current().onSessionsRevoked(input.sessionHandles)
              return revoked
            },
            revokeAllSessionsForUser: async (input) => {
              await current().beforeSessionsRevoked()
              const revoked = await original.revokeAllSessionsForUser(input)
              await current().onSessionsRevoked(revoked)
              return revoked
            },
          }),
        },
      }),
    ],
  })
  initialisedWith = identity
}

/** An API interface with every endpoint switched off: the SDK then does not serve it. */
function withoutApis<T extends object>(original: T): T {
  return Object.fromEntries(Object.keys(original).map((name) => [name, undefined])) as T
}
