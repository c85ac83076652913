'use strict';
// Black-box BOSH conformance tests (XEP-0124 + XEP-0206), part 2: long-polling (wait/hold),
// acks-free request handling, the rid window, replays and recoverable errors, pause, inactivity,
// overactivity and polling, key sequencing, termination from either side, terminal binding
// conditions, legacy clients, upstream failures, shutdown and resource limits.
// Part 1 (conformance-bosh.test.js) explains the harness; the same per-response checks apply.

const { test, describe, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { closedPort, startBlackHole, makeTestPki } = require('../lib/fake-server');
const { gatewayAvailable, SANITIZER_ENV } = require('../lib/gateway');
const { kids } = require('../lib/ws-raw');
const B = require('../lib/bosh-raw');

const {
  NS, bodyXml, canon, parseUpstream, assertT, assertEmpty, assertOk, stillPending, stanzaIds,
  login, mark, assertNotForwarded, sleep,
} = B;
const run = B.boshScenario;

const SKIP = gatewayAvailable() ? false : 'gateway binary build-asan/xmppgw not built';
const T = { timeout: 60000, skip: SKIP };
const CONC = Number(process.env.XGW_BOSH_CONCURRENCY || 4);
const bt = (name, fn, opts = {}) => test(name, { ...T, ...opts }, B.boshTest(fn));

const NS_SM = 'urn:xmpp:sm:3';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

let pki = null;
const getPki = () => { if (!pki) pki = makeTestPki({ names: ['example.com', 'other.example'] }); return pki; };
after(() => { if (pki) pki.cleanup(); });

const featuresOf = (res) => res.children.find((c) => c.local === 'features' && c.ns === NS.ST);
const sMsg = (id, text = 'hi') => `<message from='a@example.com/x' to='user@example.com/bosh' id='${id}'><body>${text}</body></message>`;
const cPres = (id) => `<presence xmlns='jabber:client' id='${id}'/>`;
const cMsg = (id) => `<message xmlns='jabber:client' to='a@example.com' id='${id}'><body>${id}</body></message>`;
const countOf = (hay, needle) => hay.split(needle).length - 1;
/** How many stanzas with this id S received (cMsg carries the id in its body too). */
const timesAtS = (conn, id) => countOf(conn.log, `id='${id}'`);
async function holdOne(p, label, ms = 300) {
  /* The message awaits p, so it must only be built on failure: as an argument of assert.ok it
   * would be evaluated first and every call would wait for p to settle. Nothing is returned
   * for the same reason (an async function returning p makes `await holdOne(p)` wait for p). */
  if (!(await stillPending(p, ms))) {
    assert.fail(`${label}: the request was answered at once instead of being held: ${(await p).describe()}`);
  }
}
const sameBytes = (a, b) => Buffer.compare(a.bodyBytes, b.bodyBytes) === 0;
const until = (t) => sleep(Math.max(0, t - Date.now()));
function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
/** Time at which S received the gateway's </stream:stream> (or undefined). */
const streamEndAt = (conn) => { const e = conn.events.find((x) => x.type === 'streamEnd'); return e ? e.at : undefined; };

/** A polling session (wait=0, hold=0), advanced to the point where the last poll came back empty. */
async function pollingSession(ctx, P, attrs = {}) {
  const s = ctx.session();
  const r = await s.create({ wait: '0', hold: '0', ...attrs });
  assert.ok(s.sid, r.describe());
  assert.equal(r.parsed.attrs.polling, String(P), r.describe());
  await sleep(P * 1000 + 300);
  await s.req(); // may carry the features
  await sleep(P * 1000 + 300);
  const t = Date.now();
  const empty = await s.req();
  assert.ok(empty.status === 200 && empty.children.length === 0 && !empty.type,
    `the second poll of the polling session was expected to be empty: ${empty.describe()}`);
  return { s, lastNewAt: t, empty };
}

describe('BOSH conformance (part 2): sessions, rids, errors, faults', { concurrency: CONC }, () => {
  // ------------------------------------------------------------------ 1.4 long-polling

  bt('BOSH-37 hold=1: a new request answers the held one at once (empty), and is itself held until wait', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const id = mark('b37');
    const t0 = Date.now();
    const r2 = s.req(cMsg(id));
    const a1 = await r1;
    assertEmpty(a1, 'R1');
    assert.ok(a1.at - t0 < 500, `BOSH-37: R1 answered ${a1.at - t0} ms after R2 arrived`);
    await conn.waitFor(id, 2000);
    assert.ok(await stillPending(r2, 800), 'BOSH-37: R2 must stay held');
    const a2 = await r2;
    assertEmpty(a2, 'R2');
    assert.ok(a2.at - t0 >= 1000 && a2.at - t0 <= 3500, `R2 answered after ${a2.at - t0} ms (wait 2 s)`);
  }));

  bt('BOSH-37/BOSH-27/BOSH-62 hold=2: never more than two held; the third answers the oldest; data goes to the oldest held', () => run({ config: { bosh: { max_hold: 2 } } }, async (ctx) => {
    const { s, res, conn } = await ctx.open({ wait: '2', hold: '2' });
    assert.equal(res.parsed.attrs.hold, '2');
    assert.equal(res.parsed.attrs.requests, '3');
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const r2 = s.req();
    await holdOne(r2, 'R2');
    assert.ok(await stillPending(r1, 0), 'R1 answered although only 2 were held');
    const t0 = Date.now();
    const r3 = s.req();
    const a1 = await r1;
    assertEmpty(a1, 'R1');
    assert.ok(a1.at - t0 < 500, `R1 answered ${a1.at - t0} ms after R3`);
    assert.ok(await stillPending(r2, 200) && await stillPending(r3, 0), 'R2/R3 must stay held');
    conn.send(sMsg('b37h'));
    const a2 = await r2;
    assert.deepEqual(stanzaIds(a2), ['b37h'], `data must answer the oldest held request: ${a2.describe()}`);
    assert.ok(await stillPending(r3, 200), 'R3 must stay held');
    assertEmpty(await r3, 'R3');
  }));

  bt('BOSH-39/BOSH-40/BOSH-43 an empty poll with S silent is held ~wait and answered with an empty <body/>', () => run({ config: { bosh: { max_wait_s: 3 } } }, async (ctx) => {
    const { s, res } = await ctx.open({ wait: '3' });
    assert.equal(res.parsed.attrs.wait, '3');
    const r = await s.req();
    assertEmpty(r, 'wait expiry');
    assert.equal(r.parsed.attrs.type, undefined);
    assert.ok(r.elapsed >= 2000 && r.elapsed <= 4000, `BOSH-39: answered after ${r.elapsed} ms with wait=3 (window 2..4 s)`);
  }));

  bt('BOSH-41 S data answers a held request at once', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const t0 = Date.now();
    conn.send(sMsg('b41'));
    const a = await r1;
    assert.deepEqual(stanzaIds(a), ['b41']);
    assert.ok(a.at - t0 < 500, `BOSH-41: answered ${a.at - t0} ms after S's message`);
  }));

  bt('BOSH-42 stanzas from S while no request is held are queued and all delivered, in order, on the next request', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    for (const id of ['q1', 'q2', 'q3']) conn.send(sMsg(id));
    await sleep(300);
    const r = await s.req();
    assert.deepEqual(stanzaIds(r), ['q1', 'q2', 'q3'], r.describe());
    assert.ok(r.elapsed < 500, `BOSH-42: queued data delivered after ${r.elapsed} ms`);
  }));

  // ------------------------------------------------------------------ 1.6 inactivity and pause

  bt('BOSH-47/CM-06/TD-8 inactivity: session ends ~inactivity after the last response, upstream gets </stream:stream>, later requests T(item-not-found)', () => run({}, async (ctx) => {
    const { s, res, conn } = await ctx.open({ wait: '2' });
    assert.equal(res.parsed.attrs.inactivity, '5');
    await conn.waitFor('</stream:stream>', 9000);
    const dt = streamEndAt(conn) - res.at;
    assert.ok(dt >= 4000 && dt <= 7000, `BOSH-47: upstream closed ${dt} ms after the last response (inactivity 5 s)`);
    await until(res.at + 7000);
    assertT(await s.req(), 'item-not-found', 'after inactivity');
    await conn.waitClosed(6000);
  }));

  bt('BOSH-49 pause: all held requests answered at once, the pause response is empty, queued data kept; the session survives a gap > inactivity', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const t0 = Date.now();
    const r2 = s.req('', { pause: '8' });
    const [a1, a2] = await Promise.all([r1, r2]);
    assert.ok(a1.at - t0 < 500 && a2.at - t0 < 500, `BOSH-49: answers after ${a1.at - t0} / ${a2.at - t0} ms`);
    assertEmpty(a1, 'held request');
    assertEmpty(a2, 'pause response');
    await sleep(300);
    conn.send(sMsg('b49'));
    await until(t0 + 7000);
    const r3 = await s.req();
    assert.deepEqual(stanzaIds(r3), ['b49'], `BOSH-49: after a 7 s pause (inactivity 5): ${r3.describe()}`);
  }));

  bt('BOSH-50 the normal inactivity limit is restored by the next request after a pause', () => run({}, async (ctx) => {
    const { s } = await ctx.open({ wait: '2' });
    const r1 = s.req();
    await holdOne(r1, 'R1');
    await Promise.all([r1, s.req('', { pause: '10' })]);
    const a3 = await s.req(); // held to wait expiry
    assertEmpty(a3, 'first request after the pause');
    await until(a3.at + 6500);
    assertT(await s.req(), 'item-not-found', 'BOSH-50: 6.5 s after the last response (inactivity 5, pause was 10)');
  }));

  bt('BOSH-51/E-25 pause above maxpause is clamped to maxpause (not ignored, not terminated)', () => run({ config: { bosh: { maxpause_s: 9 } } }, async (ctx) => {
    const pauseOne = async () => {
      const { s } = await ctx.open({ wait: '2' });
      const r1 = s.req();
      await holdOne(r1, 'R1');
      const r2 = s.req('', { pause: '100' });
      const [, a2] = await Promise.all([r1, r2]);
      assert.ok(!a2.isTerminate(), `BOSH-51: pause > maxpause terminated the session: ${a2.describe()}`);
      return { s, at: a2.at };
    };
    const [A, Bs] = await Promise.all([pauseOne(), pauseOne()]);
    await Promise.all([
      (async () => { await until(A.at + 7000); const r = await A.s.req(); assertOk(r, 'BOSH-51: 7 s after pause=100 (maxpause 9, inactivity 5) the session must live'); })(),
      (async () => { await until(Bs.at + 11500); assertT(await Bs.s.req(), 'item-not-found', 'BOSH-51: 11.5 s after pause=100 with maxpause 9'); })(),
    ]);
  }));

  bt('BOSH-51 pause when no maxpause is advertised (maxpause_s 0): no termination, the session keeps working', () => run({ config: { bosh: { maxpause_s: 0 } } }, async (ctx) => {
    const { s, res, conn } = await ctx.open({ wait: '2' });
    assert.equal(res.parsed.attrs.maxpause, undefined);
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const r2 = s.req('', { pause: '5' });
    for (const r of [await r1, await r2]) assert.ok(r.status === 200 && !r.isTerminate(), `BOSH-51: ${r.describe()}`);
    const id = mark('b51');
    const r3 = s.req(cPres(id));
    await conn.waitFor(id, 3000);
    assertOk(await r3, 'after the pause');
  }));

  bt('BOSH-52 pause and terminate requests are exempt from the requests limit', () => run({}, async (ctx) => {
    // terminate with requests=2 already outstanding (n+1 held, n+3 buffered)
    const a = await ctx.open({ wait: '2' });
    let n = a.s.rid;
    const id3 = mark('b52');
    const t1 = a.s.send(n + 1, '');
    await holdOne(t1, 'n+1');
    const t3 = a.s.send(n + 3, cPres(id3));
    await holdOne(t3, 'n+3 (gap)');
    const t2 = a.s.send(n + 2, "<presence xmlns='jabber:client' type='unavailable'/>", { type: 'terminate' });
    const all = await Promise.all([t1, t2, t3]);
    for (const r of all) assert.ok(!r.isTerminate('policy-violation'), `BOSH-52: ${r.describe()}`);
    assertT(all[0], null, 'oldest request on terminate');
    assertEmpty(all[1], 'terminate request');
    await a.conn.waitFor('</stream:stream>', 3000);
    const log = a.conn.log;
    assert.ok(log.indexOf("type='unavailable'") >= 0 && log.indexOf("type='unavailable'") < log.indexOf('</stream:stream>'));
    assert.ok(!log.includes(id3), `the payload of n+3 (after the terminate) reached S: ${log}`);
    assert.equal(log.slice(log.indexOf('</stream:stream>') + '</stream:stream>'.length), '', 'data after </stream:stream>');
    // pause with requests=2 already outstanding
    const b = await ctx.open({ wait: '2' });
    n = b.s.rid;
    const id4 = mark('b52');
    const p1 = b.s.send(n + 1, '');
    await holdOne(p1, 'n+1');
    const p3 = b.s.send(n + 3, cPres(id4));
    await holdOne(p3, 'n+3 (gap)');
    const t0 = Date.now();
    const p2 = b.s.send(n + 2, '', { pause: '5' });
    const [q1, q2] = await Promise.all([p1, p2]);
    assert.ok(q1.at - t0 < 1000 && q2.at - t0 < 1000, 'pause did not answer the held requests at once');
    for (const r of [q1, q2, await p3]) assert.ok(r.status === 200 && !r.isTerminate(), `BOSH-52 pause: ${r.describe()}`);
    await b.conn.waitFor(id4, 3000);
  }));

  // ------------------------------------------------------------------ 1.7 overactivity and polling

  bt('BOSH-53/BOSH-55/E-06 a burst of requests+1 new requests on separate sockets: hold-rule answers or policy-violation, never a hang', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const socks = [await ctx.bosh.connect(), await ctx.bosh.connect(), await ctx.bosh.connect()];
    const ids = [mark('b53'), mark('b53'), mark('b53')];
    const n = s.rid;
    const t0 = Date.now();
    const ps = [];
    for (let i = 0; i < 3; i++) {
      ps.push(s.send(n + 1 + i, cMsg(ids[i]), {}, { socket: socks[i] }));
      await sleep(30);
    }
    s.rid = n + 3;
    const res = await Promise.all(ps);
    const kinds = res.map((r) => (r.isTerminate() ? r.condition : (r.status === 200 && r.parsed && !r.type ? 'ok' : 'other')));
    for (const [i, r] of res.entries()) {
      assert.ok(r.at - t0 <= 3500, `BOSH-53: request ${i} answered after ${r.at - t0} ms`);
      assert.ok(['ok', 'policy-violation', 'other-request'].includes(kinds[i]), `BOSH-53: ${r.describe()}`);
    }
    if (kinds.includes('policy-violation')) {
      assertT(await s.req(), 'item-not-found', 'after policy-violation');
    } else {
      await conn.waitFor(ids[2], 2000);
      let pos = -1;
      for (const id of ids) { assert.equal(timesAtS(conn, id), 1); assert.ok(conn.log.indexOf(id) > pos); pos = conn.log.indexOf(id); }
    }
  }));

  bt('BOSH-57/E-12 polling session: two empty polls < polling apart -> T(policy-violation); >= polling apart -> 200', () => run({ config: { bosh: { polling_s: 2 } } }, async (ctx) => {
    // One session after the other: each poll is timed from that session's previous poll.
    const A = await pollingSession(ctx, 2);
    const connA = ctx.fake.connections[0];
    await until(A.lastNewAt + 1000);
    assertT(await A.s.req(), 'policy-violation', 'BOSH-57: second empty poll after 1 s with polling=2');
    await connA.waitFor('</stream:stream>', 3000);
    const Bs = await pollingSession(ctx, 2);
    await until(Bs.lastNewAt + 3000);
    assertEmpty(await Bs.s.req(), 'BOSH-57: empty poll after 3 s with polling=2');
  }));

  bt('BOSH-58/BOSH-64/E-06 repeated rids are not new requests for the polling rule and are replayed byte for byte', () => run({ config: { bosh: { polling_s: 2 } } }, async (ctx) => {
    const { s, lastNewAt, empty } = await pollingSession(ctx, 2);
    for (let i = 0; i < 3; i++) {
      await sleep(100);
      const rep = await s.send(s.rid, '');
      assert.ok(!rep.isTerminate(), `BOSH-58: a repeat counted as a new request: ${rep.describe()}`);
      assert.ok(sameBytes(rep, empty), `BOSH-64: replay differs: ${rep.describe()} vs ${empty.describe()}`);
    }
    await until(lastNewAt + 2300);
    const r = await s.req();
    assert.ok(r.status === 200 && !r.isTerminate(), `BOSH-58: next new poll 2.3 s after the last new one: ${r.describe()}`);
  }));

  // ------------------------------------------------------------------ 1.8 rids

  bt('BOSH-60/E-04/BOSH-89 rid above the window (last + requests + 1) -> T(item-not-found), upstream closed, nothing forwarded', () => run({}, async (ctx) => {
    const { s, res, conn } = await ctx.open({ wait: '2' });
    assert.equal(res.parsed.attrs.requests, '2');
    const id = mark('b60');
    assertT(await s.send(s.rid + 3, cPres(id)), 'item-not-found', 'rid n+3 with requests=2');
    await conn.waitFor('</stream:stream>', 3000);
    assert.ok(!conn.log.includes(id));
    assertT(await s.send(s.rid + 1, ''), 'item-not-found', 'the session is over');
  }));

  bt('BOSH-61/BOSH-68 a rid below the buffered ones (n-10) -> T(item-not-found)', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    assertT(await s.send(s.rid - 10, ''), 'item-not-found', 'rid n-10');
    await conn.waitFor('</stream:stream>', 3000);
  }));

  bt('BOSH-62/BOSH-44/E-01/E-03/E-05 out-of-order rids inside the window: buffered, forwarded and answered in rid order', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const n = s.rid;
    const [ia, ib] = [mark('b62a'), mark('b62b')];
    const r2 = s.send(n + 2, cMsg(ib));
    await sleep(200);
    assert.ok(!conn.log.includes(ib), 'BOSH-62: n+2 forwarded before n+1 arrived');
    assert.ok(await stillPending(r2, 0), 'E-01: n+2 answered before n+1 arrived');
    const r1 = s.send(n + 1, cMsg(ia));
    s.rid = n + 2;
    await conn.waitFor(ib, 3000);
    assert.ok(conn.log.indexOf(ia) >= 0 && conn.log.indexOf(ia) < conn.log.indexOf(ib), 'BOSH-62: order at S');
    const a1 = await r1;
    const a2 = await r2;
    assertOk(a1, 'n+1'); assertOk(a2, 'n+2');
    assert.ok(a1.at <= a2.at, `BOSH-62: n+2 answered before n+1 (${a2.at} < ${a1.at})`);
  }));

  bt("BOSH-63/BOSH-77 a gap that does not fill within wait -> recoverable <body type='error'/>; resending both works", () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const n = s.rid;
    const [i1, i2] = [mark('b63'), mark('b63')];
    const e = await s.send(n + 2, cMsg(i2));
    assert.ok(e.status === 200 && e.type === 'error' && e.children.length === 0, `BOSH-63: expected <body type='error'/>: ${e.describe()}`);
    assert.ok(e.elapsed >= 1000 && e.elapsed <= 3500, `BOSH-63: type='error' after ${e.elapsed} ms (wait 2 s)`);
    assert.ok(!conn.log.includes(i2), 'the payload of the errored request was forwarded');
    const p1 = s.send(n + 1, cMsg(i1));
    await sleep(50);
    const p2 = s.send(n + 2, cMsg(i2));
    s.rid = n + 2;
    await conn.waitFor(i2, 3000);
    assert.ok(conn.log.indexOf(i1) < conn.log.indexOf(i2));
    assert.equal(timesAtS(conn, i1), 1);
    assert.equal(timesAtS(conn, i2), 1);
    assertOk(await p1, 'n+1 resent');
    conn.send(sMsg('b63-rel'));
    assertOk(await p2, 'n+2 resent');
  }));

  bt('BOSH-64/E-02 an answered rid sent again -> byte-identical response; its payload is not forwarded twice', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const id = mark('b64');
    const p = s.req(cPres(id));
    await conn.waitFor(id, 3000);
    conn.send(sMsg('b64-down'));
    const a = await p;
    assert.deepEqual(stanzaIds(a), ['b64-down']);
    const again = await s.send(s.rid, cPres(id));
    assert.equal(again.status, 200);
    assert.ok(sameBytes(again, a), `BOSH-64: replay differs:\n first ${a.body}\n again ${again.body}`);
    await sleep(300);
    assert.equal(timesAtS(conn, id), 1, 'BOSH-64: payload forwarded twice');
    const id2 = mark('b64');
    const p2 = s.req(cPres(id2));
    await conn.waitFor(id2, 3000);
    conn.send(sMsg('b64-rel'));
    assertOk(await p2, 'session still works');
  }));

  bt('E-02 a long-poll aborted by a proxy (socket closed while held) and resent with the same rid gets the queued data', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const A = await ctx.bosh.connect();
    s.rid += 1;
    const pa = s.send(s.rid, '', {}, { socket: A });
    await holdOne(pa, 'long-poll');
    A.destroy();
    await sleep(300);
    conn.send(sMsg('e02'));
    await sleep(200);
    const r = await s.send(s.rid, '');
    assertOk(r, 'E-02 resend');
    assert.deepEqual(stanzaIds(r), ['e02'], `E-02: ${r.describe()}`);
  }));

  bt('BOSH-65/BOSH-68/E-23 the last `requests` responses are replayable; older ones -> T(item-not-found)', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const n = s.rid;
    const i1 = mark('b65');
    const p1 = s.req(cPres(i1));
    await conn.waitFor(i1, 3000);
    conn.send(sMsg('m1'));
    const a1 = await p1;
    const p2 = s.req();
    await holdOne(p2, 'n+2');
    conn.send(sMsg('m2'));
    const a2 = await p2;
    assert.deepEqual([stanzaIds(a1), stanzaIds(a2)], [['m1'], ['m2']]);
    const p3 = s.req();
    await holdOne(p3, 'n+3');
    const re1 = await s.send(n + 1, cPres(i1));
    assert.ok(sameBytes(re1, a1), `BOSH-65: replay of n+1 while n+3 is held: ${re1.describe()}`);
    const re2 = await s.send(n + 2, '');
    assert.ok(sameBytes(re2, a2), `BOSH-65: replay of n+2 while n+3 is held: ${re2.describe()}`);
    conn.send(sMsg('m3'));
    assertOk(await p3, 'n+3');
    const p4 = s.req();
    await sleep(200);
    conn.send(sMsg('m4'));
    assertOk(await p4, 'n+4');
    assertT(await s.send(n + 1, cPres(i1)), 'item-not-found', 'BOSH-68: replay of n+1 after n+3 and n+4 were answered');
    assert.equal(timesAtS(conn, i1), 1);
  }));

  bt("BOSH-66/BOSH-77/E-07 a rid repeated while its first copy is held: the old copy gets <body type='error'/>, the new one is held and gets the data", () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const A = await ctx.bosh.connect();
    s.rid += 1;
    const pa = s.send(s.rid, '', {}, { socket: A });
    await holdOne(pa, 'first copy');
    const t0 = Date.now();
    const pb = s.send(s.rid, '');
    const a = await pa;
    assert.ok(a.status === 200 && a.type === 'error' && a.children.length === 0, `BOSH-66: ${a.describe()}`);
    assert.ok(a.at - t0 < 500, `BOSH-66: old copy answered after ${a.at - t0} ms`);
    await holdOne(pb, 'second copy');
    conn.send(sMsg('b66'));
    assert.deepEqual(stanzaIds(await pb), ['b66']);
    const id = mark('b66');
    const p = s.req(cPres(id));
    await conn.waitFor(id, 3000);
    conn.send(sMsg('b66-rel'));
    assertOk(await p, 'BOSH-77: the session keeps working');
  }));

  bt('BOSH-67 50 repeats of one rid within ~1 s: replayed or policy-violation, no crash, no upstream duplication', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const id = mark('b67');
    const p = s.req(cPres(id));
    await conn.waitFor(id, 3000);
    conn.send(sMsg('b67-down'));
    const a = await p;
    const results = [];
    for (let b = 0; b < 5; b++) results.push(...await Promise.all(Array.from({ length: 10 }, () => s.send(s.rid, cPres(id)))));
    let pv = false;
    for (const r of results) {
      if (r.isTerminate('policy-violation')) { pv = true; continue; }
      if (pv && r.isTerminate('item-not-found')) continue;
      assert.ok(sameBytes(r, a), `BOSH-67: ${r.describe()}`);
    }
    await sleep(300);
    assert.equal(timesAtS(conn, id), 1, 'BOSH-67: upstream duplication');
  }));

  // ------------------------------------------------------------------ 1.9 termination

  bt('BOSH-69/CM-06/TD-8 terminate: payloads go upstream, then </stream:stream>, then TCP close; a lone terminate gets T()', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const id = mark('b69');
    const r = await s.req(`<presence xmlns='jabber:client' type='unavailable' id='${id}'/>`, { type: 'terminate' });
    assertT(r, null, 'lone terminate');
    await conn.waitFor('</stream:stream>', 3000);
    const log = conn.log;
    const iP = log.indexOf(id);
    const iE = log.indexOf('</stream:stream>');
    assert.ok(iP >= 0 && iP < iE, `BOSH-69: order at S: ${log}`);
    assert.equal(log.slice(iE + '</stream:stream>'.length), '', 'data after </stream:stream>');
    await conn.waitClosed(6000);
  }));

  bt('BOSH-70 terminate with a request held: the held one gets T(), the terminate request an empty <body/>', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const r2 = s.req("<presence xmlns='jabber:client' type='unavailable'/>", { type: 'terminate' });
    const [a1, a2] = await Promise.all([r1, r2]);
    assertT(a1, null, 'BOSH-70 oldest request');
    assertEmpty(a2, 'BOSH-70 terminate request');
    await conn.waitFor('</stream:stream>', 3000);
  }));

  bt('BOSH-71/E-26 requests after a terminate -> T(item-not-found), no upstream effect', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    assertT(await s.req('', { type: 'terminate' }), null, 'terminate');
    await conn.waitFor('</stream:stream>', 3000);
    const len = conn.log.length;
    for (let i = 0; i < 3; i++) assertT(await s.req(cPres(mark('b71'))), 'item-not-found', `request ${i} after terminate`);
    assertT(await s.req('', { type: 'terminate' }), 'item-not-found', 'second terminate');
    await sleep(200);
    assert.equal(conn.log.length, len, 'S received data after the session ended');
    assert.equal(ctx.fake.connections.length, 1);
  }));

  bt('BOSH-72/E-24/CM-05/TD-8 S closes its stream while a request is held -> T() at once; G answers </stream:stream> and closes TCP', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const t0 = Date.now();
    conn.send('</stream:stream>');
    const a = await r1;
    assertT(a, null, 'BOSH-72');
    assert.ok(a.at - t0 < 1000, `BOSH-72: T() ${a.at - t0} ms after S closed`);
    await conn.waitFor('</stream:stream>', 3000);
    await conn.waitClosed(6000);
    assertT(await s.req(), 'item-not-found', 'after T()');
  }));

  bt('CM-05 S closes its stream while no request is held -> the next request gets T() at once', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    conn.send('</stream:stream>');
    await conn.waitFor('</stream:stream>', 3000);
    await sleep(200);
    const r = await s.req();
    assertT(r, null, 'CM-05');
    assert.ok(r.elapsed < 1000, `CM-05: T() after ${r.elapsed} ms`);
  }));

  // ------------------------------------------------------------------ 1.10 error classes

  bt('BOSH-74/TERM-10 a stream error in answer to the header -> creation T(remote-stream-error) carrying it (not condition=host-unknown)', () => run({
    fake: { onHeader: (conn) => { conn.sendHeader(); conn.send(`<stream:error><host-unknown xmlns='${NS.STREAMS}'/></stream:error></stream:stream>`); return true; } },
  }, async (ctx) => {
    const s = ctx.session();
    const r = await s.create({ wait: '2' });
    assertT(r, 'remote-stream-error', 'BOSH-74');
    assert.equal(r.parsed.attrs['xmlns:stream'], NS.ST, 'XEP206-08: xmlns:stream on <body/>');
    const err = r.children.find((c) => c.local === 'error' && c.ns === NS.ST);
    assert.ok(err && kids(err, 'host-unknown', NS.STREAMS).length === 1, r.describe());
  }));

  const STREAM_ERROR = `<stream:error><conflict xmlns='${NS.STREAMS}'/><text xmlns='${NS.STREAMS}' xml:lang='en'>Replaced</text>` +
    "<app xmlns='urn:x' a='1'><deep b='2'>t</deep></app></stream:error>";
  const checkStreamErrorBody = (r, conn, label) => {
    assertT(r, 'remote-stream-error', label);
    assert.equal(r.parsed.attrs['xmlns:stream'], NS.ST, `${label}: xmlns:stream on <body/>`);
    const ch = r.children;
    const last = ch[ch.length - 1];
    assert.ok(last && last.local === 'error' && last.ns === NS.ST, `${label}: the stream error must come last: ${r.body}`);
    assert.equal(canon(last), canon(parseUpstream(STREAM_ERROR)), `${label}: the stream error was not relayed verbatim: ${r.body}`);
    return ch.slice(0, -1);
  };

  bt('BOSH-75/XEP206-08/E-19/E-20/TD-6 S sends a stanza then a stream error (no request held) -> next request T(remote-stream-error) with both, verbatim', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    conn.send(`${sMsg('m1', 'last words')}${STREAM_ERROR}</stream:stream>`);
    await conn.waitFor('</stream:stream>', 3000);
    const r = await s.req();
    const before = checkStreamErrorBody(r, conn, 'BOSH-75');
    assert.deepEqual(before.map((c) => `${c.ns}|${c.local}|${c.attrs.id}`), ['jabber:client|message|m1'], r.body);
    await conn.waitClosed(6000);
    assertT(await s.req(), 'item-not-found', 'after the stream error');
  }));

  bt('BOSH-75/BOSH-72/TD-8 stream error while a request is held -> T(remote-stream-error) promptly; earlier stanza delivered once, before it', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const t0 = Date.now();
    conn.send(`${sMsg('m1', 'last words')}${STREAM_ERROR}</stream:stream>`);
    const got = [await r1];
    assert.ok(got[0].at - t0 < 1000, `answered ${got[0].at - t0} ms after the stream error`);
    if (!got[0].isTerminate()) got.push(await s.req());
    const term = got[got.length - 1];
    const before = checkStreamErrorBody(term, conn, 'BOSH-75 held');
    const ids = [...got.slice(0, -1).flatMap(stanzaIds), ...before.map((c) => c.attrs.id)];
    assert.deepEqual(ids, ['m1'], `the stanza before the error: ${got.map((x) => x.body).join(' | ')}`);
    await conn.waitFor('</stream:stream>', 3000);
    await conn.waitClosed(6000);
  }));

  bt('BOSH-78 stanza errors from S pass through unchanged and do not end the session', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const p = s.req("<iq xmlns='jabber:client' type='get' id='q78' to='example.com'><query xmlns='jabber:iq:version'/></iq>");
    await conn.waitFor('q78', 3000);
    const err = `<iq type='error' id='q78' from='example.com' to='user@example.com/bosh'><query xmlns='jabber:iq:version'/><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/><text xmlns='${NS_STANZAS}' xml:lang='en'>nope</text></error></iq>`;
    conn.send(err);
    const a = await p;
    assert.equal(a.children.length, 1, a.describe());
    // Unchanged in meaning: the stanza inherited xml:lang='en' from S's stream header, and
    // outside that stream it has to carry it itself (TD-3).
    assert.equal(canon(a.children[0]), canon(parseUpstream(err.replace('<iq ', "<iq xml:lang='en' "))), a.body);
    const id = mark('b78');
    const p2 = s.req(cPres(id));
    await conn.waitFor(id, 3000);
    conn.send(sMsg('b78-rel'));
    assertOk(await p2, 'after the stanza error');
  }));

  bt('BOSH-80 legacy client (no ver): HTTP 404 for a rid beyond the window, 400 for a bad request, 403 for polling too fast', () => run({ config: { bosh: { polling_s: 2 } } }, async (ctx) => {
    const l1 = ctx.session();
    await l1.create({ wait: '2', ver: null });
    assert.ok(l1.sid && l1.legacy);
    const r404 = await l1.send(l1.rid + 10, '');
    assert.equal(r404.status, 404, `BOSH-80 item-not-found -> 404: ${r404.describe()}`);
    const l2 = ctx.session();
    await l2.create({ wait: '2', ver: null });
    const r400 = await l2.post(bodyXml({ rid: 'abc', sid: l2.sid }));
    assert.equal(r400.status, 400, `BOSH-80 bad-request -> 400: ${r400.describe()}`);
    const l3 = await pollingSession(ctx, 2, { ver: null });
    await until(l3.lastNewAt + 1000);
    const r403 = await l3.s.req();
    assert.equal(r403.status, 403, `BOSH-80 policy-violation -> 403: ${r403.describe()}`);
    const unknown = await ctx.bosh.post(bodyXml({ rid: '5', sid: 'ab'.repeat(17) }));
    assertT(unknown, 'item-not-found', 'unknown sid without ver (decision 2)');
  }));

  // ------------------------------------------------------------------ 1.11 terminal conditions

  bt('TERM-01/BOSH-83 unparseable requests -> immediate HTTP 200 T(bad-request), no session, no upstream', () => run({}, async (ctx) => {
    const cases = {
      text: 'hello',
      'wrong namespace': "<body xmlns='urn:wrong' rid='1' to='example.com' ver='1.11'/>",
      'no namespace': "<body rid='1' to='example.com' ver='1.11'/>",
      'root not body': `<foo xmlns='${NS.HB}' rid='1' to='example.com' ver='1.11'/>`,
      empty: '',
      unterminated: `<body xmlns='${NS.HB}' rid='1' to='example.com' ver='1.11'>`,
      'two roots': `${bodyXml({ rid: '1', to: 'example.com', ver: '1.11' })}<body/>`,
      garbage: '<<<>>>&&&',
      'random bytes': crypto.randomBytes(300),
    };
    for (const [name, body] of Object.entries(cases)) {
      const r = await ctx.bosh.post(body);
      assertT(r, 'bad-request', `TERM-01 ${name}`);
      assert.ok(r.elapsed < 1000, `BOSH-83 ${name}: answered after ${r.elapsed} ms`);
    }
    await sleep(300);
    assert.equal(ctx.fake.connections.length, 0);
    const s = ctx.session();
    await s.create({ wait: '2' });
    assert.ok(s.sid, 'the gateway still creates sessions');
  }));

  bt('TERM-07 a rid far above the window while a request is held: the new request T(item-not-found), the held one T(other-request)', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const a2 = await s.send(s.rid + 5, '');
    assertT(a2, 'item-not-found', 'TERM-07 new request');
    assertT(await r1, 'other-request', 'TERM-07 held request');
    await conn.waitFor('</stream:stream>', 3000);
  }));

  bt('TERM-08/CM-10 a body over bosh.max_body_bytes -> T(policy-violation), nothing forwarded; a 10 MB body is refused without harm', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const id = mark('t08');
    const big = s.xml(s.rid + 1, `<message xmlns='jabber:client' id='${id}' to='a@example.com'><body>${'x'.repeat(9000)}</body></message>`);
    assert.ok(Buffer.byteLength(big) > 8192);
    const r = await s.post(big);
    assertT(r, 'policy-violation', 'TERM-08 9 KB body (limit 8192)');
    await assertNotForwarded(s, conn, id, 'TERM-08');
    // 10 MB announced and sent
    const b = await ctx.open({ wait: '2' });
    const sock = await ctx.bosh.connect();
    const total = 10 * 1024 * 1024;
    const p = sock.expect('POST', '10 MB body', { session: b.s });
    sock.write(ctx.bosh.build({ body: '', headers: { 'Content-Length': String(total) } }));
    const chunk = Buffer.alloc(65536, 'x');
    let sent = 0;
    let answered = false;
    p.then(() => { answered = true; }, () => { answered = true; });
    const deadline = Date.now() + 15000;
    while (sent < total && !answered && !sock.closed && Date.now() < deadline) {
      if (!sock.write(chunk)) await Promise.race([new Promise((res) => sock.sock.once('drain', res)), sleep(200)]);
      sent += chunk.length;
    }
    const r10 = await p;
    assertT(r10, 'policy-violation', 'TERM-08 10 MB body');
    assert.ok(!b.conn.log.includes('xxxxxxxxxxxxxxxx'), 'part of the oversize body reached S');
    const c = ctx.session();
    await c.create({ wait: '2' });
    assert.ok(c.sid, 'the gateway still creates sessions');
  }));

  bt('TERM-09/CM-03 upstream refuses the connection -> creation T(remote-connection-failed) at once', () => closedPort().then((port) => run({
    fake: null, extraRoutes: [{ domain: 'example.com', host: '127.0.0.1', port, tls: 'starttls', allow_plaintext: true }],
  }, async (ctx) => {
    const s = ctx.session();
    const r = await s.create({ wait: '2' });
    assertT(r, 'remote-connection-failed', 'TERM-09');
    assert.ok(r.elapsed < 2500, `TERM-09: after ${r.elapsed} ms`);
  })));

  bt('TERM-09/CM-03/XMPP-06 certificate for the wrong name -> creation T(remote-connection-failed)', () => {
    const p = getPki();
    return run({
      fake: { starttls: { required: true, key: p.certs['other.example'].key, cert: p.certs['other.example'].cert } },
      config: { upstream: { ca_file: p.caFile } },
    }, async (ctx) => {
      const s = ctx.session();
      const r = await s.create({ wait: '2' });
      assertT(r, 'remote-connection-failed', 'TERM-09 wrong certificate');
      assert.ok(r.elapsed < 3500, `after ${r.elapsed} ms`);
    });
  });

  bt('TERM-09/XMPP-05 S answers <starttls/> with <failure/> -> creation T(remote-connection-failed)', () => {
    const p = getPki();
    return run({
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
      const s = ctx.session();
      assertT(await s.create({ wait: '2' }), 'remote-connection-failed', 'STARTTLS failure');
    });
  });

  bt('CM-04/TERM-09/BOSH-73 upstream RST with a request held -> T(remote-connection-failed) within 1 s; EOF with none held -> next request', () => run({}, async (ctx) => {
    const a = await ctx.open({ wait: '2' });
    const r1 = a.s.req();
    await holdOne(r1, 'R1');
    const t0 = Date.now();
    a.conn.rst();
    const x = await r1;
    assertT(x, 'remote-connection-failed', 'CM-04 RST');
    assert.ok(x.at - t0 < 1000, `CM-04: ${x.at - t0} ms after the RST`);
    assertT(await a.s.req(), 'item-not-found', 'BOSH-73: after a terminal condition the sid is dead');
    const b = await ctx.open({ wait: '2' });
    b.conn.end();
    await sleep(500);
    const y = await b.s.req();
    assertT(y, 'remote-connection-failed', 'CM-04 EOF without </stream:stream>');
    assert.ok(y.elapsed < 1000, `CM-04 EOF: answered after ${y.elapsed} ms`);
  }));

  bt('CM-02/E-15 upstream slower than wait: the creation response still has sid (no features); the features come on a later request', () => run({
    fake: { headerDelayMs: 3500 },
    config: { upstream: { connect_timeout_s: 8 } },
  }, async (ctx) => {
    const s = ctx.session();
    const r = await s.create({ wait: '2' });
    assert.match(s.sid || '', /^[0-9a-fA-F]{34}$/, `CM-02: ${r.describe()}`);
    assert.ok(!featuresOf(r), 'features before S sent them?');
    assert.ok(r.elapsed >= 1000 && r.elapsed <= 3200, `CM-02: creation answered after ${r.elapsed} ms (wait 2)`);
    const got = [];
    for (let i = 0; i < 3 && !got.some(featuresOf); i++) got.push(await s.req());
    const fr = got.find(featuresOf);
    assert.ok(fr, `CM-02: features never delivered: ${got.map((x) => x.body).join(' | ')}`);
    assert.equal(fr.parsed.attrs['xmlns:stream'], NS.ST);
    const xv = (x) => x.parsed.attrsNs.find((a) => a.ns === NS.XB && a.local === 'version');
    assert.ok(xv(r) || xv(fr), 'XEP206-03: xmpp:version neither on the creation response nor with the late features');
    await login(s);
  }));

  bt('CM-12 black-hole upstream: creation answered at wait with a sid, then T(remote-connection-failed) by the connect timeout', () => startBlackHole().then(async (hole) => {
    try {
      await run({
        fake: null,
        extraRoutes: [{ domain: 'example.com', host: '127.0.0.1', port: hole.port, tls: 'starttls', allow_plaintext: true }],
        config: { upstream: { connect_timeout_s: 3 } },
      }, async (ctx) => {
        const s = ctx.session();
        const t0 = Date.now();
        const r = await s.create({ wait: '2' });
        assert.ok(s.sid, `CM-12/CM-02: ${r.describe()}`);
        assert.ok(r.elapsed <= 3200, `creation answered after ${r.elapsed} ms`);
        let last = null;
        for (let i = 0; i < 3; i++) { last = await s.req(); if (last.isTerminate()) break; }
        assertT(last, 'remote-connection-failed', 'CM-12');
        assert.ok(last.at - t0 <= 4500, `CM-12: told ${last.at - t0} ms after creation (connect timeout 3 s)`);
      });
    } finally { await hole.stop(); }
  }));

  bt('TERM-12/CM-07 SIGTERM: held requests get T(system-shutdown), each upstream gets </stream:stream>, new sessions refused, exit 0', () => run({}, async (ctx) => {
    const a = await ctx.open({ wait: '2' });
    const b = await ctx.open({ wait: '2' });
    const ra = a.s.req();
    const rb = b.s.req();
    await holdOne(ra, 'A');
    await holdOne(rb, 'B');
    const stopP = ctx.stopGateway();
    const [xa, xb] = await Promise.all([ra, rb]);
    assertT(xa, 'system-shutdown', 'session A');
    assertT(xb, 'system-shutdown', 'session B');
    // the drain has begun: a new creation request is refused (T(system-shutdown) or no connection)
    const late = ctx.bosh.post(bodyXml({ rid: '4242', to: 'example.com', ver: '1.11', wait: '2', hold: '1' })).then((r) => r, (e) => e);
    await a.conn.waitFor('</stream:stream>', 5000);
    await b.conn.waitFor('</stream:stream>', 5000);
    const l = await late;
    if (l instanceof B.HttpResponse) {
      assert.ok(!(l.parsed && l.parsed.attrs.sid), `TERM-12: a session was created during shutdown: ${l.describe()}`);
      assertT(l, 'system-shutdown', 'TERM-12 creation during shutdown');
    }
    const res = await stopP;
    assert.equal(res.code, 0, `exit code ${res.code}`);
  }));

  bt('CM-06 XEP-0198 resumption enabled + inactivity timeout -> upstream closed WITHOUT </stream:stream>', () => run({
    fake: {
      onElement: (conn, el) => {
        if (el.local === 'enable' && el.raw.includes(NS_SM)) { conn.send(`<enabled xmlns='${NS_SM}' id='sm-bosh-1' resume='true'/>`); return true; }
        return false;
      },
    },
  }, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    await login(s);
    await s.exchange(`<enable xmlns='${NS_SM}' resume='true'/>`, {}, (ch) => ch.some((c) => c.local === 'enabled' && c.ns === NS_SM));
    await conn.waitClosed(10000);
    const after = conn.log.slice(conn.log.lastIndexOf('<enable'));
    assert.ok(!after.includes('</stream:stream>'), `CM-06: the resumable stream was closed gracefully: ${after}`);
    assertT(await s.req(), 'item-not-found', 'after inactivity');
  }));

  bt('CM-10 S floods while the client does not poll: RSS bounded; data delivered in order or the session ends with a clear condition', () => run({
    gw: { env: { ASAN_OPTIONS: `${SANITIZER_ENV.ASAN_OPTIONS}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64` } },
    config: { bosh: { inactivity_s: 30 } },
  }, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const pid = ctx.gw.pid;
    const base = rssKb(pid);
    let peak = base;
    let count = 0;
    const body = 'z'.repeat(900);
    const floodP = conn.flood(16 * 1024 * 1024, (i) => { count = i + 1; return sMsg(`f${i}`, body); }, { timeoutMs: 8000 });
    let done = false;
    floodP.then(() => { done = true; });
    for (let i = 0; i < 1000 && !done; i++) { peak = Math.max(peak, rssKb(pid)); await sleep(25); }
    const flood = await floodP;
    peak = Math.max(peak, rssKb(pid));
    const growthMb = (peak - base) / 1024;
    assert.ok(growthMb < 32, `CM-10: RSS grew by ${growthMb.toFixed(1)} MB while nobody polled (S queued ${flood.queued} B, back-pressure timeout ${flood.timedOut})`);
    let next = 0;
    const deadline = Date.now() + 90000;
    for (let polls = 0; next < count; polls++) {
      assert.ok(Date.now() < deadline && polls < 2000, `CM-10: still draining: ${next} of ${count}`);
      const r = await s.req();
      if (r.isTerminate()) {
        assert.ok(['policy-violation', 'undefined-condition'].includes(r.condition), `CM-10: session ended with ${r.describe()}`);
        break;
      }
      assertOk(r, 'drain');
      for (const id of stanzaIds(r)) { assert.equal(id, `f${next}`, 'CM-10: order/loss'); next++; }
    }
  }), { timeout: 150000 });

  // ------------------------------------------------------------------ 1.12 keys, multi-stream

  const sha1 = (x) => crypto.createHash('sha1').update(x).digest('hex');
  const keyChain = (n) => { const k = [crypto.randomBytes(16).toString('hex')]; for (let i = 0; i < n; i++) k.push(sha1(k[i])); return k; };

  bt('BOSH-84 key sequencing: valid keys accepted; a wrong key or a missing key -> T(item-not-found), payload not forwarded', () => run({}, async (ctx) => {
    const K = keyChain(5);
    const a = await ctx.open({ wait: '2', newkey: K[5] });
    const ok1 = mark('k-ok');
    const p1 = a.s.req('', { key: K[4] });
    await holdOne(p1, 'key K4');
    const p2 = a.s.req(cPres(ok1), { key: K[3] });
    await a.conn.waitFor(ok1, 3000);
    assertEmpty(await p1, 'K4');
    const bad = mark('k-bad');
    const r3 = await a.s.req(cPres(bad), { key: 'f'.repeat(40) });
    assertT(r3, 'item-not-found', 'BOSH-84 wrong key');
    await p2;
    await assertNotForwarded(a.s, a.conn, bad, 'BOSH-84 wrong key');
    const b = await ctx.open({ wait: '2', newkey: K[5] });
    const q1 = b.s.req('', { key: K[4] });
    await holdOne(q1, 'key K4');
    const bad2 = mark('k-bad');
    assertT(await b.s.req(cPres(bad2)), 'item-not-found', 'BOSH-84 missing key');
    await q1;
    await assertNotForwarded(b.s, b.conn, bad2, 'BOSH-84 missing key');
  }));

  bt('BOSH-85 keys are compared case-insensitively', () => run({}, async (ctx) => {
    const K = keyChain(5);
    const { s, conn } = await ctx.open({ wait: '2', newkey: K[5].toUpperCase() });
    const id = mark('k85');
    const p = s.req(cPres(id), { key: K[4] });
    await conn.waitFor(id, 3000);
    conn.send(sMsg('k85-rel'));
    assertOk(await p, 'BOSH-85');
  }));

  bt('BOSH-86 key switch: key + newkey starts a new chain; the old chain is then refused', () => run({}, async (ctx) => {
    const K = keyChain(3);
    const L = keyChain(5);
    const { s, conn } = await ctx.open({ wait: '2', newkey: K[3] });
    const p1 = s.req('', { key: K[2] });
    await holdOne(p1, 'K2');
    const p2 = s.req('', { key: K[1], newkey: L[5] });
    await p1;
    const id = mark('k86');
    const p3 = s.req(cPres(id), { key: L[4] });
    await conn.waitFor(id, 3000);
    await p2;
    assertT(await s.req('', { key: K[0] }), 'item-not-found', 'old chain after the switch');
    await p3;
  }));

  bt('BOSH-87 to/route on an existing sid: handled as a plain poll, no second upstream connection', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const p = s.req('', { to: 'other.example', route: `xmpp:127.0.0.1:${ctx.fake.port}`, 'xml:lang': 'fr' });
    await holdOne(p, 'BOSH-87 poll');
    conn.send(sMsg('b87'));
    assert.deepEqual(stanzaIds(await p), ['b87']);
    await sleep(300);
    assert.equal(ctx.fake.connections.length, 1, 'BOSH-87: a second upstream connection');
  }));

  bt('XEP206-16/E-48 session ended by inactivity: nothing is sent after </stream:stream>, TCP closed within close_timeout even if S keeps talking', () => run({
    fake: { replyToClose: false },
    config: { upstream: { close_timeout_s: 2 } },
  }, async (ctx) => {
    const { conn } = await ctx.open({ wait: '2' });
    await conn.waitFor('</stream:stream>', 9000);
    const t0 = Date.now();
    conn.send("<message from='a@example.com/x' to='user@example.com/bosh' id='late16' type='chat'><body>late</body></message>");
    await conn.waitClosed(4000);
    assert.ok(Date.now() - t0 <= 4000);
    const log = conn.log;
    assert.equal(log.slice(log.indexOf('</stream:stream>') + '</stream:stream>'.length), '', `data after </stream:stream>: ${log}`);
  }));
});
