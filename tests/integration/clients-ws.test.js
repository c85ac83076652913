'use strict';
// Real web XMPP client libraries (@xmpp/client and StanzaJS) over RFC 7395 WebSocket,
// through xmppgw to a real Prosody. The same client tests also run directly against
// Prosody's own mod_websocket ("prosody" target) as a reference for the harness.
//
//   XGW_TARGETS=prosody,gateway (default both)   XMPPGW_BIN=path/to/xmppgw

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const { startProsody } = require('../lib/prosody');
const { startGateway, assertCleanExit } = require('../lib/gateway');
const { createCA, issueCert } = require('../lib/pki');
const {
  xmppjsLogin, stanzaLogin, rawConnect, openFrame, withTimeout,
  BODIES,
} = require('../lib/xmpp-ws');

const TARGETS = (process.env.XGW_TARGETS || 'prosody,gateway').split(',').map((s) => s.trim()).filter(Boolean);
const T = { timeout: 30000 };

const NS_ROSTER = 'jabber:iq:roster';
const NS_STREAMS = 'http://etherx.jabber.org/streams';

// BODIES (tests/lib/xmpp-ws.js) must arrive byte-for-byte identical, and so must a large one
// (60,000 characters, about 100 KB of UTF-8) that exercises the framing of big stanzas.
const BIG_BODY = 'Grüße 日本 🎉𝄞 <&>"\' '.repeat(4000).slice(0, 60000);

const ROSTER_NAME = 'Bob <&> "Grüße" 🎉';

function users(names) {
  const u = {};
  // ASCII only: @xmpp/client's PLAIN base64-encodes with btoa (Latin-1), so non-ASCII
  // passwords fail in the library itself, before any server sees them.
  for (const n of names) u[n] = `pw-${n}-<&>"'`;
  return u;
}

const PLAIN_USERS = users(['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);

function bare(jid) {
  return String(jid).split('/')[0];
}

/** Roster set + get with an xmpp.js session; returns the fetched item element. */
async function xmppjsRosterRoundTrip(s, contact) {
  const { xml } = s;
  await withTimeout(s.xmpp.iqCaller.set(
    xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: contact, name: ROSTER_NAME }, xml('group', {}, 'Grüße 🎉'))),
  ), 5000, 'roster set');
  const res = await withTimeout(s.xmpp.iqCaller.get(xml('query', { xmlns: NS_ROSTER })), 5000, 'roster get');
  assert.equal(res.name, 'query');
  assert.equal(res.attrs.xmlns, NS_ROSTER);
  const item = res.getChildren('item').find((i) => i.attrs.jid === contact);
  assert.ok(item, `roster contains ${contact}: ${res.toString()}`);
  return item;
}

function assertNoStarttlsOrPlus(s) {
  assert.ok(s.features.length >= 1, 'received stream features');
  for (const f of s.features) {
    assert.equal(f.getChild('starttls', 'urn:ietf:params:xml:ns:xmpp-tls'), undefined,
      `starttls must not reach the web client: ${f.toString()}`);
  }
  for (const m of s.offeredMechanisms || []) {
    assert.ok(!m.endsWith('-PLUS'), `channel-binding mechanism ${m} must be hidden`);
  }
}

/** The login / bind / roster / logout checks with xmpp.js. */
async function xmppjsSession({ url, domain, user, password, mechanism, contact, gateway }) {
  const resource = `xmppjs-${mechanism}`;
  const s = await xmppjsLogin({ url, domain, username: user, password, resource, mechanism });
  const statuses = [];
  s.xmpp.on('status', (st) => statuses.push(st));
  try {
    assert.ok(s.offeredMechanisms.includes(mechanism), `offered ${s.offeredMechanisms}`);
    assert.equal(s.usedMechanism, mechanism);
    assert.equal(s.jid.toString(), `${user}@${domain}/${resource}`, 'bound JID');
    if (gateway) assertNoStarttlsOrPlus(s);
    const item = await xmppjsRosterRoundTrip(s, contact);
    assert.equal(item.attrs.name, ROSTER_NAME);
    assert.equal(item.getChildText('group'), 'Grüße 🎉');
    // A ping to the server round-trips too.
    await withTimeout(s.xmpp.iqCaller.get(s.xml('ping', { xmlns: 'urn:xmpp:ping' }), domain), 5000, 'ping');
    assert.deepEqual(s.errors, [], 'no errors during the session');
  } finally {
    await s.stop();
  }
  assert.equal(s.xmpp.status, 'offline');
  assert.ok(statuses.includes('close'), `server answered the <close/> (statuses: ${statuses.join(',')})`);
}

