import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { failureHandlers } from './api.ts'
import { initAuth } from './auth.ts'
import { createDashboardRouter } from './router.ts'
import { useNotices } from './stores/notices.ts'
import { useSession } from './stores/session.ts'
import './styles.css'

initAuth()
const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
const router = createDashboardRouter()
app.use(router)

const notices = useNotices(pinia)
const session = useSession(pinia)
failureHandlers.planLimit = (failure) => notices.offerUpgrade(failure)
// Refused: my role may have changed since the page loaded. Reload the roles; if mine changed,
// say so, and the pages stop offering what it no longer allows.
failureHandlers.forbidden = () => {
  const before = session.team
  session
    .reloadTeams()
    .then(() => {
      const after = session.teams.find((team) => team.id === before?.id)
      if (before && after && after.role !== before.role)
        notices.say(
          `That was refused: your role in ${after.name} is now ${after.role}, and what it does not allow is no longer offered.`,
          'info',
          0,
        )
    })
    .catch(() => {})
}
// The SDK already tried a refresh: the session is over. Sign in again, then back here.
failureHandlers.unauthorized = () => {
  const here = router.currentRoute.value
  // Not while the router is loading who is signed in: its guard sends to sign-in itself.
  if (here.meta.public || !session.loaded) return
  session.clear()
  router.push({ name: 'signin', query: { next: here.fullPath, expired: '1' } })
}

app.mount('#app')
