'use strict';
// Black-box conformance tests for xmppgw's WebSocket transport (RFC 6455 + RFC 7395) and its
// upstream c2s stream (RFC 6120), named by the IDs in conformance-checklist.md
// (WS-xx, XMPP-xx, CM-xx, TD-x). Client: tests/lib/ws-raw.js (raw frames over node:net).
// Upstream: tests/lib/fake-server.js (scripted fake XMPP server on loopback).
// Every scenario stops the gateway and requires a clean exit (no sanitizer report), and checks
// every frame the gateway sent (unmasked, text only, valid close codes, minimal lengths,
// valid UTF-8, one standalone element per message, nothing after Close).

const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const {
  scenario, closedPort, startBlackHole, makeTestPki, startFakeServer,
} = require('../lib/fake-server');
const W = require('../lib/ws-raw');
const { gatewayAvailable } = require('../lib/gateway');

const { NS, OP, parseXml, kids, attrNs, openXml, CLOSE_XML, streamErrorInfo, isCloseEl, isOpenEl } = W;
const SKIP = gatewayAvailable() ? false : 'gateway binary build-asan/xmppgw not built';
const T = { timeout: 40000, skip: SKIP };
const NS_SM = 'urn:xmpp:sm:3';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// helpers

/** Open an XMPP stream through the gateway and return it with its upstream connection. */
async function openWithConn(ctx, xopts = {}) {
  const before = ctx.fake.connections.length;
  const r = await ctx.open(xopts);
  const conn = await ctx.fake.waitForConnection(3000, before + 1);
  return { ...r, conn };
}

/** Read data messages until the Close frame / TCP close: {texts, close}. */
async function readToClose(ws, ms = 6000) {
  const { messages, close } = await ws.collectUntilClose(ms);
  return { texts: messages.map((m) => m.text), close };
}

/**
 * Assert the RFC 7395 §3.5/§3.6 error sequence: [<open/>]?, <stream:error/>, <close/>, Close.
 * open: true = must come first, false = must not, 'optional'.
 * conditions: acceptable condition local names (null = any).
 * closeCodes: acceptable Close codes ('tcp-closed' is never acceptable unless listed).
 */
function assertErrorSequence(seq, { label, open = false, conditions = null, closeCodes = [1000] }) {
  let t = seq.texts.slice();
  const dump = JSON.stringify(seq.texts);
  if (open === true) {
    assert.ok(t.length && isOpenEl(t[0]), `${label}: first message must be <open/>, got ${dump}`);
    t = t.slice(1);
  } else if (open === 'optional' && t.length && isOpenEl(t[0])) {
    t = t.slice(1);
  }
  assert.equal(t.length, 2, `${label}: expected exactly <stream:error/> then <close/>${open === true ? ' after <open/>' : ''}; got ${dump} and close=${seq.close}`);
  const info = streamErrorInfo(t[0]);
  assert.ok(info, `${label}: expected a <stream:error/> (NS ${NS.ST}) as its own message, got ${t[0]}`);
  if (conditions) {
    assert.ok(conditions.includes(info.condition),
      `${label}: stream error condition ${info.condition} not in [${conditions.join(', ')}]: ${t[0]}`);
  } else {
    assert.ok(info.condition, `${label}: stream error without a defined condition: ${t[0]}`);
  }
  assert.ok(isCloseEl(t[1]), `${label}: expected <close xmlns='${NS.FR}'/> after the error, got ${t[1]}`);
  assert.ok(closeCodes.includes(seq.close), `${label}: expected Close ${closeCodes.join(' or ')} after <close/>, got ${seq.close}`);
  return info;
}

/**
 * After a frame that must fail the connection: expect a Close with `code` (the
 * C side echoes it), then TCP closed at once (WS-20: within 1 s of the Close) and the upstream
 * stream closed (CM-06) within 2 s.
 */
async function expectFailClose(ws, conn, code, what) {
  const { close } = await ws.collectUntilClose(3000);
  assert.equal(close, code, `${what}: expected Close ${code}, got ${close}`);
  const at = ws.closeFrame ? ws.closeFrame.at : Date.now();
  await ws.waitTcpClosed(3000).catch(() => {});
  assert.ok(ws.tcpClosed && ws.tcpClosedAt - at <= 1000,
    `${what}: TCP not closed within 1 s after the Close exchange (${ws.tcpClosed ? `${ws.tcpClosedAt - at} ms` : 'still open after 3 s'})`);
  await conn.waitClosed(2000).catch(() => {
    throw new Error(`${what}: upstream connection still open 2 s after the WebSocket failed; S received ${JSON.stringify(conn.received().slice(-80))}`);
  });
}

/*
 * Known libwebsockets 4.1.6 (Debian 12) limitations. The gateway cannot see or change these:
 * lws handles them before any callback. Each is kept as a `todo` test that still runs and shows
 * the target behaviour, next to a hard test of what the RFC makes mandatory.
 *  - lws accepts unmasked client frames (RFC 6455 §5.1 says the server MUST close).
 *  - Frames lws rejects itself (control frame > 125 bytes, 64-bit length with the top bit set)
 *    end with a bare TCP close: Debian builds lws with _DEBUG, whose libuv event lib re-runs its
 *    close ("close_and_handled uv repeat test") and drops the polite Close frame (a SHOULD,
 *    RFC 6455 §7.1.7).
 *  - Frames with RSV bits: when lws sees them before the gateway does (it depends on how the
 *    bytes arrive), it sends Close 1002 itself but ignores the client's Close reply and closes
 *    TCP only after its own 5 s close-ack timeout.
 *  - Handshakes without Host, with "Upgrade: h2c" or without the Upgrade token in Connection
 *    are dropped without an HTTP error; an HTTP/1.0 upgrade request is accepted.
 */
const LWS_LIMITATION = 'libwebsockets 4.1.6 limitation (see the note at the top of this file)';
const TODO_LWS = { ...T, todo: LWS_LIMITATION };

/** The MUST part of failing a WebSocket connection: it ends (Close 1002 or a TCP close), the
 * upstream stream ends, and nothing sent after the bad frame reaches S. */
async function expectConnectionFailed(ws, conn, what) {
  const { close } = await ws.collectUntilClose(3000);
  assert.ok(close === 1002 || close === 'tcp-closed', `${what}: expected Close 1002 or a TCP close, got ${close}`);
  await ws.waitTcpClosed(8000);
  await conn.waitClosed(8000);
}

let barrierSeq = 0;
/** Send a presence from C and wait until S has it: proves everything sent before it was processed. */
async function barrierUp(ws, conn, ms = 3000) {
  const id = `barrier-up-${++barrierSeq}`;
  ws.sendText(`<presence xmlns='jabber:client' id='${id}'/>`);
  await conn.waitFor(id, ms);
}
/** Send a message from S and return the next data message C sees (it must be the barrier). */
async function barrierDown(ws, conn, ms = 3000) {
  const id = `barrier-down-${++barrierSeq}`;
  conn.send(`<message from='a@example.com/x' to='user@example.com/r' id='${id}'><body>b</body></message>`);
  const text = await ws.nextText(ms);
  return { id, text };
}