/** The login / bind / roster / logout checks with StanzaJS. */
async function stanzaSession({ url, domain, user, password, mechanism, contact }) {
  const resource = `stanza-${mechanism}`;
  const s = await stanzaLogin({ url, domain, username: user, password, resource, mechanism });
  let streamEnded = false;
  s.client.on('stream:end', () => { streamEnded = true; });
  try {
    assert.ok(s.offeredMechanisms.includes(mechanism), `offered ${s.offeredMechanisms}`);
    assert.ok(s.raw.outgoing.some((d) => d.includes(`mechanism="${mechanism}"`) || d.includes(`mechanism='${mechanism}'`)),
      `StanzaJS authenticated with ${mechanism}`);
    assert.equal(s.jid, `${user}@${domain}/${resource}`, 'bound JID');
    await withTimeout(s.client.updateRosterItem({ jid: contact, name: ROSTER_NAME, groups: ['Grüße 🎉'] }), 5000, 'roster set');
    const roster = await withTimeout(s.client.getRoster(), 5000, 'roster get');
    const item = roster.items.find((i) => i.jid === contact);
    assert.ok(item, `roster contains ${contact}: ${JSON.stringify(roster)}`);
    assert.equal(item.name, ROSTER_NAME);
    assert.deepEqual(item.groups, ['Grüße 🎉']);
    assert.deepEqual(s.streamErrors, []);
  } finally {
    await s.stop();
  }
  assert.ok(streamEnded, 'server answered the <close/>');
}

/** alice (xmpp.js) <-> bob (StanzaJS): every body arrives exactly, both ways. */
async function messagesBothWays({ url, domain, alice, bob, password }) {
  const a = await xmppjsLogin({ url, domain, username: alice, password: password(alice), resource: 'xjs', mechanism: 'SCRAM-SHA-1' });
  let b;
  try {
    b = await stanzaLogin({ url, domain, username: bob, password: password(bob), resource: 'stz', mechanism: 'PLAIN' });
    const { xml } = a;
    // Initial presence both sides (also exercises presence through the path).
    await a.xmpp.send(xml('presence'));
    b.client.sendPresence();
    const aJid = a.jid.toString();
    const bJid = b.jid;
    const bodies = [...BODIES, BIG_BODY];

    for (const [i, body] of bodies.entries()) {
      const id = `a2b-${i}-${Date.now()}`;
      await a.xmpp.send(xml('message', { to: bJid, type: 'chat', id }, xml('body', {}, body)));
      const got = await b.inbox.take((m) => m.id === id, 10000, `message ${id} (body of ${Buffer.byteLength(body)} bytes)`);
      assert.equal(got.from, aJid, 'from');
      assert.equal(got.body, body, `body ${i} alice->bob`);
    }
    for (const [i, body] of bodies.entries()) {
      const id = `b2a-${i}-${Date.now()}`;
      b.client.sendMessage({ to: aJid, type: 'chat', id, body });
      const got = await a.inbox.take((s) => s.is('message') && s.attrs.id === id, 10000,
        `message ${id} (body of ${Buffer.byteLength(body)} bytes)`);
      assert.equal(got.attrs.from, bJid, 'from');
      assert.equal(got.getChildText('body'), body, `body ${i} bob->alice`);
    }
    // Message to the bare JID reaches the available resource too.
    const id = `bare-${Date.now()}`;
    await a.xmpp.send(xml('message', { to: bare(bJid), type: 'chat', id }, xml('body', {}, BODIES[4])));
    const got = await b.inbox.take((m) => m.id === id, 10000, 'message to bare JID');
    assert.equal(got.body, BODIES[4]);
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.streamErrors, []);
  } finally {
    if (b) await b.stop();
    await a.stop();
  }
}

/** Stream features a plaintext c2s client gets from the server before any TLS. */
function plaintextFeatures(port, domain) {
  return withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let data = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' ` +
      "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"));
    sock.on('data', (d) => {
      data += d;
      const m = /<stream:features[\s\S]*<\/stream:features>/.exec(data);
      if (m) { sock.destroy(); resolve(m[0]); }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error(`connection closed before features: ${data}`)));
  }), 5000, 'plaintext stream features');
}

