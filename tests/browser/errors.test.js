'use strict';
// What the web client tells the user when things go wrong: a wrong password, a chat server
// the gateway cannot reach, and a gateway restart (connection lost, retrying, back online).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const L = require('./lib');
const { startGateway, assertCleanExit } = require('../lib/gateway');
const { getFreePort } = require('../lib/ports');

const T = { timeout: 90000 };

test('a wrong password shows a clear error and keeps no session', T, async () => {
  const env = await L.startEnv({ users: ['alice'] });
  try {
    for (const transport of ['websocket', 'bosh']) {
      const page = await env.newPage();
      await L.login(page, env, 'alice', { transport, password: 'not-the-password', expectOnline: false });
      const err = page.locator('#login-error');
      await err.filter({ hasText: 'Wrong address or password.' }).waitFor({ timeout: 15000 });
      assert.equal(await err.getAttribute('role'), 'alert', 'announced to screen readers');
      assert.notEqual(await page.locator('#conn').getAttribute('data-state'), 'online');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('xmppgw.session.v1')), null);
      // The form stays usable: the right password works.
      await page.getByLabel('Password').fill(env.users.alice);
      await page.getByRole('button', { name: 'Log in' }).click();
      await L.waitOnline(page);
      assert.equal(await page.locator('#conn').getAttribute('data-transport'), transport);
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.locator('#login-view:not([hidden])').waitFor({ timeout: 10000 });
      await L.assertNoCspViolations(page, `wrong password over ${transport}`);
    }
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});

test('a chat server the gateway cannot reach is reported in plain words', T, async () => {
  // The route points at a port where nothing listens.
  const env = await L.startEnv({ users: ['alice'], routePort: await getFreePort() });
  try {
    for (const transport of ['websocket', 'bosh']) {
      const page = await env.newPage();
      await L.login(page, env, 'alice', { transport, expectOnline: false });
      await page.locator('#login-error', { hasText: 'could not reach the chat server' }).waitFor({ timeout: 20000 });
      assert.match(await page.locator('#login-error').textContent(), /remote-connection-failed/);
      await L.assertNoCspViolations(page, `unreachable over ${transport}`);
    }
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});

test('gateway restart: "connection lost, retrying", then back online and chatting', T, async () => {
  const env = await L.startEnv({ roster: 'mutual' });
  let gw2 = null;
  try {
    const alice = await env.newPage();
    const bob = await env.newPage();
    await L.login(alice, env, 'alice', { transport: 'websocket' });
    await L.login(bob, env, 'bob', { transport: 'bosh' });
    await L.waitPresence(alice, env.jid('bob'), 'available');

    // SIGTERM: every session ends with system-shutdown (WebSocket close 1001, BOSH terminate).
    await env.stopGateway();
    for (const page of [alice, bob]) {
      await page.locator('#alert:not([hidden])', { hasText: /shutting down|going away/ }).waitFor({ timeout: 10000 });
      await page.locator('#conn[data-state="reconnecting"]').waitFor({ timeout: 10000 });
      assert.match(await page.locator('#conn-text').textContent(), /retrying in \d+ s/);
      assert.equal(await page.getByRole('button', { name: 'Retry now' }).isVisible(), true);
    }

    // The same address comes back; both pages reconnect by themselves (backoff timers).
    gw2 = await startGateway({
      routes: [{ domain: L.DOMAIN, host: '127.0.0.1', port: env.prosody.c2sPort }],
      config: { www_root: env.gw.config.www_root, log_level: 'info', bosh: { max_wait_s: 20 } },
      port: env.gw.port,
    });
    await L.waitOnline(alice, 30000);
    await L.waitOnline(bob, 30000);
    assert.equal(await alice.locator('#alert').isHidden(), true, 'the error went away');
    await L.waitPresence(alice, env.jid('bob'), 'available');
    await L.waitPresence(bob, env.jid('alice'), 'available');
    await L.openChat(alice, env.jid('bob'));
    await L.openChat(bob, env.jid('alice'));
    await L.sendMessage(alice, 'after the restart <ok>');
    await L.waitIncoming(bob, 'after the restart <ok>');
    await L.sendMessage(bob, 'same here ✓');
    await L.waitIncoming(alice, 'same here ✓');
    await L.assertNoCspViolations(alice, 'alice');
    await L.assertNoCspViolations(bob, 'bob');
    await Promise.all(env.contexts.map((c) => c.close()));
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    if (gw2) {
      const r = await gw2.stop();
      if (!env.failed) assertCleanExit(r, 'restarted gateway exit');
    }
    await env.stop();
  }
});
