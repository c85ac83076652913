'use strict';
// The gateway's plain-HTTP side: static files from www_root (content types, ETag/304, no
// traversal, security headers and the Content-Security-Policy of the web client) and XEP-0156
// discovery (DISC-01..06 of the conformance checklist: /.well-known/host-meta and
// host-meta.json, their links, media types, CORS and the HTTPS-only rule).
//
// Each describe() starts one gateway (no XMPP server needed except where a test opens the
// discovered endpoints, which only need the gateway) and requires a clean exit at the end.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');

const { startGateway, assertCleanExit, gatewayAvailable } = require('../lib/gateway');
const { connectRaw, parseXml, kids, openXml } = require('../lib/ws-raw');

const SKIP = gatewayAvailable() ? false : 'gateway binary build-asan/xmppgw not built';
const T = { timeout: 30000, skip: SKIP };
const NS_XRD = 'http://docs.oasis-open.org/ns/xri/xrd-1.0';
const REL_WS = 'urn:xmpp:alt-connections:websocket';
const REL_BOSH = 'urn:xmpp:alt-connections:xbosh';

/** GET (or another method) with full control of the headers, Host included. */
function request(port, reqPath, { method = 'GET', headers = {}, body = null } = {}) {
  return new Promise((resolve, reject) => {
    const hdrs = { ...headers };
    if (body !== null && !('Transfer-Encoding' in hdrs)) hdrs['Content-Length'] = Buffer.byteLength(body);
    const req = http.request({ host: '127.0.0.1', port, path: reqPath, method, headers: hdrs, setHost: !('Host' in headers) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(10000, () => req.destroy(new Error(`no answer to ${method} ${reqPath} within 10 s`)));
    req.on('error', reject);
    if (body !== null) req.write(body);
    req.end();
  });
}

/** Sends bytes as they are (for paths that HTTP clients would normalise) and reads the status. */
function rawStatus(port, raw) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer to ${JSON.stringify(raw)}`)); }, 10000);
    sock.on('connect', () => sock.write(raw));
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) { clearTimeout(timer); sock.destroy(); resolve({ status: Number(got.split(' ')[1]), head: got }); }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => { clearTimeout(timer); if (!got.includes('\r\n\r\n')) reject(new Error(`closed without an answer to ${JSON.stringify(raw)}: ${JSON.stringify(got)}`)); });
  });
}

/** The links of an XRD document: [{rel, href}], with its namespace checked. */
function xrdLinks(body) {
  const doc = parseXml(body.replace(/^<\?xml[^>]*\?>\s*/, ''));
  assert.equal(doc.local, 'XRD', body);
  assert.equal(doc.ns, NS_XRD, `DISC-01: XRD namespace: ${body}`);
  return kids(doc, 'Link', NS_XRD).map((l) => ({ rel: l.attrs.rel, href: l.attrs.href }));
}

const sortLinks = (links) => [...links].sort((a, b) => a.rel.localeCompare(b.rel));

/** Both documents, checked against each other and against the expected links. */
async function assertDiscovery(port, headers, want, label) {
  const xrd = await request(port, '/.well-known/host-meta', { headers });
  assert.equal(xrd.status, 200, `${label}: host-meta ${xrd.status} ${xrd.body}`);
  assert.match(xrd.headers['content-type'], /^application\/xrd\+xml\b/, `DISC-06 ${label}`);
  assert.equal(xrd.headers['access-control-allow-origin'], '*', `DISC-04 ${label}`);
  const jrd = await request(port, '/.well-known/host-meta.json', { headers });
  assert.equal(jrd.status, 200, `${label}: host-meta.json ${jrd.status} ${jrd.body}`);
  assert.match(jrd.headers['content-type'], /^application\/json\b/, `DISC-06 ${label}`);
  assert.equal(jrd.headers['access-control-allow-origin'], '*', `DISC-04 ${label}`);
  const fromXrd = sortLinks(xrdLinks(xrd.body));
  const fromJrd = sortLinks(JSON.parse(jrd.body).links.map((l) => ({ rel: l.rel, href: l.href })));
  assert.deepEqual(fromXrd, sortLinks(want), `DISC-01 ${label}`);
  assert.deepEqual(fromJrd, fromXrd, `DISC-02 ${label}: the JRD has the XRD's links`);
  // DISC-05: only the two web endpoints, no plain TCP links.
  assert.ok(fromXrd.every((l) => l.rel === REL_WS || l.rel === REL_BOSH), `DISC-05 ${label}`);
  return fromXrd;
}

function checkConfig(configText) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-http-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, configText);
  const bin = process.env.XMPPGW_BIN || path.join(__dirname, '..', '..', 'build-asan', 'xmppgw');
  return new Promise((resolve) => {
    execFile(bin, ['--config', file, '--check-config'], (err, stdout, stderr) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code: err ? err.code : 0, stdout, stderr, file });
    });
  });
}

