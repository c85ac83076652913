'use strict';
// The gateway's own TLS listener (tls.listen): WebSocket over TLS (WS-09) and BOSH over HTTPS
// to a real Prosody, discovery over HTTPS (DISC-01/03 with wss/https links), BOSH-81 (a session
// created over HTTPS is never used over plain HTTP), and the start-up checks of the certificate
// and key (exit 2 with a one-line reason). The certificates come from a test CA made at test
// time; clients trust that CA explicitly.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');

const { startProsody } = require('../lib/prosody');
const { startGateway, assertCleanExit, gatewayAvailable } = require('../lib/gateway');
const { getFreePort, waitForPort } = require('../lib/ports');
const { createCA, issueCert } = require('../lib/pki');

const SKIP = gatewayAvailable() ? false : 'gateway binary build-asan/xmppgw not built';
const T = { timeout: 30000, skip: SKIP };
const DOMAIN = 'localhost';
const NS_HB = "xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'";

/** One HTTP(S) request; resolves { status, headers, body } or { closed: true } if the server
 *  closed the connection without an answer. */
function send(mod, port, reqPath, { method = 'GET', body = null, ca, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const hdrs = { ...headers };
    if (body !== null) { hdrs['Content-Type'] = 'text/xml; charset=utf-8'; hdrs['Content-Length'] = Buffer.byteLength(body); }
    const req = mod.request({ host: '127.0.0.1', servername: 'localhost', port, path: reqPath, method, headers: { Host: `localhost:${port}`, ...hdrs }, ca, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(15000, () => req.destroy(new Error(`no answer to ${method} ${reqPath} within 15 s`)));
    req.on('error', (e) => (e.code === 'ECONNRESET' || /socket hang up/.test(e.message) ? resolve({ closed: true, error: e.message }) : reject(e)));
    if (body !== null) req.write(body);
    req.end();
  });
}

/** Reads WebSocket text messages one at a time. */
function messageQueue(ws) {
  const queue = [];
  const waiters = [];
  ws.on('message', (data, binary) => {
    const text = binary ? `<binary ${data.length}>` : data.toString('utf8');
    const w = waiters.shift();
    if (w) w.resolve(text); else queue.push(text);
  });
  return (ms = 10000) => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve, reject) => {
    const w = { resolve: (t) => { clearTimeout(w.timer); resolve(t); } };
    w.timer = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`no WebSocket message within ${ms} ms`)); }, ms);
    waiters.push(w);
  }));
}

