'use strict';
// Black-box BOSH conformance tests (XEP-0124 + XEP-0206), part 1: the HTTP layer, the <body/>
// wrapper, session creation, XEP-0206 (features, restarts, namespaces) and the translation duties
// (TD-x). Part 2 (conformance-bosh-session.test.js) covers long-polling, rids, pause, inactivity,
// termination and error reporting. Test names carry the IDs of conformance-checklist.md
// (BOSH-xx, TERM-xx, XEP206-xx, TD-x, CM-xx, E-xx).
//
// Client: tests/lib/bosh-raw.js (raw HTTP/1.x over node:net). Upstream: tests/lib/fake-server.js.
// Every response of every test is checked against the rules that hold for all BOSH responses
// (status 200 for non-legacy sessions, Content-Length and no chunking, Content-Type,
// Cache-Control: no-store, Access-Control-Allow-Origin, one strict namespace-well-formed <body/>
// in the httpbind namespace, no character data in <body/>, stanzas in jabber:client, xmlns:stream
// on <body/> when the prefix is used, no creation-only attributes on later responses, a sid on
// every non-terminate creation response). Every test stops the gateway and requires a clean exit.
//
// Gateway settings for the tests (BOSH_TEST_CONFIG): max_wait_s 2, inactivity_s 5, polling_s 1,
// maxpause_s 10, max_body_bytes 8192, upstream.connect_timeout_s 2; tests override where needed.
// While the gateway binary does not serve BOSH at all, every test is skipped (set
// XGW_BOSH_REQUIRED=1 to make them fail instead).

