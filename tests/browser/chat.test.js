'use strict';
// The bundled web client (www/) in Debian's chromium, through xmppgw to a real Prosody:
// two users in two browser contexts (one over WebSocket, one forced to BOSH) see each other's
// presence, exchange messages with awkward characters, see typing notifications and
// delivery receipts; a page reload continues the conversation.
//
//   node --test tests/browser/       (XMPPGW_BIN, CHROMIUM_BIN to override the binaries)

const { test } = require('node:test');
const assert = require('node:assert/strict');
const L = require('./lib');

const T = { timeout: 90000 };

// Must arrive byte for byte (textContent of the message body in the other browser).
const BODIES = ['<&>"\'', 'Grüße 日本', '🎉𝄞', 'mixed <b>not markup</b> & "q" \'a\' Grüße 日本語 🎉𝄞 end'];

async function outgoingState(page, body) {
  return page.$$eval('#messages .msg-out', (els, want) => els
    .filter((e) => e.querySelector('.msg-body').textContent === want)
    .map((e) => e.dataset.state), body);
}

async function waitDelivered(page, body, timeout = 15000) {
  await page.waitForFunction((want) => [...document.querySelectorAll('#messages .msg-out')]
    .some((e) => e.querySelector('.msg-body').textContent === want && e.dataset.state === 'delivered'), body, { timeout });
}