describe('static files from www_root', () => {
  let gw;
  let root;
  let outside;

  before(async () => {
    if (SKIP) return;
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-www-'));
    outside = `${root}-secret.txt`;
    fs.writeFileSync(outside, 'SECRET');
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>t</title><p>index</p>');
    fs.mkdirSync(path.join(root, 'js'));
    const files = {
      'js/app.js': 'export const x = 1;\n',
      'js/mod.mjs': 'export default 2;\n',
      'style.css': 'body { color: black; }\n',
      'icon.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
      'data.json': '{"a":1}',
      'app.webmanifest': '{"name":"x"}',
    };
    for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(root, f), c);
    gw = await startGateway({ config: { www_root: root } });
  });

  after(async () => {
    if (gw) assertCleanExit(await gw.stop());
    if (root) fs.rmSync(root, { recursive: true, force: true });
    if (outside) fs.rmSync(outside, { force: true });
  });

  test('GET / serves index.html with the security headers and the strict CSP', T, async () => {
    const res = await request(gw.port, '/');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.equal(res.body, '<!doctype html><title>t</title><p>index</p>');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    const csp = res.headers['content-security-policy'];
    assert.ok(csp, 'a Content-Security-Policy header');
    const dirs = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    assert.deepEqual(dirs['default-src'], ["'none'"]);
    assert.deepEqual(dirs['script-src'], ["'self'"], 'no inline or remote scripts');
    assert.deepEqual(dirs['style-src'], ["'self'"], 'no inline styles');
    assert.deepEqual(dirs['frame-ancestors'], ["'none'"]);
    assert.deepEqual(dirs['connect-src'].sort(), ["'self'", `http://127.0.0.1:${gw.port}`, `ws://127.0.0.1:${gw.port}`].sort(),
      'the page may connect to its own origin and the endpoints');
    assert.equal(res.headers['access-control-allow-origin'], undefined, 'DISC-04: static files do not inherit CORS *');
  });

  test('content types of the client\'s file kinds', T, async () => {
    const want = {
      '/js/app.js': /^(text|application)\/javascript/,
      '/js/mod.mjs': /^text\/javascript/,
      '/style.css': /^text\/css/,
      '/icon.svg': /^image\/svg\+xml/,
      '/data.json': /^application\/json/,
      '/app.webmanifest': /^application\/manifest\+json/,
    };
    for (const [p, re] of Object.entries(want)) {
      const res = await request(gw.port, p);
      assert.equal(res.status, 200, p);
      assert.match(res.headers['content-type'] || '', re, p);
      assert.ok(res.headers['content-security-policy'], `${p}: CSP on every static file`);
    }
  });

  test('ETag and If-None-Match: 304 while unchanged, 200 with a new ETag after a change', T, async () => {
    const first = await request(gw.port, '/style.css');
    const etag = first.headers.etag;
    assert.ok(etag, 'an ETag');
    assert.match(first.headers['cache-control'] || '', /must-revalidate/, 'browsers revalidate instead of keeping stale files');
    const again = await request(gw.port, '/style.css', { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    fs.writeFileSync(path.join(root, 'style.css'), 'body { color: red; } /* changed */\n');
    const fut = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(root, 'style.css'), fut, fut);
    const changed = await request(gw.port, '/style.css', { headers: { 'If-None-Match': etag } });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.etag, etag);
    assert.match(changed.body, /changed/);
  });

  test('no directory traversal, whatever the spelling', T, async () => {
    const name = path.basename(outside);
    const attempts = [`/../${name}`, `/js/../../${name}`, `/%2e%2e/${name}`, `/%2E%2E%2F${name}`, `/..%2f${name}`,
      `/js/%2e%2e/%2e%2e/${name}`, `/..\\${name}`, `//..//${name}`];
    for (const a of attempts) {
      const res = await rawStatus(gw.port, `GET ${a} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.ok(res.status >= 400 && res.status < 500, `${a}: expected a 4xx, got ${res.head.split('\r\n')[0]}`);
      assert.ok(!res.head.includes('SECRET'), a);
    }
    const etc = await rawStatus(gw.port, 'GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.ok(etc.status >= 400 && etc.status < 500, etc.head);
  });

  test('a chunked BOSH request is refused with 411 instead of hanging; the connection closes', T, async () => {
    const body = "<body xmlns='http://jabber.org/protocol/httpbind' rid='100' to='x.example' wait='5' hold='1' ver='1.11'/>";
    const chunk = `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const res = await rawStatus(gw.port, `POST /http-bind HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`);
    assert.equal(res.status, 411, res.head);
    assert.match(res.head, /connection: close/i);
  });

  test('an idle HTTP/1.1 keep-alive connection is kept well past 5 s (BOSH clients reuse it)', T, async () => {
    const sock = net.connect({ host: '127.0.0.1', port: gw.port });
    await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    let got = '';
    let closedAt = null;
    sock.on('data', (d) => { got += d.toString('latin1'); });
    sock.on('close', () => { closedAt = Date.now(); });
    const waitFor = async (pred, ms, what) => {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`${what} within ${ms} ms; got ${JSON.stringify(got.slice(0, 200))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    sock.write('GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const complete = () => {
      const end = got.indexOf('\r\n\r\n');
      const len = /content-length: *(\d+)/i.exec(got);
      return end > 0 && len && got.length >= end + 4 + Number(len[1]);
    };
    await waitFor(complete, 5000, 'the first answer');
    assert.match(got, /^HTTP\/1\.1 200/);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 6500)); // longer than libwebsockets' 5 s default
    assert.equal(closedAt, null, `the gateway closed the idle connection after ${closedAt - t0} ms`);
    got = '';
    sock.write('GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await waitFor(() => /^HTTP\/1\.1 200/.test(got), 5000, 'the second answer on the same connection');
    sock.destroy();
  });

  test('a missing file is 404; the endpoints keep their own answers', T, async () => {
    assert.equal((await request(gw.port, '/nope.js')).status, 404);
    assert.equal((await request(gw.port, '/js/nope/deeper.css')).status, 404);
    assert.equal((await request(gw.port, '/xmpp-websocket')).status, 400);
    assert.equal((await request(gw.port, '/http-bind')).status, 405);
  });
});

describe('www_csp configured', () => {
  let gw;
  let gwNone;
  const root = path.join(__dirname, '..', '..', 'www');

  before(async () => {
    if (SKIP) return;
    gw = await startGateway({ config: { www_root: root, www_csp: "default-src 'self' 'unsafe-inline'" } });
    gwNone = await startGateway({ config: { www_root: root, www_csp: '' } });
  });
  after(async () => {
    if (gw) assertCleanExit(await gw.stop());
    if (gwNone) assertCleanExit(await gwNone.stop());
  });

  test('a configured policy is sent verbatim; "" sends none (nosniff stays)', T, async () => {
    const a = await request(gw.port, '/');
    assert.equal(a.headers['content-security-policy'], "default-src 'self' 'unsafe-inline'");
    const b = await request(gwNone.port, '/');
    assert.equal(b.status, 200);
    assert.equal(b.headers['content-security-policy'], undefined);
    assert.equal(b.headers['x-content-type-options'], 'nosniff');
  });
});

describe('XEP-0156 discovery (DISC-01..06)', () => {
  let gw;

  before(async () => {
    if (SKIP) return;
    gw = await startGateway({ config: { websocket: { path: '/ws-x' }, bosh: { path: '/bosh-x' } } });
  });
  after(async () => { if (gw) assertCleanExit(await gw.stop()); });

  test('DISC-01/02/04/05/06 loopback host: both documents list the configured paths on the request\'s host', T, async () => {
    await assertDiscovery(gw.port, {}, [
      { rel: REL_WS, href: `ws://127.0.0.1:${gw.port}/ws-x` },
      { rel: REL_BOSH, href: `http://127.0.0.1:${gw.port}/bosh-x` },
    ], '127.0.0.1');
    await assertDiscovery(gw.port, { Host: `localhost:${gw.port}` }, [
      { rel: REL_WS, href: `ws://localhost:${gw.port}/ws-x` },
      { rel: REL_BOSH, href: `http://localhost:${gw.port}/bosh-x` },
    ], 'localhost');
  });

  test('DISC-03 a public name over plain HTTP gets no document; behind TLS (X-Forwarded-Proto) only wss/https links', T, async () => {
    const plain = await request(gw.port, '/.well-known/host-meta', { headers: { Host: 'chat.example.org' } });
    assert.equal(plain.status, 404);
    assert.match(plain.body, /HTTPS/);
    const plainJ = await request(gw.port, '/.well-known/host-meta.json', { headers: { Host: 'chat.example.org' } });
    assert.equal(plainJ.status, 404);
    const links = await assertDiscovery(gw.port, { Host: 'chat.example.org', 'X-Forwarded-Proto': 'https' }, [
      { rel: REL_WS, href: 'wss://chat.example.org/ws-x' },
      { rel: REL_BOSH, href: 'https://chat.example.org/bosh-x' },
    ], 'behind TLS');
    assert.ok(links.every((l) => /^(wss|https):\/\//.test(l.href)), 'DISC-03');
  });

  test('a Host that could inject markup is refused with 400, never echoed', T, async () => {
    for (const host of ["evil'/><Link rel='x", 'a"b', 'a b', '<x>']) {
      const res = await rawStatus(gw.port, `GET /.well-known/host-meta HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(res.status, 400, `${host}: ${res.head}`);
    }
  });

  test('DISC-04 preflight and methods: OPTIONS 204 with CORS; POST 405', T, async () => {
    const pre = await request(gw.port, '/.well-known/host-meta.json', { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.match(pre.headers['access-control-allow-methods'], /GET/);
    const post = await request(gw.port, '/.well-known/host-meta', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.match(post.headers.allow, /GET/);
  });

  test('the discovered URLs are the live endpoints (WebSocket <open/> and a BOSH creation answer)', T, async () => {
    const jrd = JSON.parse((await request(gw.port, '/.well-known/host-meta.json')).body);
    const ws = new URL(jrd.links.find((l) => l.rel === REL_WS).href);
    const conn = await connectRaw({ port: Number(ws.port), path: ws.pathname });
    assert.ok(conn.upgraded, `WebSocket upgrade at ${ws.href}: ${conn.handshakeResponse.statusLine}`);
    conn.sendText(openXml('unrouted.example'));
    const open = await conn.nextText(5000);
    assert.match(open, /^<open /, 'the gateway answers <open/> on the discovered WebSocket URL');
    const err = await conn.nextText(5000);
    assert.match(err, /host-unknown/);
    conn.destroy();
    const bosh = new URL(jrd.links.find((l) => l.rel === REL_BOSH).href);
    const res = await request(Number(bosh.port), bosh.pathname, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8' },
      body: "<body xmlns='http://jabber.org/protocol/httpbind' rid='100' to='unrouted.example' wait='5' hold='1' ver='1.11'/>",
    });
    assert.equal(res.status, 200);
    assert.match(res.body, /type='terminate'/);
    assert.match(res.body, /condition='host-unknown'/);
  });
});

describe('XEP-0156 discovery: configured public URLs and switched off', () => {
  let gw;
  let gwOff;
  before(async () => {
    if (SKIP) return;
    gw = await startGateway({
      config: {
        www_root: path.join(__dirname, '..', '..', 'www'),
        discovery: { websocket_url: 'wss://chat.example.org/xmpp-websocket', bosh_url: 'https://bosh.example.org:8443/http-bind' },
      },
    });
    gwOff = await startGateway({ config: { discovery: { enabled: false } } });
  });
  after(async () => {
    if (gw) assertCleanExit(await gw.stop());
    if (gwOff) assertCleanExit(await gwOff.stop());
  });

  test('configured URLs are published verbatim for any Host, and the CSP lets the client reach them', T, async () => {
    const want = [
      { rel: REL_WS, href: 'wss://chat.example.org/xmpp-websocket' },
      { rel: REL_BOSH, href: 'https://bosh.example.org:8443/http-bind' },
    ];
    await assertDiscovery(gw.port, {}, want, 'configured, loopback Host');
    await assertDiscovery(gw.port, { Host: 'gw.internal:5280' }, want, 'configured, internal Host');
    const page = await request(gw.port, '/');
    const connect = /connect-src ([^;]*)/.exec(page.headers['content-security-policy'])[1].split(/\s+/);
    for (const o of ['wss://chat.example.org', 'https://bosh.example.org:8443']) assert.ok(connect.includes(o), `CSP connect-src has ${o}: ${connect}`);
  });

  test('discovery.enabled false: both documents are 404', T, async () => {
    assert.equal((await request(gwOff.port, '/.well-known/host-meta')).status, 404);
    assert.equal((await request(gwOff.port, '/.well-known/host-meta.json')).status, 404);
  });

  test('DISC-03 a plain public URL in the configuration is refused with file:line:column', T, async () => {
    const r = await checkConfig('{\n  "discovery": {\n    "websocket_url": "ws://chat.example.org/xmpp-websocket"\n  }\n}\n');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /c\.json:3:22: discovery\.websocket_url: "ws:\/\/chat\.example\.org\/xmpp-websocket" is not https:\/\/ or wss:\/\//);
    const ok = await checkConfig('{"discovery": {"insecure_links": true, "websocket_url": "ws://lan.example:5280/xmpp-websocket"}}');
    assert.equal(ok.code, 0, ok.stderr);
  });
});
