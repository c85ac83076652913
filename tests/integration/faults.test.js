'use strict';
// Fault injection for the WebSocket transport: a scripted fake upstream refuses, resets,
// stalls, errors, floods or closes, and the client misbehaves; the gateway must give the
// client a clear outcome (RFC 7395 §3.5/§3.6 error sequence) and stay healthy, and must exit
// cleanly (no sanitizer report) at the end of every scenario. IDs from conformance-checklist.md.

const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { scenario, closedPort, startBlackHole } = require('../lib/fake-server');
const W = require('../lib/ws-raw');
const { gatewayAvailable, SANITIZER_ENV } = require('../lib/gateway');

const { NS, OP, parseXml, openXml, CLOSE_XML, streamErrorInfo, isCloseEl, isOpenEl } = W;
const SKIP = gatewayAvailable() ? false : 'gateway binary build-asan/xmppgw not built';
const T = { timeout: 40000, skip: SKIP };

const plainStanza = (id, extra = '') => `<message from='a@example.com/x' to='user@example.com/r' id='${id}'${extra}><body>hello ${id}</body></message>`;

async function openWithConn(ctx, xopts = {}) {
  const before = ctx.fake.connections.length;
  const r = await ctx.open(xopts);
  const conn = await ctx.fake.waitForConnection(3000, before + 1);
  return { ...r, conn };
}

async function readToClose(ws, ms = 6000) {
  const { messages, close } = await ws.collectUntilClose(ms);
  return { texts: messages.map((m) => m.text), close };
}

function assertErrorSequence(seq, { label, open = false, conditions = null, closeCodes = [1000] }) {
  let t = seq.texts.slice();
  const dump = JSON.stringify(seq.texts);
  if (open === true) {
    assert.ok(t.length && isOpenEl(t[0]), `${label}: first message must be <open/>, got ${dump}`);
    t = t.slice(1);
  } else if (open === 'optional' && t.length && isOpenEl(t[0])) {
    t = t.slice(1);
  }
  assert.equal(t.length, 2, `${label}: expected exactly <stream:error/> then <close/>; got ${dump} and close=${seq.close}`);
  const info = streamErrorInfo(t[0]);
  assert.ok(info, `${label}: expected a <stream:error/> as its own message, got ${t[0]}`);
  if (conditions) {
    assert.ok(conditions.includes(info.condition), `${label}: stream error condition ${info.condition} not in [${conditions.join(', ')}]: ${t[0]}`);
  }
  assert.ok(isCloseEl(t[1]), `${label}: expected <close xmlns='${NS.FR}'/> after the error, got ${t[1]}`);
  assert.ok(closeCodes.includes(seq.close), `${label}: expected Close ${closeCodes.join(' or ')}, got ${seq.close}`);
  return info;
}

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const CONN_LOST = ['remote-connection-failed', 'internal-server-error'];