// ---------------------------------------------------------------------------
for (const target of TARGETS) {
  describe(`WebSocket clients via ${target} to a plaintext loopback Prosody`, () => {
    let prosody;
    let gw;
    let url;
    const domain = 'localhost';
    const pw = (u) => PLAIN_USERS[u];

    before(async () => {
      prosody = await startProsody({ hosts: [{ domain, users: PLAIN_USERS }] });
      if (target === 'gateway') {
        gw = await startGateway({
          routes: [{ domain, host: '127.0.0.1', port: prosody.c2sPort, tls: 'starttls', tls_verify: true }],
        });
        url = gw.wsUrl;
      } else {
        url = prosody.wsUrl;
      }
    });
    after(async () => {
      if (gw) await gw.stop();
      if (prosody) await prosody.stop();
    });

    test('@xmpp/client: SCRAM-SHA-1 login, bind, roster, ping, logout', T, async () => {
      await xmppjsSession({ url, domain, user: 'alice', password: pw('alice'), mechanism: 'SCRAM-SHA-1', contact: 'bob@localhost', gateway: !!gw });
    });

    test('@xmpp/client: PLAIN login, bind, roster, ping, logout', T, async () => {
      await xmppjsSession({ url, domain, user: 'bob', password: pw('bob'), mechanism: 'PLAIN', contact: 'alice@localhost', gateway: !!gw });
    });

    test('StanzaJS: SCRAM-SHA-1 login, bind, roster, logout', T, async () => {
      await stanzaSession({ url, domain, user: 'carol', password: pw('carol'), mechanism: 'SCRAM-SHA-1', contact: 'dave@localhost' });
    });

    test('StanzaJS: PLAIN login, bind, roster, logout', T, async () => {
      await stanzaSession({ url, domain, user: 'dave', password: pw('dave'), mechanism: 'PLAIN', contact: 'carol@localhost' });
    });

    test('wrong password is refused (SASL failure reaches the client)', T, async () => {
      await assert.rejects(
        xmppjsLogin({ url, domain, username: 'erin', password: 'not-the-password', resource: 'x', mechanism: 'PLAIN' }),
        (e) => { assert.equal(e.condition, 'not-authorized', `SASL condition: ${e.message}`); return true; },
      );
      await assert.rejects(
        stanzaLogin({ url, domain, username: 'erin', password: 'not-the-password', resource: 'x', mechanism: 'SCRAM-SHA-1' }),
        /authentication failed/,
      );
    });

    test('messages both ways (xmpp.js <-> StanzaJS) with <&>"\', non-ASCII, astral and 100 KB bodies', T, async () => {
      await messagesBothWays({ url, domain, alice: 'erin', bob: 'frank', password: pw });
    });

    if (target === 'gateway') {
      test('gateway exits 0 on SIGTERM with no sanitizer report', T, async () => {
        assertCleanExit(await gw.stop());
      });
    }
  });
}