const { test, describe, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const zlib = require('node:zlib');
const { closedPort, startBlackHole, makeTestPki, DEFAULT_FEATURES } = require('../lib/fake-server');
const { gatewayAvailable } = require('../lib/gateway');
const { kids, attrNs } = require('../lib/ws-raw');
const B = require('../lib/bosh-raw');

const {
  NS, bodyXml, canon, parseUpstream, assertT, assertEmpty, assertOk, stillPending, childrenNamed,
  stanzaIds, login, mark, assertNotForwarded, sleep, DEFAULT_CT,
} = B;
const run = B.boshScenario;

const SKIP = gatewayAvailable() ? false : 'gateway binary build-asan/xmppgw not built';
const T = { timeout: 45000, skip: SKIP };
const CONC = Number(process.env.XGW_BOSH_CONCURRENCY || 4);
const bt = (name, fn, opts = {}) => test(name, { ...T, ...opts }, B.boshTest(fn));

const NS_SM = 'urn:xmpp:sm:3';

/** CPU time (user + system) a process has used, in ms, from /proc/PID/stat. */
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

let pki = null;
const getPki = () => { if (!pki) pki = makeTestPki({ names: ['example.com', 'other.example'] }); return pki; };
after(() => { if (pki) pki.cleanup(); });

/** The <stream:features/> child of a response, or undefined. */
const featuresOf = (res) => res.children.find((c) => c.local === 'features' && c.ns === NS.ST);
/** Mechanism names offered in a features element. */
const mechanisms = (f) => (f ? kids(f, 'mechanisms', NS.SASL).flatMap((m) => kids(m, 'mechanism').map((x) => x.text)) : []);
/** A message from S (unqualified, as on the TCP stream). */
const sMsg = (id, text = 'hi') => `<message from='a@example.com/x' to='user@example.com/bosh' id='${id}'><body>${text}</body></message>`;
/** A client presence (qualified). */
const cPres = (id) => `<presence xmlns='jabber:client' id='${id}'/>`;
/** Fire a held request and make sure it has reached the gateway and is held (not answered). */
async function holdOne(p, label, ms = 300) {
  /* The message awaits p, so it must only be built on failure: as an argument of assert.ok it
   * would be evaluated first and every call would wait for p to settle. Nothing is returned
   * for the same reason (an async function returning p makes `await holdOne(p)` wait for p). */
  if (!(await stillPending(p, ms))) {
    assert.fail(`${label}: the request was answered at once instead of being held: ${(await p).describe()}`);
  }
}
/** Attribute names of a creation response other than sid/authid, with values. */
function creationShape(res) {
  const a = { ...res.parsed.attrs };
  delete a.sid; delete a.authid;
  return a;
}
const countOf = (hay, needle) => hay.split(needle).length - 1;

describe('BOSH conformance (part 1): HTTP, <body/>, creation, XEP-0206, translation', { concurrency: CONC }, () => {
  // ------------------------------------------------------------------ 1.1 HTTP layer

  bt('BOSH-01 a whole session over HTTP/1.0 with Connection: close on every request', () => run({}, async (ctx) => {
    const sockets = [];
    const fresh = async () => { const c = await ctx.bosh.connect(); sockets.push(c); return { socket: c, version: '1.0' }; };
    const s = ctx.session();
    const res = await s.create({ wait: '2' }, '', await fresh());
    assert.ok(s.sid, `no sid: ${res.describe()}`);
    assert.ok(featuresOf(res), `creation response without features: ${res.describe()}`);
    const conn = await ctx.fake.waitForConnection(3000);
    await login(s, { optsFn: fresh });
    const id = mark('b01');
    const held = s.req(cPres(id), {}, await fresh());
    await conn.waitFor(id, 3000);
    conn.send(sMsg('b01-down'));
    assert.deepEqual(stanzaIds(await held), ['b01-down']);
    assertT(await s.req(`<presence xmlns='jabber:client' type='unavailable'/>`, { type: 'terminate' }, await fresh()), null, 'terminate');
    for (const c of sockets) {
      await c.waitClosed(2000).catch(() => { throw new Error(`BOSH-01: the gateway kept HTTP/1.0 connection #${c.id} open after its response (Connection: close)`); });
      for (const r of c.responses) {
        assert.equal(r.contentLength, r.bodyBytes.length, `BOSH-01: Content-Length on ${r.describe()}`);
        assert.match(r.httpVersion, /^1\.[01]$/);
      }
    }
    assert.ok(sockets.length >= 6, `only ${sockets.length} requests`);
    await conn.waitFor('</stream:stream>', 3000);
  }));

  bt('BOSH-01/BOSH-38 HTTP/1.1 keep-alive on two sockets: every request of a full session answered 200 on persistent connections', () => run({}, async (ctx) => {
    const A = await ctx.bosh.connect();
    const Bs = await ctx.bosh.connect();
    let turn = 0;
    const alt = async () => ({ socket: (turn++ % 2) ? Bs : A });
    const s = ctx.session();
    await s.create({ wait: '2' }, '', { socket: A });
    const conn = await ctx.fake.waitForConnection(3000);
    await login(s, { optsFn: alt });
    const r1 = s.req('', {}, { socket: A });
    await holdOne(r1, 'poll on A');
    const id = mark('b01k');
    const r2 = s.req(`<message xmlns='jabber:client' to='a@example.com' id='${id}'><body>x</body></message>`, {}, { socket: Bs });
    assertEmpty(await r1, 'hold rule answer on A');
    await conn.waitFor(id, 3000);
    conn.send(sMsg('b01k-down'));
    assert.deepEqual(stanzaIds(await r2), ['b01k-down']);
    const r3 = await s.req('', {}, { socket: A }); // held until wait
    assertEmpty(r3, 'wait expiry on A');
    assertT(await s.req('', { type: 'terminate' }, { socket: Bs }), null, 'terminate');
    for (const c of [A, Bs]) {
      assert.ok(!c.closed && !c.gotFin, `BOSH-01: the gateway closed keep-alive connection #${c.id} after ${c.responses.length} responses`);
      assert.ok(c.responses.length >= 3, `socket #${c.id} carried only ${c.responses.length} requests`);
    }
    for (const r of ctx.bosh.responses) assert.equal(r.status, 200, `BOSH-38: ${r.describe()}`);
  }));

  bt('BOSH-02 long-held, data and terminate responses carry Content-Length and are not chunked', () => run({}, async (ctx) => {
    const { s, res: cr, conn } = await ctx.open({ wait: '2' });
    const held = await s.req(); // wait expiry
    assertEmpty(held, 'wait expiry');
    const p = s.req();
    await holdOne(p, 'data');
    conn.send(sMsg('b02', 'y'.repeat(3000)));
    const data = await p;
    const term = await s.req('', { type: 'terminate' });
    for (const r of [cr, held, data, term]) {
      assert.equal(r.chunked, false, `BOSH-02 chunked: ${r.describe()}`);
      assert.equal(r.header('transfer-encoding'), undefined, `BOSH-02 Transfer-Encoding: ${r.describe()}`);
      assert.equal(r.contentLength, r.bodyBytes.length, `BOSH-02 Content-Length: ${r.describe()}`);
    }
    assert.ok(held.elapsed >= 1000, `the empty poll was not held: ${held.elapsed} ms`);
  }));

  bt('BOSH-03/E-28 request Content-Type is ignored (text/xml, text/plain, form, application/xml, none)', () => run({}, async (ctx) => {
    const cts = ['text/xml; charset=utf-8', 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'application/xml', null];
    const results = [];
    for (const ct of cts) {
      const s = ctx.session();
      const r = await s.create({ wait: '2' }, '', { headers: { 'Content-Type': ct } });
      assert.ok(s.sid && featuresOf(r), `Content-Type ${ct}: ${r.describe()}`);
      results.push(r);
    }
    const shape0 = creationShape(results[0]);
    const feat0 = canon(featuresOf(results[0]));
    results.forEach((r, i) => {
      assert.deepEqual(creationShape(r), shape0, `Content-Type ${cts[i]} changed the creation response`);
      assert.equal(canon(featuresOf(r)), feat0, `Content-Type ${cts[i]} changed the features`);
    });
  }));

  bt('BOSH-04 no content attribute: text/xml; charset=utf-8 on creation, data, empty, recoverable-error and terminate responses', () => run({}, async (ctx) => {
    const { s, res: creation, conn } = await ctx.open({ wait: '2' });
    const p1 = s.req();
    await holdOne(p1, 'data');
    conn.send(sMsg('b04'));
    const data = await p1;
    assert.deepEqual(stanzaIds(data), ['b04']);
    const empty = assertEmpty(await s.req(), 'empty');
    const A = await ctx.bosh.connect();
    const Bs = await ctx.bosh.connect();
    s.rid += 1;
    const a = s.send(s.rid, '', {}, { socket: A });
    await holdOne(a, 'first copy');
    const b = s.send(s.rid, '', {}, { socket: Bs });
    const err = await a;
    assert.equal(err.type, 'error', `repeat while held: the older copy must get type='error': ${err.describe()}`);
    await holdOne(b, 'newest copy');
    const term = await s.req('', { type: 'terminate' });
    const bRes = await b;
    for (const r of [creation, data, empty, err, term, bRes]) {
      assert.equal(r.header('content-type'), DEFAULT_CT, `BOSH-04: ${r.describe()}`);
    }
  }));

  bt("BOSH-05 content='text/html; charset=utf-8': every later response, T(...) included, carries exactly that Content-Type", () => run({}, async (ctx) => {
    const CT = 'text/html; charset=utf-8';
    const { s, res: creation, conn } = await ctx.open({ wait: '2', content: CT });
    const p1 = s.req();
    await holdOne(p1, 'data');
    conn.send(sMsg('b05'));
    const data = await p1;
    const A = await ctx.bosh.connect();
    s.rid += 1;
    const a = s.send(s.rid, '', {}, { socket: A });
    await holdOne(a, 'first copy');
    const b = s.send(s.rid, '');
    const err = await a;
    assert.equal(err.type, 'error', err.describe());
    const empty = await b; // wait expiry
    assertEmpty(empty, 'wait expiry');
    const inf = assertT(await s.send(s.rid + 5, ''), 'item-not-found', 'rid above the window');
    for (const r of [creation, data, err, empty, inf]) assert.equal(r.header('content-type'), CT, `BOSH-05: ${r.describe()}`);
  }));

  bt('BOSH-06 Accept-Encoding: gzip -> gzip or identity, correctly labelled; identity -> never compressed', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const p1 = s.req('', {}, { headers: { 'Accept-Encoding': 'gzip' } });
    await holdOne(p1, 'gzip');
    conn.send(sMsg('b06a', 'z'.repeat(4000)));
    const r1 = await p1;
    const enc1 = (r1.header('content-encoding') || 'identity').toLowerCase();
    assert.ok(['gzip', 'identity'].includes(enc1), `BOSH-06: Content-Encoding ${enc1} was not offered`);
    assert.equal(r1.decodeError, null, `BOSH-06: body does not decode as ${enc1}`);
    assert.deepEqual(stanzaIds(r1), ['b06a']);
    const p2 = s.req('', {}, { headers: { 'Accept-Encoding': 'identity' } });
    await holdOne(p2, 'identity');
    conn.send(sMsg('b06b', 'z'.repeat(4000)));
    const r2 = await p2;
    assert.ok(['identity', undefined].includes(r2.header('content-encoding')), `BOSH-06: compressed although only identity was accepted: ${r2.describe()}`);
    assert.deepEqual(stanzaIds(r2), ['b06b']);
  }));

  bt('BOSH-07 no accept advertised; a gzip-encoded request -> T(bad-request), nothing forwarded; Content-Encoding: identity is fine', () => run({}, async (ctx) => {
    const { s, res, conn } = await ctx.open({ wait: '2' });
    assert.equal(res.parsed.attrs.accept, undefined, `BOSH-07: the gateway advertises accept='${res.parsed.attrs.accept}' but the team decided to refuse compressed requests`);
    const id = mark('b07');
    const gz = zlib.gzipSync(Buffer.from(s.xml(s.rid + 1, cPres(id))));
    const r = await s.post(gz, { headers: { 'Content-Encoding': 'gzip' } });
    assertT(r, 'bad-request', 'gzip request');
    await assertNotForwarded(s, conn, id, 'BOSH-07');
    const b = await ctx.open({ wait: '2' });
    const id2 = mark('b07i');
    const p = b.s.req(cPres(id2), {}, { headers: { 'Content-Encoding': 'identity' } });
    await b.conn.waitFor(id2, 3000);
    assertOk(await p, 'identity request');
  }));

  bt('BOSH-08/E-29 unknown headers ignored, no Cookie or Origin needed; ACAO present without Origin', () => run({}, async (ctx) => {
    const weird = { 'X-Foo': 'bar', 'X-Requested-With': 'XMLHttpRequest', 'User-Agent': 'bosh-conformance/1 (x)', Accept: '*/*', 'X-Forwarded-For': '203.0.113.9' };
    const plain = ctx.session();
    const r0 = await plain.create({ wait: '2' });
    const s = ctx.session();
    const r1 = await s.create({ wait: '2' }, '', { headers: weird });
    assert.ok(s.sid, r1.describe());
    assert.deepEqual(creationShape(r1), creationShape(r0), 'unknown headers changed the creation response');
    assert.equal(r1.header('access-control-allow-origin'), '*', `E-29: no ACAO without an Origin header: ${r1.describe()}`);
    const conn = await ctx.fake.waitForConnection(3000, 2);
    const id = mark('b08');
    const p = s.req(cPres(id), {}, { headers: weird });
    await conn.waitFor(id, 3000);
    conn.send(sMsg('b08-down'));
    assert.deepEqual(stanzaIds(await p), ['b08-down']);
  }));

  bt('BOSH-09 two pipelined requests on one socket: no deadlock and no busy loop; the connection is closed and both rids recover on new sockets', () => run({}, async (ctx) => {
    // XEP-0124 §18.1: clients must not rely on pipelining (and RFC 9112 §9.3.2 forbids
    // pipelining POSTs). The gateway closes such a connection at once, as if the client had
    // left, instead of holding the socket (libwebsockets 4.1 spins on the pipelined bytes).
    const { s, conn } = await ctx.open({ wait: '2' });
    const sock = await ctx.bosh.connect();
    const id = mark('b09');
    const n = s.rid;
    const raw = Buffer.concat([
      ctx.bosh.build({ body: s.xml(n + 1, '') }),
      ctx.bosh.build({ body: s.xml(n + 2, `<message xmlns='jabber:client' to='a@example.com' id='${id}'/>`) }),
    ]);
    const cpu0 = cpuMs(ctx.gw.pid);
    const t0 = Date.now();
    const p1 = sock.expect('POST', `pipelined rid ${n + 1}`, { session: s });
    const p2 = sock.expect('POST', `pipelined rid ${n + 2}`, { session: s });
    sock.write(raw);
    const [o1, o2] = await Promise.allSettled([p1, p2]);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed <= 3500, `BOSH-09: the pipelined socket was neither answered nor closed within wait (${elapsed} ms)`);
    assert.ok(o1.status === 'rejected' && o2.status === 'rejected',
      `the connection is closed without answers: ${[o1, o2].map((o) => (o.status === 'fulfilled' ? o.value.describe() : o.reason.message)).join(' | ')}`);
    await sock.waitClosed(1000);
    const cpu = cpuMs(ctx.gw.pid) - cpu0;
    assert.ok(cpu < elapsed / 2 + 200, `the gateway spent ${cpu} ms of CPU in ${elapsed} ms: a busy loop`);
    // The client resends both on new sockets: each is answered once, the payload reaches S once.
    const r1 = s.send(n + 1, '');
    const r2 = s.send(n + 2, `<message xmlns='jabber:client' to='a@example.com' id='${id}'/>`);
    s.rid = n + 2;
    await conn.waitFor(id, 3000);
    assertOk(await r1, `rid ${n + 1} resent`);
    assertOk(await r2, `rid ${n + 2} resent`);
    assert.equal(conn.log.split(`id='${id}'`).length - 1, 1, 'the pipelined payload reached S exactly once');
  }));

  bt('BOSH-10 no charsets advertised; invalid UTF-8 -> T(bad-request), never forwarded, no upstream for a bad creation', () => run({}, async (ctx) => {
    // creation with invalid UTF-8: no session, no upstream connection
    const bad = Buffer.concat([Buffer.from(`<body xmlns='${NS.HB}' rid='7000' to='example.com' ver='1.11' wait='2' hold='1' xml:lang='`), Buffer.from([0xc3, 0x28]), Buffer.from("'/>")]);
    assertT(await ctx.bosh.post(bad), 'bad-request', 'creation with invalid UTF-8');
    await sleep(300);
    assert.equal(ctx.fake.connections.length, 0, 'BOSH-10: a creation request with invalid UTF-8 opened an upstream connection');
    for (const seq of [[0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff]]) {
      const { s, res, conn } = await ctx.open({ wait: '2' });
      assert.equal(res.parsed.attrs.charsets, undefined, 'charsets advertised');
      const id = mark('b10');
      const head = s.xml(s.rid + 1, `<message xmlns='jabber:client' id='${id}' to='a@example.com'><body>x`).slice(0, -'</body>'.length);
      const body = Buffer.concat([Buffer.from(head), Buffer.from(seq), Buffer.from('</body></message></body>')]);
      assertT(await s.post(body), 'bad-request', `invalid UTF-8 ${Buffer.from(seq).toString('hex')}`);
      await assertNotForwarded(s, conn, id, `BOSH-10 ${Buffer.from(seq).toString('hex')}`);
    }
  }));

  bt('BOSH-11/E-27/E-29 OPTIONS preflight -> 204 with CORS headers; ACAO on POST, terminate and error responses; no session', () => run({}, async (ctx) => {
    const pre = await ctx.bosh.request({
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(pre.status, 204, `BOSH-11: ${pre.describe()}`);
    assert.equal(pre.header('access-control-allow-origin'), '*', pre.describe());
    const methods = (pre.header('access-control-allow-methods') || '').split(',').map((x) => x.trim().toUpperCase()).sort();
    assert.deepEqual(methods, ['OPTIONS', 'POST'], `Access-Control-Allow-Methods: ${pre.describe()}`);
    assert.ok(/(^|,)\s*content-type\s*(,|$)/i.test(pre.header('access-control-allow-headers') || ''), `E-29 Access-Control-Allow-Headers must list Content-Type: ${pre.describe()}`);
    assert.match(pre.header('access-control-max-age') || '', /^\d+$/, `Access-Control-Max-Age: ${pre.describe()}`);
    // E-27: a preflight without a body and without Content-Type
    const pre2 = await ctx.bosh.request({ method: 'OPTIONS', headers: { Origin: 'https://other.example' } });
    assert.equal(pre2.status, 204, pre2.describe());
    await sleep(200);
    assert.equal(ctx.fake.connections.length, 0, 'OPTIONS opened an upstream connection');
    // POSTs from that origin: ACAO on creation, data, error and terminate (checked for every response)
    const hdr = { headers: { Origin: 'https://app.example' } };
    const s = ctx.session();
    await s.create({ wait: '2' }, '', hdr);
    const A = await ctx.bosh.connect();
    s.rid += 1;
    const a = s.send(s.rid, '', {}, { ...hdr, socket: A });
    await holdOne(a, 'first copy');
    const b = s.send(s.rid, '', {}, hdr);
    assert.equal((await a).type, 'error');
    await holdOne(b, 'second copy');
    const term = await s.req('', { type: 'terminate' }, hdr);
    const unknown = await ctx.bosh.post(bodyXml({ rid: '5', sid: 'f'.repeat(34) }), hdr);
    for (const r of [term, await b, unknown]) assert.equal(r.header('access-control-allow-origin'), '*', `BOSH-11: ${r.describe()}`);
  }));

  bt('BOSH-11 bosh.allowed_origins: matching Origin echoed with Vary: Origin; other origins get no CORS headers', () => run({
    config: { bosh: { allowed_origins: ['https://app.example'] } },
    client: { expectAcao: undefined },
  }, async (ctx) => {
    const good = { Origin: 'https://app.example' };
    const evil = { Origin: 'https://evil.example' };
    const pre = await ctx.bosh.request({ method: 'OPTIONS', headers: { ...good, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
    assert.ok(pre.status === 204, pre.describe());
    assert.equal(pre.header('access-control-allow-origin'), 'https://app.example', pre.describe());
    assert.ok(/(^|,)\s*origin\s*(,|$)/i.test(pre.header('vary') || ''), `Vary: Origin missing on the preflight: ${pre.describe()}`);
    const preEvil = await ctx.bosh.request({ method: 'OPTIONS', headers: { ...evil, 'Access-Control-Request-Method': 'POST' } });
    assert.equal(preEvil.header('access-control-allow-origin'), undefined, `preflight from a foreign origin: ${preEvil.describe()}`);
    const s = ctx.session();
    const r = await s.create({ wait: '2' }, '', { headers: good, meta: { expectAcao: 'https://app.example' } });
    assert.ok(/(^|,)\s*origin\s*(,|$)/i.test(r.header('vary') || ''), `Vary: Origin missing: ${r.describe()}`);
    const s2 = ctx.session();
    const r2 = await s2.create({ wait: '2' }, '', { headers: evil, meta: { expectAcao: null } });
    assert.equal(r2.status, 200, r2.describe());
    const s3 = ctx.session();
    await s3.create({ wait: '2' }, '', { meta: { expectAcao: null } });
    assertT(await s.req('', { type: 'terminate' }, { headers: good, meta: { expectAcao: 'https://app.example' } }), null, 'terminate');
    assertT(await s2.req('', { type: 'terminate' }, { headers: evil, meta: { expectAcao: null } }), null, 'terminate');
  }));

  bt('BOSH-12 GET /http-bind -> 405 with Allow: POST, OPTIONS; never a session', () => run({}, async (ctx) => {
    const r = await ctx.bosh.request({ method: 'GET', headers: { 'Content-Type': null } });
    assert.equal(r.status, 405, r.describe());
    const allow = (r.header('allow') || '').split(',').map((x) => x.trim().toUpperCase()).sort();
    assert.deepEqual(allow, ['OPTIONS', 'POST'], `Allow: ${r.describe()}`);
    assert.ok(!/sid=/.test(r.body), `GET created a session: ${r.describe()}`);
    const r2 = await ctx.bosh.request({ method: 'GET', path: `/http-bind?${encodeURIComponent(bodyXml({ rid: '1', to: 'example.com', ver: '1.11' }))}`, headers: { 'Content-Type': null } });
    assert.equal(r2.status, 405, r2.describe());
    await sleep(300);
    assert.equal(ctx.fake.connections.length, 0, 'BOSH-12: GET opened an upstream connection');
  }));

  // ------------------------------------------------------------------ 1.2 the <body/> wrapper

  bt('BOSH-13/BOSH-14 escaping: &, <, ]]>, quotes, astral characters and CDATA from S come out well-formed and equal', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const p = s.req();
    await holdOne(p, 'poll');
    conn.send("<message from='a@example.com/x' to='user@example.com/bosh' id='b14' title='q&apos;&quot;&lt;&gt;&amp;'>" +
      '<body>a &amp; b &lt; c ]]&gt; d \u{1F600} \u{1D11E} &#x10000; tab&#9;end</body><thread><![CDATA[x<y&z]]]]><![CDATA[>]]></thread></message>');
    const r = await p;
    const m = childrenNamed(r, 'message', NS.CLIENT)[0];
    assert.ok(m, r.describe());
    assert.equal(m.attrs.title, 'q\'"<>&');
    assert.equal(kids(m, 'body')[0].text, 'a & b < c ]]> d \u{1F600} \u{1D11E} \u{10000} tab\tend');
    assert.equal(kids(m, 'thread')[0].text, 'x<y&z]]>');
    assert.ok(!/<!--|<!DOCTYPE/.test(r.body) && r.body.indexOf('<?', 1) < 0, `BOSH-14: ${r.body}`);
  }));

  describe('BOSH-15 restricted XML in a request -> T(bad-request), nothing forwarded', { concurrency: CONC }, () => {
    const cases = {
      comment: (s, id) => s.xml(s.rid + 1, `<!--x--><presence xmlns='jabber:client' id='${id}'/>`),
      'processing instruction': (s, id) => s.xml(s.rid + 1, `<?foo bar?><presence xmlns='jabber:client' id='${id}'/>`),
      'internal DTD + entity': (s, id) => `<!DOCTYPE body [<!ENTITY a 'b'>]>${s.xml(s.rid + 1, `<message xmlns='jabber:client' id='${id}'><body>&a;</body></message>`)}`,
      'undeclared entity reference': (s, id) => s.xml(s.rid + 1, `<message xmlns='jabber:client' id='${id}'><body>&foo;</body></message>`),
      'partial element': (s, id) => s.xml(s.rid + 1, `<message xmlns='jabber:client' id='${id}'><body>x</body>`).slice(0, -'</body>'.length),
      'external entity': (s, id) => `<!DOCTYPE body [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>${s.xml(s.rid + 1, `<message xmlns='jabber:client' id='${id}'><body>&x;</body></message>`)}`,
      'billion laughs': (s, id) => {
        let dtd = "<!ENTITY lol0 'lollollollollollollollollollol'>";
        for (let i = 1; i <= 9; i++) dtd += `<!ENTITY lol${i} '${`&lol${i - 1};`.repeat(10)}'>`;
        return `<!DOCTYPE body [${dtd}]>${s.xml(s.rid + 1, `<message xmlns='jabber:client' id='${id}'><body>&lol9;</body></message>`)}`;
      },
    };
    for (const [name, make] of Object.entries(cases)) {
      bt(`BOSH-15 ${name}`, () => run({}, async (ctx) => {
        const { s, conn } = await ctx.open({ wait: '2' });
        const id = mark('b15');
        const r = await s.post(make(s, id));
        assertT(r, 'bad-request', `BOSH-15 ${name}`);
        assert.ok(r.elapsed < 1500, `BOSH-15 ${name}: answered after ${r.elapsed} ms`);
        await assertNotForwarded(s, conn, id, `BOSH-15 ${name}`);
        const again = await ctx.open({ wait: '2' });
        assert.ok(again.s.sid, 'gateway still serves new sessions');
      }));
    }
    bt('BOSH-15 a creation request with a comment -> T(bad-request), no upstream connection', () => run({}, async (ctx) => {
      const r = await ctx.bosh.post(`<!--x-->${bodyXml({ rid: '8000', to: 'example.com', ver: '1.11', wait: '2', hold: '1' })}`);
      assertT(r, 'bad-request', 'creation with a comment');
      await sleep(300);
      assert.equal(ctx.fake.connections.length, 0);
    }));
  });

  bt('BOSH-16/TD-9 whitespace keepalives from S never become character data in <body/>', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    conn.send(sMsg('w1'));
    conn.send('   \n');
    conn.send(' ');
    conn.send(sMsg('w2'));
    conn.send('\r\n\t ');
    await sleep(300);
    const r = await s.req();
    assert.deepEqual(stanzaIds(r), ['w1', 'w2'], r.describe());
    const text = r.parsed.children.filter((c) => typeof c === 'string');
    assert.equal(text.length, 0, `BOSH-16: text nodes directly in <body/>: ${JSON.stringify(text)}`);
    // whitespace alone produces no response data: a poll is held to wait expiry and comes back empty
    conn.send('  \n  ');
    assertEmpty(await s.req(), 'whitespace only');
  }));

  bt('BOSH-17 XML declaration and whitespace between payloads accepted; character data in <body/> -> T(bad-request)', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const [i1, i2] = [mark('b17'), mark('b17')];
    const body = `<?xml version='1.0' encoding='UTF-8'?>\n${s.xml(s.rid + 1, `\n  ${cPres(i1)}\n  ${cPres(i2)}\n`)}`;
    s.rid += 1;
    const p = s.post(body);
    await conn.waitFor(i2, 3000);
    assert.ok(conn.log.indexOf(i1) < conn.log.indexOf(i2));
    conn.send(sMsg('b17-down'));
    assertOk(await p, 'declaration + whitespace');
    const id3 = mark('b17');
    assertT(await s.post(s.xml(s.rid + 1, `hello${cPres(id3)}`)), 'bad-request', 'character data');
    await assertNotForwarded(s, conn, id3, 'BOSH-17');
  }));

  // ------------------------------------------------------------------ rids and creation basics

  bt('BOSH-18 invalid rid on a creation request (abc, -5, 0, 2^53, 1.5, 1e3, empty, missing) -> T(bad-request), no upstream', () => run({}, async (ctx) => {
    for (const rid of ['abc', '-5', '0', '9007199254740992', '99999999999999999999', '1.5', '1e3', '', null]) {
      const r = await ctx.bosh.post(bodyXml({ rid, to: 'example.com', ver: '1.11', wait: '2', hold: '1' }));
      assertT(r, 'bad-request', `rid=${JSON.stringify(rid)}`);
    }
    await sleep(300);
    assert.equal(ctx.fake.connections.length, 0, 'BOSH-18: an invalid creation request opened an upstream connection');
  }));

  bt('BOSH-18/BOSH-73 invalid rid on a live session -> T(bad-request); the sid is dead afterwards', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    assertT(await s.post(bodyXml({ rid: 'abc', sid: s.sid })), 'bad-request', 'rid=abc');
    assertT(await s.req(), 'item-not-found', 'after T(bad-request)');
    await conn.waitFor('</stream:stream>', 3000);
  }));

  bt('BOSH-18/E-08 rids are 64-bit integers: 2^53-991.. works, and 9999999999 -> 10000000000 keeps order', () => run({}, async (ctx) => {
    for (const start of [9007199254740000, 9999999998]) {
      const { s, conn } = await ctx.open({ wait: '2', rid: String(start) });
      const ids = [];
      for (let i = 0; i < 3; i++) {
        const id = mark('b18');
        ids.push(id);
        const p = s.req(cPres(id));
        await conn.waitFor(id, 3000);
        if (i === 2) { conn.send(sMsg('b18-rel')); await p; }
      }
      let pos = -1;
      for (const id of ids) { const at = conn.log.indexOf(id); assert.ok(at > pos, `order of ${ids} at S`); pos = at; }
      assert.equal(s.rid, start + 3);
    }
  }));

  bt('BOSH-19/E-18 several payloads in one body are forwarded in document order', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const ids = [mark('b19'), mark('b19'), mark('b19')];
    const p = s.req(ids.map((id) => `<message xmlns='jabber:client' to='a@example.com' id='${id}'><body>${id}</body></message>`).join(''));
    await conn.waitFor(ids[2], 3000);
    const got = conn.elements.filter((e) => e.local === 'message').map((e) => e.attrs.id);
    assert.deepEqual(got, ids);
    conn.send(sMsg('b19-rel'));
    await p;
  }));

  bt('BOSH-20/E-22 unknown sid -> HTTP 200 T(item-not-found) (also without ver); no upstream connection', () => run({}, async (ctx) => {
    assertT(await ctx.bosh.post(bodyXml({ rid: '5', sid: 'nonexistent' })), 'item-not-found', 'sid=nonexistent');
    assertT(await ctx.bosh.post(bodyXml({ rid: '5', sid: '0'.repeat(34) })), 'item-not-found', 'sid=00..0');
    assertT(await ctx.bosh.post(bodyXml({ rid: '6', sid: 'a1'.repeat(17), to: 'example.com', wait: '2', hold: '1' })), 'item-not-found', 'creation attributes + unknown sid');
    assertT(await ctx.bosh.post(bodyXml({ rid: '7', sid: 'zz' })), 'item-not-found', 'legacy-looking request');
    await sleep(300);
    assert.equal(ctx.fake.connections.length, 0);
  }));

  bt('BOSH-21/BOSH-89 sids: 34 hex digits, distinct, 128 random bits, no sequence, no JID/IP/time', () => run({}, async (ctx) => {
    const sids = [];
    const t0 = Math.floor(Date.now() / 1000);
    for (let batch = 0; batch < 6; batch++) {
      const rs = await Promise.all(Array.from({ length: 10 }, () => { const s = ctx.session(); return s.create({ wait: '1' }).then(() => s.sid); }));
      sids.push(...rs);
    }
    for (const sid of sids) assert.match(sid || '', /^[0-9a-fA-F]{34}$/, `sid ${sid}`);
    assert.equal(new Set(sids.map((x) => x.toLowerCase())).size, sids.length, 'duplicate sids');
    // positions that vary like random hex digits: expect the 32 random ones (the first two are the loop number)
    let randomPositions = 0;
    for (let i = 0; i < 34; i++) if (new Set(sids.map((x) => x[i].toLowerCase())).size >= 10) randomPositions++;
    assert.ok(randomPositions >= 32, `only ${randomPositions} of 34 hex positions vary across ${sids.length} sids: ${sids.slice(0, 5)}`);
    // no two sids that are close numerically (sequential / counter-based)
    const nums = sids.map((x) => BigInt(`0x${x.slice(2)}`)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 1; i < nums.length; i++) assert.ok(nums[i] - nums[i - 1] > 2n ** 64n, 'two sids are numerically adjacent');
    const forbidden = ['7f000001', ...[-2, -1, 0, 1, 2].map((d) => (t0 + d).toString(16))];
    for (const sid of sids) for (const f of forbidden) assert.ok(!sid.toLowerCase().includes(f), `sid ${sid} contains ${f}`);
  }));

  bt('BOSH-22/TERM-03/TERM-04/TD-7 no to or empty to -> T(improper-addressing); unknown domain -> T(host-unknown); no upstream', () => run({}, async (ctx) => {
    const base = { rid: '9000', ver: '1.11', wait: '2', hold: '1', 'xml:lang': 'en', 'xmpp:version': '1.0' };
    let r = await ctx.bosh.post(bodyXml({ ...base }));
    assertT(r, 'improper-addressing', 'no to');
    r = await ctx.bosh.post(bodyXml({ ...base, to: '' }));
    assertT(r, 'improper-addressing', "to=''");
    r = await ctx.bosh.post(bodyXml({ ...base, to: 'unknown.example' }));
    assertT(r, 'host-unknown', 'to=unknown.example');
    assert.ok(r.elapsed < 1500, `host-unknown after ${r.elapsed} ms`);
    r = await ctx.bosh.post(bodyXml({ ...base, to: 'unknown.example', route: `xmpp:127.0.0.1:${ctx.fake.port}` }));
    assertT(r, 'host-unknown', 'to=unknown.example with a route to S');
    await sleep(300);
    assert.equal(ctx.fake.connections.length, 0, 'an upstream connection was opened');
  }));

  bt('BOSH-23/CM-08 route is ignored: no connection to the route target, no percent-decoding, session via the configured route', () => startBlackHole().then(async (hole) => {
    try {
      await run({}, async (ctx) => {
        const routes = [`xmpp:127.0.0.1:${hole.port}`, 'xmpp:[::1]:5222', 'xmpp:a%2eb:5222', `xmpp:localhost:${hole.port}`, 'xmpp:127.0.0.1:22'];
        for (const [i, route] of routes.entries()) {
          const s = ctx.session();
          const r = await s.create({ wait: '2', route });
          assert.ok(s.sid && featuresOf(r), `route=${route}: ${r.describe()}`);
          await ctx.fake.waitForConnection(3000, i + 1);
        }
        await sleep(300);
        assert.equal(hole.acceptedTotal(), 0, 'CM-08: the gateway connected to the route target');
      });
    } finally { await hole.stop(); }
  }));

  bt('BOSH-24 ver = min(client, 1.11), major and minor compared as integers', () => run({}, async (ctx) => {
    const cases = [['1.6', '1.6'], ['1.10', '1.10'], ['1.9', '1.9'], ['1.11', '1.11'], ['1.12', '1.11'], ['2.0', '1.11'], ['1.0', '1.0']];
    const got = await Promise.all(cases.map(async ([v]) => { const s = ctx.session(); const r = await s.create({ wait: '2', ver: v }); return r.parsed.attrs.ver; }));
    cases.forEach(([v, want], i) => assert.equal(got[i], want, `client ver='${v}'`));
  }));

  bt('BOSH-25 wait = min(requested, bosh.max_wait_s); missing -> max_wait_s; wait=0 well-formed (E-12)', () => run({}, async (ctx) => {
    const cases = [['60', '2'], ['2', '2'], ['1', '1'], [null, '2'], ['0', '0']];
    for (const [w, want] of cases) {
      const s = ctx.session();
      const r = await s.create({ wait: w });
      assert.ok(s.sid, r.describe());
      assert.equal(r.parsed.attrs.wait, want, `client wait=${w}: ${r.describe()}`);
    }
  }));

  bt('BOSH-25/BOSH-28/BOSH-29/E-30 defaults: wait 3600 -> 50, hold 1, requests 2, inactivity 60, polling 2, maxpause 120', () => run({ noDefaults: true }, async (ctx) => {
    const s = ctx.session();
    const r = await s.create({ wait: '3600', hold: '1' });
    const a = r.parsed.attrs;
    assert.deepEqual({ wait: a.wait, hold: a.hold, requests: a.requests, inactivity: a.inactivity, polling: a.polling, maxpause: a.maxpause },
      { wait: '50', hold: '1', requests: '2', inactivity: '60', polling: '2', maxpause: '120' }, r.describe());
    const s2 = ctx.session();
    const r2 = await s2.create({ wait: '60' });
    assert.equal(r2.parsed.attrs.wait, '50', 'E-30: wait must stay below 60 s proxy timeouts');
  }));

  bt('BOSH-26/BOSH-27/BOSH-59/E-16 hold clamped to max_hold, requests = hold + 1', () => run({}, async (ctx) => {
    const cases = [['1', '1', '2'], ['0', '0', '1'], ['5', '1', '2'], ['2', '1', '2']];
    for (const [h, hold, requests] of cases) {
      const s = ctx.session();
      const r = await s.create({ wait: '2', hold: h });
      assert.equal(r.parsed.attrs.hold, hold, `hold=${h}: ${r.describe()}`);
      assert.equal(r.parsed.attrs.requests, requests, `hold=${h}: ${r.describe()}`);
    }
  }));

  bt('BOSH-26/BOSH-27 with bosh.max_hold 3: hold 2 -> hold 2, requests 3; hold 9 -> 3/4', () => run({ config: { bosh: { max_hold: 3 } } }, async (ctx) => {
    for (const [h, hold, requests] of [['2', '2', '3'], ['9', '3', '4']]) {
      const s = ctx.session();
      const r = await s.create({ wait: '2', hold: h });
      assert.equal(r.parsed.attrs.hold, hold, r.describe());
      assert.equal(r.parsed.attrs.requests, requests, r.describe());
    }
  }));

  bt('BOSH-28/BOSH-48/BOSH-54/BOSH-56 polling and inactivity always advertised; polling sessions get inactivity > polling', () => run({}, async (ctx) => {
    for (const attrs of [{ wait: '2', hold: '1' }, { wait: '0', hold: '0' }, { wait: '2', hold: '0' }, { wait: '0', hold: '1' }]) {
      const s = ctx.session();
      const r = await s.create(attrs);
      const a = r.parsed.attrs;
      assert.match(a.polling || '', /^\d+$/, `polling: ${r.describe()}`);
      assert.match(a.inactivity || '', /^[1-9]\d*$/, `inactivity: ${r.describe()}`);
      assert.match(a.requests || '', /^[1-9]\d*$/, `requests: ${r.describe()}`);
      assert.equal(a.polling, '1');
      assert.equal(a.inactivity, '5');
      assert.ok(Number(a.inactivity) > Number(a.polling), `BOSH-48: inactivity ${a.inactivity} <= polling ${a.polling}`);
    }
  }));

  bt('BOSH-29 maxpause advertised from bosh.maxpause_s', () => run({}, async (ctx) => {
    const s = ctx.session();
    const r = await s.create({ wait: '2' });
    assert.equal(r.parsed.attrs.maxpause, '10', r.describe());
  }));

  bt('BOSH-29 bosh.maxpause_s 0 -> no maxpause attribute', () => run({ config: { bosh: { maxpause_s: 0 } } }, async (ctx) => {
    const s = ctx.session();
    const r = await s.create({ wait: '2' });
    assert.ok(s.sid, r.describe());
    assert.equal(r.parsed.attrs.maxpause, undefined, r.describe());
  }));

  bt('BOSH-30/XEP206-05/TD-2/TD-11/XMPP-07 from and authid come from the post-TLS stream header', () => {
    const p = getPki();
    return run({
      fake: {
        starttls: { required: true, key: p.certs['example.com'].key, cert: p.certs['example.com'].cert },
        onHeader: (conn) => { conn.sendHeader({ id: conn.tls ? 'post-tls-id-7f3a' : 'pre-tls-id-1b2c' }); conn.sendFeatures(); return true; },
      },
      config: { upstream: { ca_file: p.caFile } },
    }, async (ctx) => {
      const { res, conn } = await ctx.open({ wait: '2' });
      assert.ok(conn.tls, 'upstream not TLS');
      const a = res.parsed.attrs;
      assert.equal(a.from, 'example.com', `BOSH-30 from: ${res.describe()}`);
      assert.equal(a.authid, 'post-tls-id-7f3a', `XEP206-05 authid: ${res.describe()}`);
      assert.equal(attrNs(res.parsed, NS.XB, 'version'), '1.0', 'xmpp:version');
      assert.ok(!res.body.includes('pre-tls-id-1b2c'), 'TD-2: the pre-TLS id leaked');
      const f = featuresOf(res);
      assert.ok(f && !kids(f, 'starttls').length, `TD-2: ${res.describe()}`);
    });
  });

  bt('BOSH-31/BOSH-45/BOSH-46/E-09 acks: if used, creation ack = rid, ack on responses per §9.1, none that equals the answered rid', () => run({}, async (ctx) => {
    const { s, res, conn } = await ctx.open({ wait: '2', ack: '1' });
    const uses = res.parsed.attrs.ack !== undefined;
    if (uses) assert.equal(res.parsed.attrs.ack, String(s.createAttrs.rid), 'BOSH-31: creation ack must be the creation rid');
    const n = s.rid;
    const r1 = s.req();
    await holdOne(r1, 'R1');
    const r2 = s.req('', { ack: String(n) });
    const a1 = await r1;
    await holdOne(r2, 'R2');
    conn.send(sMsg('b45'));
    const a2 = await r2;
    if (uses) {
      assert.equal(a1.parsed.attrs.ack, String(n + 2), `BOSH-45: R1 answered after R2 arrived must carry ack=${n + 2}: ${a1.describe()}`);
      assert.equal(a2.parsed.attrs.ack, undefined, `BOSH-45/E-09: ack equal to the answered rid must be left out: ${a2.describe()}`);
      const rep = await s.req('', { ack: String(n) }); // BOSH-46: client ack lower than the last answered rid
      if (rep.parsed.attrs.report !== undefined) {
        assert.equal(rep.parsed.attrs.report, String(n + 1), `BOSH-46 report: ${rep.describe()}`);
        assert.match(rep.parsed.attrs.time || '', /^\d+$/, `BOSH-46 time: ${rep.describe()}`);
      }
    } else {
      for (const r of ctx.bosh.responses) assert.equal(r.parsed && r.parsed.attrs.ack, undefined, `BOSH-31: ack on a response although the creation response had none: ${r.describe()}`);
    }
  }));

  bt('BOSH-32 accept / charsets syntax when present', () => run({}, async (ctx) => {
    const s = ctx.session();
    const r = await s.create({ wait: '2' });
    const { accept, charsets } = r.parsed.attrs;
    if (accept !== undefined) assert.match(accept, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(,[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/);
    if (charsets !== undefined) assert.match(charsets, /^[\w.:-]+( [\w.:-]+)*$/);
  }));

  bt('BOSH-34 creation attributes on a later request are ignored (wait=1 does not shorten the hold)', () => run({ config: { bosh: { max_wait_s: 3 } } }, async (ctx) => {
    const { s, res } = await ctx.open({ wait: '3' });
    assert.equal(res.parsed.attrs.wait, '3');
    const r = await s.req('', { wait: '1', hold: '0', ver: '1.6', content: 'text/plain' });
    assertEmpty(r, 'poll with wait=1');
    assert.ok(r.elapsed >= 2200, `BOSH-34: the request with wait='1' was held only ${r.elapsed} ms (session wait 3 s)`);
    assert.equal(r.header('content-type'), DEFAULT_CT);
  }));

  bt("BOSH-35 xml:lang='de' on the creation request -> xml:lang='de' on the upstream stream header", () => run({}, async (ctx) => {
    const { conn } = await ctx.open({ wait: '2', 'xml:lang': 'de' });
    const h = await conn.waitForHeader(1, 3000);
    assert.equal(h.attrs['xml:lang'], 'de', h.raw);
  }));

  // ------------------------------------------------------------------ 1.13 XEP-0206

  bt('XEP206-01/E-10/E-11 no xmpp:version and no ver, S requires STARTTLS -> upstream version=1.0, TLS, features reach C', () => {
    const p = getPki();
    return run({
      fake: { starttls: { required: true, key: p.certs['example.com'].key, cert: p.certs['example.com'].cert } },
      config: { upstream: { ca_file: p.caFile } },
    }, async (ctx) => {
      const { s, res, conn } = await ctx.open({ wait: '2', ver: null, 'xmpp:version': null });
      assert.ok(s.legacy);
      for (const h of conn.headers) assert.equal(h.attrs.version, '1.0', `XEP206-01: ${h.raw}`);
      assert.ok(conn.tls, 'E-11: the gateway did not negotiate STARTTLS');
      const f = featuresOf(res);
      assert.ok(f, `E-10: no features in the creation response: ${res.describe()}`);
      assert.deepEqual(mechanisms(f), ['SCRAM-SHA-1', 'PLAIN']);
    });
  });

  bt("XEP206-01 xmpp:version='1.0' -> upstream version='1.0'", () => run({}, async (ctx) => {
    const { conn } = await ctx.open({ wait: '2', 'xmpp:version': '1.0' });
    assert.equal((await conn.waitForHeader(1)).attrs.version, '1.0');
  }));

  bt('XEP206-02/XMPP-02 creation from= is never sent before TLS; after TLS it is absent or the given JID', () => {
    const p = getPki();
    return run({
      fake: { starttls: { required: true, key: p.certs['example.com'].key, cert: p.certs['example.com'].cert } },
      config: { upstream: { ca_file: p.caFile } },
    }, async (ctx) => {
      const { conn } = await ctx.open({ wait: '2', from: 'user@example.com' });
      assert.ok(conn.headers.length >= 2, 'no post-TLS header');
      assert.equal(conn.headers[0].attrs.from, undefined, `from sent before TLS: ${conn.headers[0].raw}`);
      const post = conn.headers[1].attrs.from;
      assert.ok(post === undefined || post === 'user@example.com', `post-TLS from='${post}'`);
    });
  });

  bt('XEP206-03/XEP206-04/E-17/TD-12/XMPP-04 creation response: xmpp:version, restartlogic and the filtered post-TLS features', () => {
    const extra = "<register xmlns='http://jabber.org/features/iq-register'/><sm xmlns='urn:xmpp:sm:3'/>" +
      "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.com' ver='abc='/>";
    const features = DEFAULT_FEATURES.replace('</stream:features>', `${extra}</stream:features>`);
    return run({ fake: { features } }, async (ctx) => {
      const { res } = await ctx.open({ wait: '2' });
      assert.equal(attrNs(res.parsed, NS.XB, 'version'), '1.0', `E-17 xmpp:version: ${res.describe()}`);
      assert.equal(attrNs(res.parsed, NS.XB, 'restartlogic'), 'true', `XEP206-04: ${res.describe()}`);
      const f = featuresOf(res);
      assert.ok(f, res.describe());
      const expected = parseUpstream(features.replace('<mechanism>SCRAM-SHA-1-PLUS</mechanism>', '')
        .replace(/<compression[\s\S]*?<\/compression>/, ''));
      assert.equal(canon(f), canon(expected), `XEP206-03: features differ from S's minus -PLUS and compression:\n got ${res.body}`);
    });
  });

  bt('XEP206-06/E-21 a body carrying <stream:features/> declares xmlns:stream on <body/>', () => run({}, async (ctx) => {
    const { s, res } = await ctx.open({ wait: '2' });
    assert.ok(featuresOf(res));
    assert.equal(res.parsed.attrs['xmlns:stream'], NS.ST, res.describe());
    const { features } = await login(s);
    assert.ok(features.some((c) => c.local === 'features'));
    const fr = ctx.bosh.responses.find((r) => r.meta.session === s && !r.meta.creation && featuresOf(r));
    assert.equal(fr.parsed.attrs['xmlns:stream'], NS.ST, `restart response: ${fr.describe()}`);
  }));

  bt('XEP206-07/TD-3/E-34 stanzas from S get xmlns=jabber:client; prefixes declared on S\'s header are redeclared', () => run({
    fake: { onHeader: (conn) => { conn.sendHeader({}, { nsDecls: ` xmlns='jabber:client' xmlns:stream='${NS.ST}' xmlns:foo='urn:foo'` }); conn.sendFeatures(); return true; } },
  }, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    conn.send("<message to='user@example.com/bosh' id='x7'><body>x</body><foo:x a='1'/></message>");
    conn.send("<presence from='a@example.com/r' id='x7p'/>");
    conn.send("<iq type='get' id='x7i' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>");
    await sleep(300);
    const r = await s.req();
    assert.deepEqual(r.children.map((c) => `${c.ns}|${c.local}`), ['jabber:client|message', 'jabber:client|presence', 'jabber:client|iq'], r.describe());
    const fx = kids(r.children[0], 'x')[0];
    assert.ok(fx && fx.ns === 'urn:foo', `TD-3: foo:x lost its namespace: ${r.body}`);
  }));

  bt('XEP206-09/TD-12/BOSH-82/XMPP-05 STARTTLS is done by the gateway: C never sees <starttls/>/<proceed/>; C\'s <starttls/> never reaches S', () => {
    const p = getPki();
    return run({
      fake: { starttls: { required: false, key: p.certs['example.com'].key, cert: p.certs['example.com'].cert } },
      config: { upstream: { ca_file: p.caFile } },
    }, async (ctx) => {
      const { s, res, conn } = await ctx.open({ wait: '2' });
      assert.ok(conn.tls, 'BOSH-82: upstream not encrypted although S offers STARTTLS');
      assert.ok(!/starttls|proceed/.test(res.body), `XEP206-09: ${res.body}`);
      const before = conn.postTlsLog.length;
      s.req(`<starttls xmlns='${NS.TLS}'/>`).catch(() => {});
      await assertNotForwarded(s, conn, /<starttls/, 'XEP206-09 client starttls');
      assert.ok(!/starttls/.test(conn.postTlsLog.slice(before)));
      for (const r of ctx.bosh.responses) assert.ok(!/<proceed/.test(r.body), r.describe());
    });
  });

  bt('XEP206-10/TD-12 compression is never offered to C and C\'s <compress/> never reaches S', () => run({}, async (ctx) => {
    const { s, res, conn } = await ctx.open({ wait: '2' });
    assert.ok(!/compression/.test(res.body), `XEP206-10: ${res.body}`);
    s.req("<compress xmlns='http://jabber.org/protocol/compress'><method>zlib</method></compress>").catch(() => {});
    await assertNotForwarded(s, conn, /<compress/, 'XEP206-10');
  }));

  for (const val of ['true', '1']) {
    bt(`XEP206-11/TD-5/XMPP-09 restart with xmpp:restart='${val}': new header on the same TCP connection, new features to C`, () => run({}, async (ctx) => {
      const { s, conn } = await ctx.open({ wait: '2' });
      await s.exchange(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AHVzZXIAcGFzcw==</auth>`, {}, (ch) => ch.some((c) => c.local === 'success'));
      const r = await s.exchange('', { 'xmpp:restart': val, to: 'example.com', 'xml:lang': 'en' }, (ch) => ch.some((c) => c.local === 'features'));
      const h2 = await conn.waitForHeader(2, 1000);
      assert.equal(ctx.fake.connections.length, 1, 'XEP206-11: the gateway reconnected');
      assert.ok(!conn.log.slice(0, conn.log.indexOf(h2.raw)).includes('</stream:stream>'), 'XEP206-11: </stream:stream> before the restart header');
      assert.equal(h2.attrs.to, 'example.com');
      assert.equal(h2.attrs.id, undefined, 'no id on the initiating header');
      const fr = r.responses.find((x) => featuresOf(x));
      assert.equal(fr.parsed.attrs['xmlns:stream'], NS.ST);
      assert.ok(kids(featuresOf(fr), 'bind', NS.BIND).length, `bind feature: ${fr.describe()}`);
      assert.ok(!fr.body.includes(conn.sentIds[0]), 'the old stream id was resent');
    }));
  }

  bt('XEP206-12 payloads inside a restart request are not forwarded', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    await s.exchange(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AHVzZXIAcGFzcw==</auth>`, {}, (ch) => ch.some((c) => c.local === 'success'));
    const id = mark('x12');
    await s.exchange(cPres(id), { 'xmpp:restart': 'true', to: 'example.com', 'xml:lang': 'en' }, (ch) => ch.some((c) => c.local === 'features'));
    await assertNotForwarded(s, conn, id, 'XEP206-12');
    assert.equal(conn.headers.length, 2);
  }));

  bt('XEP206-13/E-14 restart without to/xml:lang -> the new header reuses the creation values', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2', 'xml:lang': 'de' });
    await s.exchange(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AHVzZXIAcGFzcw==</auth>`, {}, (ch) => ch.some((c) => c.local === 'success'));
    await s.exchange('', { 'xmpp:restart': 'true' }, (ch) => ch.some((c) => c.local === 'features'));
    const h2 = await conn.waitForHeader(2, 1000);
    assert.equal(h2.attrs.to, 'example.com', h2.raw);
    assert.equal(h2.attrs['xml:lang'], 'de', h2.raw);
    assert.equal(h2.attrs.version, '1.0', h2.raw);
  }));

  bt('XEP206-14/E-13 restart racing with a held long-poll: the poll is answered, the features are never lost', () => run({}, async (ctx) => {
    const { s } = await ctx.open({ wait: '2' });
    await s.exchange(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AHVzZXIAcGFzcw==</auth>`, {}, (ch) => ch.some((c) => c.local === 'success'));
    const r1 = s.req();
    await holdOne(r1, 'long-poll before the restart');
    const t0 = Date.now();
    const r2 = s.req('', { 'xmpp:restart': 'true', to: 'example.com', 'xml:lang': 'en' });
    const a1 = await r1;
    assertOk(a1, 'held poll');
    assert.ok(a1.at - t0 < 1000, `XEP206-14: the held poll was answered ${a1.at - t0} ms after the restart request`);
    const got = [a1, await r2];
    for (let i = 0; i < 3 && !got.some(featuresOf); i++) got.push(await s.req());
    assert.ok(got.some(featuresOf), `E-13: post-restart features lost: ${got.map((x) => x.body).join(' | ')}`);
    assert.equal(got.filter(featuresOf).length, 1, 'features delivered twice');
  }));

  bt('XEP206-15 restart when none is due: a new header upstream or T(bad-request), never a hang or crash', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const r = await s.req('', { 'xmpp:restart': 'true', to: 'example.com', 'xml:lang': 'en' });
    if (r.isTerminate()) {
      assertT(r, 'bad-request', 'early restart');
    } else {
      assertOk(r, 'early restart');
      await conn.waitForHeader(2, 2000);
      const got = [r];
      for (let i = 0; i < 2 && !got.some(featuresOf); i++) got.push(await s.req());
      assert.ok(got.some(featuresOf), 'no features after the early restart');
    }
  }));

  bt('XEP206-17 the xbosh namespace under any prefix (x:version on creation, x:restart on restart)', () => run({}, async (ctx) => {
    const s = ctx.session();
    const res = await s.create({ wait: '2', 'xmpp:version': null, 'xmlns:x': NS.XB, 'x:version': '1.0' });
    assert.ok(s.sid && featuresOf(res), res.describe());
    const conn = await ctx.fake.waitForConnection(3000);
    await s.exchange(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>AHVzZXIAcGFzcw==</auth>`, {}, (ch) => ch.some((c) => c.local === 'success'));
    await s.exchange('', { 'xmlns:x': NS.XB, 'x:restart': 'true', to: 'example.com' }, (ch) => ch.some((c) => c.local === 'features'));
    await conn.waitForHeader(2, 1000);
  }));

  // ------------------------------------------------------------------ translation duties

  bt('TD-1/XMPP-02 upstream stream header: declaration, to, version 1.0, xml:lang, jabber:client, stream prefix, no id, no from', () => run({}, async (ctx) => {
    const { conn } = await ctx.open({ wait: '2' });
    const h = await conn.waitForHeader(1);
    assert.match(conn.log, /^<\?xml version=['"]1\.0['"][^>]*\?><stream:stream[\s>]/, `TD-1: ${conn.log.slice(0, 200)}`);
    assert.ok(!/standalone/.test(conn.log.slice(0, 60)) && !conn.log.startsWith('\uFEFF'));
    assert.equal(h.attrs.to, 'example.com');
    assert.equal(h.attrs.version, '1.0');
    assert.equal(h.attrs['xml:lang'], 'en');
    assert.equal(h.attrs.xmlns, 'jabber:client');
    assert.equal(h.attrs['xmlns:stream'], NS.ST);
    assert.equal(h.attrs.id, undefined, 'TD-1: id on the initiating header');
    assert.equal(h.attrs.from, undefined, 'TD-1: from before TLS');
  }));

  bt('TD-4/XMPP-15 unqualified client stanzas reach S as jabber:client, <body/> prefixes redeclared, no prefixed jabber:client', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    const [i1, i2, i3] = [mark('td4'), mark('td4'), mark('td4')];
    const payload = `<message to='contact@example.com' id='${i1}'><body>Good morning!</body><ns:hint/></message>` +
      `<c:message xmlns:c='jabber:client' to='contact@example.com' id='${i2}'><c:body>hi</c:body></c:message>` +
      `<presence id='${i3}'><x xmlns='urn:other'><ns:y ns:a='1'/></x></presence>`;
    const p = s.post(s.xml(s.rid + 1, payload, { 'xmlns:ns': 'urn:example:x' }));
    s.rid += 1;
    await conn.waitFor(i3, 3000);
    const els = [i1, i2, i3].map((id) => conn.elements.find((e) => e.attrs.id === id));
    for (const e of els) {
      assert.ok(e, `missing at S: ${conn.log}`);
      assert.ok(!e.raw.includes(NS.HB), `TD-4: httpbind namespace leaked upstream: ${e.raw}`);
      assert.ok(!/^<[A-Za-z_][\w.-]*:/.test(e.raw), `XMPP-15: prefixed stanza upstream: ${e.raw}`);
      let el;
      try { el = parseUpstream(e.raw); } catch (err) { assert.fail(`TD-4: element not namespace-well-formed on its own at S (${err.message}): ${e.raw}`); }
      assert.equal(el.ns, NS.CLIENT, e.raw);
    }
    const m1 = parseUpstream(els[0].raw);
    assert.equal(kids(m1, 'hint')[0].ns, 'urn:example:x', els[0].raw);
    assert.equal(kids(m1, 'body')[0].ns, NS.CLIENT, els[0].raw);
    const m2 = parseUpstream(els[1].raw);
    assert.equal(kids(m2, 'body')[0].ns, NS.CLIENT, els[1].raw);
    const y = kids(kids(parseUpstream(els[2].raw), 'x')[0], 'y')[0];
    assert.equal(y.ns, 'urn:example:x');
    assert.equal(attrNs(y, 'urn:example:x', 'a'), '1');
    conn.send(sMsg('td4-rel'));
    await p;
  }));

  bt('TD-9 empty polls send nothing upstream; XEP-0199 ping and XEP-0198 <r/>/<a/> pass through both ways', () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    await sleep(100);
    const before = conn.log.length;
    const p1 = s.req();
    await holdOne(p1, 'poll 1');
    const p2 = s.req();
    assertEmpty(await p1, 'poll 1');
    await holdOne(p2, 'poll 2');
    const p3 = s.req();
    assertEmpty(await p2, 'poll 2');
    await holdOne(p3, 'poll 3');
    assert.equal(conn.log.length, before, `TD-9: empty polls sent bytes upstream: ${JSON.stringify(conn.log.slice(before))}`);
    conn.send("<iq type='get' id='ping1' from='example.com' to='user@example.com/bosh'><ping xmlns='urn:xmpp:ping'/></iq>");
    conn.send(`<r xmlns='${NS_SM}'/>`);
    const got = [await p3];
    while (got.flatMap((r) => r.children).length < 2 && got.length < 4) got.push(await s.req());
    const ch = got.flatMap((r) => r.children);
    assert.equal(ch[0].local, 'iq'); assert.equal(ch[0].ns, NS.CLIENT);
    assert.equal(kids(ch[0], 'ping', 'urn:xmpp:ping').length, 1);
    assert.equal(ch[1].local, 'r'); assert.equal(ch[1].ns, NS_SM);
    const p4 = s.req(`<iq xmlns='jabber:client' type='result' id='ping1' to='example.com'/><a xmlns='${NS_SM}' h='0'/>`);
    await conn.waitForElement((e) => e.local === 'a', 3000);
    assert.ok(conn.elements.some((e) => e.local === 'iq' && e.attrs.id === 'ping1'));
    conn.send(sMsg('td9-rel'));
    await p4;
  }));

  bt("TD-10 S's XML declarations (initial and after restart) never reach C; a client declaration is accepted and not forwarded", () => run({}, async (ctx) => {
    const { s, conn } = await ctx.open({ wait: '2' });
    await login(s);
    for (const r of ctx.bosh.responses) assert.ok(r.body.indexOf('<?xml', 1) < 0, `TD-10: ${r.describe()}`);
    const id = mark('td10');
    const p = s.post(`<?xml version='1.0' encoding='utf-8'?>${s.xml(s.rid + 1, cPres(id))}`);
    s.rid += 1;
    await conn.waitFor(id, 3000);
    const tail = conn.log.slice(conn.log.lastIndexOf('bind_1'));
    assert.ok(!tail.includes('<?xml'), `TD-10: client declaration forwarded: ${tail}`);
    conn.send(sMsg('td10-rel'));
    await p;
  }));

  bt('TD-11/XMPP-03 S omits the stream id -> the session works, no authid', () => run({
    fake: { onHeader: (conn) => { conn.sendHeader({ id: null }); conn.sendFeatures(); return true; } },
  }, async (ctx) => {
    const { s, res } = await ctx.open({ wait: '2' });
    assert.ok(featuresOf(res), res.describe());
    assert.equal(res.parsed.attrs.authid, undefined, res.describe());
    await login(s);
  }));
});
