'use strict';
// limits.max_sessions_per_ip (CM-08 "limit sessions per IP"): per client address, with the
// address taken from X-Forwarded-For when the connection comes from a local reverse proxy.
// Loopback clients themselves are never limited. Sessions are kept alive by routing to a black
// hole (the upstream connect never completes within the test), so each one stays counted.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');

const { startGateway, assertCleanExit, gatewayAvailable } = require('../lib/gateway');
const { startBlackHole } = require('../lib/fake-server');
const { connectRaw, openXml } = require('../lib/ws-raw');

const SKIP = gatewayAvailable() ? false : 'gateway binary build-asan/xmppgw not built';
const T = { timeout: 30000, skip: SKIP };
const NS_HB = "xmlns='http://jabber.org/protocol/httpbind'";

/** A BOSH creation request: { req, answer (promise of { status, body }), answered() }. */
function boshCreate(port, xff, rid) {
  const body = `<body ${NS_HB} rid='${rid}' to='example.com' wait='20' hold='1' ver='1.11'/>`;
  const headers = { 'Content-Type': 'text/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(body) };
  if (xff) headers['X-Forwarded-For'] = xff;
  let done = false;
  let req;
  const answer = new Promise((resolve, reject) => {
    req = http.request({ host: '127.0.0.1', port, path: '/http-bind', method: 'POST', headers, agent: false }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => { done = true; resolve({ status: res.statusCode, body: data }); });
    });
    req.on('error', (e) => { if (!done) reject(e); });
    req.end(body);
  });
  answer.catch(() => {}); // the held ones are destroyed at the end
  return { req, answer, answered: () => done };
}