// ---------------------------------------------------------------------------
// Upstream TLS: Prosody requires encryption, so the gateway must negotiate STARTTLS
// (or direct TLS) and verify the certificate against the route's XMPP domain.
if (TARGETS.includes('gateway')) {
  describe('gateway upstream TLS with a test CA', () => {
    let pkiDir;
    let ca;
    let otherCa;
    let prosody;
    const TLS_USERS = users(['alice', 'bob']);
    const gateways = [];

    before(async () => {
      pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-pki-'));
      ca = createCA(path.join(pkiDir, 'ca'), 'xmppgw test CA');
      otherCa = createCA(path.join(pkiDir, 'other'), 'some other CA');
      const good = issueCert(ca, 'xgw.test');
      const wrong = issueCert(ca, 'wrong.test'); // served for bad.test: name mismatch
      prosody = await startProsody({
        requireEncryption: true,
        directTls: true,
        hosts: [
          { domain: 'xgw.test', users: TLS_USERS, cert: good },
          { domain: 'bad.test', users: TLS_USERS, cert: wrong },
        ],
      });
    });
    after(async () => {
      for (const g of gateways) await g.stop();
      if (prosody) await prosody.stop();
      if (pkiDir) fs.rmSync(pkiDir, { recursive: true, force: true });
    });

    async function gateway(caFile, routes) {
      const g = await startGateway({ config: { upstream: { ca_file: caFile } }, routes });
      gateways.push(g);
      return g;
    }

    const route = (domain, extra = {}) => ({
      domain, host: '127.0.0.1', port: prosody.c2sPort, tls: 'starttls', tls_verify: true, allow_plaintext: false, ...extra,
    });

    /** Assert that a raw RFC 7395 client to `domain` sees remote-connection-failed and a close. */
    async function assertRemoteConnectionFailed(g, domain) {
      // 1. As seen by @xmpp/client.
      await assert.rejects(
        xmppjsLogin({ url: g.wsUrl, domain, username: 'alice', password: TLS_USERS.alice, resource: 'r', mechanism: 'PLAIN' }),
        (e) => {
          assert.equal(e.condition, 'remote-connection-failed', `client error: ${e.name}: ${e.message}`);
          return true;
        },
      );
      // 2. As seen on the wire.
      const c = await rawConnect(g.wsUrl);
      try {
        c.send(openFrame(domain));
        const err = await c.frames.take((f) => typeof f === 'string' && f.includes('remote-connection-failed'), 15000,
          'remote-connection-failed stream error');
        assert.match(err, /^<(stream:)?error\b/, `stream error element: ${err}`);
        assert.ok(err.includes(NS_STREAMS) || /^<stream:error/.test(err), `error in the streams namespace: ${err}`);
        assert.match(err, /<remote-connection-failed xmlns=["']urn:ietf:params:xml:ns:xmpp-streams["']\s*\/>/);
        const closed = await withTimeout(c.closed, 10000, 'WebSocket close after the stream error');
        assert.ok(c.all.some((f) => typeof f === 'string' && /^<close\b/.test(f)), `<close/> sent: ${JSON.stringify(c.all)}`);
        assert.ok(closed.code === 1000 || closed.code === 1005, `close code ${closed.code}`);
        assert.ok(!c.all.some((f) => typeof f === 'string' && f.includes('<features')), 'no stream features on failure');
      } finally {
        c.terminate();
      }
    }

    test('STARTTLS verified against the domain: login, no starttls shown, messages', T, async () => {
      const g = await gateway(ca.cert, [route('xgw.test'), route('bad.test')]);
      await xmppjsSession({ url: g.wsUrl, domain: 'xgw.test', user: 'alice', password: TLS_USERS.alice, mechanism: 'SCRAM-SHA-1', contact: 'bob@xgw.test', gateway: true });
      await xmppjsSession({ url: g.wsUrl, domain: 'xgw.test', user: 'bob', password: TLS_USERS.bob, mechanism: 'PLAIN', contact: 'alice@xgw.test', gateway: true });
      await stanzaSession({ url: g.wsUrl, domain: 'xgw.test', user: 'alice', password: TLS_USERS.alice, mechanism: 'SCRAM-SHA-1', contact: 'bob@xgw.test' });
      await messagesBothWays({ url: g.wsUrl, domain: 'xgw.test', alice: 'alice', bob: 'bob', password: (u) => TLS_USERS[u] });
      // This Prosody offers no SASL mechanism before TLS, so the logins above prove the
      // gateway negotiated STARTTLS upstream.
      const features = await plaintextFeatures(prosody.c2sPort, 'xgw.test');
      assert.match(features, /<starttls[^>]*>\s*<required\s*\/>/, `Prosody requires STARTTLS: ${features}`);
      assert.doesNotMatch(features, /<mechanism>/, `no SASL before TLS: ${features}`);
    });

    test('stanzas larger than one TLS record (16 KiB) cross the STARTTLS upstream both ways', T, async () => {
      const g = gateways[0] || await gateway(ca.cert, [route('xgw.test'), route('bad.test')]);
      const url = g.wsUrl;
      const a = await xmppjsLogin({ url, domain: 'xgw.test', username: 'alice', password: TLS_USERS.alice, resource: 'big-a', mechanism: 'PLAIN' });
      const b = await xmppjsLogin({ url, domain: 'xgw.test', username: 'bob', password: TLS_USERS.bob, resource: 'big-b', mechanism: 'PLAIN' });
      try {
        for (const size of [16000, 16500, 40000, 200000]) {
          for (const [from, to] of [[a, b], [b, a]]) {
            const id = `big-${size}-${from === a ? 'ab' : 'ba'}`;
            const body = 'x'.repeat(size);
            await from.xmpp.send(from.xml('message', { to: to.jid.toString(), type: 'chat', id }, from.xml('body', {}, body)));
            const got = await to.inbox.take((st) => st.attrs.id === id, 5000,
              `${size}-byte body ${from === a ? 'alice->bob' : 'bob->alice'} over the TLS upstream`);
            assert.equal(got.getChildText('body').length, size);
          }
        }
      } finally {
        await b.stop().catch(() => {});
        await a.stop().catch(() => {});
      }
    });

    test('certificate for the wrong name -> remote-connection-failed', T, async () => {
      const g = gateways[0] || await gateway(ca.cert, [route('xgw.test'), route('bad.test')]);
      await assertRemoteConnectionFailed(g, 'bad.test');
    });

    test('certificate from an untrusted CA -> remote-connection-failed', T, async () => {
      const g = await gateway(otherCa.cert, [route('xgw.test')]);
      await assertRemoteConnectionFailed(g, 'xgw.test');
    });

    test('direct TLS route (tls: "direct") verified against the domain: login works', T, async () => {
      const g = await gateway(ca.cert, [route('xgw.test', { port: prosody.directTlsPort, tls: 'direct' })]);
      await xmppjsSession({ url: g.wsUrl, domain: 'xgw.test', user: 'alice', password: TLS_USERS.alice, mechanism: 'PLAIN', contact: 'bob@xgw.test', gateway: true });
    });

    test('every TLS-test gateway exits 0 on SIGTERM with no sanitizer report', T, async () => {
      assert.ok(gateways.length >= 3, 'gateways were started');
      for (const g of gateways) assertCleanExit(await g.stop(), `gateway on port ${g.port}`);
    });
  });
}