describe('upstream faults', () => {
  test('CM-03 connection refused -> <open/>, remote-connection-failed, <close/>, Close 1000 within 1.5 s', T, async () => {
    const port = await closedPort();
    await scenario({ fake: null, extraRoutes: [{ domain: 'example.com', host: '127.0.0.1', port, tls: 'starttls', allow_plaintext: true }] }, async (ctx) => {
      const ws = await ctx.connect();
      const t0 = Date.now();
      ws.sendText(openXml());
      const seq = await readToClose(ws, 5000);
      assertErrorSequence(seq, { label: 'refused', open: true, conditions: ['remote-connection-failed'] });
      assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
      // the gateway keeps serving
      const ws2 = await ctx.connect();
      ws2.sendText(openXml());
      assertErrorSequence(await readToClose(ws2, 5000), { label: 'refused again', open: true, conditions: ['remote-connection-failed'] });
    });
  });

  test('CM-04 RST mid-stanza -> remote-connection-failed, <close/>, Close; the partial stanza is never relayed', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send(plainStanza('whole-1'));
    conn.send("<message from='a@example.com/x' id='partial-1'><body>half of a sta");
    const first = parseXml(await ws.nextText(3000));
    assert.equal(first.attrs.id, 'whole-1');
    const t0 = Date.now();
    conn.rst();
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'RST', conditions: CONN_LOST, closeCodes: [1000, 1011] });
    assert.ok(Date.now() - t0 < 1500, `reaction took ${Date.now() - t0} ms`);
    assert.ok(!seq.texts.some((t) => t.includes('partial-1')), 'partial stanza relayed');
  }));

  test('CM-04 EOF without </stream:stream> -> remote-connection-failed, <close/>, Close', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send(plainStanza('before-eof'));
    conn.end();
    const seq = await readToClose(ws, 5000);
    assert.ok(seq.texts.length >= 1 && seq.texts[0].includes('before-eof'), `the stanza before EOF must be delivered: ${JSON.stringify(seq.texts)}`);
    assertErrorSequence({ texts: seq.texts.slice(1), close: seq.close }, { label: 'EOF', conditions: CONN_LOST, closeCodes: [1000, 1011] });
  }));

  test('CM-04 RST after the stream header, before features -> <open/>?, error, <close/>, Close', T, () => scenario({
    fake: { onHeader: (conn) => { conn.sendHeader(); setTimeout(() => conn.rst(), 50); return true; } },
  }, async (ctx) => {
    const ws = await ctx.connect();
    ws.sendText(openXml());
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'RST before features', open: true, conditions: CONN_LOST, closeCodes: [1000, 1011] });
  }));

  test('CM-04 upstream closes right after accepting -> <open/>, remote-connection-failed, <close/>, Close', T, () => scenario({
    fake: { onConnect: (conn) => conn.end() },
  }, async (ctx) => {
    const ws = await ctx.connect();
    ws.sendText(openXml());
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'immediate close', open: true, conditions: CONN_LOST, closeCodes: [1000, 1011] });
  }));

  test('CM-04 upstream RST on 20 concurrent sessions -> every client gets the error sequence', { ...T, timeout: 60000 }, () => scenario({}, async (ctx) => {
    const sessions = [];
    for (let i = 0; i < 20; i++) sessions.push(await openWithConn(ctx));
    const seqs = sessions.map((s) => readToClose(s.ws, 8000));
    for (const s of sessions) s.conn.rst();
    const results = await Promise.all(seqs);
    results.forEach((seq, i) => assertErrorSequence(seq, { label: `session ${i}`, conditions: CONN_LOST, closeCodes: [1000, 1011] }));
  }));

  test('XMPP-12/WS-45 unknown stream error condition relayed verbatim; G answers </stream:stream> and closes', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send(`<stream:error><foo-bar xmlns='${NS.STREAMS}'/><text xmlns='${NS.STREAMS}' xml:lang='en'>odd</text></stream:error>`);
    const seq = await readToClose(ws, 5000);
    const info = assertErrorSequence(seq, { label: 'relayed error', conditions: ['foo-bar'] });
    assert.equal(info.text, 'odd');
    await conn.waitFor('</stream:stream>', 3000);
    await conn.waitClosed(6000);
  }));

  test('XMPP-14 not-well-formed XML from S -> C gets a stream error; S gets not-well-formed and is closed', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send("<message from='a@example.com/x' id='nwf-s'><body>x</bdy></message>");
    const seq = await readToClose(ws, 5000);
    assertErrorSequence(seq, { label: 'S not well-formed' });
    assert.ok(!seq.texts.some((t) => t.includes('nwf-s')));
    await conn.waitFor(/<stream:error[^>]*>\s*<not-well-formed/, 3000);
    await conn.waitClosed(6000);
  }));

  test('CM-10 a stanza from S above limits.max_stanza_bytes ends the session with a stream error, never relayed', T,
    () => scenario({ config: { limits: { max_stanza_bytes: 4096 } } }, async (ctx) => {
      const { ws, conn } = await openWithConn(ctx);
      conn.send(plainStanza('small-ok'));
      assert.ok((await ws.nextText(3000)).includes('small-ok'));
      conn.send(`<message from='a@example.com/x' id='huge-s'><body>${'H'.repeat(100 * 1024)}</body></message>`);
      const seq = await readToClose(ws, 5000);
      assertErrorSequence(seq, { label: 'oversized from S', conditions: ['policy-violation', 'resource-constraint', 'undefined-condition', 'internal-server-error', 'remote-connection-failed'] });
      assert.ok(!seq.texts.some((t) => t.includes('huge-s')));
      await conn.waitClosed(6000);
    }));

  test('CM-12 stall: S accepts but never sends a header -> error within connect_timeout_s + 1 s', T, async () => {
    const hole = await startBlackHole();
    try {
      await scenario({ fake: null, extraRoutes: [{ domain: 'example.com', host: '127.0.0.1', port: hole.port, tls: 'starttls', allow_plaintext: true }], config: { upstream: { connect_timeout_s: 2 } } }, async (ctx) => {
        const ws = await ctx.connect();
        const t0 = Date.now();
        ws.sendText(openXml());
        const seq = await readToClose(ws, 6000);
        const dt = Date.now() - t0;
        assertErrorSequence(seq, { label: 'stall', open: true, conditions: ['remote-connection-failed', 'connection-timeout', 'internal-server-error'] });
        assert.ok(dt >= 1500 && dt <= 3000, `error after ${dt} ms, expected about 2000`);
      });
    } finally {
      await hole.stop();
    }
  });

  test('CM-12 stall: STARTTLS <proceed/> but no TLS handshake -> error within connect_timeout_s + 1 s', T, () => scenario({
    fake: {
      starttls: { required: true },
      onElement: (conn, el) => {
        if (el.local !== 'starttls') return false;
        conn.send(`<proceed xmlns='${NS.TLS}'/>`);
        return true; // ...and then say nothing more
      },
    },
    config: { upstream: { connect_timeout_s: 2 } },
  }, async (ctx) => {
    const ws = await ctx.connect();
    const t0 = Date.now();
    ws.sendText(openXml());
    const seq = await readToClose(ws, 6000);
    const dt = Date.now() - t0;
    assertErrorSequence(seq, { label: 'TLS stall', open: true, conditions: ['remote-connection-failed', 'connection-timeout', 'internal-server-error'] });
    assert.ok(dt <= 3000, `error after ${dt} ms, expected about 2000`);
    assert.ok(!seq.texts.some((t) => /proceed|starttls/.test(t)));
  }));

  test('CM-05 S closes gracefully right after a stanza -> stanza, <close/>, Close 1000; G answers </stream:stream>', T, () => scenario({}, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    conn.send(plainStanza('goodbye') + '</stream:stream>');
    const seq = await readToClose(ws, 5000);
    assert.equal(seq.texts.length, 2, `expected [stanza, <close/>], got ${JSON.stringify(seq.texts)}`);
    assert.ok(seq.texts[0].includes('goodbye'));
    assert.ok(isCloseEl(seq.texts[1]), seq.texts[1]);
    assert.equal(seq.close, 1000);
    await conn.waitFor('</stream:stream>', 3000);
    await ws.waitTcpClosed(3000);
    await conn.waitClosed(6000);
  }));

  test('CM-10 flood from S (48 MB) while the client does not read: RSS bounded; data flows afterwards or the session ends cleanly', { ...T, timeout: 180000 },
    (t) => scenario({
      gw: { env: { ASAN_OPTIONS: `${SANITIZER_ENV.ASAN_OPTIONS}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64` } },
    }, async (ctx) => {
      const { ws, conn } = await openWithConn(ctx);
      ws.sock.pause();
      const pid = ctx.gw.pid;
      const base = rssKb(pid);
      let peak = base;
      let count = 0;
      const body = 'z'.repeat(900);
      const floodP = conn.flood(48 * 1024 * 1024, (i) => { count = i + 1; return `<message from='a@example.com/x' to='user@example.com/r' id='f${i}'><body>${body}</body></message>`; }, { timeoutMs: 10000 });
      let done = false;
      floodP.then(() => { done = true; });
      for (let i = 0; i < 2000 && !done; i++) {
        peak = Math.max(peak, rssKb(pid));
        await new Promise((r) => setTimeout(r, 25));
      }
      const flood = await floodP;
      peak = Math.max(peak, rssKb(pid));
      const growthMb = (peak - base) / 1024;
      assert.ok(growthMb < 32, `gateway RSS grew by ${growthMb.toFixed(1)} MB (base ${base} kB, peak ${peak} kB) while the client was not reading; ` +
        `S handed ${flood.queued} bytes to the socket (timedOut=${flood.timedOut})`);
      t.diagnostic(`flood: base RSS ${base} kB, peak ${peak} kB; S queued ${flood.queued} B, flushed ${flood.flushed} B, back-pressure timeout=${flood.timedOut}, ${count} stanzas`);
      // now read everything
      ws.sock.resume();
      let next = 0;
      const tail = [];
      const deadline = Date.now() + 120000;
      for (;;) {
        assert.ok(Date.now() < deadline, `still draining after 120 s: got ${next} of ${count}`);
        const m = await ws._waitUntil(() => {
          if (ws.queue.length) return ws.queue.shift();
          if (ws.tcpClosed) return null;
          return undefined;
        }, 20000, 'flood message');
        if (m === null || m.opcode === OP.CLOSE) {
          // the session ended early: it must have ended with a clear stream error
          const info = tail.length >= 2 ? streamErrorInfo(tail[tail.length - 2]) : null;
          assert.ok(info && isCloseEl(tail[tail.length - 1]), `session ended after ${next}/${count} stanzas without <stream:error/> + <close/>: ${JSON.stringify(tail.map((r) => r.slice(0, 200)))}`);
          assert.ok(['policy-violation', 'resource-constraint', 'undefined-condition'].includes(info.condition), `unclear condition ${info.condition}`);
          assert.equal(m && m.code, 1000, 'Close 1000 after the stream error');
          t.diagnostic(`flood: session ended after ${next}/${count} stanzas with ${info.condition}`);
          break;
        }
        if (m.opcode !== OP.TEXT) continue;
        tail.push(m.text); if (tail.length > 2) tail.shift();
        if (streamErrorInfo(m.text) || isCloseEl(m.text)) continue; // judged when the Close arrives
        const id = /id='f(\d+)'|id="f(\d+)"/.exec(m.text);
        assert.ok(id, `unexpected message ${m.text.slice(0, 200)}`);
        const n = Number(id[1] || id[2]);
        assert.equal(n, next, `stanza order/loss: expected f${next}, got f${n}`);
        next++;
        if (next === count) { t.diagnostic(`flood: all ${count} stanzas delivered in order`); break; }
      }
    }));
});