/** PLAIN auth + restart + bind through the gateway. Returns the new open/features. */
async function loginAndBind(ws, conn) {
  ws.sendText(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AHVzZXIAcGFzcw==</auth>`);
  const succ = parseXml(await ws.nextText(3000));
  assert.equal(succ.local, 'success');
  ws.sendText(openXml('example.com', "xml:lang='en'"));
  const open2 = await ws.nextText(3000);
  const feats2 = await ws.nextText(3000);
  ws.sendText(`<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='${NS.BIND}'><resource>r</resource></bind></iq>`);
  const bound = parseXml(await ws.nextText(3000));
  assert.equal(bound.local, 'iq');
  await conn.waitForHeader(2, 1000);
  return { open2, feats2 };
}

function rssKb(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(s);
  return m ? Number(m[1]) : NaN;
}

const plainStanza = (id, extra = '') => `<message from='a@example.com/x' to='user@example.com/r' id='${id}'${extra}><body>hello ${id}</body></message>`;

// ---------------------------------------------------------------------------------------
describe('1.14 WebSocket opening handshake', () => {
  test('WS-01 "chat, xmpp" (one header or two) -> 101 with exactly one Sec-WebSocket-Protocol: xmpp', T, () => scenario({}, async (ctx) => {
    for (const protocols of [['chat', 'xmpp'], [['chat'], ['xmpp']], ['xmpp']]) {
      const ws = await ctx.connect({ protocols });
      const r = ws.handshakeResponse;
      assert.equal(r.status, 101, `protocols ${JSON.stringify(protocols)}: ${r.raw}`);
      assert.deepEqual(r.headers['sec-websocket-protocol'], ['xmpp'], `protocols ${JSON.stringify(protocols)}: ${r.raw}`);
    }
  }));

  test('WS-02 no `xmpp` offered (none, "chat", "XMPP") -> non-101 without Sec-WebSocket-Protocol', T, () => scenario({}, async (ctx) => {
    for (const protocols of [null, ['chat'], ['XMPP'], ['xmpp2']]) {
      const ws = await ctx.connect({ protocols });
      const r = ws.handshakeResponse;
      assert.notEqual(r.status, 101, `protocols ${JSON.stringify(protocols)} must be refused: ${r.raw}`);
      assert.ok(r.status >= 400 && r.status <= 599, `protocols ${JSON.stringify(protocols)}: expected an HTTP error (400/501), got ${r.statusLine}`);
      assert.equal(r.headers['sec-websocket-protocol'], undefined, `protocols ${JSON.stringify(protocols)}: reply names a protocol: ${r.raw}`);
    }
    assert.equal(ctx.fake.connections.length, 0, 'no upstream connection for refused handshakes');
  }));

  const LWS_HANDSHAKES = {
    'missing Host': { headers: { Host: null } },
    'Upgrade: h2c': { headers: { Upgrade: 'h2c' } },
    'Connection without Upgrade token': { headers: { Connection: 'keep-alive' } },
  };
  test('WS-03 handshakes lws refuses itself are never upgraded and open nothing upstream', T, () => scenario({}, async (ctx) => {
    for (const [name, o] of Object.entries(LWS_HANDSHAKES)) {
      const ws = await ctx.connect(o).catch((e) => ({ failed: e }));
      const status = ws.failed ? 'closed without a response' : ws.handshakeResponse.status;
      assert.notEqual(status, 101, `${name}: upgraded`);
      if (!ws.failed) ws.destroy();
    }
    assert.equal(ctx.fake.connections.length, 0);
  }));
  test('WS-03 every malformed handshake gets an HTTP 400-class answer (lws limitation)', TODO_LWS, () => scenario({}, async (ctx) => {
    const results = {};
    for (const [name, o] of Object.entries({ ...LWS_HANDSHAKES, 'HTTP/1.0': { httpVersion: '1.0' } })) {
      const ws = await ctx.connect(o).catch(() => null);
      results[name] = ws ? ws.handshakeResponse.status : 'closed';
      if (ws) ws.destroy();
    }
    assert.deepEqual(Object.entries(results).filter(([, st]) => !(st >= 400 && st < 500)), [], JSON.stringify(results));
  }));

  test('WS-03 malformed handshakes -> HTTP 400-class error, no upgrade; valid variants accepted', T, () => scenario({}, async (ctx) => {
    const crypto = require('node:crypto');
    const bad = {
      'missing Upgrade': { headers: { Upgrade: null } },
      '15-byte key': { key: crypto.randomBytes(15).toString('base64') },
      '17-byte key': { key: crypto.randomBytes(17).toString('base64') },
      'key not base64': { key: '!!!!not-base64!!!!!!!!==' },
      'missing key': { key: null, headers: { 'Sec-WebSocket-Key': null } },
      'missing version': { version: null },
      POST: { method: 'POST', headers: { 'Content-Length': '0' } },
    };
    const results = {};
    for (const [name, o] of Object.entries(bad)) {
      try {
        const ws = await ctx.connect(o);
        results[name] = ws.handshakeResponse.status;
        ws.destroy();
      } catch (e) {
        results[name] = /closed before a complete HTTP response/.test(e.message) ? 'TCP closed without an HTTP response' : `error: ${e.message.slice(0, 120)}`;
      }
    }
    const wrong = Object.entries(results).filter(([, s]) => !(s >= 400 && s < 500));
    assert.deepEqual(wrong, [], `expected a 4xx (400) for every malformed handshake; statuses: ${JSON.stringify(results)}`);
    // positive controls: case-insensitive Upgrade value, Connection token list
    for (const o of [{ headers: { Upgrade: 'WebSocket' } }, { headers: { Connection: 'keep-alive, Upgrade' } }]) {
      const ws = await ctx.connect(o);
      assert.equal(ws.handshakeResponse.status, 101, `${JSON.stringify(o)}: ${ws.handshakeResponse.raw}`);
    }
    assert.equal(ctx.fake.connections.length, 0, 'handshakes alone open no upstream connection');
  }));

  test('WS-04 Sec-WebSocket-Version: 8 -> 426 (or 400) with Sec-WebSocket-Version: 13', T, () => scenario({}, async (ctx) => {
    const ws = await ctx.connect({ version: '8' });
    const r = ws.handshakeResponse;
    assert.ok(r.status === 426 || r.status === 400, `expected 426/400, got ${r.statusLine}`);
    const v = (r.header('sec-websocket-version') || '').split(/\s*,\s*/);
    assert.ok(v.includes('13'), `reply must carry Sec-WebSocket-Version: 13: ${r.raw}`);
  }));

  test('WS-05 101 reply: Upgrade, Connection, Sec-WebSocket-Accept for the RFC sample key', T, () => scenario({}, async (ctx) => {
    const ws = await ctx.connect({ key: 'dGhlIHNhbXBsZSBub25jZQ==' });
    const r = ws.handshakeResponse;
    assert.equal(r.status, 101, r.raw);
    assert.equal((r.header('upgrade') || '').toLowerCase(), 'websocket', r.raw);
    assert.ok((r.header('connection') || '').toLowerCase().split(/\s*,\s*/).includes('upgrade'), r.raw);
    assert.deepEqual(r.headers['sec-websocket-accept'], ['s3pPLMBiTxaQ9kYGzzhZRbK+xOo='], r.raw);
  }));

  test('WS-06 allowed_origins: foreign Origin -> 403 without upgrade, listed Origin -> 101', T,
    () => scenario({ config: { websocket: { allowed_origins: ['https://app.example'] } } }, async (ctx) => {
      const evil = await ctx.connect({ origin: 'https://evil.example' });
      assert.equal(evil.handshakeResponse.status, 403, evil.handshakeResponse.raw);
      assert.equal(evil.handshakeResponse.headers['sec-websocket-accept'], undefined);
      const good = await ctx.connect({ origin: 'https://app.example' });
      assert.equal(good.handshakeResponse.status, 101, good.handshakeResponse.raw);
    }));

  test('WS-07 unknown path with valid upgrade headers -> 404', T, () => scenario({}, async (ctx) => {
    const ws = await ctx.connect({ path: '/nope' });
    assert.equal(ws.handshakeResponse.status, 404, ws.handshakeResponse.raw);
  }));

  test('WS-08 permessage-deflate offered -> 101 without Sec-WebSocket-Extensions', T, () => scenario({}, async (ctx) => {
    const ws = await ctx.connect({ headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' } });
    assert.equal(ws.handshakeResponse.status, 101, ws.handshakeResponse.raw);
    assert.equal(ws.handshakeResponse.headers['sec-websocket-extensions'], undefined, ws.handshakeResponse.raw);
  }));
});

// ---------------------------------------------------------------------------------------
describe('1.15 WebSocket framing', () => {
  test('WS-11 unmasked client frame -> connection closed (optionally Close 1002); nothing reaches S (lws limitation)', TODO_LWS, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendText("<presence xmlns='jabber:client' id='unmasked-1'/>", { mask: false });
    const c = await ws.waitClose(3000).catch((e) => {
      throw new Error(`${e.message}\nS received the unmasked frame's stanza: ${conn.received().includes('unmasked-1')}`);
    });
    assert.ok(c === 1002 || c === 'tcp-closed', `expected Close 1002 or a TCP close, got ${c}`);
    await ws.waitTcpClosed(3000);
    await conn.waitClosed(5000);
    assert.ok(!conn.received().includes('unmasked-1'), `unmasked frame content reached S: ${conn.received()}`);
  }));

  test('WS-12 every gateway data frame is text (opcode 1/0)', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send(plainStanza('t1') + `<r xmlns='${NS_SM}'/>` + plainStanza('t2', " type='chat'"));
    for (let i = 0; i < 3; i++) await ws.nextText(3000);
    const data = ws.frames.filter((f) => f.opcode < 0x8);
    assert.ok(data.length >= 5, `expected >= 5 data frames, got ${data.length}`);
    assert.deepEqual(data.filter((f) => f.opcode !== OP.TEXT && f.opcode !== OP.CONT).map((f) => f.opcode), []);
  }));

  test('WS-13 binary frame -> Close 1003, nothing forwarded, upstream closed', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendBinary("<presence xmlns='jabber:client' id='binary-1'/>");
    await expectFailClose(ws, conn, 1003, 'binary frame');
    assert.ok(!conn.received().includes('binary-1'), `binary content reached S: ${conn.received()}`);
  }));

  test('WS-14 invalid UTF-8 (C3 28) -> Close 1007; nothing reaches S', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendText(Buffer.concat([Buffer.from("<presence xmlns='jabber:client' id='badutf8'><status>"), Buffer.from([0xc3, 0x28]), Buffer.from('</status></presence>')]));
    await expectFailClose(ws, conn, 1007, 'invalid UTF-8');
    assert.ok(!conn.received().includes('badutf8'), `invalid message reached S: ${conn.received()}`);
  }));

  test('WS-14 a multi-byte character split across continuation frames is accepted', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    const euro = Buffer.from('€', 'utf8'); // E2 82 AC
    ws.sendFragments([
      Buffer.concat([Buffer.from("<message xmlns='jabber:client' to='a@example.com' id='split2'><body>x"), euro.subarray(0, 2)]),
      Buffer.concat([euro.subarray(2), Buffer.from('y</body></message>')]),
    ]);
    ws.sendFragments([
      Buffer.concat([Buffer.from("<message xmlns='jabber:client' to='a@example.com' id='split3'><body>p"), euro.subarray(0, 1)]),
      euro.subarray(1, 2),
      Buffer.concat([euro.subarray(2), Buffer.from('q</body></message>')]),
    ]);
    const m2 = await conn.waitForElement((e) => e.raw.includes('split2'), 3000);
    const m3 = await conn.waitForElement((e) => e.raw.includes('split3'), 3000);
    assert.match(m2.raw, /<body>x€y<\/body>/);
    assert.match(m3.raw, /<body>p€q<\/body>/);
    assert.equal(ws.closeFrame, null, 'connection must stay open');
  }));

  test('WS-15 fragmented message with a Ping in the middle -> Pong at once, S gets one stanza', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    const stanza = "<message xmlns='jabber:client' to='a@example.com' id='frag1'><body>hi</body></message>";
    const parts = [stanza.slice(0, 20), stanza.slice(20, 50), stanza.slice(50)];
    ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: parts[0] });
    ws.sendFrame({ opcode: OP.PING, payload: 'mid' });
    const pong = await ws.nextMessage(2000);
    assert.equal(pong.opcode, OP.PONG, `expected a Pong before the message is complete, got op=${pong.opcode}`);
    assert.equal(pong.payload.toString(), 'mid');
    ws.sendFrame({ opcode: OP.CONT, fin: false, payload: parts[1] });
    ws.sendFrame({ opcode: OP.CONT, fin: true, payload: parts[2] });
    const el = await conn.waitForElement((e) => e.raw.includes('frag1'), 3000);
    const parsed = parseXml(el.raw);
    assert.equal(parsed.local, 'message');
    assert.equal(kids(parsed, 'body')[0].text, 'hi');
    assert.equal(conn.elements.filter((e) => e.raw.includes('frag1')).length, 1);
  }));

  describe('WS-16 protocol errors -> Close 1002, nothing after the bad frame reaches S (WS-24)', () => {
    const after = (tag) => W.buildFrame({ opcode: OP.TEXT, payload: `<presence xmlns='jabber:client' id='after-${tag}'/>` });
    const cases = {
      'continuation with no message started': () => W.buildFrame({ opcode: OP.CONT, payload: "<presence xmlns='jabber:client'/>" }),
      'new data frame while a fragmented message is open': () => Buffer.concat([
        W.buildFrame({ opcode: OP.TEXT, fin: false, payload: "<presence xmlns='jabber:client'" }),
        W.buildFrame({ opcode: OP.TEXT, fin: true, payload: ' id="x"/>' })]),
      'Ping with a 126-byte payload': () => W.buildFrame({ opcode: OP.PING, payload: 'p'.repeat(126) }),
      'Ping with FIN=0': () => W.buildFrame({ opcode: OP.PING, fin: false, payload: 'x' }),
      'reserved data opcode 0x3': () => W.buildFrame({ opcode: 0x3, payload: 'x' }),
      'reserved data opcode 0x7': () => W.buildFrame({ opcode: 0x7, payload: 'x' }),
      'reserved control opcode 0xB': () => W.buildFrame({ opcode: 0xb, payload: 'x' }),
      'reserved control opcode 0xF': () => W.buildFrame({ opcode: 0xf, payload: 'x' }),
    };
    const lwsDropsSilently = new Set(['Ping with a 126-byte payload']);
    for (const [name, make] of Object.entries(cases)) {
      if (lwsDropsSilently.has(name)) {
        test(`WS-16 ${name} -> connection failed, nothing after it reaches S`, T, () => scenario({}, async (ctx) => {
          const { ws, conn } = await openWithConn(ctx);
          const tag = name.replace(/\W+/g, '-');
          ws.sendRaw(Buffer.concat([make(), after(tag)]));
          await expectConnectionFailed(ws, conn, name);
          assert.ok(!conn.received().includes(`after-${tag}`), `data after the bad frame reached S: ${conn.received()}`);
        }));
      }
      test(`WS-16 ${name} -> Close 1002`, lwsDropsSilently.has(name) ? TODO_LWS : T, () => scenario({}, async (ctx) => {
        const { ws, conn } = await openWithConn(ctx);
        const tag = name.replace(/\W+/g, '-');
        ws.sendRaw(Buffer.concat([make(), after(tag)]));
        await expectFailClose(ws, conn, 1002, name);
        assert.ok(!conn.received().includes(`after-${tag}`), `data after the bad frame reached S: ${conn.received()}`);
      }));
    }
  });

  for (const bit of ['rsv1', 'rsv2', 'rsv3']) {
    test(`WS-17 text frame with ${bit.toUpperCase()} set -> Close 1002, connection and upstream end`, T, () => scenario({}, async (ctx) => {
      const { ws, conn } = await openWithConn(ctx);
      ws.sendFrame({ opcode: OP.TEXT, [bit]: true, payload: `<presence xmlns='jabber:client' id='${bit}-set'/>` });
      const { close } = await ws.collectUntilClose(3000);
      assert.equal(close, 1002);
      await ws.waitTcpClosed(8000);
      await conn.waitClosed(8000);
      assert.ok(!conn.received().includes(`${bit}-set`));
    }));
  }
  for (const bit of ['rsv1', 'rsv2', 'rsv3']) {
    test(`WS-17 text frame with ${bit.toUpperCase()} set -> Close 1002`, TODO_LWS, () => scenario({}, async (ctx) => {
      const { ws, conn } = await openWithConn(ctx);
      ws.sendFrame({ opcode: OP.TEXT, [bit]: true, payload: `<presence xmlns='jabber:client' id='${bit}-set'/>` });
      await expectFailClose(ws, conn, 1002, `${bit.toUpperCase()} set`);
      assert.ok(!conn.received().includes(`${bit}-set`));
    }));
  }

  test('WS-18 Ping payload echoed in Pong (also empty); unsolicited Pong ignored; pings never reach S', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendPing('abc-ping-7731');
    let m = await ws.nextMessage(2000);
    assert.equal(m.opcode, OP.PONG);
    assert.equal(m.payload.toString(), 'abc-ping-7731');
    ws.sendPing('');
    m = await ws.nextMessage(2000);
    assert.equal(m.opcode, OP.PONG);
    assert.equal(m.payload.length, 0);
    const bin = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    ws.sendPing(bin);
    m = await ws.nextMessage(2000);
    assert.equal(m.opcode, OP.PONG);
    assert.deepEqual(m.payload, bin);
    ws.sendPong('unsolicited-pong-7731');
    await barrierUp(ws, conn);
    assert.ok(!conn.received().includes('7731'), `ping/pong data reached S: ${conn.received()}`);
    assert.equal(ws.closeFrame, null);
  }));

  test('WS-19 a client that ignores Pings is closed after ping_interval + pong_timeout; an answering one stays', { ...T, timeout: 60000 },
    () => scenario({ config: { websocket: { ping_interval_s: 1, pong_timeout_s: 2 } } }, async (ctx) => {
      const deaf = await openWithConn(ctx, { connect: { autoPong: false } });
      const t0 = Date.now();
      const live = await openWithConn(ctx);
      await deaf.ws.waitTcpClosed(8000).catch(() => { throw new Error(`deaf client not closed within 8 s (ping 1 s + pong timeout 2 s): ${deaf.ws.describe()}`); });
      const elapsed = deaf.ws.tcpClosedAt - t0;
      assert.ok(deaf.ws.frames.some((f) => f.opcode === OP.PING), 'the gateway never sent a Ping');
      assert.ok(elapsed >= 2000 && elapsed <= 4500, `deaf client closed after ${elapsed} ms, expected about 3000 (1 s + 2 s, +-1 s)`);
      await deaf.conn.waitClosed(5000);
      const until = t0 + 5500;
      if (Date.now() < until) await sleep(until - Date.now());
      assert.ok(live.ws.frames.some((f) => f.opcode === OP.PING), 'the answering client got no Ping');
      assert.equal(live.ws.tcpClosed, false, `the client answering Pings was closed: ${live.ws.describe()}`);
      await barrierUp(live.ws, live.conn);
    }));

  test('WS-20 client Close -> Close reply and TCP close promptly; no data frames after the server Close', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    // keep S talking while the close happens
    for (let i = 0; i < 200; i++) conn.send(plainStanza(`flow-${i}`));
    await ws.nextText(3000);
    const t0 = Date.now();
    ws.sendClose(1000, 'bye');
    const code = await ws.waitClose(2000);
    assert.equal(code, 1000, `expected the gateway to answer Close 1000, got ${code}`);
    const closeDelay = ws.closeFrame.at - t0;
    await ws.waitTcpClosed(2000);
    const tcpDelay = ws.tcpClosedAt - t0;
    assert.ok(closeDelay <= 300, `Close reply took ${closeDelay} ms`);
    assert.ok(tcpDelay <= 500, `TCP close took ${tcpDelay} ms after the client's Close`);
    assert.deepEqual(ws.dataAfterClose.map((f) => f.payload.toString().slice(0, 80)), [], 'data frames after the server Close');
    await conn.waitClosed(5000);
  }));

  test('WS-21 Close codes: normal 1000, binary 1003, bad UTF-8 1007, RSV 1002; never 1005/1006/1015', T, () => scenario({}, async (ctx) => {
    const codes = {};
    const runs = {
      normal: (ws) => ws.sendClose(1000),
      binary: (ws) => ws.sendBinary('<presence/>'),
      utf8: (ws) => ws.sendText(Buffer.from([0x3c, 0xff, 0x3e])),
      rsv: (ws) => ws.sendFrame({ opcode: OP.TEXT, rsv2: true, payload: '<presence/>' }),
    };
    for (const [name, act] of Object.entries(runs)) {
      const { ws } = await ctx.open();
      act(ws);
      codes[name] = (await ws.collectUntilClose(3000)).close;
    }
    assert.deepEqual(codes, { normal: 1000, binary: 1003, utf8: 1007, rsv: 1002 });
    for (const c of Object.values(codes)) assert.ok(![1005, 1006, 1015].includes(c));
  }));

  test('WS-22 a frame announcing 2^40 bytes is refused quickly without a large allocation', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    const rss0 = rssKb(ctx.gw.pid);
    const t0 = Date.now();
    // header for 2^40 bytes, then 1 KiB of valid (masked) payload; the rest never comes
    ws.sendRaw(W.buildFrame({ opcode: OP.TEXT, declaredLength: 2 ** 40, payload: `<message xmlns='jabber:client'><body>${'a'.repeat(1000)}` }));
    const seq = await readToClose(ws, 3000);
    const dt = Date.now() - t0;
    assert.ok(dt < 1500, `took ${dt} ms to react`);
    if (seq.close === 1009) {
      assert.ok(true);
    } else {
      assertErrorSequence(seq, { label: 'oversized frame', conditions: ['policy-violation'], closeCodes: [1000, 1009] });
    }
    const rss1 = rssKb(ctx.gw.pid);
    assert.ok(rss1 - rss0 < 64 * 1024, `gateway RSS grew by ${rss1 - rss0} kB`);
    await conn.waitClosed(5000);
  }));

  for (const [name, send] of Object.entries({
    'in one frame': (ws, s) => ws.sendText(s),
    'in 1 KiB fragments': (ws, s) => {
      const parts = [];
      for (let i = 0; i < s.length; i += 1024) parts.push(s.slice(i, i + 1024));
      ws.sendFragments(parts);
    },
  })) {
    test(`WS-22 message above limits.max_stanza_bytes (4096) ${name} -> 1009 or policy-violation; never forwarded`, T,
      () => scenario({ config: { limits: { max_stanza_bytes: 4096 } } }, async (ctx) => {
        const { ws, conn } = await openWithConn(ctx);
        // just below the limit passes
        const okStanza = `<message xmlns='jabber:client' to='a@example.com' id='fits'><body>${'f'.repeat(3000)}</body></message>`;
        ws.sendText(okStanza);
        await conn.waitFor("fits", 3000);
        const big = `<message xmlns='jabber:client' to='a@example.com' id='toobig'><body>${'B'.repeat(64 * 1024)}</body></message>`;
        send(ws, big);
        const seq = await readToClose(ws, 5000);
        if (seq.close !== 1009) {
          assertErrorSequence(seq, { label: 'oversized stanza', conditions: ['policy-violation'], closeCodes: [1000] });
        }
        await conn.waitClosed(5000);
        assert.ok(!conn.received().includes('toobig'), 'the oversized stanza (or part of it) reached S');
      }));
  }

  test('WS-23 64-bit length with the top bit set -> connection failed', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendFrame({ opcode: OP.TEXT, payload: '<a/>', rawLength64: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 4]) });
    await expectConnectionFailed(ws, conn, '64-bit length with the top bit set');
  }));

  test('WS-23 64-bit length with the top bit set -> Close 1002', TODO_LWS, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendFrame({ opcode: OP.TEXT, payload: '<a/>', rawLength64: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 4]) });
    await expectFailClose(ws, conn, 1002, '64-bit length with the top bit set');
  }));

  test('WS-23 gateway frames use the minimal length encoding (7/16/64-bit)', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    const pad = (n) => 'x'.repeat(n);
    conn.send(plainStanza('len-small'));
    conn.send(`<message from='a@example.com/x' id='len-mid'><body>${pad(200)}</body></message>`);
    conn.send(`<message from='a@example.com/x' id='len-big'><body>${pad(70000)}</body></message>`);
    const forms = {};
    for (let i = 0; i < 3; i++) {
      const m = await ws.nextData(5000);
      const id = /id='([^']+)'|id="([^"]+)"/.exec(m.text);
      const name = id[1] || id[2];
      forms[name] = m.frames.map((f) => `${f.lenForm}:${f.length}`);
      for (const f of m.frames) {
        const want = f.length < 126 ? 7 : f.length < 65536 ? 16 : 64;
        assert.equal(f.lenForm, want, `${name}: frame of ${f.length} bytes used ${f.lenForm}-bit length`);
      }
    }
    assert.deepEqual(Object.keys(forms).sort(), ['len-big', 'len-mid', 'len-small']);
  }));
});