test('two users (WebSocket and BOSH): presence, awkward messages both ways, typing, receipts, logout', T, async () => {
  const env = await L.startEnv({ roster: 'mutual' });
  try {
    const alice = await env.newPage();
    const bob = await env.newPage();
    await L.login(alice, env, 'alice', { transport: 'websocket' });
    await L.login(bob, env, 'bob', { transport: 'bosh' });
    assert.equal(await alice.locator('#conn').getAttribute('data-transport'), 'websocket');
    assert.equal(await bob.locator('#conn').getAttribute('data-transport'), 'bosh');
    assert.match(await bob.locator('#conn-text').textContent(), /via BOSH/);

    // Presence both ways (roster provisioned with subscription "both").
    await L.waitPresence(alice, env.jid('bob'), 'available');
    await L.waitPresence(bob, env.jid('alice'), 'available');
    assert.match(await L.contactItem(alice, env.jid('bob')).textContent(), /Bob.*Online/s);

    await L.openChat(alice, env.jid('bob'));
    await L.openChat(bob, env.jid('alice'));

    // Typing notification (XEP-0085): composing shows, an emptied box clears it.
    await alice.locator('#compose-input').fill('typing…');
    await bob.locator('#typing', { hasText: 'Alice is typing…' }).waitFor({ timeout: 10000 });
    await alice.locator('#compose-input').fill('');
    await bob.waitForFunction(() => document.getElementById('typing').textContent === '', null, { timeout: 10000 });

    // Messages both ways, byte-exact, each confirmed by a delivery receipt (XEP-0184).
    for (const body of BODIES) {
      await L.sendMessage(alice, body);
      await L.waitIncoming(bob, body);
      await waitDelivered(alice, body);
      await L.sendMessage(bob, `${body} ↩`);
      await L.waitIncoming(alice, `${body} ↩`);
      await waitDelivered(bob, `${body} ↩`);
    }
    assert.deepEqual(await L.bodies(bob, '#messages .msg-in .msg-body'), BODIES);
    assert.deepEqual(await L.bodies(alice, '#messages .msg-in .msg-body'), BODIES.map((b) => `${b} ↩`));
    assert.deepEqual(await outgoingState(alice, BODIES[0]), ['delivered']);
    assert.match(await alice.locator('#messages .msg-out .msg-status').first().textContent(), /Delivered/);
    // The receipt and typing lines do not create extra messages.
    assert.equal(await alice.locator('#messages .msg').count(), BODIES.length * 2);

    // Typing shows while bob writes, and clears when his message arrives.
    await bob.locator('#compose-input').fill('one more');
    await alice.locator('#typing', { hasText: 'Bob is typing…' }).waitFor({ timeout: 10000 });
    await bob.locator('#compose-input').press('Enter');
    await L.waitIncoming(alice, 'one more');
    assert.equal(await alice.locator('#typing').textContent(), '');

    // Away and do-not-disturb reach the other side.
    await bob.getByLabel('My status').selectOption('away');
    await L.waitPresence(alice, env.jid('bob'), 'away');
    await bob.getByLabel('My status').selectOption('dnd');
    await L.waitPresence(alice, env.jid('bob'), 'dnd');
    assert.match(await alice.locator('#conv-sub').textContent(), /Do not disturb/);
    await bob.getByLabel('My status').selectOption('');
    await L.waitPresence(alice, env.jid('bob'), 'available');

    // Screenshots of both chats, checked to show something.
    const shotA = await L.saveScreenshot(alice, 'chat-alice-websocket.png');
    const shotB = await L.saveScreenshot(bob, 'chat-bob-bosh.png');
    assert.ok(shotA.stats.colours > 50 && shotB.stats.colours > 50, 'screenshots show a rendered chat');

    await L.assertNoCspViolations(alice, 'alice');
    await L.assertNoCspViolations(bob, 'bob');

    // A text over the client's limit is refused with an explanation (the gateway would end
    // the session with policy-violation), and the session stays up.
    await alice.locator('#compose-input').fill('x'.repeat(70000));
    await alice.locator('#compose-input').press('Enter');
    await alice.locator('#alert:not([hidden])', { hasText: 'too long to send' }).waitFor({ timeout: 5000 });
    assert.equal((await alice.locator('#compose-input').inputValue()).length, 70000, 'the text is kept');
    await alice.locator('#compose-input').fill('');
    assert.equal(await alice.locator('#conn').getAttribute('data-state'), 'online');

    // Clean logout: bob goes offline for alice, bob is back at the login form.
    await bob.getByRole('button', { name: 'Log out' }).click();
    await bob.locator('#login-view:not([hidden])').waitFor({ timeout: 10000 });
    await L.waitPresence(alice, env.jid('bob'), 'offline');
    assert.equal(await bob.evaluate(() => sessionStorage.getItem('xmppgw.session.v1')), null, 'no session kept after logout');
    await L.assertNoCspViolations(bob, 'bob after logout');
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});

test('a page reload continues the conversation (WebSocket: XEP-0198 resume; BOSH: same session)', T, async () => {
  const env = await L.startEnv({ roster: 'mutual' });
  try {
    const alice = await env.newPage();
    const bob = await env.newPage();
    await L.login(alice, env, 'alice', { transport: 'websocket' });
    await L.login(bob, env, 'bob', { transport: 'bosh' });
    await L.waitPresence(alice, env.jid('bob'), 'available');
    await L.waitPresence(bob, env.jid('alice'), 'available');
    await L.openChat(alice, env.jid('bob'));
    await L.openChat(bob, env.jid('alice'));
    await L.sendMessage(alice, 'before reload <1>');
    await L.waitIncoming(bob, 'before reload <1>');
    await waitDelivered(alice, 'before reload <1>');

    // The password is not kept anywhere in the page's storage.
    const stored = await alice.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
    assert.ok(!stored.includes(env.users.alice), 'password not in web storage');
    assert.match(stored, /clientKey/, 'SCRAM-derived keys are stored instead');

    // Alice (WebSocket) reloads: XEP-0198 resumption on a new WebSocket.
    await alice.reload();
    await L.waitOnline(alice);
    assert.equal(await alice.locator('#conn').getAttribute('data-session'), 'resumed');
    assert.equal(await alice.locator('#conn').getAttribute('data-transport'), 'websocket');
    await L.openChat(alice, env.jid('bob'));
    assert.deepEqual(await L.bodies(alice, '#messages .msg-out .msg-body'), ['before reload <1>'], 'history kept');
    await L.sendMessage(bob, 'after alice reloaded 🎉');
    await L.waitIncoming(alice, 'after alice reloaded 🎉');
    await L.sendMessage(alice, 'alice is back & well');
    await L.waitIncoming(bob, 'alice is back & well');
    await waitDelivered(alice, 'alice is back & well');
    // Bob still sees alice online: the resumed session never went away.
    await L.waitPresence(bob, env.jid('alice'), 'available');

    // Bob (BOSH) reloads: the same BOSH session continues (sid kept, last rid resent).
    await bob.reload();
    await L.waitOnline(bob);
    assert.equal(await bob.locator('#conn').getAttribute('data-session'), 'attached');
    assert.equal(await bob.locator('#conn').getAttribute('data-transport'), 'bosh');
    await L.openChat(bob, env.jid('alice'));
    await L.sendMessage(alice, 'after bob reloaded: Grüße 日本');
    await L.waitIncoming(bob, 'after bob reloaded: Grüße 日本');
    await L.sendMessage(bob, 'bob is back "too"');
    await L.waitIncoming(alice, 'bob is back "too"');
    await waitDelivered(bob, 'bob is back "too"');
    assert.deepEqual(await L.bodies(bob, '#messages .msg-in .msg-body'),
      ['before reload <1>', 'alice is back & well', 'after bob reloaded: Grüße 日本'], 'no message lost or doubled');
    assert.deepEqual(await L.bodies(alice, '#messages .msg-in .msg-body'),
      ['after alice reloaded 🎉', 'bob is back "too"'], 'no message lost or doubled');

    // A duplicated tab (a copy of alice's sessionStorage) must not take her session away:
    // it logs in next to it with its own resource.
    const entries = await alice.evaluate(() => Object.entries(sessionStorage));
    const connectsBefore = await alice.locator('#conn').getAttribute('data-connects');
    const dup = L.watchPage(await alice.context().newPage());
    await dup.addInitScript((list) => {
      if (!sessionStorage.getItem('xmppgw.session.v1')) for (const [k, v] of list) sessionStorage.setItem(k, v);
    }, entries);
    await dup.goto(env.url);
    await L.waitOnline(dup);
    assert.equal(await dup.locator('#conn').getAttribute('data-session'), 'new');
    const jidOf = async (p) => (/Online as (\S+)/.exec(await p.locator('#conn-text').textContent()) || [])[1];
    assert.notEqual(await jidOf(dup), await jidOf(alice), 'a resource of its own');
    await L.sendMessage(alice, 'first tab still here');
    await L.waitIncoming(bob, 'first tab still here');
    assert.equal(await alice.locator('#conn').getAttribute('data-connects'), connectsBefore, 'the first tab was never disconnected');
    assert.equal(await alice.locator('#conn').getAttribute('data-state'), 'online');

    await L.assertNoCspViolations(alice, 'alice');
    await L.assertNoCspViolations(bob, 'bob');
    await L.assertNoCspViolations(dup, 'duplicated tab');
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});