describe('TLS listener: wss:// and https:// on the gateway itself', () => {
  let dir;
  let ca;
  let leaf;
  let prosody;
  let gw;
  let tlsPort;

  before(async () => {
    if (SKIP) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-tlsl-'));
    ca = createCA(dir, 'xmppgw listener test CA');
    leaf = issueCert(ca, ['localhost']);
    prosody = await startProsody({ hosts: [{ domain: DOMAIN, users: { alice: 'alice-pw', bob: 'bob-pw' } }], websocket: false });
    tlsPort = await getFreePort();
    gw = await startGateway({
      routes: [{ domain: DOMAIN, host: '127.0.0.1', port: prosody.c2sPort }],
      config: {
        www_root: path.join(__dirname, '..', '..', 'www'),
        tls: { listen: [`127.0.0.1:${tlsPort}`], cert_file: leaf.cert, key_file: leaf.key },
      },
    });
    await waitForPort(tlsPort, { timeoutMs: 10000 }); // the harness waited for the plain port only
  });

  after(async () => {
    if (gw) assertCleanExit(await gw.stop());
    if (prosody) await prosody.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('WS-09 WebSocket over TLS: handshake with sub-protocol xmpp, SASL PLAIN, restart and bind against Prosody', T, async () => {
    const ws = new WebSocket(`wss://localhost:${tlsPort}/xmpp-websocket`, 'xmpp', { ca: ca.pem });
    const next = messageQueue(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    assert.equal(ws.protocol, 'xmpp');
    const open = `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='${DOMAIN}' version='1.0'/>`;
    ws.send(open);
    assert.match(await next(), /^<open /);
    const features = await next();
    assert.match(features, /<mechanism>PLAIN<\/mechanism>/);
    assert.doesNotMatch(features, /starttls/);
    ws.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\0alice\0alice-pw').toString('base64')}</auth>`);
    assert.match(await next(), /^<success /);
    ws.send(open);
    assert.match(await next(), /^<open /);
    assert.match(await next(), /urn:ietf:params:xml:ns:xmpp-bind/);
    ws.send("<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
    assert.match(await next(), /<jid>alice@localhost\/[^<]+<\/jid>/);
    ws.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    assert.match(await next(), /^<close /);
    await new Promise((resolve) => { if (ws.readyState === WebSocket.CLOSED) resolve(); else ws.once('close', resolve); });
  });

  test('BOSH over HTTPS logs in; BOSH-81: the same session over plain HTTP gets a closed connection and lives on', T, async () => {
    const post = (body) => send(https, tlsPort, '/http-bind', { method: 'POST', body, ca: ca.pem });
    let rid = 7100;
    const created = await post(`<body ${NS_HB} rid='${rid}' to='${DOMAIN}' wait='5' hold='1' ver='1.11' xmpp:version='1.0'/>`);
    assert.equal(created.status, 200, created.body);
    const sid = /sid='([0-9a-f]+)'/.exec(created.body)[1];
    const auth = Buffer.from('\0bob\0bob-pw').toString('base64');
    const sasl = await post(`<body ${NS_HB} rid='${++rid}' sid='${sid}'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${auth}</auth></body>`);
    assert.match(sasl.body, /<success /);
    // The next rid over plain HTTP: no answer, the connection is just closed.
    const plain = await send(http, gw.port, '/http-bind', { method: 'POST', body: `<body ${NS_HB} rid='${rid + 1}' sid='${sid}' xmpp:restart='true'/>` });
    assert.ok(plain.closed, `BOSH-81: expected a closed connection, got ${JSON.stringify(plain)}`);
    const garbage = await send(http, gw.port, '/http-bind', { method: 'POST', body: `<body ${NS_HB} rid='x' sid='${sid}'/>` });
    assert.ok(garbage.closed, `BOSH-81: an unparsable plain request must not end the session: ${JSON.stringify(garbage)}`);
    // The same rid over HTTPS still works: restart, bind, terminate.
    const restart = await post(`<body ${NS_HB} rid='${++rid}' sid='${sid}' xmpp:restart='true'/>`);
    assert.match(restart.body, /urn:ietf:params:xml:ns:xmpp-bind/);
    const bind = await post(`<body ${NS_HB} rid='${++rid}' sid='${sid}'><iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq></body>`);
    assert.match(bind.body, /<jid>bob@localhost\/[^<]+<\/jid>/);
    const term = await post(`<body ${NS_HB} rid='${++rid}' sid='${sid}' type='terminate'/>`);
    assert.match(term.body, /type='terminate'/);
  });

  test('DISC-01/03 host-meta over HTTPS lists wss:// and https:// links; the page\'s CSP allows them', T, async () => {
    const res = await send(https, tlsPort, '/.well-known/host-meta.json', { ca: ca.pem });
    assert.equal(res.status, 200, res.body);
    const links = Object.fromEntries(JSON.parse(res.body).links.map((l) => [l.rel, l.href]));
    assert.deepEqual(links, {
      'urn:xmpp:alt-connections:websocket': `wss://localhost:${tlsPort}/xmpp-websocket`,
      'urn:xmpp:alt-connections:xbosh': `https://localhost:${tlsPort}/http-bind`,
    });
    const page = await send(https, tlsPort, '/', { ca: ca.pem });
    assert.equal(page.status, 200);
    assert.match(page.headers['content-security-policy'], new RegExp(`connect-src 'self' wss://localhost:${tlsPort} https://localhost:${tlsPort};`));
  });

  test('the TLS port speaks only TLS and HTTP/1.1 (ALPN)', T, async () => {
    const plain = await send(http, tlsPort, '/').catch((e) => ({ error: e.message }));
    assert.ok(plain.closed || plain.error || plain.status >= 400, `plain HTTP on the TLS port: ${JSON.stringify(plain).slice(0, 200)}`);
    const tls = require('node:tls');
    const proto = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'localhost', ca: ca.pem, ALPNProtocols: ['h2', 'http/1.1'] }, () => { resolve(s.alpnProtocol); s.end(); });
      s.on('error', reject);
    });
    assert.equal(proto, 'http/1.1');
  });
});