async function until(pred, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('limits.max_sessions_per_ip', () => {
  let gw;
  let hole;
  const open = [];

  before(async () => {
    if (SKIP) return;
    hole = await startBlackHole();
    gw = await startGateway({
      routes: [{ domain: 'example.com', host: '127.0.0.1', port: hole.port, allow_plaintext: true }],
      config: { limits: { max_sessions_per_ip: 2 }, upstream: { connect_timeout_s: 60 } },
    });
  });

  after(async () => {
    for (const c of open) { try { c.destroy(); } catch { /* gone */ } }
    if (gw) assertCleanExit(await gw.stop());
    if (hole) await hole.stop();
  });

  const ws = async (xff) => {
    const c = await connectRaw({ port: gw.port, headers: xff ? { 'X-Forwarded-For': xff } : {} });
    open.push(c);
    if (c.upgraded) c.sendText(openXml('example.com'));
    return c;
  };

  test('WebSocket: the third session from one forwarded address gets 429; other addresses and loopback do not count against it', T, async () => {
    const a1 = await ws('203.0.113.9, 192.0.2.10');
    const a2 = await ws('192.0.2.10');
    assert.ok(a1.upgraded && a2.upgraded, 'the first two sessions of 192.0.2.10');
    await until(() => /session created sid=\S+ peer=192\.0\.2\.10 [\s\S]*session created sid=\S+ peer=192\.0\.2\.10 /.test(gw.stderr()), 5000,
      'two sessions logged with the forwarded address (the last X-Forwarded-For entry)');
    const a3 = await ws('192.0.2.10');
    assert.equal(a3.handshakeResponse.status, 429, a3.handshakeResponse.statusLine);
    const b1 = await ws('192.0.2.11');
    assert.ok(b1.upgraded, 'another address is not affected');
    const local = [await ws(null), await ws(null), await ws(null)];
    assert.ok(local.every((c) => c.upgraded), 'loopback clients (no X-Forwarded-For) are never limited');
    const bogus = await ws('not-an-address');
    assert.ok(bogus.upgraded, 'an X-Forwarded-For that is not an address leaves the loopback peer (exempt)');
    // One of 192.0.2.10's sessions ends: a new one is allowed again.
    a1.destroy();
    await until(async () => { const c = await ws('192.0.2.10'); if (c.upgraded) return true; c.destroy(); return false; }, 5000,
      'a new session for 192.0.2.10 after one of its sessions ended');
  });

  test('BOSH: the third creation from one forwarded address gets T(policy-violation)', T, async () => {
    const r1 = boshCreate(gw.port, '198.51.100.7', 100);
    const r2 = boshCreate(gw.port, '198.51.100.7', 200);
    // Both sessions exist (their upstream connects go to a black hole, so they stay held).
    await until(() => (gw.stderr().match(/bosh session created sid=\S+ peer=198\.51\.100\.7 /g) || []).length === 2, 5000,
      'two BOSH sessions of 198.51.100.7');
    assert.ok(!r1.answered() && !r2.answered(), 'the first two creations are held');
    const r3 = await boshCreate(gw.port, '198.51.100.7', 300).answer;
    assert.equal(r3.status, 200, JSON.stringify(r3));
    assert.match(r3.body, /type='terminate'/);
    assert.match(r3.body, /condition='policy-violation'/);
    assert.match(gw.stderr(), /session refused peer=198\.51\.100\.7: limits\.max_sessions_per_ip \(2\) reached/);
    for (const r of [r1, r2]) r.req.destroy();
  });
});

describe('trusted_proxies: who may name the client in X-Forwarded-For', () => {
  let gwChain;
  let gwNone;
  let hole;
  const open = [];

  before(async () => {
    if (SKIP) return;
    hole = await startBlackHole();
    const routes = [{ domain: 'example.com', host: '127.0.0.1', port: hole.port, allow_plaintext: true }];
    const base = { upstream: { connect_timeout_s: 60 } };
    // A chain: the gateway trusts its local proxy and an inner proxy range.
    gwChain = await startGateway({ routes, config: { ...base, limits: { max_sessions_per_ip: 1 }, trusted_proxies: ['127.0.0.0/8', '10.0.0.0/8'] } });
    // Nobody trusted: X-Forwarded-For is ignored and loopback is limited like anyone else.
    gwNone = await startGateway({ routes, config: { ...base, limits: { max_sessions_per_ip: 2 }, trusted_proxies: [] } });
  });

  after(async () => {
    for (const c of open) { try { c.destroy(); } catch { /* gone */ } }
    if (gwChain) assertCleanExit(await gwChain.stop());
    if (gwNone) assertCleanExit(await gwNone.stop());
    if (hole) await hole.stop();
  });

  const ws = async (gw, xff) => {
    const c = await connectRaw({ port: gw.port, headers: xff ? { 'X-Forwarded-For': xff } : {} });
    open.push(c);
    if (c.upgraded) c.sendText(openXml('example.com'));
    return c;
  };
  const sessionsOf = (gw, ip) => (gw.stderr().match(new RegExp(`session created sid=\\S+ peer=${ip.replace(/\./g, '\\.')} `, 'g')) || []).length;

  test('the rightmost entry that is not a trusted proxy is the client; untrusted text stops the walk', T, async () => {
    assert.ok((await ws(gwChain, '192.0.2.50, 10.1.2.3')).upgraded);
    await until(() => sessionsOf(gwChain, '192.0.2.50') === 1, 5000, 'the session of 192.0.2.50 (behind 10.1.2.3)');
    const again = await ws(gwChain, '203.0.113.1, 192.0.2.50, 10.9.9.9');
    assert.equal(again.handshakeResponse.status, 429, 'the same client behind another inner proxy is the same client');
    // A spoofed entry left of a client address is not looked at.
    assert.ok((await ws(gwChain, '192.0.2.50, 198.51.100.9')).upgraded);
    await until(() => sessionsOf(gwChain, '198.51.100.9') === 1, 5000, 'the session of 198.51.100.9');
    // Garbage: the walk stops at it and the local proxy itself is the peer (trusted: not limited).
    for (const xff of ['192.0.2.50, not-an-address', '']) {
      assert.ok((await ws(gwChain, xff)).upgraded, JSON.stringify(xff));
    }
    await until(() => sessionsOf(gwChain, '127.0.0.1') === 2, 5000, 'two sessions counted for the local proxy itself');
  });

  test('with no trusted proxy, X-Forwarded-For is ignored and loopback clients count too', T, async () => {
    const a = await ws(gwNone, '192.0.2.80');
    const b = await ws(gwNone, '192.0.2.81');
    assert.ok(a.upgraded && b.upgraded);
    await until(() => sessionsOf(gwNone, '127.0.0.1') === 2, 5000, 'both sessions counted for 127.0.0.1');
    const c = await ws(gwNone, '192.0.2.82');
    assert.equal(c.handshakeResponse.status, 429);
  });
});
