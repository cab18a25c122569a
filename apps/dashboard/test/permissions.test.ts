import t from 'tap'
import { PERMISSIONS as API_PERMISSIONS, canGrant } from '../../api/src/permissions.ts'
import { ACTION_WORDS, can, grantable, PERMISSIONS, ROLES } from '../src/permissions.ts'

t.test('the dashboard offers exactly what the API allows', async (t) => {
  t.same(
    PERMISSIONS,
    API_PERMISSIONS,
    'the mirrored matrix is the API’s (update src/permissions.ts when this fails)',
  )
  t.same(
    Object.keys(ACTION_WORDS).sort(),
    Object.keys(API_PERMISSIONS).sort(),
    'every action has words for a refusal',
  )
  for (const role of ROLES) {
    for (const action of Object.keys(PERMISSIONS) as (keyof typeof PERMISSIONS)[]) {
      t.equal(
        can(role, action),
        (API_PERMISSIONS[action] as readonly string[]).includes(role),
        `${role} ${action}`,
      )
    }
    t.same(
      grantable(role),
      ROLES.filter((other) => canGrant(role, other)),
      `${role} may give the roles the API lets them give`,
    )
  }
  t.equal(can(null, 'team:read'), false, 'no role, nothing allowed')
})