describe('TLS listener start-up checks', () => {
  let dir;
  let ca;
  let leaf;
  let other;
  before(() => {
    if (SKIP) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-tlsl-'));
    ca = createCA(dir, 'xmppgw listener test CA');
    leaf = issueCert(ca, ['localhost']);
    other = issueCert(ca, ['other.example']);
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  const cases = () => [
    ['a missing certificate', { cert_file: path.join(dir, 'nope.crt'), key_file: leaf.key }, /tls\.cert_file ".*nope\.crt": cannot load a PEM certificate chain/],
    ['a key that is not a key', { cert_file: leaf.cert, key_file: leaf.cert }, /tls\.key_file ".*": cannot load a PEM private key/],
    ['a key for another certificate', { cert_file: leaf.cert, key_file: other.key }, /tls\.key_file ".*" does not match the certificate/],
  ];

  test('bad certificate files: --check-config and start-up exit 2 with the reason', T, async () => {
    const port = await getFreePort();
    for (const [what, files, re] of cases()) {
      for (const args of [['--check-config'], []]) {
        const gw = await startGateway({ waitForReady: false, args, config: { tls: { listen: [`127.0.0.1:${port}`], ...files } } });
        const res = await gw.exited;
        assert.equal(res.code, 2, `${what} ${args}: exit ${res.code}\n${gw.stderr()}`);
        assert.match(gw.stderr(), re, what);
      }
    }
  });
});

describe('TLS listener: SIGHUP reloads the certificate without dropping sessions', () => {
  let dir;
  let ca;
  let first;
  let second;
  let prosody;
  let gw;
  let tlsPort;
  const live = {};

  before(async () => {
    if (SKIP) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-tlsr-'));
    ca = createCA(dir, 'xmppgw reload test CA');
    first = issueCert(ca, ['localhost'], { fileBase: 'first' });
    second = issueCert(ca, ['localhost'], { fileBase: 'second' });
    live.cert = path.join(dir, 'live.crt');
    live.key = path.join(dir, 'live.key');
    fs.copyFileSync(first.cert, live.cert);
    fs.copyFileSync(first.key, live.key);
    prosody = await startProsody({ hosts: [{ domain: DOMAIN, users: { carol: 'carol-pw' } }], websocket: false });
    tlsPort = await getFreePort();
    gw = await startGateway({
      routes: [{ domain: DOMAIN, host: '127.0.0.1', port: prosody.c2sPort }],
      config: { tls: { listen: [`127.0.0.1:${tlsPort}`], cert_file: live.cert, key_file: live.key } },
    });
    await waitForPort(tlsPort, { timeoutMs: 10000 });
  });

  after(async () => {
    if (gw) assertCleanExit(await gw.stop());
    if (prosody) await prosody.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The PEM of the certificate the TLS listener serves to a new connection. */
  const served = () => new Promise((resolve, reject) => {
    const tls = require('node:tls');
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'localhost', ca: ca.pem }, () => {
      const der = s.getPeerCertificate().raw;
      s.end();
      resolve(`-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`);
    });
    s.on('error', reject);
  });
  const same = (a, b) => a.replace(/\s+/g, '') === b.replace(/\s+/g, '');
  const until = async (pred, ms, what) => {
    const end = Date.now() + ms;
    for (;;) {
      if (await pred()) return;
      if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('a bad pair is refused (the old certificate stays); a good pair is served to new connections; an open WSS session goes on', T, async () => {
    assert.ok(same(await served(), first.pem), 'the first certificate at start');
    // An established session across the reload.
    const ws = new WebSocket(`wss://localhost:${tlsPort}/xmpp-websocket`, 'xmpp', { ca: ca.pem });
    const next = messageQueue(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='${DOMAIN}' version='1.0'/>`);
    assert.match(await next(), /^<open /);
    assert.match(await next(), /<mechanism>PLAIN<\/mechanism>/);
    // The new certificate with the old key: refused.
    fs.copyFileSync(second.cert, live.cert);
    process.kill(gw.pid, 'SIGHUP');
    await until(() => /SIGHUP: keeping the current TLS certificate: tls\.key_file ".*" does not match the certificate/.test(gw.stderr()), 5000, 'the refusal in the log');
    assert.ok(same(await served(), first.pem), 'still the first certificate after a bad pair');
    // Now the matching key: served to new connections.
    fs.copyFileSync(second.key, live.key);
    process.kill(gw.pid, 'SIGHUP');
    await until(async () => same(await served(), second.pem), 5000, 'the second certificate served');
    assert.match(gw.stderr(), /SIGHUP: TLS certificate reloaded from /);
    // The session opened before the reload still works: SASL PLAIN through it.
    ws.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\0carol\0carol-pw').toString('base64')}</auth>`);
    assert.match(await next(), /^<success /);
    ws.close();
  });
});