// ---------------------------------------------------------------------------------------
describe('1.16 WebSocket XMPP framing and stream semantics', () => {
  test('WS-25 3 stanzas in one TCP segment -> 3 messages; 1 stanza over 5 segments -> 1 message', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send(plainStanza('m1') + `<presence from='b@example.com/y' id='m2'/>` + "<iq type='get' id='m3' from='example.com'><query xmlns='jabber:iq:version'/></iq>");
    const got = [];
    for (let i = 0; i < 3; i++) got.push(parseXml(await ws.nextText(3000)));
    assert.deepEqual(got.map((e) => [e.local, e.attrs.id]), [['message', 'm1'], ['presence', 'm2'], ['iq', 'm3']]);
    const whole = plainStanza('seg5', " type='chat'");
    const cut = [0, 7, 30, 55, 80, whole.length];
    for (let i = 0; i < 5; i++) {
      conn.send(whole.slice(cut[i], cut[i + 1]));
      await sleep(40); // pacing so each piece leaves in its own segment
    }
    const one = parseXml(await ws.nextText(3000));
    assert.equal(one.attrs.id, 'seg5');
    assert.equal(kids(one, 'body')[0].text, 'hello seg5');
    const next = await barrierDown(ws, conn);
    assert.ok(next.text.includes(next.id), `the message after the segmented stanza should be the barrier, got ${next.text}`);
  }));

  test('WS-26 every message is a standalone document: jabber:client on stanzas, prefixed stream:features, prefixes redeclared (TD-3)', T,
    () => scenario({
      fake: {
        onHeader: (conn) => {
          conn.sendHeader({}, { nsDecls: ` xmlns='jabber:client' xmlns:stream='${NS.ST}' xmlns:ex='urn:example:ex'` });
          conn.sendFeatures();
          return true;
        },
      },
    }, async (ctx) => {
      const { ws, conn, features, featuresText } = await openWithConn(ctx);
      assert.equal(features.qname, 'stream:features', `features must use the stream prefix for interop: ${featuresText}`);
      assert.equal(features.attrs['xmlns:stream'], NS.ST);
      conn.send("<message from='a@example.com/x' id='ns1'><body>b</body><ex:data>1</ex:data><x:delay xmlns:x='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/></message>");
      conn.send("<presence from='b@example.com/y' id='ns2'/>");
      conn.send("<iq type='result' id='ns3' from='example.com'/>");
      conn.send("<message xmlns='jabber:client' from='a@example.com/x' id='ns4'/>");
      conn.send(`<r xmlns='${NS_SM}'/>`);
      const m1 = parseXml(await ws.nextText(3000));
      assert.equal(m1.ns, NS.CLIENT);
      assert.equal(kids(m1, 'data')[0].ns, 'urn:example:ex', 'prefix declared on the upstream header must be redeclared');
      assert.equal(kids(m1, 'delay')[0].ns, 'urn:xmpp:delay');
      assert.equal(kids(m1, 'body')[0].ns, NS.CLIENT);
      for (const id of ['ns2', 'ns3', 'ns4']) {
        const el = parseXml(await ws.nextText(3000));
        assert.equal(el.attrs.id, id);
        assert.equal(el.ns, NS.CLIENT, `${id} must be in jabber:client`);
      }
      const r = parseXml(await ws.nextText(3000));
      assert.equal(r.ns, NS_SM);
      assert.equal(r.local, 'r');
    }));

  test('WS-27 stanzas without xml:lang get the upstream stream xml:lang; explicit xml:lang untouched', T,
    () => scenario({ fake: { lang: 'de' } }, async (ctx) => {
      const { ws, conn, open } = await openWithConn(ctx);
      assert.equal(attrNs(open, NS.XML, 'lang'), 'de');
      conn.send(plainStanza('lang1'));
      conn.send(plainStanza('lang2', " xml:lang='fr'"));
      const a = parseXml(await ws.nextText(3000));
      const b = parseXml(await ws.nextText(3000));
      assert.equal(attrNs(a, NS.XML, 'lang'), 'de', `stanza without xml:lang: ${JSON.stringify(a.attrs)}`);
      assert.equal(attrNs(b, NS.XML, 'lang'), 'fr');
    }));

  test('WS-28 every message starts with "<": no XML declaration, no leading whitespace, no BOM', T, () => scenario({}, async (ctx) => {
    const { ws, conn, openText, featuresText } = await openWithConn(ctx);
    assert.ok(!openText.startsWith('<?xml') && openText[0] === '<', openText);
    assert.ok(featuresText[0] === '<', featuresText);
    conn.send('\n  ' + plainStanza('ws1'));
    conn.send('\r\n\t' + plainStanza('ws2'));
    conn.send(' ' + plainStanza('ws3'));
    for (let i = 1; i <= 3; i++) {
      const m = await ws.nextData(3000);
      assert.equal(m.payload[0], 0x3c, `message ${i} starts with byte 0x${m.payload[0].toString(16)}: ${JSON.stringify(m.text.slice(0, 40))}`);
      assert.ok(m.text.includes(`ws${i}`));
    }
  }));

  describe('WS-29 not-well-formed client messages -> not-well-formed error, <close/>, Close', () => {
    const cases = {
      'unclosed <message>': "<message xmlns='jabber:client' id='nwf1'>",
      'two root elements': "<presence xmlns='jabber:client' id='nwf2'/><presence xmlns='jabber:client' id='nwf2b'/>",
      'empty message': '',
      'truncated start tag': "<presence xmlns='jabber:client' id='nwf4'",
      'mismatched end tag': "<message xmlns='jabber:client' id='nwf5'><body>a</message>",
      'text only': 'hello nwf6',
      'undeclared prefix': "<foo:presence id='nwf7'/>",
    };
    for (const [name, payload] of Object.entries(cases)) {
      test(`WS-29 ${name} -> not-well-formed`, T, () => scenario({}, async (ctx) => {
        const { ws, conn } = await openWithConn(ctx);
        ws.sendText(payload);
        const seq = await readToClose(ws, 5000);
        assertErrorSequence(seq, { label: name, conditions: ['not-well-formed'] });
        await conn.waitClosed(5000);
        assert.ok(!/nwf\d/.test(conn.received()), `bad message content reached S: ${conn.received()}`);
      }));
    }

    test('WS-29/TD-10 a message starting with an XML declaration is accepted; the declaration is not forwarded', T, () => scenario({}, async (ctx) => {
      const { ws, conn } = await openWithConn(ctx);
      ws.sendText("<?xml version='1.0'?><presence xmlns='jabber:client' id='decl-ok'/>");
      await conn.waitFor('decl-ok', 3000);
      const decls = (conn.received().match(/<\?xml/g) || []).length;
      assert.equal(decls, conn.headers.length, `XML declarations at S (${decls}) should only precede stream headers (${conn.headers.length}): ${conn.received()}`);
      assert.equal(ws.closeFrame, null);
    }));

    test('WS-29 an expanded <open ...></open> is accepted', T, () => scenario({}, async (ctx) => {
      const ws = await ctx.connect();
      ws.sendText(`<open xmlns='${NS.FR}' to='example.com' version='1.0'></open>`);
      const open = parseXml(await ws.nextText(3000));
      assert.equal(open.local, 'open');
      assert.equal(open.ns, NS.FR);
      const f = parseXml(await ws.nextText(3000));
      assert.equal(f.local, 'features');
    }));
  });

  describe('WS-30 restricted XML from the client -> restricted-xml, nothing reaches S', () => {
    const cases = {
      comment: ["<presence xmlns='jabber:client' id='rx1'><!--x--></presence>", ['restricted-xml']],
      'processing instruction': ["<presence xmlns='jabber:client' id='rx2'><?pi data?></presence>", ['restricted-xml', 'not-well-formed']],
      'DOCTYPE with an entity': ["<!DOCTYPE presence [<!ENTITY e 'rx3'>]><presence xmlns='jabber:client' id='rx3'>&e;</presence>", ['restricted-xml', 'not-well-formed']],
    };
    for (const [name, [payload, conds]] of Object.entries(cases)) {
      test(`WS-30 ${name} -> ${conds[0]}`, T, () => scenario({}, async (ctx) => {
        const { ws, conn } = await openWithConn(ctx);
        ws.sendText(payload);
        const seq = await readToClose(ws, 5000);
        assertErrorSequence(seq, { label: name, conditions: conds });
        await conn.waitClosed(5000);
        assert.ok(!/rx\d/.test(conn.received()) && !conn.received().includes('<!--'), `restricted content reached S: ${conn.received()}`);
      }));
    }
  });

  test('WS-31 <open/> in the wrong namespace -> <open/>, invalid-namespace, <close/>, Close 1000', T, () => scenario({}, async (ctx) => {
    const ws = await ctx.connect();
    ws.sendText("<open xmlns='jabber:client' to='example.com' version='1.0'/>");
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'open in jabber:client', open: true, conditions: ['invalid-namespace'] });
    const open = parseXml(seq.texts[0]);
    assert.equal(open.ns, NS.FR);
    assert.equal(open.attrs.version, '1.0');
  }));

  test('WS-31 old-draft unclosed <stream:stream> as first message -> not-well-formed', T, () => scenario({}, async (ctx) => {
    const ws = await ctx.connect();
    ws.sendText(`<stream:stream to='example.com' version='1.0' xmlns='jabber:client' xmlns:stream='${NS.ST}'>`);
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'old draft', open: 'optional', conditions: ['not-well-formed'] });
  }));

  test('WS-32 the first message is a stanza -> <open/>, a stream error, <close/>, Close; S never gets it', T, () => scenario({}, async (ctx) => {
    const ws = await ctx.connect();
    ws.sendText("<presence xmlns='jabber:client' id='first-stanza'/>");
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'stanza before open', open: true });
    for (const c of ctx.fake.connections) assert.ok(!c.received().includes('first-stanza'));
  }));

  test('WS-33/TD-11 <open/> reply carries S\'s from, id, version, xml:lang and to; no xmlns:stream', T,
    () => scenario({
      fake: {
        lang: 'de',
        onHeader: (conn) => {
          conn.sendHeader({ to: 'juliet@example.com' });
          conn.sendFeatures();
          return true;
        },
      },
    }, async (ctx) => {
      const { open, openText, conn } = await openWithConn(ctx, { openExtra: "from='juliet@example.com' xml:lang='en'" });
      const s = conn.lastHeaderAttrs;
      assert.equal(open.ns, NS.FR);
      assert.equal(open.attrs.from, 'example.com', openText);
      assert.equal(open.attrs.id, s.id, `id must be S's stream id ${s.id}: ${openText}`);
      assert.equal(open.attrs.version, '1.0', openText);
      assert.equal(attrNs(open, NS.XML, 'lang'), 'de', openText);
      assert.equal(open.attrs.to, 'juliet@example.com', `S's header had to=, so <open/> must carry it: ${openText}`);
      assert.equal(open.attrs['xmlns:stream'], undefined, openText);
      assert.equal(kids(open).length, 0, '<open/> must be empty');
    }));

  test('WS-34/CM-03 upstream refuses the connection -> <open/>, remote-connection-failed, <close/>, Close 1000', T, async () => {
    const port = await closedPort();
    await scenario({ fake: null, extraRoutes: [{ domain: 'example.com', host: '127.0.0.1', port, tls: 'starttls', allow_plaintext: true }], config: { upstream: { connect_timeout_s: 2 } } }, async (ctx) => {
      const ws = await ctx.connect();
      const t0 = Date.now();
      ws.sendText(openXml('example.com', "xml:lang='en'"));
      const seq = await readToClose(ws, 4000);
      const dt = Date.now() - t0;
      assertErrorSequence(seq, { label: 'S down', open: true, conditions: ['remote-connection-failed'] });
      const open = parseXml(seq.texts[0]);
      assert.equal(open.attrs.version, '1.0');
      assert.ok(open.attrs.from === 'example.com' || open.attrs.from === '', `from=${open.attrs.from}`);
      assert.ok(dt <= 3000, `took ${dt} ms (connect_timeout_s 2 + 1 s)`);
    });
  });

  test('WS-35/TD-7 unknown domain -> 3 messages: <open/>, host-unknown, <close/>, then Close; no upstream', T, () => scenario({}, async (ctx) => {
    const ws = await ctx.connect();
    ws.sendText(openXml('unknown.example', "xml:lang='en'"));
    const seq = await readToClose(ws, 4000);
    assertErrorSequence(seq, { label: 'unknown domain', open: true, conditions: ['host-unknown'] });
    const open = parseXml(seq.texts[0]);
    assert.equal(open.attrs.version, '1.0');
    assert.ok(open.attrs.id, `<open/> should carry an id: ${seq.texts[0]}`);
    assert.ok(open.attrs.from === '' || /^[a-z0-9.-]+$/i.test(open.attrs.from || 'missing!'), `from must be an FQDN or empty: ${seq.texts[0]}`);
    assert.notEqual(open.attrs.from, 'unknown.example', 'from must be authoritative, not the requested domain');
    assert.equal(ctx.fake.connections.length, 0);
  }));

  describe('with a test CA', () => {
    let pki;
    const setup = () => { if (!pki) pki = makeTestPki({ names: ['example.com', 'other.example'] }); return pki; };
    process.on('exit', () => { if (pki) pki.cleanup(); });

    test('WS-36/TD-12 <starttls/> offered by S never reaches the WS client', T, () => {
      const p = setup();
      return scenario({
        fake: { starttls: { required: false, key: p.certs['example.com'].key, cert: p.certs['example.com'].cert } },
        config: { upstream: { ca_file: p.caFile } },
        route: { tls_verify: true },
      }, async (ctx) => {
        const { featuresText, ws } = await openWithConn(ctx);
        assert.ok(!/starttls/.test(featuresText), `features must not advertise starttls: ${featuresText}`);
        assert.ok(!ws.frames.some((f) => /proceed|starttls/.test(f.payload.toString())));
      });
    });

    test('XMPP-05/XMPP-07/TD-2 required STARTTLS is negotiated by G; C sees only the post-TLS id and features', T, () => {
      const p = setup();
      return scenario({
        fake: { starttls: { required: true, key: p.certs['example.com'].key, cert: p.certs['example.com'].cert } },
        config: { upstream: { ca_file: p.caFile } },
        route: { tls_verify: true },
      }, async (ctx) => {
        const { ws, open, featuresText, conn } = await openWithConn(ctx);
        assert.equal(conn.tls, true, 'S side must be TLS');
        assert.equal(conn.sni, 'example.com', 'SNI must be the XMPP domain (XMPP-06)');
        assert.equal(conn.sentIds.length, 2);
        assert.equal(open.attrs.id, conn.sentIds[1], `C must see the post-TLS id ${conn.sentIds[1]}, not ${open.attrs.id} (pre-TLS ${conn.sentIds[0]})`);
        assert.match(featuresText, /<mechanism>PLAIN<\/mechanism>/);
        assert.ok(!/starttls|proceed/.test(ws.frames.map((f) => f.payload.toString()).join('')), 'C saw STARTTLS negotiation');
        // XMPP-08 (STARTTLS phase): nothing but header + <starttls/> before TLS, no whitespace
        assert.match(conn.preTlsLog, new RegExp(`^(<\\?xml[^>]*\\?>)?<stream:stream\\b[^>]*><starttls\\b[^>]*(/>|></starttls>)$`), `pre-TLS bytes: ${conn.preTlsLog}`);
        // a new header after TLS without a closing tag first
        assert.ok(!conn.preTlsLog.includes('</stream:stream>'));
        const h2 = conn.headers[1];
        assert.equal(h2.attrs.to, 'example.com');
        // and the session works
        await barrierUp(ws, conn);
      });
    });

    test('XMPP-05 S answers <starttls/> with <failure/> -> remote-connection-failed', T, () => {
      const p = setup();
      return scenario({
        fake: {
          starttls: { required: true, key: p.certs['example.com'].key, cert: p.certs['example.com'].cert },
          onElement: (conn, el) => {
            if (el.local !== 'starttls') return false;
            conn.send(`<failure xmlns='${NS.TLS}'/></stream:stream>`);
            conn.end();
            return true;
          },
        },
        config: { upstream: { ca_file: p.caFile } },
      }, async (ctx) => {
        const ws = await ctx.connect();
        ws.sendText(openXml());
        const seq = await readToClose(ws, 5000);
        assertErrorSequence(seq, { label: 'STARTTLS failure', open: true, conditions: ['remote-connection-failed'] });
      });
    });

    test('XMPP-06 certificate for the wrong name -> remote-connection-failed, no plaintext fallback', T, () => {
      const p = setup();
      return scenario({
        fake: { starttls: { required: false, key: p.certs['other.example'].key, cert: p.certs['other.example'].cert } },
        config: { upstream: { ca_file: p.caFile } },
        route: { tls_verify: true },
      }, async (ctx) => {
        const ws = await ctx.connect();
        ws.sendText(openXml());
        const seq = await readToClose(ws, 5000);
        assertErrorSequence(seq, { label: 'wrong cert name', open: true, conditions: ['remote-connection-failed'] });
        for (const c of ctx.fake.connections) {
          assert.equal(c.tls && c.headers.length > 1, false, 'G continued over TLS with a wrong certificate');
          assert.ok(c.headers.filter((h, i) => i > 0).length === 0, `G sent another header (plaintext fallback?): ${c.received()}`);
          assert.ok(!/<auth|<presence|<message/.test(c.received()));
        }
      });
    });

    test('XMPP-06 certificate from an untrusted CA -> remote-connection-failed', T, () => {
      setup();
      const rogue = makeTestPki({ names: ['example.com'] });
      return scenario({
        fake: { starttls: { required: true, key: rogue.certs['example.com'].key, cert: rogue.certs['example.com'].cert } },
        config: { upstream: { ca_file: pki.caFile } },
        route: { tls_verify: true },
      }, async (ctx) => {
        const ws = await ctx.connect();
        ws.sendText(openXml());
        const seq = await readToClose(ws, 5000);
        assertErrorSequence(seq, { label: 'untrusted CA', open: true, conditions: ['remote-connection-failed'] });
      }).finally(() => rogue.cleanup());
    });

    test('XMPP-06 direct-TLS route: verified certificate and SNI; wrong name refused', T, async () => {
      const p = setup();
      await scenario({
        fake: { directTls: { key: p.certs['example.com'].key, cert: p.certs['example.com'].cert } },
        config: { upstream: { ca_file: p.caFile } },
        route: { tls: 'direct', tls_verify: true },
      }, async (ctx) => {
        const { conn, open } = await openWithConn(ctx);
        assert.equal(conn.tls, true);
        assert.equal(conn.sni, 'example.com');
        assert.equal(open.attrs.id, conn.sentIds[0]);
      });
      await scenario({
        fake: { directTls: { key: p.certs['other.example'].key, cert: p.certs['other.example'].cert } },
        config: { upstream: { ca_file: p.caFile } },
        route: { tls: 'direct', tls_verify: true },
      }, async (ctx) => {
        const ws = await ctx.connect();
        ws.sendText(openXml());
        const seq = await readToClose(ws, 5000);
        assertErrorSequence(seq, { label: 'direct TLS wrong name', open: true, conditions: ['remote-connection-failed'] });
        for (const c of ctx.fake.connections) assert.equal(c.headers.length, 0, 'no header may be sent over a rejected TLS link');
      });
    });
  });

  test('WS-36/TD-12 client <starttls/> and <compress/> are never forwarded', T, () => scenario({}, async (ctx) => {
    for (const el of [`<starttls xmlns='${NS.TLS}'/>`, "<compress xmlns='http://jabber.org/protocol/compress'><method>zlib</method></compress>"]) {
      const { ws, conn } = await openWithConn(ctx);
      ws.sendText(el);
      const id = `after-filter-${++barrierSeq}`;
      ws.sendText(`<presence xmlns='jabber:client' id='${id}'/>`);
      // either G ends the session, or the later presence arrives: both are a barrier
      await Promise.race([ws.waitTcpClosed(5000).then(() => conn.waitClosed(5000)), conn.waitFor(id, 5000)]);
      assert.ok(!/<starttls|<compress/.test(conn.received()), `forwarded to S: ${conn.received()}`);
      assert.ok(!ws.frames.some((f) => /<proceed|<compressed/.test(f.payload.toString())), 'C was told TLS/compression started');
    }
  }));

  test('WS-37/TD-5/XMPP-09/XMPP-10 restart after SASL on the same upstream socket; new id relayed', T, () => scenario({}, async (ctx) => {
    const { ws, conn, open } = await openWithConn(ctx);
    assert.equal(open.attrs.id, conn.sentIds[0]);
    ws.sendText(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AGp1bGlldAByMG0zMA==</auth>`);
    const succ = parseXml(await ws.nextText(3000));
    assert.equal(succ.local, 'success');
    assert.equal(succ.ns, NS.SASL);
    await conn.waitFor('AGp1bGlldAByMG0zMA==', 1000);
    ws.sendText(openXml('example.com', "xml:lang='en'"));
    await conn.waitForHeader(2, 3000);
    const open2 = parseXml(await ws.nextText(3000));
    const feats = parseXml(await ws.nextText(3000));
    assert.equal(ctx.fake.connections.length, 1, 'the restart must reuse the upstream connection');
    const between = conn.received().slice(conn.received().indexOf('</auth>'));
    assert.ok(!between.includes('</stream:stream>'), `G closed the stream before restarting: ${between}`);
    assert.equal(open2.local, 'open');
    assert.equal(open2.attrs.id, conn.sentIds[1], 'C must get the new stream id');
    assert.notEqual(open2.attrs.id, open.attrs.id);
    assert.equal(kids(feats, 'bind', NS.BIND).length, 1, `features after restart must include bind: ${JSON.stringify(feats)}`);
    assert.equal(conn.headers[1].attrs.to, 'example.com');
    assert.equal(conn.headers[1].attrs.id, undefined);
    ws.sendText(`<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='${NS.BIND}'><resource>r</resource></bind></iq>`);
    const res = parseXml(await ws.nextText(3000));
    assert.equal(res.attrs.type, 'result');
    assert.equal(res.ns, NS.CLIENT);
  }));

  test('WS-38/WS-44 a second <open/> without a restart -> error and close; one upstream connection', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendText(openXml());
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'second open', open: false });
    await conn.waitClosed(5000);
    assert.equal(ctx.fake.connections.length, 1);
    assert.equal(conn.headers.length, 1, `a second stream header was sent upstream: ${conn.received()}`);
  }));

  test('WS-38 <open/> right after <close/> opens no second upstream stream', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendText(CLOSE_XML);
    ws.sendText(openXml());
    for (let i = 0; i < 6; i++) {
      const t = await ws.nextText(5000);
      if (isCloseEl(t)) break;
    }
    if (!ws.closeFrame) ws.sendClose(1000);
    await ws.waitTcpClosed(3000);
    await conn.waitClosed(5000);
    assert.equal(ctx.fake.connections.length, 1, 'a second upstream connection was opened');
    assert.equal(conn.headers.length, 1, `a second stream header was sent: ${conn.received()}`);
  }));

  test('WS-39/XMPP-11 client closes: </stream:stream> upstream, late stanza relayed, <close/>, Close handshake', T,
    () => scenario({
      fake: {
        onStreamEnd: (conn) => {
          conn.send(plainStanza('late-words'));
          conn.send('</stream:stream>');
          conn.end();
          return true;
        },
      },
    }, async (ctx) => {
      const { ws, conn } = await openWithConn(ctx);
      ws.sendText(CLOSE_XML);
      await conn.waitFor('</stream:stream>', 3000);
      const late = parseXml(await ws.nextText(3000));
      assert.equal(late.attrs.id, 'late-words');
      const closeText = await ws.nextText(3000);
      assert.ok(isCloseEl(closeText), `expected <close/>, got ${closeText}`);
      if (!ws.closeFrame) ws.sendClose(1000);
      const code = await ws.waitClose(2000);
      assert.equal(code, 1000);
      await ws.waitTcpClosed(2000);
      await conn.waitClosed(3000);
    }));

  test('WS-39 client never completes the Close handshake -> G closes TCP after about 5 s', { ...T, timeout: 60000 }, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx, { connect: { autoCloseReply: false } });
    ws.sendText(CLOSE_XML);
    const closeText = await ws.nextText(3000);
    assert.ok(isCloseEl(closeText), closeText);
    const t0 = Date.now();
    await ws.waitTcpClosed(8000);
    const dt = ws.tcpClosedAt - t0;
    assert.ok(dt <= 7000, `TCP closed after ${dt} ms`);
    await conn.waitClosed(3000);
  }));

  test('WS-39/CM-05 server closes: <close/>, then G starts Close 1000; G answers </stream:stream> and closes TCP', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send('</stream:stream>');
    const seq = await readToClose(ws, 5000);
    assert.equal(seq.texts.length, 1, `expected only <close/>, got ${JSON.stringify(seq.texts)}`);
    assert.ok(isCloseEl(seq.texts[0]), seq.texts[0]);
    assert.equal(seq.close, 1000);
    await conn.waitFor('</stream:stream>', 3000);
    await conn.waitClosed(6000);
  }));

  describe('WS-40 stream management', () => {
    const smFake = {
      onElement: (conn, el) => {
        if (el.local === 'enable' && el.raw.includes(NS_SM)) {
          conn.send(`<enabled xmlns='${NS_SM}' id='sm-resume-1' resume='true'/>`);
          return true;
        }
        if (el.local === 'resume' && el.raw.includes(NS_SM)) {
          conn.send(`<resumed xmlns='${NS_SM}' h='0' previd='${el.attrs.previd}'/>`);
          return true;
        }
        return false;
      },
    };
    test('CM-07/WS-40 shutdown after <enabled resume=\'true\'/>: system-shutdown to C, upstream closed without </stream:stream> (resumable)', T, () => scenario({ fake: smFake }, async (ctx) => {
      const { ws, conn } = await openWithConn(ctx);
      await loginAndBind(ws, conn);
      ws.sendText(`<enable xmlns='${NS_SM}' resume='true'/>`);
      assert.equal(parseXml(await ws.nextText(3000)).local, 'enabled');
      const seqP = readToClose(ws, 15000);
      const res = await ctx.stopGateway();
      assertErrorSequence(await seqP, { label: 'shutdown', conditions: ['system-shutdown'], closeCodes: [1001] });
      await conn.waitClosed(3000);
      const after = conn.received().slice(conn.received().lastIndexOf('<enable'));
      assert.ok(!after.includes('</stream:stream>'), `the resumable stream was closed gracefully: ${after}`);
      assert.equal(res.code, 0);
    }));

    for (const how of ['TCP drop', 'Close frame without <close/>']) {
      test(`WS-40 after <enabled resume='true'/>, ${how} -> upstream closed without </stream:stream>`, T, () => scenario({ fake: smFake }, async (ctx) => {
        const { ws, conn } = await openWithConn(ctx);
        await loginAndBind(ws, conn);
        ws.sendText(`<enable xmlns='${NS_SM}' resume='true'/>`);
        const en = parseXml(await ws.nextText(3000));
        assert.equal(en.local, 'enabled');
        assert.equal(en.attrs.resume, 'true');
        if (how === 'TCP drop') ws.destroy(); else ws.sendClose(1000);
        await conn.waitClosed(5000);
        const after = conn.received().slice(conn.received().lastIndexOf('<enable'));
        assert.ok(!after.includes('</stream:stream>'), `G closed the resumable stream gracefully: ${after}`);
        // a new WebSocket can resume through G
        const again = await openWithConn(ctx);
        again.ws.sendText(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AHVzZXIAcGFzcw==</auth>`);
        assert.equal(parseXml(await again.ws.nextText(3000)).local, 'success');
        again.ws.sendText(openXml('example.com', "xml:lang='en'"));
        assert.ok(isOpenEl(await again.ws.nextText(3000)));
        await again.ws.nextText(3000); // features
        again.ws.sendText(`<resume xmlns='${NS_SM}' h='0' previd='sm-resume-1'/>`);
        const resumed = parseXml(await again.ws.nextText(3000));
        assert.equal(resumed.local, 'resumed');
        assert.equal(resumed.ns, NS_SM);
        assert.equal(resumed.attrs.previd, 'sm-resume-1');
        const el = await again.conn.waitForElement((e) => e.local === 'resume', 1000);
        assert.equal(el.attrs.previd, 'sm-resume-1');
      }));
    }
  });

  test('CM-06 WS dropped without <close/> and without SM -> upstream gets </stream:stream>', T, () => scenario({}, async (ctx) => {
    const a = await openWithConn(ctx);
    a.ws.destroy();
    await a.conn.waitFor('</stream:stream>', 5000);
    await a.conn.waitClosed(8000);
    const b = await openWithConn(ctx);
    b.ws.sendClose(1000);
    await b.conn.waitFor('</stream:stream>', 5000);
    await b.conn.waitClosed(8000);
  }));

  test('WS-42/TD-9 whitespace keepalives from S are dropped', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    for (const w of [' ', '\n', '\r\n\t ', ' ']) conn.send(w);
    const b = await barrierDown(ws, conn);
    assert.ok(b.text.includes(b.id), `first message after whitespace should be the barrier, got ${JSON.stringify(b.text)}`);
    conn.send(plainStanza('ka1') + '   \n  ' + plainStanza('ka2'));
    assert.ok((await ws.nextText(3000)).includes('ka1'));
    assert.ok((await ws.nextText(3000)).includes('ka2'));
  }));

  test('WS-43 XEP-0198 <r/>/<a/> and XEP-0199 ping pass through', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send(`<r xmlns='${NS_SM}'/>`);
    const r = parseXml(await ws.nextText(3000));
    assert.equal(r.local, 'r'); assert.equal(r.ns, NS_SM);
    ws.sendText(`<a xmlns='${NS_SM}' h='0'/>`);
    const a = await conn.waitForElement((e) => e.local === 'a', 3000);
    assert.equal(a.attrs.h, '0');
    ws.sendText(`<r xmlns='${NS_SM}'/>`);
    await conn.waitForElement((e) => e.local === 'r', 3000);
    conn.send("<iq type='get' id='png1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>");
    const iq = parseXml(await ws.nextText(3000));
    assert.equal(iq.ns, NS.CLIENT);
    assert.equal(kids(iq, 'ping', 'urn:xmpp:ping').length, 1);
  }));

  test('WS-45/TD-6 S stream error relayed verbatim after earlier stanzas, then <close/>, Close 1000', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send(plainStanza('last-words') +
      `<stream:error><conflict xmlns='${NS.STREAMS}'/><text xmlns='${NS.STREAMS}' xml:lang='en'>Replaced by new connection</text>` +
      "<app-cond xmlns='urn:example:app' code='7'>x</app-cond></stream:error></stream:stream>");
    const seq = await readToClose(ws, 5000);
    assert.equal(seq.texts.length, 3, `expected message, error, close; got ${JSON.stringify(seq.texts)}`);
    assert.equal(parseXml(seq.texts[0]).attrs.id, 'last-words');
    const info = streamErrorInfo(seq.texts[1]);
    assert.ok(info, seq.texts[1]);
    assert.equal(info.condition, 'conflict');
    assert.equal(info.text, 'Replaced by new connection');
    const text = kids(info.el, 'text', NS.STREAMS)[0];
    assert.equal(attrNs(text, NS.XML, 'lang'), 'en');
    const app = kids(info.el, 'app-cond', 'urn:example:app')[0];
    assert.ok(app, `application-specific condition lost: ${seq.texts[1]}`);
    assert.equal(app.attrs.code, '7');
    assert.equal(app.text, 'x');
    assert.ok(isCloseEl(seq.texts[2]));
    assert.equal(seq.close, 1000);
    await conn.waitFor('</stream:stream>', 3000);
    await conn.waitClosed(5000);
  }));
});

