import t from 'tap'
import { screenshot, screenshotAtEnd, signIn, startStack } from './stack.ts'

const stack = await startStack(t)

t.test(
  'an invitee accepts in a second browser and, as viewer, is offered no edits',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const owner = (await stack.newPage()).page
    const invitee = (await stack.newPage()).page
    screenshotAtEnd(t, owner, 'invite-owner')
    screenshotAtEnd(t, invitee, 'invite-viewer')

    // The owner makes a team and invites bob as a viewer.
    await signIn(stack, owner, 'owner@example.com')
    await owner.getByRole('link', { name: 'New team' }).click()
    await owner.getByRole('heading', { name: 'New team' }).waitFor()
    await owner.getByLabel('Team name').fill('Acme')
    await owner.getByRole('button', { name: 'Create team' }).click()
    await owner.getByRole('heading', { name: 'Members of Acme' }).waitFor()
    const teamId = owner.url().match(/\/t\/([0-9a-f-]+)\/members/)?.[1]
    t.ok(teamId, 'the new team opens on its members page')
    t.equal(
      await owner.getByLabel('Current team').inputValue(),
      teamId,
      'and is the current team in the switcher',
    )

    await owner.getByLabel('Email address').fill('bob@example.com')
    await owner.getByLabel('Role', { exact: true }).selectOption('viewer')
    await owner.getByRole('button', { name: 'Send invitation' }).click()
    await owner.getByText('Invitation sent to bob@example.com as viewer.').waitFor()
    await owner.getByText('bob@example.com', { exact: true }).waitFor()
    t.pass('the pending invitation is listed')

    // Bob opens the emailed link in his own browser: sign in first, then he is in.
    const link = await stack.linkFromMailbox('bob@example.com', '/invites/accept#')
    t.match(link, `${stack.dashboardUrl}/invites/accept#`, 'the invitation links to the accept page')
    await invitee.goto(link)
    await invitee.getByRole('heading', { name: 'Sign in' }).waitFor()
    t.ok(
      await invitee.getByText('Sign in with the email address the invitation was sent to').isVisible(),
      'the sign-in page says why',
    )
    await signIn(stack, invitee, 'bob@example.com')
    await invitee.waitForURL(`**/t/${teamId}/campaigns`)
    await invitee.getByText('You joined Acme as viewer.').waitFor()
    t.equal(await invitee.getByLabel('Current team').inputValue(), teamId, 'Acme is his current team')
    await screenshot(invitee, 'invite-accepted')

    // As a viewer: what he may not do is not offered.
    const nav = invitee.getByRole('navigation', { name: 'Main' })
    for (const area of ['Leads', 'Billing', 'Audit log']) {
      t.equal(await nav.getByRole('link', { name: area }).count(), 0, `no ${area} in the menu`)
    }
    await nav.getByRole('link', { name: 'Members' }).click()
    await invitee.getByRole('heading', { name: 'Members of Acme' }).waitFor()
    await invitee.getByRole('button', { name: 'Leave team' }).waitFor()
    t.match(await invitee.locator('main').textContent(), 'Your role: viewer', 'his role is stated')
    t.equal(await invitee.getByRole('heading', { name: 'Invite someone' }).count(), 0, 'no invite form')
    t.equal(await invitee.getByRole('combobox', { name: /Role of/ }).count(), 0, 'no role changes')
    t.equal(await invitee.getByRole('button', { name: 'Remove' }).count(), 0, 'no removing')
    t.equal(await invitee.getByRole('button', { name: 'Make owner' }).count(), 0, 'no ownership transfer')
    t.equal(await invitee.getByLabel('Team name').count(), 0, 'no renaming the team')
    t.ok(await invitee.getByRole('button', { name: 'Leave team' }).isVisible(), 'leaving is his to do')
    await screenshot(invitee, 'invite-viewer-members')

    // Forced: the audit log's address typed in. The API's 403, in words.
    await invitee.goto(`/t/${teamId}/audit`)
    const refusal = invitee.locator('.state-error p')
    await refusal.waitFor()
    t.equal(
      await refusal.textContent(),
      'Your role in this team does not allow reading the audit log. Ask an owner or admin of the team if you need it.',
      'a 403 says, in words, what is refused and what to do',
    )
    t.equal(await invitee.getByRole('button', { name: 'Try again' }).count(), 0, 'no retry that cannot help')
    await screenshot(invitee, 'invite-viewer-forced-audit')

    // The owner sees him, makes him an admin; he now may invite.
    await owner.reload()
    const bobsRole = owner.getByRole('combobox', { name: 'Role of bob@example.com' })
    await bobsRole.waitFor()
    t.equal(await bobsRole.inputValue(), 'viewer', 'the owner sees bob as viewer')
    await bobsRole.selectOption('admin')
    await owner.getByText('bob@example.com is now admin.').waitFor()
    await invitee.goto(`/t/${teamId}/members`)
    await invitee.getByRole('heading', { name: 'Invite someone' }).waitFor()
    t.pass('as admin he is offered the invite form')

    // Demoted while his page is open: his next edit is refused, and the page says why.
    await owner.getByRole('combobox', { name: 'Role of bob@example.com' }).selectOption('viewer')
    await owner.getByText('bob@example.com is now viewer.').waitFor()
    await invitee.getByLabel('Email address').fill('carol@example.com')
    await invitee.getByRole('button', { name: 'Send invitation' }).click()
    await invitee
      .getByText(
        'That was refused: your role in Acme is now viewer, and what it does not allow is no longer offered.',
      )
      .waitFor()
    t.pass('a forced edit is refused and the page says his role changed')
    await invitee.getByRole('heading', { name: 'Invite someone' }).waitFor({ state: 'detached' })
    t.pass('and stops offering the invite form')
    await screenshot(invitee, 'invite-viewer-forced-edit')

    // The audit log records it all.
    await owner.goto(`/t/${teamId}/audit`)
    await owner.getByLabel('Action').fill('member.role_changed')
    await owner.getByRole('button', { name: 'Filter' }).click()
    await owner.getByRole('cell', { name: 'member.role_changed' }).first().waitFor()
    t.equal(
      await owner.getByRole('cell', { name: 'member.role_changed' }).count(),
      2,
      'both role changes are in the audit log',
    )
    t.equal(
      await owner.getByRole('cell', { name: 'member.joined' }).count(),
      0,
      'filtered to the action asked for',
    )
    await screenshot(owner, 'invite-owner-audit')

    // The owner's account cannot go while Acme would be left without an owner: the page says which team.
    await owner.getByRole('link', { name: 'owner@example.com' }).click()
    await owner.getByLabel('Your name (as your teams see it)').fill('Olive Owner')
    await owner.getByRole('button', { name: 'Save' }).click()
    await owner.getByText('Your name is saved.').waitFor()
    t.ok(await owner.getByRole('link', { name: 'Olive Owner' }).isVisible(), 'the new name is shown at once')
    await owner.getByRole('button', { name: 'Delete my account…' }).click()
    const deleteDialog = owner.getByRole('dialog', { name: 'Delete your account?' })
    await deleteDialog.getByLabel('Type owner@example.com to confirm').fill('owner@example.com')
    await deleteDialog.getByRole('button', { name: 'Delete my account' }).click()
    const blocked = owner.getByRole('alert').filter({ hasText: 'Your account was not deleted' })
    await blocked.waitFor()
    t.ok(
      await blocked.getByRole('link', { name: 'Acme — choose another owner' }).isVisible(),
      'names the team that needs an owner',
    )
    await screenshot(owner, 'invite-owner-last-owner')

    // Removing him is confirmed in a dialog that keeps the keyboard inside it; Esc backs out.
    await blocked.getByRole('link', { name: 'Acme — choose another owner' }).click()
    const remove = owner.getByRole('button', { name: 'Remove' })
    await remove.click()
    const dialog = owner.getByRole('dialog', { name: 'Remove bob@example.com?' })
    await dialog.waitFor()
    const focusInDialog = () => owner.evaluate(() => document.activeElement?.closest('dialog') !== null)
    t.ok(await focusInDialog(), 'focus moves into the dialog')
    for (let i = 0; i < 4; i++) await owner.keyboard.press('Tab')
    t.ok(await focusInDialog(), 'Tab stays inside it')
    await screenshot(owner, 'invite-owner-remove-dialog')
    await owner.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })
    t.equal(
      await owner.evaluate(() => document.activeElement?.textContent?.trim()),
      'Remove',
      'Esc closes it and focus returns to the button',
    )
    await remove.click()
    await dialog.getByRole('button', { name: 'Remove' }).click()
    await owner.getByText('bob@example.com was removed from the team.').waitFor()
    await owner.getByRole('cell', { name: 'bob@example.com', exact: true }).waitFor({ state: 'detached' })
    t.pass('removed, and gone from the list')
  },
)