describe('upstream keepalives', () => {
  test('XMPP-17 an idle authenticated stream gets a whitespace keepalive every upstream.keepalive_s; none during SASL; none while busy', T, () => scenario({ config: { upstream: { keepalive_s: 1 } } }, async (ctx) => {
    const { ws, conn } = await openWithConn(ctx);
    // Before authentication (SASL negotiation): silence stays silence.
    const t0 = conn.received().length;
    await new Promise((r) => setTimeout(r, 2600));
    assert.equal(conn.received().slice(t0), '', 'no keepalive during SASL negotiation');
    ws.sendText(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AGp1bGlldAByMG0zMA==</auth>`);
    await ws.nextText(3000); // <success/>
    ws.sendText(openXml('example.com', "xml:lang='en'"));
    await conn.waitForHeader(2, 3000);
    await ws.nextText(3000); // <open/>
    await ws.nextText(3000); // features
    const t1 = conn.received().length;
    await conn._waitUntil(() => (/^ +$/.test(conn.received().slice(t1)) && conn.received().length - t1 >= 2 ? true : undefined), 6000,
      'two whitespace keepalives on the idle authenticated stream');
    // A stanza in between resets the count; the stream stays well-formed for S.
    ws.sendText("<presence xmlns='jabber:client' id='ka-alive'/>");
    await conn.waitFor('ka-alive', 2000);
    const tail = conn.received().slice(t1);
    assert.match(tail, /^ +<presence id='ka-alive'\/>/, JSON.stringify(tail));
  }));
});

describe('client faults', () => {
  test('CM-12 a WebSocket that never sends <open/> -> <open/>, connection-timeout, <close/>, Close within websocket.open_timeout_s; no upstream', T, () => scenario({ config: { websocket: { open_timeout_s: 2 } } }, async (ctx) => {
    const ws = await ctx.connect();
    assert.ok(ws.upgraded);
    const t0 = Date.now();
    const open = await ws.nextText(5000);
    assert.ok(isOpenEl(open), open);
    const err = streamErrorInfo(await ws.nextText(2000));
    assert.equal(err && err.condition, 'connection-timeout');
    assert.ok(isCloseEl(await ws.nextText(2000)));
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 1000 && elapsed <= 4500, `ended after ${elapsed} ms (open_timeout_s 2)`);
    assert.equal(await ws.waitClose(3000), 1000);
    assert.equal(ctx.fake.connections.length, 0, 'no upstream connection for a session that never opened');
    // A client that opens in time is not affected, however long it then stays quiet.
    const b = await ctx.open({});
    await new Promise((r) => setTimeout(r, 3000));
    b.ws.sendText("<presence xmlns='jabber:client' id='late-but-open'/>");
    await ctx.fake.connections[0].waitFor('late-but-open', 3000);
  }));

  test('CM-06 client RST mid-session while S is sending -> upstream closed, gateway keeps serving', T, () => scenario({}, async (ctx) => {
    const a = await openWithConn(ctx);
    for (let i = 0; i < 500; i++) a.conn.send(plainStanza(`x${i}`));
    await a.ws.nextText(3000);
    a.ws.rst();
    await a.conn.waitClosed(5000);
    const b = await openWithConn(ctx);
    b.ws.sendText("<presence xmlns='jabber:client' id='still-alive'/>");
    await b.conn.waitFor('still-alive', 3000);
  }));

  test('CM-06 client sends half a frame, then disconnects -> upstream closed, no crash', T, () => scenario({}, async (ctx) => {
    const a = await openWithConn(ctx);
    const frame = W.buildFrame({ opcode: OP.TEXT, payload: "<presence xmlns='jabber:client' id='half-frame'/>" });
    a.ws.sendRaw(frame.subarray(0, 9));
    a.ws.end();
    await a.conn.waitClosed(5000);
    assert.ok(!a.conn.received().includes('half-frame'));
    const b = await openWithConn(ctx);
    b.ws.sendText(CLOSE_XML);
    await b.conn.waitFor('</stream:stream>', 3000);
  }));

  test('CM-06 client leaves while the upstream stream is still being set up -> upstream socket closed promptly', T, async () => {
    const hole = await startBlackHole();
    try {
      await scenario({ fake: null, extraRoutes: [{ domain: 'example.com', host: '127.0.0.1', port: hole.port, tls: 'starttls', allow_plaintext: true }], config: { upstream: { connect_timeout_s: 10 } } }, async (ctx) => {
        const lingering = {};
        for (const how of ['FIN', 'RST', 'Close frame']) {
          const before = hole.acceptedTotal();
          const ws = await ctx.connect();
          ws.sendText(openXml());
          // wait until G has connected upstream (the black hole never answers the header)
          for (let i = 0; i < 100 && hole.acceptedTotal() === before; i++) await new Promise((r) => setTimeout(r, 20));
          assert.equal(hole.acceptedTotal(), before + 1, `${how}: G did not connect upstream`);
          if (how === 'FIN') ws.end(); else if (how === 'RST') ws.rst(); else ws.sendClose(1000);
          const deadline = Date.now() + 2000;
          while (hole.accepted() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          if (hole.accepted() > 0) lingering[how] = hole.accepted();
          // do not let one case's socket count against the next
          const d2 = Date.now() + 12000;
          while (hole.accepted() > 0 && Date.now() < d2) await new Promise((r) => setTimeout(r, 50));
        }
        assert.deepEqual(lingering, {}, 'upstream sockets still open 2 s after the client left (connect_timeout_s is 10)');
        const ws = await ctx.connect();
        ws.sendText(openXml('nowhere.example'));
        const seq = await readToClose(ws, 6000);
        assertErrorSequence(seq, { label: 'after aborted sessions', open: true, conditions: ['host-unknown'] });
      });
    } finally {
      await hole.stop();
    }
  });
});