// ---------------------------------------------------------------------------------------
describe('1.18 upstream stream and section 2 translation duties', () => {
  test('TD-1/XMPP-02 upstream header: XML declaration first, to, version 1.0, xml:lang, jabber:client, stream prefix, no id', T, () => scenario({}, async (ctx) => {
    const { conn } = await openWithConn(ctx, { openExtra: "xml:lang='en'" });
    const log = conn.received();
    assert.notEqual(log.charCodeAt(0), 0xfeff, 'BOM sent');
    assert.match(log, /^<\?xml version=(['"])1\.0\1(\s+encoding=(['"])(UTF|utf)-8\3)?\s*\?>\s*<stream:stream\s/, `header: ${log.slice(0, 300)}`);
    assert.ok(!/standalone/.test(log.slice(0, log.indexOf('?>'))), 'standalone in the declaration');
    const h = conn.headers[0];
    assert.equal(h.name, 'stream:stream');
    assert.equal(h.attrs.to, 'example.com');
    assert.equal(h.attrs.version, '1.0');
    assert.equal(h.attrs['xml:lang'], 'en');
    assert.equal(h.attrs.xmlns, 'jabber:client');
    assert.equal(h.attrs['xmlns:stream'], NS.ST);
    assert.equal(h.attrs.id, undefined, 'the initiating entity must not send an id');
  }));

  test('XMPP-03 S omits the stream id -> the session still opens', T, () => scenario({
    fake: { onHeader: (conn) => { conn.sendHeader({ id: null }); conn.sendFeatures(); return true; } },
  }, async (ctx) => {
    const { open, ws, conn } = await openWithConn(ctx);
    assert.equal(open.attrs.version, '1.0');
    await barrierUp(ws, conn);
  }));

  test('XMPP-04/TD-12 -PLUS mechanisms and compression are stripped from features', T, () => scenario({}, async (ctx) => {
    const { features, featuresText } = await openWithConn(ctx);
    const mechs = kids(features, 'mechanisms', NS.SASL);
    assert.equal(mechs.length, 1, featuresText);
    assert.deepEqual(kids(mechs[0], 'mechanism').map((m) => m.text), ['SCRAM-SHA-1', 'PLAIN'], featuresText);
    assert.equal(kids(features, 'compression').length, 0, `compression not stripped: ${featuresText}`);
  }));

  test('XMPP-08 no whitespace around <auth/> or before the restart header', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    const b64 = 'AGp1bGlldABzM2NyM3QtcGFzcw==';
    ws.sendText(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>${b64}</auth>`);
    await ws.nextText(3000);
    ws.sendText(openXml());
    await conn.waitForHeader(2, 3000);
    const log = conn.received();
    const afterHeader = log.slice(log.indexOf('>', log.indexOf('<stream:stream')) + 1);
    assert.match(afterHeader, new RegExp(`^<auth\\b[^>]*>${b64.replace(/[+=/]/g, '\\$&')}</auth>(<\\?xml[^>]*\\?>\\s*)?<stream:stream\\b[^>]*>$`),
      `bytes after the first header: ${JSON.stringify(afterHeader)}`);
  }));

  test('XMPP-09 SASL challenge/response/success data relayed verbatim', T, () => scenario({
    fake: {
      onElement: (conn, el) => {
        if (el.local === 'auth') { conn.send(`<challenge xmlns='${NS.SASL}'>cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng==</challenge>`); return true; }
        if (el.local === 'response') { conn.authed = true; conn.send(`<success xmlns='${NS.SASL}'>dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>`); return true; }
        return false;
      },
    },
  }, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendText(`<auth xmlns='${NS.SASL}' mechanism='SCRAM-SHA-1'>biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM</auth>`);
    const ch = parseXml(await ws.nextText(3000));
    assert.equal(ch.local, 'challenge');
    assert.equal(ch.text, 'cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng==');
    ws.sendText(`<response xmlns='${NS.SASL}'>Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdMM3JmY05IWUpZMVpWdldWczdqLHA9djBYOHYzQnoyVDBDSkdiSlF5RjBYK0hJNFRzPQ==</response>`);
    const su = parseXml(await ws.nextText(3000));
    assert.equal(su.local, 'success');
    assert.equal(su.text, 'dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9');
    const auth = conn.elements.find((e) => e.local === 'auth');
    assert.match(auth.raw, />biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM</);
    assert.equal(auth.attrs.mechanism, 'SCRAM-SHA-1');
    const resp = conn.elements.find((e) => e.local === 'response');
    assert.match(resp.raw, />Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdMM3JmY05IWUpZMVpWdldWczdqLHA9djBYOHYzQnoyVDBDSkdiSlF5RjBYK0hJNFRzPQ==</);
  }));

  test('XMPP-13 S sends a comment -> G closes upstream with restricted-xml and tells C', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send('<!-- hi -->' + plainStanza('after-comment'));
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'S comment', open: false });
    assert.ok(!seq.texts.some((t) => t.includes('after-comment') || t.includes('<!--')));
    await conn.waitFor(/<stream:error[^>]*>\s*<restricted-xml/, 3000);
    await conn.waitClosed(5000);
  }));

  test('XMPP-14/CM-09 markup inside client text/attributes arrives escaped; no stream injection', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    const evil = "</stream:stream><stream:stream to='evil'>";
    const esc = evil.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
    ws.sendText(`<message xmlns='jabber:client' to='a@example.com' id='inj1' x-note='${esc}'><body>${esc}</body><thread>&lt;/message&gt;</thread></message>`);
    const el = await conn.waitForElement((e) => e.raw.includes('inj1'), 3000);
    assert.ok(!conn.received().includes("<stream:stream to='evil'>") && !/<stream:stream[^>]*evil/.test(conn.received()), `injection reached S as markup: ${conn.received()}`);
    assert.equal(conn.headers.length, 1);
    assert.ok(!conn.received().includes('</stream:stream>'));
    const parsed = parseXml(el.raw);
    assert.equal(kids(parsed, 'body')[0].text, evil);
    assert.equal(parsed.attrs['x-note'], evil);
    assert.equal(kids(parsed, 'thread')[0].text, '</message>');
    await barrierUp(ws, conn);
  }));

  test('XMPP-15/TD-4 prefixed jabber:client from C arrives unprefixed at S', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    ws.sendText("<c:message xmlns:c='jabber:client' to='a@example.com' id='pfx1'><c:body>hi</c:body><foo:x xmlns:foo='urn:foo'/></c:message>");
    const el = await conn.waitForElement((e) => e.raw.includes('pfx1'), 3000);
    assert.equal(el.name, 'message', `element name at S: ${el.raw}`);
    assert.ok(!/<\/?c:/.test(el.raw), el.raw);
    // no namespace on the element = the stream's default (jabber:client); an explicit one must be jabber:client
    const parsed = parseXml(el.raw);
    assert.ok(parsed.ns === null || parsed.ns === NS.CLIENT, `namespace at S: ${parsed.ns}`);
    assert.ok([null, NS.CLIENT].includes(kids(parsed, 'body')[0].ns));
    assert.equal(kids(parsed, 'x')[0].ns, 'urn:foo');
  }));

  test('XMPP-16 invalid UTF-8 from S -> upstream closed (unsupported-encoding), C told; bad bytes never reach C', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.sendBytes(Buffer.concat([Buffer.from("<message from='a@example.com/x' id='badenc'><body>"), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('</body></message>')]));
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'S invalid UTF-8', open: false });
    assert.ok(!seq.texts.some((t) => t.includes('badenc')));
    await conn.waitFor(/<stream:error[^>]*>\s*<unsupported-encoding/, 3000);
    await conn.waitClosed(5000);
  }));

  test('XMPP-18 see-other-host during setup: follow it or relay it as a stream error', T, async () => {
    const s2 = await startFakeServer({ domain: 'example.com' });
    try {
      await scenario({
        fake: {
          onHeader: (conn) => {
            conn.sendHeader();
            conn.send(`<stream:error><see-other-host xmlns='${NS.STREAMS}'>127.0.0.1:${s2.port}</see-other-host></stream:error></stream:stream>`);
            conn.end();
            return true;
          },
        },
      }, async (ctx) => {
        const ws = await ctx.connect();
        ws.sendText(openXml());
        const first = await ws.nextText(5000);
        assert.ok(isOpenEl(first), first);
        const second = await ws.nextText(5000);
        const info = streamErrorInfo(second);
        if (info) {
          assert.equal(info.condition, 'see-other-host', `relayed error must carry see-other-host: ${second}`);
        } else {
          assert.equal(parseXml(second).local, 'features', `expected features via S2 or a see-other-host error: ${second}`);
          assert.equal(s2.connections.length, 1);
        }
      });
    } finally {
      await s2.stop();
    }
  });

  test('XMPP-19 prefix-free upstream stream style is understood', T, () => scenario({
    fake: {
      onHeader: (conn) => {
        conn.send(`<?xml version='1.0'?><stream xmlns='${NS.ST}' from='example.com' id='pf-1' version='1.0' xml:lang='en'>` +
          `<features><mechanisms xmlns='${NS.SASL}'><mechanism>PLAIN</mechanism></mechanisms></features>`);
        return true;
      },
    },
  }, async (ctx) => {
    const { open, features, ws, conn } = await openWithConn(ctx);
    assert.equal(open.attrs.id, 'pf-1');
    assert.equal(features.ns, NS.ST);
    conn.send("<message xmlns='jabber:client' from='a@example.com/x' id='pf-msg'><body>b</body></message>");
    const m = parseXml(await ws.nextText(3000));
    assert.equal(m.ns, NS.CLIENT);
    assert.equal(m.attrs.id, 'pf-msg');
  }));

  test('XMPP-20 an empty <stream:features/> after restart is relayed', T, () => scenario({
    fake: { postAuthFeatures: '<stream:features/>' },
  }, async (ctx) => {
    const { ws } = await openWithConn(ctx);
    ws.sendText(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AHUAcA==</auth>`);
    await ws.nextText(3000);
    ws.sendText(openXml());
    assert.ok(isOpenEl(await ws.nextText(3000)));
    const f = parseXml(await ws.nextText(3000));
    assert.equal(f.local, 'features');
    assert.equal(f.ns, NS.ST);
    assert.equal(kids(f).length, 0);
  }));
});

// ---------------------------------------------------------------------------------------
describe('1.19 gateway-wide behaviour', () => {
  test('CM-01 one upstream TCP stream per WebSocket; each ends with its WebSocket', T, () => scenario({}, async (ctx) => {
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push(await openWithConn(ctx));
    assert.equal(ctx.fake.connections.length, 3);
    assert.equal(new Set(sessions.map((s) => s.conn)).size, 3);
    sessions[1].ws.sendText(CLOSE_XML);
    await sessions[1].conn.waitClosed(5000);
    assert.equal(sessions[0].conn.isClosed, false);
    assert.equal(sessions[2].conn.isClosed, false);
    await barrierUp(sessions[0].ws, sessions[0].conn);
    await barrierUp(sessions[2].ws, sessions[2].conn);
  }));

  test('CM-07 shutdown: system-shutdown, <close/>, Close 1001; upstream closed; clean exit', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    const seqP = readToClose(ws, 15000);
    const res = await ctx.stopGateway();
    const seq = await seqP;
    assertErrorSequence(seq, { label: 'shutdown', conditions: ['system-shutdown'], closeCodes: [1001] });
    await conn.waitClosed(3000);
    assert.ok(conn.received().includes('</stream:stream>'), 'upstream should get </stream:stream> on shutdown');
    assert.equal(res.code, 0);
  }));

  test('CM-09 10,000 nested elements -> a stream error and close, gateway keeps serving', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    const depth = 10000;
    ws.sendText(`<message xmlns='jabber:client' id='deep'>${'<x>'.repeat(depth)}${'</x>'.repeat(depth)}</message>`);
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'deep nesting', conditions: ['policy-violation', 'bad-format', 'not-well-formed', 'undefined-condition', 'resource-constraint', 'restricted-xml'], closeCodes: [1000, 1009] });
    await conn.waitClosed(5000);
    assert.ok(!conn.received().includes("id='deep'") && !conn.received().includes('id="deep"'));
    const again = await openWithConn(ctx);
    await barrierUp(again.ws, again.conn);
  }));

  test('CM-11 SASL PLAIN payload and password are not logged at the default log level', T, () => scenario({ config: { log_level: 'info' } }, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    const password = 'Pw-Qz7-unique-secret-4417';
    const b64 = Buffer.from(`\0juliet\0${password}`).toString('base64');
    ws.sendText(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>${b64}</auth>`);
    await ws.nextText(3000);
    await conn.waitFor(b64, 2000);
    ws.sendText(CLOSE_XML);
    await ws.collectUntilClose(5000);
    const res = await ctx.stopGateway();
    const out = `${res.stderr}\n${res.stdout || ''}`;
    assert.ok(!out.includes(b64), 'base64 PLAIN payload found in gateway output');
    assert.ok(!out.includes(password), 'password found in gateway output');
  }));

  test('CM-12 black-hole upstream -> <open/>, stream error within connect_timeout_s + 1 s', T, async () => {
    const hole = await startBlackHole();
    try {
      await scenario({ fake: null, extraRoutes: [{ domain: 'example.com', host: '127.0.0.1', port: hole.port, tls: 'starttls', allow_plaintext: true }], config: { upstream: { connect_timeout_s: 2 } } }, async (ctx) => {
        const ws = await ctx.connect();
        const t0 = Date.now();
        ws.sendText(openXml());
        const seq = await readToClose(ws, 6000);
        const dt = Date.now() - t0;
        assertErrorSequence(seq, { label: 'black hole', open: true, conditions: ['remote-connection-failed', 'connection-timeout', 'internal-server-error'] });
        assert.ok(dt >= 1500 && dt <= 3000, `error after ${dt} ms; expected about 2000 (connect_timeout_s 2, +-1 s)`);
        assert.equal(hole.acceptedTotal(), 1, 'G should have connected to the black hole once');
      });
    } finally {
      await hole.stop();
    }
  });
});
