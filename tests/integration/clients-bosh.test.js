'use strict';
// Real web XMPP client libraries over BOSH (XEP-0124 + XEP-0206): Strophe.js (with our
// XMLHttpRequest over node:http, tests/lib/xhr.js) and StanzaJS (Node's fetch), plus a minimal
// raw BOSH client for HTTP/1.0 + Connection: close and HTTP/1.1 keep-alive on two sockets,
// through xmppgw to a real Prosody. The same tests also run against Prosody's own mod_bosh
// ("prosody" target) as a reference for the harness, as clients-ws.test.js does for WebSocket.
//
//   XGW_TARGETS=prosody,gateway (default both)   XMPPGW_BIN=path/to/xmppgw
//   XGW_BOSH_REQUIRED=1: fail instead of skipping the gateway tests when the binary does not
//   serve BOSH (POST /http-bind answered with something other than a <body/>).
//
// Gateway target: a fresh gateway per test (route localhost -> Prosody c2s, bosh.max_wait_s
// 10), stopped at the end of the test with a clean exit required. Prosody target: mod_bosh with
// bosh_max_wait 10. A wait of 10 s (not less) because Strophe times a request out after
// floor(1.1 * wait) s: with wait=5 that is 5 s, and it would race the server's own answer.

const { describe, test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');

const { startProsody } = require('../lib/prosody');
const { startGateway, assertCleanExit, gatewayAvailable } = require('../lib/gateway');
const { xmppjsLogin, stanzaLogin, withTimeout, BODIES } = require('../lib/xmpp-ws');
const B = require('../lib/xmpp-bosh');

const TARGETS = (process.env.XGW_TARGETS || 'prosody,gateway').split(',').map((s) => s.trim()).filter(Boolean);
const T = { timeout: 60000 };
const MAX_WAIT = 10;
const DOMAIN = 'localhost';

const NS_ROSTER = 'jabber:iq:roster';

// BODIES (tests/lib/xmpp-ws.js) must arrive byte-for-byte identical, and so must a big one:
// about 45 KB of UTF-8, about 75 KB once escaped in the request body (below the
// gateway's default bosh.max_body_bytes of 128 KiB and Prosody's 256 KiB).
const BIG_BODY = 'Grüße 日本 🎉𝄞 <&>"\' '.repeat(1500);

const ROSTER_NAME = 'Bob <&> "Grüße" 🎉';
const ROSTER_GROUP = 'Grüße 🎉';

// ASCII passwords (with XML specials): PLAIN in the libraries is only exercised with ASCII.
const USERS = {};
for (const n of ['sa1', 'sp1', 'za1', 'zp1', 'wrong', 'm1', 'm2', 'x1', 'x2', 'y1', 'y2', 'r1', 'r2',
  'k1', 'k2', 'h0', 'h0peer', 'h1', 'h1peer']) USERS[n] = `pw-${n}-<&>"'`;
const pw = (u) => USERS[u];

const bare = (jid) => String(jid).split('/')[0];

/** Fail with the first differing byte unless `got` is exactly `want` (as UTF-8 bytes). */
function assertSameText(got, want, what) {
  assert.equal(typeof got, 'string', `${what}: no text (got ${got})`);
  const g = Buffer.from(got, 'utf8');
  const w = Buffer.from(want, 'utf8');
  if (g.equals(w)) return;
  let i = 0;
  while (i < g.length && i < w.length && g[i] === w[i]) i++;
  assert.fail(`${what}: differs at byte ${i} (got ${g.length} bytes, want ${w.length}); ` +
    `got …${g.subarray(Math.max(0, i - 16), i + 16).toString('hex')} want …${w.subarray(Math.max(0, i - 16), i + 16).toString('hex')}` +
    `\n got: ${JSON.stringify(got.slice(0, 200))}\nwant: ${JSON.stringify(want.slice(0, 200))}`);
}

/** Text of the <body/> child of a Strophe (xmldom) message element. */
const stropheBody = (el) => B.childText(el, 'body', B.NS_CLIENT);

// ---------------------------------------------------------------------------
// Checks shared by the tests

/** Every HTTP request Strophe made for session `sid` was answered 200, none re-sent. */
function assertStropheHttpClean(s, sid, what) {
  const reqs = s.page.requests(sid);
  assert.ok(reqs.length > 0, `${what}: Strophe sent requests for sid ${sid}`);
  const bad = reqs.filter((e) => e.outcome !== 'pending' && (e.outcome !== 'done' || e.status !== 200));
  assert.deepEqual(bad.map((e) => `rid ${e.rid}: ${e.outcome} ${e.status} ${e.error || ''}`), [],
    `${what}: every request answered 200\n${s.page.describe()}`);
  const rids = reqs.map((e) => e.rid);
  const dups = rids.filter((r, i) => rids.indexOf(r) !== i);
  assert.deepEqual(dups, [], `${what}: no request re-sent (Strophe re-sends after errors or timeouts)\n${s.page.describe()}`);
  assert.deepEqual(s.page.XHR.handlerErrors.map(String), [], `${what}: no exception in Strophe's XHR handlers`);
}

/** The server no longer knows `sid`: a request on it gets T(item-not-found) (or a legacy 404). */
async function assertSessionGone(url, sid, rid, what) {
  const r = await B.postOnce(url, `<body xmlns='${B.NS_HB}' sid='${B.escAttr(sid)}' rid='${rid}'/>`);
  if (r.status === 404) return;
  assert.equal(r.status, 200, `${what}: request on the ended session: HTTP ${r.status} ${r.body}`);
  assert.match(r.body, /type=['"]terminate['"]/, `${what}: request on the ended session is answered with a terminate body: ${r.body}`);
  assert.match(r.body, /condition=['"]item-not-found['"]/, `${what}: condition item-not-found: ${r.body}`);
}

/** Strophe logout: graceful, answered, nothing left hanging, session gone at the server. */
async function stropheLogout(s, url, what) {
  const sid = s.sid();
  const last = s.lastRid();
  const r = await s.stop();
  assert.equal(r.timedOut, false, `${what}: the terminate request was answered (Strophe did not have to give up): ` +
    `${s.statusNames().join(', ')}\n${s.page.describe()}`);
  assert.deepEqual(r.inFlight, [], `${what}: no HTTP request left open after logout`);
  const term = s.page.requests(sid).find((e) => /type=['"]terminate['"]/.test(e.body));
  assert.ok(term, `${what}: Strophe sent type='terminate'`);
  assert.equal(term.status, 200, `${what}: terminate answered 200\n${s.page.describe()}`);
  assert.ok(/^<body\b/.test(term.response.trim()) && term.response.includes(B.NS_HB),
    `${what}: terminate answered with a <body/>: ${term.response}`);
  assertStropheHttpClean(s, sid, what);
  await assertSessionGone(url, sid, last + 10, `${what}: after logout`);
}

/** StanzaJS logout: terminate answered, no fetch left open, session gone at the server. */
async function stanzaLogout(s, url, what) {
  const sid = s.sid();
  const ridMatch = [...s.raw.outgoing.join('\n').matchAll(/\brid=['"](\d+)['"]/g)].map((m) => Number(m[1]));
  await s.stop();
  assert.ok(s.streamEnded(), `${what}: StanzaJS saw the server's terminate (stream:end)\n${s.describe()}`);
  await B.until(() => s.activeRequests().length === 0, 3000, `${what}: every StanzaJS HTTP request answered after logout` +
    ` (still open: rids ${s.activeRequests()})\n${s.describe()}`);
  assert.deepEqual(s.transportErrors, [], `${what}: no failed HTTP request\n${s.describe()}`);
  assert.deepEqual(s.streamErrors, [], `${what}: no stream error`);
  if (sid) await assertSessionGone(url, sid, Math.max(...ridMatch) + 10, `${what}: after logout`);
}

// ---------------------------------------------------------------------------
// Gateway: probe once whether the binary serves BOSH at all.
let probe = null;
function probeGatewayBosh(prosody) {
  if (!probe) {
    probe = (async () => {
      if (!gatewayAvailable()) return { ok: false, reason: 'gateway binary not built' };
      const gw = await startGateway({ routes: [{ domain: DOMAIN, host: '127.0.0.1', port: prosody.c2sPort }] });
      try {
        const r = await B.postOnce(`${gw.httpUrl}/http-bind`, `<body xmlns='${B.NS_HB}' rid='1000' ` +
          "to='no-such-host.invalid' wait='1' hold='1' ver='1.6' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'/>");
        if (/^\s*<body\b/.test(r.body)) return { ok: true };
        return { ok: false, reason: `POST /http-bind answered ${r.status} ${JSON.stringify(r.body.slice(0, 120))}` };
      } catch (e) {
        return { ok: false, reason: `probe failed: ${e.message.slice(0, 300)}` };
      } finally {
        await gw.stop();
      }
    })();
  }
  return probe;
}

// ---------------------------------------------------------------------------
for (const target of TARGETS) {
  describe(`BOSH clients via ${target} to a plaintext loopback Prosody`, () => {
    let prosody;
    let skipReason = null;

    before(async () => {
      prosody = await startProsody({ hosts: [{ domain: DOMAIN, users: USERS }], bosh: { maxWait: MAX_WAIT } });
      if (target === 'gateway') {
        const p = await probeGatewayBosh(prosody);
        if (!p.ok) skipReason = `BOSH not served by this build: ${p.reason}`;
      }
    });
    after(async () => {
      B.killAllSessions();
      if (prosody) await prosody.stop();
    });
    afterEach(() => B.killAllSessions());

    /**
     * Run one test body with { boshUrl, wsUrl, httpPort, gw, track(client) }: on the gateway
     * target a gateway of its own that must exit cleanly afterwards. On failure the traffic of
     * every tracked client and the gateway's stderr are added to the error.
     */
    async function run(t, fn) {
      if (skipReason) {
        if (process.env.XGW_BOSH_REQUIRED) assert.fail(skipReason);
        t.skip(skipReason);
        return;
      }
      let gw = null;
      if (target === 'gateway') {
        gw = await startGateway({
          routes: [{ domain: DOMAIN, host: '127.0.0.1', port: prosody.c2sPort, tls: 'starttls', tls_verify: true }],
          config: { bosh: { max_wait_s: MAX_WAIT } },
        });
      }
      const tracked = [];
      const ctx = {
        gw,
        boshUrl: gw ? `${gw.httpUrl}/http-bind` : prosody.boshUrl,
        wsUrl: gw ? gw.wsUrl : prosody.wsUrl,
        httpPort: gw ? gw.port : prosody.httpPort,
        track: (c) => { tracked.push(c); return c; },
      };
      let err = null;
      try {
        await fn(ctx);
      } catch (e) {
        err = e;
      }
      if (err) {
        for (const c of tracked) {
          try { err.message += `\n--- ${c.describe()}`; } catch { /* ignore */ }
        }
      }
      B.killAllSessions();
      if (gw) {
        const res = await gw.stop();
        if (err) {
          err.message += `\n--- gateway exit code=${res.code} signal=${res.signal}; stderr (tail) ---\n${B.tail(res.stderr, 8000)}`;
        } else {
          assertCleanExit(res, 'gateway exit at the end of the test');
        }
      }
      if (err) throw err;
    }

    // -------------------------------------------------------------- login / roster / logout
    async function stropheSession(ctx, user, mechanism) {
      const resource = `strophe-${mechanism}`;
      const contact = 'contact@localhost';
      const s = ctx.track(await B.stropheLogin({
        url: ctx.boshUrl, domain: DOMAIN, username: user, password: pw(user), resource, mechanism,
      }));
      assert.ok(s.offeredMechanisms.includes(mechanism), `${mechanism} offered (offered: ${s.offeredMechanisms})`);
      assert.equal(s.usedMechanism, mechanism, 'Strophe authenticated with the forced mechanism');
      for (const m of s.offeredMechanisms) assert.ok(!m.endsWith('-PLUS'), `channel-binding mechanism ${m} must not be offered over BOSH`);
      assert.doesNotMatch(s.raw.in.join(''), /<starttls\b/, 'no <starttls/> reaches the BOSH client');
      assert.equal(s.jid, `${user}@${DOMAIN}/${resource}`, 'bound JID');
      // Session parameters from the creation response: wait clamped to the server's maximum.
      assert.equal(s.conn._proto.wait, MAX_WAIT, `wait: Strophe asked for 60, the server allows ${MAX_WAIT}`);
      assert.equal(s.conn._proto.hold, 1, 'hold');
      assert.ok(s.conn._proto.window >= 2, `requests=${s.conn._proto.window}`);
      const { $iq } = B.loadStrophe();
      await s.iq($iq({ type: 'set' }).c('query', { xmlns: NS_ROSTER })
        .c('item', { jid: contact, name: ROSTER_NAME }).c('group').t(ROSTER_GROUP), 8000, 'roster set');
      const res = await s.iq($iq({ type: 'get' }).c('query', { xmlns: NS_ROSTER }), 8000, 'roster get');
      assert.equal(res.getAttribute('type'), 'result');
      const query = B.childElements(res, 'query', NS_ROSTER)[0];
      assert.ok(query, `roster result has a query: ${res.toString()}`);
      const item = B.childElements(query, 'item').find((i) => i.getAttribute('jid') === contact);
      assert.ok(item, `roster contains ${contact}: ${res.toString()}`);
      assertSameText(item.getAttribute('name'), ROSTER_NAME, 'roster item name');
      assertSameText(B.childText(item, 'group'), ROSTER_GROUP, 'roster group');
      const ping = await s.iq($iq({ type: 'get', to: DOMAIN }).c('ping', { xmlns: 'urn:xmpp:ping' }), 8000, 'ping');
      assert.equal(ping.getAttribute('type'), 'result');
      await stropheLogout(s, ctx.boshUrl, `Strophe ${mechanism} logout`);
      assert.deepEqual(s.statusNames().filter((n) => !/^(CONNECTING|AUTHENTICATING|CONNECTED|DISCONNECTING|DISCONNECTED)/.test(n)), [],
        `no unexpected Strophe status (${s.statusNames().join(', ')})`);
    }

    async function stanzaSession(ctx, user, mechanism) {
      const resource = `stanza-${mechanism}`;
      const contact = 'contact@localhost';
      const s = ctx.track(await B.stanzaBoshLogin({
        url: ctx.boshUrl, domain: DOMAIN, username: user, password: pw(user), resource, mechanism,
      }));
      assert.ok(s.offeredMechanisms.includes(mechanism), `offered ${s.offeredMechanisms}`);
      for (const m of s.offeredMechanisms) assert.ok(!m.endsWith('-PLUS'), `channel-binding mechanism ${m} must not be offered over BOSH`);
      assert.ok(s.raw.outgoing.some((d) => new RegExp(`mechanism=["']${mechanism}["']`).test(d)),
        `StanzaJS authenticated with ${mechanism}`);
      assert.ok(s.raw.incoming.every((d) => !/<starttls\b/.test(d)), 'no <starttls/> reaches the BOSH client');
      assert.equal(s.jid, `${user}@${DOMAIN}/${resource}`, 'bound JID');
      await withTimeout(s.client.updateRosterItem({ jid: contact, name: ROSTER_NAME, groups: [ROSTER_GROUP] }), 8000, 'roster set');
      const roster = await withTimeout(s.client.getRoster(), 8000, 'roster get');
      const item = roster.items.find((i) => i.jid === contact);
      assert.ok(item, `roster contains ${contact}: ${JSON.stringify(roster)}`);
      assertSameText(item.name, ROSTER_NAME, 'roster item name');
      assert.deepEqual(item.groups, [ROSTER_GROUP]);
      await withTimeout(s.client.ping(DOMAIN), 8000, 'ping');
      await stanzaLogout(s, ctx.boshUrl, `StanzaJS ${mechanism} logout`);
    }

    test('Strophe.js: SCRAM-SHA-1 login, bind, roster, ping, logout', T, (t) => run(t, (ctx) => stropheSession(ctx, 'sa1', 'SCRAM-SHA-1')));
    test('Strophe.js: PLAIN login, bind, roster, ping, logout', T, (t) => run(t, (ctx) => stropheSession(ctx, 'sp1', 'PLAIN')));
    test('StanzaJS: SCRAM-SHA-1 login, bind, roster, ping, logout', T, (t) => run(t, (ctx) => stanzaSession(ctx, 'za1', 'SCRAM-SHA-1')));
    test('StanzaJS: PLAIN login, bind, roster, ping, logout', T, (t) => run(t, (ctx) => stanzaSession(ctx, 'zp1', 'PLAIN')));

    test('wrong password is refused (Strophe AUTHFAIL, StanzaJS auth:failed), both mechanisms', T, (t) => run(t, async (ctx) => {
      for (const mechanism of ['PLAIN', 'SCRAM-SHA-1']) {
        await assert.rejects(
          B.stropheLogin({ url: ctx.boshUrl, domain: DOMAIN, username: 'wrong', password: 'not-the-password', resource: 'x', mechanism }),
          (e) => {
            assert.equal(e.status, 'AUTHFAIL', `Strophe ${mechanism}: ${e.message}`);
            assert.match(e.elem || '', /<failure\b[^>]*>\s*<not-authorized\s*\/>/, `SASL failure reached Strophe: ${e.elem}`);
            assert.ok(e.strophe.statusNames().includes('DISCONNECTED'), `the failed session was ended (${e.strophe.statusNames()})`);
            assert.deepEqual(e.inFlight, [], 'no request left open after the failed login ended');
            return true;
          },
        );
        await assert.rejects(
          B.stanzaBoshLogin({ url: ctx.boshUrl, domain: DOMAIN, username: 'wrong', password: 'not-the-password', resource: 'x', mechanism }),
          /authentication failed/,
        );
      }
      // The right password still works afterwards.
      const s = ctx.track(await B.stropheLogin({ url: ctx.boshUrl, domain: DOMAIN, username: 'wrong', password: pw('wrong'), resource: 'ok', mechanism: 'PLAIN' }));
      await stropheLogout(s, ctx.boshUrl, 'Strophe logout after failed attempts');
    }));

    // -------------------------------------------------------------- messages
    /** Strophe session `a` <-> peer `b` (adapter): every body both ways, then bursts in order. */
    async function exchange(a, b, bodies, label) {
      const aJid = a.jid;
      const bJid = b.jid;
      for (const [i, body] of bodies.entries()) {
        const id = `${label}-a2b-${i}`;
        a.sendMessage(bJid, body, id);
        const got = await b.take(id, `message ${id} (${Buffer.byteLength(body)} bytes) a->b`);
        assert.equal(got.from, aJid, `from of ${id}`);
        assertSameText(got.body, body, `body ${i} a->b (${label})`);
      }
      for (const [i, body] of bodies.entries()) {
        const id = `${label}-b2a-${i}`;
        b.sendMessage(aJid, body, id);
        const got = await a.take(id, `message ${id} (${Buffer.byteLength(body)} bytes) b->a`);
        assert.equal(got.from, bJid, `from of ${id}`);
        assertSameText(got.body, body, `body ${i} b->a (${label})`);
      }
      // Bursts without waiting: order must be kept in both directions.
      const N = 12;
      for (const [from, to, dir] of [[a, b, 'a2b'], [b, a, 'b2a']]) {
        for (let i = 0; i < N; i++) from.sendMessage(to.jid, `${dir} burst ${i} 🎉 <&>`, `${label}-${dir}-burst-${i}`);
        const order = [];
        for (let i = 0; i < N; i++) {
          const got = await to.take(null, `burst message ${i} ${dir}`);
          order.push(got.id);
        }
        assert.deepEqual(order, Array.from({ length: N }, (_, i) => `${label}-${dir}-burst-${i}`), `burst ${dir} arrives complete and in order`);
      }
    }

    // Adapters: { jid, sendMessage(to, body, id), take(id|null, what) -> { id, from, body } }
    const stropheSide = (s) => ({
      jid: s.jid,
      sendMessage: (to, body, id) => s.sendMessage(to, body, id),
      take: async (id, what) => {
        const el = await s.inbox.take((m) => (id === null ? /burst/.test(m.getAttribute('id') || '') : m.getAttribute('id') === id), 10000, what);
        return { id: el.getAttribute('id'), from: el.getAttribute('from'), body: stropheBody(el) };
      },
    });
    const stanzaSide = (s) => ({
      jid: s.jid,
      sendMessage: (to, body, id) => s.client.sendMessage({ to, type: 'chat', id, body }),
      take: async (id, what) => {
        const m = await s.inbox.take((x) => (id === null ? /burst/.test(x.id || '') : x.id === id), 10000, what);
        return { id: m.id, from: m.from, body: m.body };
      },
    });
    const xmppjsSide = (s) => ({
      jid: s.jid.toString(),
      sendMessage: (to, body, id) => s.xmpp.send(s.xml('message', { to, type: 'chat', id }, s.xml('body', {}, body))),
      take: async (id, what) => {
        const st = await s.inbox.take((x) => x.is('message') && (id === null ? /burst/.test(x.attrs.id || '') : x.attrs.id === id), 10000, what);
        return { id: st.attrs.id, from: st.attrs.from, body: st.getChildText('body') };
      },
    });
    const rawSide = (x) => ({
      jid: x.jid,
      sendMessage: (to, body, id) => { x.sendMessage(to, body, id).catch(() => {}); },
      take: async (id, what) => {
        const el = await x.inbox.take((m) => m.localName === 'message' && (id === null ? /burst/.test(m.getAttribute('id') || '') : m.getAttribute('id') === id), 10000, what);
        return { id: el.getAttribute('id'), from: el.getAttribute('from'), body: stropheBody(el) };
      },
    });

    test('messages both ways Strophe.js (BOSH) <-> StanzaJS (BOSH): <&>"\', non-ASCII, astral, 45 KB; hold=1 uses two sockets', T, (t) => run(t, async (ctx) => {
      const a = ctx.track(await B.stropheLogin({ url: ctx.boshUrl, domain: DOMAIN, username: 'm1', password: pw('m1'), resource: 'strophe', mechanism: 'SCRAM-SHA-1' }));
      const b = ctx.track(await B.stanzaBoshLogin({ url: ctx.boshUrl, domain: DOMAIN, username: 'm2', password: pw('m2'), resource: 'stanza', mechanism: 'PLAIN' }));
      const { $pres } = B.loadStrophe();
      a.send($pres());
      b.client.sendPresence();
      await exchange(stropheSide(a), stanzaSide(b), [...BODIES, BIG_BODY], 'sz');
      // A message to the bare JID reaches the only resource.
      a.sendMessage(bare(b.jid), BODIES[4], 'sz-bare');
      const got = await b.inbox.take((m) => m.id === 'sz-bare', 10000, 'message to the bare JID');
      assertSameText(got.body, BODIES[4], 'body to bare JID');
      // hold=1: while one request is held at the server, Strophe sends on a second socket.
      const sid = a.sid();
      const ov = B.overlap(a.page.requests(sid));
      assert.ok(ov.count >= 2, `Strophe had two requests open at once (max ${ov.count})\n${a.page.describe()}`);
      assert.ok(ov.sockets.length >= 2, `on two sockets (${ov.sockets})`);
      assert.ok(a.page.XHR.log.filter((e) => e.reusedSocket).length > 0, 'keep-alive: sockets are reused');
      assertStropheHttpClean(a, sid, 'Strophe during the exchange');
      assert.deepEqual(b.transportErrors, [], 'StanzaJS: no failed HTTP request');
      assert.deepEqual(b.streamErrors, []);
      await stropheLogout(a, ctx.boshUrl, 'Strophe logout');
      await stanzaLogout(b, ctx.boshUrl, 'StanzaJS logout');
    }));

    test('messages both ways Strophe.js (BOSH) <-> @xmpp/client (WebSocket)', T, (t) => run(t, async (ctx) => {
      const a = ctx.track(await B.stropheLogin({ url: ctx.boshUrl, domain: DOMAIN, username: 'x1', password: pw('x1'), resource: 'strophe', mechanism: 'PLAIN' }));
      const w = await xmppjsLogin({ url: ctx.wsUrl, domain: DOMAIN, username: 'x2', password: pw('x2'), resource: 'ws', mechanism: 'SCRAM-SHA-1' });
      try {
        await exchange(stropheSide(a), xmppjsSide(w), [...BODIES, BIG_BODY], 'xw');
        assertStropheHttpClean(a, a.sid(), 'Strophe during the exchange');
        assert.deepEqual(w.errors, []);
        await stropheLogout(a, ctx.boshUrl, 'Strophe logout');
      } finally {
        await w.stop().catch(() => {});
      }
    }));

    test('messages both ways StanzaJS (BOSH) <-> StanzaJS (WebSocket)', T, (t) => run(t, async (ctx) => {
      const a = ctx.track(await B.stanzaBoshLogin({ url: ctx.boshUrl, domain: DOMAIN, username: 'y1', password: pw('y1'), resource: 'bosh', mechanism: 'SCRAM-SHA-1' }));
      const w = await stanzaLogin({ url: ctx.wsUrl, domain: DOMAIN, username: 'y2', password: pw('y2'), resource: 'ws', mechanism: 'PLAIN' });
      try {
        await exchange(stanzaSide(a), stanzaSide(w), [...BODIES, BIG_BODY], 'yw');
        assert.deepEqual(a.transportErrors, []);
        await stanzaLogout(a, ctx.boshUrl, 'StanzaJS BOSH logout');
      } finally {
        await w.stop().catch(() => {});
      }
    }));

    // -------------------------------------------------------------- page reload
    /**
     * Page reload: Strophe on page A chats, page A dies (requests aborted, sockets closed, no
     * terminate), `resume(pageB, info)` builds a new Strophe.Connection that continues the same
     * BOSH session; it must keep chatting and log out cleanly.
     */
    async function reloadScenario(ctx, { userA, userB, keepalive, resume }) {
      const pageA = new B.StrophePage('page A');
      const a = ctx.track(await B.stropheLogin({ url: ctx.boshUrl, domain: DOMAIN, username: userA, password: pw(userA),
        resource: 'reload', mechanism: 'PLAIN', page: pageA, keepalive }));
      const b = ctx.track(await B.stanzaBoshLogin({ url: ctx.boshUrl, domain: DOMAIN, username: userB, password: pw(userB), resource: 'peer', mechanism: 'SCRAM-SHA-1' }));
      await exchange(stropheSide(a), stanzaSide(b), BODIES.slice(0, 3), 'before');
      const info = { jid: a.jid, sid: a.sid(), lastRid: a.lastRid() };
      assert.equal(a.conn._proto.rid, info.lastRid + 1, 'Strophe\'s next rid is the last one sent + 1');
      assertStropheHttpClean(a, info.sid, 'page A');
      // The page dies: no terminate, its held request is cut off with its socket.
      a.abandon();
      const sentByA = pageA.XHR.log.length;
      assert.ok(!pageA.XHR.log.some((e) => /type=['"]terminate['"]/.test(e.body)), 'page A sent no terminate');

      const pageB = new B.StrophePage('page B');
      const a2 = ctx.track(resume(pageB, info));
      assert.ok(a2.statusNames().includes('ATTACHED'), `new connection attached (${a2.statusNames()})`);
      assert.equal(a2.jid, info.jid, 'same full JID');
      // An IQ round trip through the continued session.
      const { $iq } = B.loadStrophe();
      const roster = await a2.iq($iq({ type: 'get' }).c('query', { xmlns: NS_ROSTER }), 8000, 'roster get after the reload');
      assert.equal(roster.getAttribute('type'), 'result', `roster result after the reload: ${roster.toString()}`);
      const first = pageB.XHR.log[0];
      assert.ok(first, 'page B sent a request');
      assert.equal(first.sid, info.sid, 'page B continues the same sid');
      assert.equal(first.rid, info.lastRid + 1, 'page B\'s first rid is the last rid of page A + 1');
      assert.equal(first.status, 200, `the first request of page B was accepted\n${pageB.describe()}`);
      assert.doesNotMatch(first.response, /type=['"]terminate['"]/, `the session was not ended: ${first.response}`);
      // Keeps chatting both ways, from the same full JID.
      await exchange(stropheSide(a2), stanzaSide(b), BODIES, 'after');
      assert.equal(pageA.XHR.log.length, sentByA, 'the abandoned connection sent nothing more');
      assertStropheHttpClean(a2, info.sid, 'page B');
      await stropheLogout(a2, ctx.boshUrl, 'logout from page B');
      await stanzaLogout(b, ctx.boshUrl, 'StanzaJS peer logout');
      pageB.kill();
    }

    test('Strophe.js page reload: a new Connection attach()es with jid, sid, rid+1 and keeps chatting', T, (t) => run(t, (ctx) => reloadScenario(ctx, {
      userA: 'r1',
      userB: 'r2',
      keepalive: false,
      resume: (page, info) => B.stropheAttach({ page, url: ctx.boshUrl, jid: info.jid, sid: info.sid, rid: info.lastRid + 1 }),
    })));

    test('Strophe.js page reload: keepalive + restore() from sessionStorage keeps chatting', T, (t) => run(t, async (ctx) => {
      const hadStorage = Object.prototype.hasOwnProperty.call(globalThis, 'sessionStorage');
      const saved = globalThis.sessionStorage;
      const storage = new B.MemoryStorage();
      globalThis.sessionStorage = storage;
      try {
        await reloadScenario(ctx, {
          userA: 'k1',
          userB: 'k2',
          keepalive: true,
          resume: (page, info) => {
            const cached = JSON.parse(storage.getItem('strophe-bosh-session'));
            assert.deepEqual(cached, { jid: info.jid, sid: info.sid, rid: info.lastRid + 1 },
              'Strophe cached jid, sid and the next rid in sessionStorage');
            return B.stropheRestore({ page, url: ctx.boshUrl, jid: bare(info.jid) });
          },
        });
        assert.equal(storage.getItem('strophe-bosh-session'), null, 'the cached session is dropped after logout');
      } finally {
        if (hadStorage) globalThis.sessionStorage = saved; else delete globalThis.sessionStorage;
      }
    }));

    // -------------------------------------------------------------- raw HTTP/1.0 and keep-alive
    async function rawScenario(ctx, { mode, user, peerUser, peerLogin }) {
      const transport = new B.RawBoshTransport({ port: ctx.httpPort, mode, sockets: 2 });
      const x = new B.RawBoshXmpp({ transport, domain: DOMAIN, wait: MAX_WAIT });
      ctx.track(x);
      try {
        const jid = await x.login({ username: user, password: pw(user), resource: `raw-${mode}` });
        assert.equal(jid, `${user}@${DOMAIN}/raw-${mode}`, 'bound JID');
        const peer = await peerLogin({ url: ctx.wsUrl, domain: DOMAIN, username: peerUser, password: pw(peerUser), resource: 'ws', mechanism: 'PLAIN' });
        try {
          const side = peer.xmpp ? xmppjsSide(peer) : stanzaSide(peer);
          await exchange(rawSide(x), side, BODIES, `raw${mode}`);
          const roster = await x.iq('get', 'roster1', `<query xmlns='${NS_ROSTER}'/>`);
          assert.equal(roster.getAttribute('type'), 'result', `roster get: ${roster.toString()}`);
        } finally {
          await peer.stop().catch(() => {});
        }
        const sid = x.sid;
        const lastRid = x.rid - 1;
        const r = await x.logout();
        assert.equal(r.res.status, 200, 'terminate answered 200');
        assert.deepEqual(x.errors.map((e) => e.message), [], `no failed HTTP exchange\n${x.describe()}`);
        assert.deepEqual(x.problems, [], `every response well-framed and valid\n${x.describe()}`);
        // The hold=1 pattern was used: two requests open at once.
        const ov = B.overlap(transport.log.map((e) => ({ start: e.start, end: e.end, socket: e.socket })));
        assert.ok(ov.count >= 2, `two requests were open at once (max ${ov.count})`);
        if (mode === '1.0') {
          const sockets = new Set(transport.log.map((e) => e.socket));
          assert.equal(sockets.size, transport.log.length, 'one TCP connection per HTTP/1.0 request');
          assert.ok(transport.log.every((e) => e.res && e.res.serverClosed), 'the server closed every HTTP/1.0 connection after its response');
        } else {
          assert.equal(transport.sockets.length, 2, 'exactly two keep-alive sockets were used');
          for (const s of transport.sockets) {
            assert.ok(s.served >= 2, `keep-alive socket ${s.id} carried ${s.served} requests (>= 2 expected)`);
            assert.equal(s.closedBy, null, `keep-alive socket ${s.id} stayed open during the session (closed by ${s.closedBy})`);
            assert.equal(s.unexpected, undefined, `no unsolicited bytes on socket ${s.id}: ${s.unexpected}`);
          }
          assert.equal(transport.sockets.reduce((n, s) => n + s.served, 0), transport.log.length, 'every request answered on its socket');
        }
        await assertSessionGone(ctx.boshUrl, sid, lastRid + 10, 'raw client after logout');
      } finally {
        transport.close();
      }
    }

    test('BOSH-01 raw client over HTTP/1.0 with Connection: close on every request: PLAIN, restart, bind, messages, roster, terminate', T, (t) => run(t, (ctx) => rawScenario(ctx, {
      mode: '1.0', user: 'h0', peerUser: 'h0peer', peerLogin: xmppjsLogin,
    })));

    test('BOSH-01 raw client over HTTP/1.1 keep-alive on two sockets: PLAIN, restart, bind, messages, roster, terminate', T, (t) => run(t, (ctx) => rawScenario(ctx, {
      mode: '1.1', user: 'h1', peerUser: 'h1peer', peerLogin: stanzaLogin,
    })));
  });
}
