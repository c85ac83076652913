'use strict';
// Choosing the connection: XEP-0156 discovery from the gateway's host-meta (with non-default
// endpoint paths, so only discovered URLs work), the same-origin fallback when discovery
// gives nothing, and the automatic fallback from a blocked WebSocket to BOSH.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const L = require('./lib');

const T = { timeout: 90000 };
const REL_WS = 'urn:xmpp:alt-connections:websocket';
const REL_BOSH = 'urn:xmpp:alt-connections:xbosh';

test('discovery: the client connects to the endpoints that host-meta announces', T, async (t) => {
  const env = await L.startEnv({
    users: ['alice'],
    gatewayConfig: { websocket: { path: '/chat/ws' }, bosh: { path: '/chat/bosh' } },
  });
  try {
    const origin = new URL(env.url).origin;
    const wantWs = `${origin.replace(/^http/, 'ws')}/chat/ws`;
    const wantBosh = `${origin}/chat/bosh`;
    const json = await L.httpGet(`${origin}/.well-known/host-meta.json`);
    const page = await env.newPage();
    let served;
    if (json.status === 200) {
      // The gateway's own host-meta (the contract): check it, then let the page use it.
      const links = JSON.parse(json.body).links;
      assert.deepEqual(links.filter((l) => l.rel === REL_WS).map((l) => l.href), [wantWs]);
      assert.deepEqual(links.filter((l) => l.rel === REL_BOSH).map((l) => l.href), [wantBosh]);
      const xrd = await L.httpGet(`${origin}/.well-known/host-meta`);
      assert.equal(xrd.status, 200);
      assert.match(xrd.headers['content-type'], /^application\/xrd\+xml/);
      assert.ok(xrd.body.includes(`href='${wantWs}'`) || xrd.body.includes(`href="${wantWs}"`), xrd.body);
      served = 'gateway';
    } else {
      // A gateway without discovery: serve the contract's documents to the page instead, so
      // the client side of discovery is still tested.
      t.diagnostic(`gateway answers host-meta.json with HTTP ${json.status}: serving the contract's host-meta from the test`);
      await page.route(`${origin}/.well-known/host-meta.json`, (route) => route.fulfill({
        status: 200, contentType: 'application/json', headers: { 'access-control-allow-origin': '*' },
        body: JSON.stringify({ links: [{ rel: REL_BOSH, href: wantBosh }, { rel: REL_WS, href: wantWs }] }),
      }));
      served = 'test';
    }
    t.diagnostic(`host-meta served by the ${served}`);

    await L.login(page, env, 'alice', { transport: 'websocket' });
    assert.equal(await page.locator('#about').getAttribute('data-source'), 'host-meta.json');
    assert.equal(await page.locator('#about-ws').textContent(), wantWs);
    assert.equal(await page.locator('#about-bosh').textContent(), wantBosh);
    assert.match(await page.locator('#about-note').textContent(), /discovered from \/\.well-known\/host-meta\.json/);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#login-view:not([hidden])').waitFor({ timeout: 10000 });

    // BOSH forced: also the discovered URL (the default /http-bind does not exist here).
    await L.login(page, env, 'alice', { transport: 'bosh' });
    assert.equal(await page.locator('#conn').getAttribute('data-transport'), 'bosh');
    await L.assertNoCspViolations(page, 'discovery');
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});

test('discovery: the XRD host-meta is used when the JSON one is missing', T, async () => {
  const env = await L.startEnv({
    users: ['alice'],
    gatewayConfig: { websocket: { path: '/x/ws' }, bosh: { path: '/x/bosh' } },
  });
  try {
    const origin = new URL(env.url).origin;
    const page = await env.newPage();
    await page.route(`${origin}/.well-known/host-meta.json`, (route) => route.fulfill({ status: 404, body: 'nope' }));
    const xrd = await L.httpGet(`${origin}/.well-known/host-meta`);
    if (xrd.status !== 200) {
      await page.route(`${origin}/.well-known/host-meta`, (route) => route.fulfill({
        status: 200, contentType: 'application/xrd+xml',
        body: "<?xml version='1.0' encoding='utf-8'?><XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>" +
          `<Link rel='${REL_WS}' href='${origin.replace(/^http/, 'ws')}/x/ws'/><Link rel='${REL_BOSH}' href='${origin}/x/bosh'/></XRD>`,
      }));
    }
    await L.login(page, env, 'alice', { transport: 'auto' });
    assert.equal(await page.locator('#conn').getAttribute('data-transport'), 'websocket');
    assert.equal(await page.locator('#about').getAttribute('data-source'), 'host-meta');
    assert.equal(await page.locator('#about-ws').textContent(), `${origin.replace(/^http/, 'ws')}/x/ws`);
    await L.assertNoCspViolations(page, 'xrd discovery');
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});

test('no discovery: same-origin default endpoints, with a low-key note', T, async () => {
  const env = await L.startEnv({ users: ['alice'] });
  try {
    const origin = new URL(env.url).origin;
    const page = await env.newPage();
    await page.route(`${origin}/.well-known/**`, (route) => route.fulfill({ status: 404, body: 'not here' }));
    await L.login(page, env, 'alice', { transport: 'auto' });
    assert.equal(await page.locator('#conn').getAttribute('data-transport'), 'websocket');
    assert.equal(await page.locator('#about').getAttribute('data-source'), 'default');
    assert.equal(await page.locator('#about-ws').textContent(), `${origin.replace(/^http/, 'ws')}/xmpp-websocket`);
    assert.equal(await page.locator('#about-bosh').textContent(), `${origin}/http-bind`);
    assert.match(await page.locator('#about-note').textContent(), /No endpoint discovery on this server .*HTTP 404.*using the default paths/);
    await L.assertNoCspViolations(page, 'default endpoints');
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});

test('WebSocket blocked: the client falls back to BOSH by itself and says so', T, async () => {
  const env = await L.startEnv({ users: ['alice', 'bob'], roster: 'mutual' });
  try {
    const alice = await env.newPage({ blockWebSocket: true });
    const bob = await env.newPage();
    await L.login(alice, env, 'alice', { transport: 'auto' });
    assert.ok(alice.wsAttempts >= 1, 'the client tried WebSocket first');
    assert.equal(await alice.locator('#conn').getAttribute('data-transport'), 'bosh');
    assert.match(await alice.locator('#alert-text').textContent(), /WebSocket did not work here .* uses BOSH/);
    assert.equal(await alice.locator('#alert').isVisible(), true, 'the note stays visible once online');
    assert.match(await alice.locator('#about-transport').textContent(), /BOSH \(WebSocket was not available\)/);

    // And it works: a message each way with bob on WebSocket.
    await L.login(bob, env, 'bob', { transport: 'websocket' });
    await L.waitPresence(alice, env.jid('bob'), 'available');
    await L.openChat(alice, env.jid('bob'));
    await L.openChat(bob, env.jid('alice'));
    await L.sendMessage(alice, 'over BOSH 🎉');
    await L.waitIncoming(bob, 'over BOSH 🎉');
    await L.sendMessage(bob, 'over WebSocket <ok>');
    await L.waitIncoming(alice, 'over WebSocket <ok>');

    // Forcing WebSocket while it is blocked gives a clear error instead of a silent fallback.
    const forced = await env.newPage({ blockWebSocket: true });
    await L.login(forced, env, 'alice', { transport: 'websocket', expectOnline: false });
    await forced.locator('#login-error', { hasText: /choose "Automatic" or "BOSH"/ }).waitFor({ timeout: 15000 });
    assert.notEqual(await forced.locator('#conn').getAttribute('data-state'), 'online');
    await L.assertNoCspViolations(alice, 'alice');
    await L.assertNoCspViolations(forced, 'forced');
  } catch (e) {
    env.failed = e; // env.stop() then reports its own problems without hiding this one
    throw e;
  } finally {
    await env.stop();
  }
});
