'use strict';
// Adding a contact through the UI (subscription request and approval), a multi-user chat
// room (XEP-0045), a phone-width viewport and keyboard-only use.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const L = require('./lib');

const T = { timeout: 90000 };
const PHONE = { width: 360, height: 740 };

async function noHorizontalScroll(page) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `page wider than the viewport (${scroll} > ${width})`);
}

/** Log in with the keyboard only: labels, Tab order, Enter submits. */
async function keyboardLogin(page, env, name) {
  await page.goto(env.url);
  await page.locator('#login-view:not([hidden])').waitFor({ timeout: 10000 });
  await page.getByLabel('XMPP address').focus();
  await page.keyboard.type(env.jid(name));
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'login-password', 'Tab reaches the password');
  await page.keyboard.type(env.users[name]);
  await page.keyboard.press('Enter');
  await L.waitOnline(page);
}

/** Tab until the focused element matches `selector` (bounded). */
async function tabTo(page, selector, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return;
  }
  assert.fail(`${selector} not reachable with Tab`);
}

test('adding a contact: request, approval, both see each other online (bob on a phone, keyboard only)', T, async () => {
  const env = await L.startEnv({ users: ['alice', 'bob'] }); // empty rosters
  try {
    const alice = await env.newPage();
    const bob = await env.newPage({ viewport: PHONE });
    await L.login(alice, env, 'alice', { transport: 'websocket' });
    await keyboardLogin(bob, env, 'bob');
    await noHorizontalScroll(bob);
    assert.equal(await alice.locator('#roster-empty').isVisible(), true);

    // Alice asks for bob.
    await alice.getByLabel('Add a contact').fill(env.jid('bob'));
    await alice.getByRole('button', { name: 'Add', exact: true }).click();
    await L.contactItem(alice, env.jid('bob')).filter({ hasText: 'Waiting for approval' }).waitFor({ timeout: 10000 });

    // Bob gets the request and accepts it with the keyboard.
    const request = bob.locator(`#requests li[data-jid="${env.jid('alice')}"]`);
    await request.waitFor({ timeout: 10000 });
    assert.match(await request.textContent(), /wants to add you/);
    await tabTo(bob, `#requests button[aria-label="Accept ${env.jid('alice')}"]`);
    await bob.keyboard.press('Enter');
    await request.waitFor({ state: 'detached', timeout: 10000 });

    // Mutual subscription: each sees the other online.
    await L.waitPresence(alice, env.jid('bob'), 'available');
    await L.waitPresence(bob, env.jid('alice'), 'available');

    // Bob (phone) opens the chat from the list with the keyboard; the list makes room for it.
    await bob.locator(`#roster li[data-jid="${env.jid('alice')}"] button`).focus();
    await bob.keyboard.press('Enter');
    await bob.locator('#compose-input').waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await bob.locator('#sidebar').isVisible(), false, 'phone: the conversation replaces the list');
    await bob.keyboard.type('hi from a small screen 📱');
    await bob.keyboard.press('Enter');
    await L.openChat(alice, env.jid('bob'));
    await L.waitIncoming(alice, 'hi from a small screen 📱');
    await noHorizontalScroll(bob);
    // Escape (or the back button) returns to the list, focus on the contact.
    await bob.keyboard.press('Escape');
    await bob.locator('#sidebar').waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await bob.evaluate(() => document.activeElement.closest('li') && document.activeElement.closest('li').dataset.jid),
      env.jid('alice'));
    await L.saveScreenshot(bob, 'phone-bob-roster.png');

    // Focus is visible (an outline) on keyboard focus.
    const outline = await bob.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'visible focus indicator');

    await L.assertNoCspViolations(alice, 'alice');
    await L.assertNoCspViolations(bob, 'bob');
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});

test('multi-user chat: both join a room and see each other\'s messages', T, async () => {
  const env = await L.startEnv({ users: ['alice', 'bob'], muc: true });
  const room = `lobby@${env.prosody.mucDomain}`;
  try {
    const alice = await env.newPage();
    const bob = await env.newPage({ viewport: PHONE });
    await L.login(alice, env, 'alice', { transport: 'websocket' });
    await L.login(bob, env, 'bob', { transport: 'bosh' });

    const join = async (page, nick, state = 'joined', where = room) => {
      await page.getByLabel('Room address').fill(where);
      await page.getByLabel('Nickname').fill(nick);
      await page.getByRole('button', { name: 'Join', exact: true }).click();
      await page.locator(`#rooms li[data-jid="${where}"][data-state="${state}"]`).waitFor({ state: 'attached', timeout: 15000 });
    };
    // Prosody refuses emoji in nicknames (strict resourceprep): the reason is shown. (Another
    // room: Prosody 0.12 leaves a room created by a refused join locked.)
    const other = `other@${env.prosody.mucDomain}`;
    await join(alice, 'Alice 🐇', 'error', other);
    await alice.locator('#room-error', { hasText: 'does not accept that nickname' }).waitFor({ timeout: 5000 });
    assert.match(await alice.locator('#conv-sub').textContent(), /Could not join: the server does not accept that nickname/);
    await alice.getByRole('button', { name: 'Leave room' }).click();
    await alice.locator(`#rooms li[data-jid="${other}"]`).waitFor({ state: 'detached', timeout: 5000 });
    await join(alice, 'Älice'); // creates the room (instant room configuration)
    assert.equal(await alice.locator('#room-error').textContent(), '');
    await join(bob, 'Bob');
    // A taken nickname is refused with a clear message too (from a second page of bob's).
    const bob2 = await env.newPage();
    await L.login(bob2, env, 'bob', { transport: 'websocket' });
    await join(bob2, 'Älice', 'error');
    await bob2.locator('#room-error', { hasText: 'nickname is already taken' }).waitFor({ timeout: 5000 });
    await bob2.getByRole('button', { name: 'Log out' }).click();
    await alice.locator('#conv-sub', { hasText: '2 present' }).waitFor({ timeout: 10000 });

    const text = 'hello room <&>"\' Grüße 日本 🎉𝄞';
    await L.sendMessage(alice, text);
    await L.waitIncoming(bob, text);
    assert.deepEqual(await L.bodies(bob, '#messages .msg-in .msg-author'), ['Älice']);
    // Alice's message comes back from the room: shown once, marked delivered.
    await alice.locator('#messages .msg-out[data-state="delivered"]').waitFor({ timeout: 10000 });
    assert.equal(await alice.locator('#messages .msg').count(), 1);

    await L.sendMessage(bob, 'hi Alice');
    await L.waitIncoming(alice, 'hi Alice');
    assert.deepEqual(await L.bodies(alice, '#messages .msg-in .msg-author'), ['Bob']);
    await noHorizontalScroll(bob);

    // Leaving the room: alice sees one occupant fewer.
    await bob.getByRole('button', { name: 'Leave room' }).click();
    await alice.locator('#conv-sub', { hasText: '1 present' }).waitFor({ timeout: 10000 });
    await L.saveScreenshot(alice, 'room-alice.png');
    await L.assertNoCspViolations(alice, 'alice');
    await L.assertNoCspViolations(bob, 'bob');
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});
