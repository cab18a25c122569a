/**
 * Who is signed in, their teams, the current team (from the route's :teamId, else the last one
 * used, else the personal team) and the role in it; `can(action)` from the permission matrix.
 */
import type { components, paths } from '@nudge/api-client'
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, call } from '../api.ts'
import { Session } from '../auth.ts'
import { type Action, can as roleCan } from '../permissions.ts'

export type Me = paths['/v1/me']['get']['responses'][200]['content']['application/json']
export type Team = components['schemas']['Team']

const LAST_TEAM = 'nudge.lastTeam'

export const useSession = defineStore('session', () => {
  const me = ref<Me | null>(null)
  const teams = ref<Team[]>([])
  const currentTeamId = ref<string | null>(null)
  /** True once `load` answered (signed in or not), until `clear`; a 401 while loading is the router's to handle. */
  const loaded = ref(false)

  const team = computed<Team | null>(() => teams.value.find((t) => t.id === currentTeamId.value) ?? null)
  const role = computed(() => team.value?.role ?? null)
  const signedIn = computed(() => me.value !== null)

  function can(action: Action): boolean {
    return roleCan(role.value, action)
  }

  /** Whether the SDK holds a session (refreshing it when the access token expired). */
  async function hasSession(): Promise<boolean> {
    return Session.doesSessionExist()
  }

  /** Loads me and my teams; false (nothing loaded) when there is no session. Throws when the API fails. */
  async function load(): Promise<boolean> {
    if (!(await hasSession())) {
      clear()
      loaded.value = true
      return false
    }
    const [user, list] = await Promise.all([call(api.GET('/v1/me')), call(api.GET('/v1/teams'))])
    me.value = user
    teams.value = list.items
    if (!team.value) selectTeam(defaultTeamId())
    loaded.value = true
    return true
  }

  async function reloadTeams(): Promise<void> {
    teams.value = (await call(api.GET('/v1/teams'))).items
    if (!team.value) selectTeam(defaultTeamId())
  }

  function defaultTeamId(): string | null {
    const last = localStorage.getItem(LAST_TEAM)
    if (last && teams.value.some((t) => t.id === last)) return last
    return (teams.value.find((t) => t.personal) ?? teams.value[0])?.id ?? null
  }

  function selectTeam(id: string | null): void {
    currentTeamId.value = id
    if (id) localStorage.setItem(LAST_TEAM, id)
  }

  function clear(): void {
    loaded.value = false
    me.value = null
    teams.value = []
    currentTeamId.value = null
  }

  async function signOut(): Promise<void> {
    await Session.signOut()
    clear()
    localStorage.removeItem(LAST_TEAM)
  }

  return {
    me,
    teams,
    team,
    role,
    currentTeamId,
    loaded,
    signedIn,
    can,
    load,
    reloadTeams,
    defaultTeamId,
    selectTeam,
    clear,
    signOut,
  }
})
