/** SuperTokens' frontend SDK: Passwordless (magic links) + Session, against the API's /auth. */
import SuperTokens from 'supertokens-web-js'
import Passwordless from 'supertokens-web-js/recipe/passwordless'
import Session from 'supertokens-web-js/recipe/session'
import { API_URL, SESSION_MODE } from './config.ts'

let initialised = false

export function initAuth(): void {
  if (initialised) return
  SuperTokens.init({
    appInfo: { appName: 'nudge', apiDomain: API_URL, apiBasePath: '/auth' },
    recipeList: [Session.init({ tokenTransferMethod: SESSION_MODE }), Passwordless.init()],
  })
  initialised = true
}

export { Passwordless, Session }
