'use strict';
// contrib/ files are tested, not just written: the nginx snippet proxies a real XMPP login and
// the static page, and the systemd unit passes `systemd-analyze verify` with its commands run.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');

const { startProsody } = require('../lib/prosody');
const { startGateway, assertCleanExit } = require('../lib/gateway');
const { getFreePort, waitForPort, trackChild } = require('../lib/ports');
const { stanzaLogin, rawConnect, openFrame, withTimeout } = require('../lib/xmpp-ws');

const REPO = path.resolve(__dirname, '..', '..');
const NGINX = '/usr/sbin/nginx';

function execP(file, args, opts = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 20000, ...opts }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

function httpGet(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('HTTP GET timed out')));
  });
}

function boshPost(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('BOSH request timed out')));
    req.end(body);
  });
}

async function startNginx(gatewayPort) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-nginx-'));
  const port = await getFreePort();
  const conf = `
daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log info;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    upstream xmppgw { server 127.0.0.1:${gatewayPort}; keepalive 4; }
    server {
        listen 127.0.0.1:${port};
        include ${path.join(REPO, 'contrib', 'nginx', 'xmppgw-locations.conf')};
    }
}
`;
  const confPath = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confPath, conf);
  const check = await execP(NGINX, ['-t', '-c', confPath, '-p', dir]);
  assert.equal(check.code, 0, `nginx -t rejected the contrib snippet:\n${check.stderr}`);
  const proc = trackChild(spawn(NGINX, ['-c', confPath, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  await waitForPort(port, '127.0.0.1', 10000);
  return {
    port,
    dir,
    stderr: () => stderr,
    stop: async () => {
      proc.kill('SIGTERM');
      await withTimeout(new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r))), 5000, 'nginx exit');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('contrib/nginx/xmppgw-locations.conf (WebSocket, BOSH, static files)', { skip: !fs.existsSync(NGINX) && !process.env.CI && 'nginx is not installed (scripts/install-deps.sh installs it)' }, () => {
  let prosody;
  let gw;
  let nginx;
  const domain = 'localhost';

  before(async () => {
    prosody = await startProsody({ hosts: [{ domain, users: { alice: 'alice-pw' } }] });
    gw = await startGateway({
      routes: [{ domain, host: '127.0.0.1', port: prosody.c2sPort }],
      config: { www_root: path.join(REPO, 'www') },
    });
    nginx = await startNginx(gw.port);
  });

  after(async () => {
    if (nginx) await nginx.stop();
    if (gw) assertCleanExit(await gw.stop());
    if (prosody) await prosody.stop();
  });

  test('a real client (StanzaJS) logs in through nginx over WebSocket', async () => {
    const url = `ws://127.0.0.1:${nginx.port}/xmpp-websocket`;
    const session = await stanzaLogin({ url, domain, username: 'alice', password: 'alice-pw', mechanism: 'PLAIN' });
    assert.match(String(session.jid), /^alice@localhost\//);
    await session.stop();
  });

  test('the xmpp sub-protocol survives the proxy (RFC 7395 §3.1)', async () => {
    const conn = await rawConnect(`ws://127.0.0.1:${nginx.port}/xmpp-websocket`);
    assert.equal(conn.ws.protocol, 'xmpp');
    conn.send(openFrame(domain));
    const first = await conn.frames.take((f) => typeof f === 'string', 5000, 'the <open/> answer');
    assert.match(first, /^<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='localhost'/);
    conn.close();
    await withTimeout(conn.closed, 5000, 'close through nginx');
  });

  test('a BOSH session (creation, SASL PLAIN, restart, bind) works through nginx', async () => {
    const url = `http://127.0.0.1:${nginx.port}/http-bind`;
    const NS = "xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'";
    const post = (body) => boshPost(url, body);
    let rid = 4000;
    const created = await post(`<body ${NS} rid='${rid}' to='${domain}' wait='5' hold='1' ver='1.11' xmpp:version='1.0'/>`);
    assert.equal(created.status, 200);
    assert.equal(created.headers['access-control-allow-origin'], '*');
    const sid = /sid='([0-9a-f]+)'/.exec(created.body)[1];
    assert.match(created.body, /<mechanism>PLAIN<\/mechanism>/);
    const auth = Buffer.from('\0alice\0alice-pw').toString('base64');
    const sasl = await post(`<body ${NS} rid='${++rid}' sid='${sid}'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${auth}</auth></body>`);
    assert.match(sasl.body, /<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/);
    const restart = await post(`<body ${NS} rid='${++rid}' sid='${sid}' xmpp:restart='true'/>`);
    assert.match(restart.body, /<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/);
    const bind = await post(`<body ${NS} rid='${++rid}' sid='${sid}'><iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq></body>`);
    assert.match(bind.body, /<jid>alice@localhost\/[^<]+<\/jid>/);
    const term = await post(`<body ${NS} rid='${++rid}' sid='${sid}' type='terminate'/>`);
    assert.match(term.body, /type='terminate'/);
  });

  test('static files are served through the proxy, with the CSP naming the proxy\'s origin', async () => {
    const res = await httpGet(`http://127.0.0.1:${nginx.port}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.match(res.body, /xmppgw/);
    const csp = res.headers['content-security-policy'] || '';
    assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${nginx.port} http://127\\.0\\.0\\.1:${nginx.port};`), csp);
  });

  test('XEP-0156 host-meta through the proxy lists the proxy\'s URLs (Host and X-Forwarded-Proto passed on)', async () => {
    const res = await httpGet(`http://127.0.0.1:${nginx.port}/.well-known/host-meta.json`);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    const links = Object.fromEntries(JSON.parse(res.body).links.map((l) => [l.rel, l.href]));
    assert.deepEqual(links, {
      'urn:xmpp:alt-connections:websocket': `ws://127.0.0.1:${nginx.port}/xmpp-websocket`,
      'urn:xmpp:alt-connections:xbosh': `http://127.0.0.1:${nginx.port}/http-bind`,
    });
    const xrd = await httpGet(`http://127.0.0.1:${nginx.port}/.well-known/host-meta`);
    assert.equal(xrd.status, 200);
    assert.match(xrd.headers['content-type'], /^application\/xrd\+xml/);
  });
});

describe('contrib/systemd/xmppgw.service', { skip: !fs.existsSync('/usr/bin/systemd-analyze') && !process.env.CI && 'systemd-analyze not available' }, () => {
  test('the unit verifies and its commands work with the example configuration', async () => {
    const bin = process.env.XMPPGW_BIN || path.join(REPO, 'build-asan', 'xmppgw');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-unit-'));
    try {
      const conf = path.join(REPO, 'conf', 'xmppgw.example.json');
      const unit = fs.readFileSync(path.join(REPO, 'contrib', 'systemd', 'xmppgw.service'), 'utf8')
        .replaceAll('/usr/local/bin/xmppgw', bin)
        .replaceAll('/etc/xmppgw/xmppgw.json', conf);
      const unitPath = path.join(dir, 'xmppgw.service');
      fs.writeFileSync(unitPath, unit);
      const verify = await execP('/usr/bin/systemd-analyze', ['verify', unitPath]);
      assert.equal(verify.code, 0, `systemd-analyze verify failed:\n${verify.stderr}`);
      assert.equal(verify.stderr.trim(), '', `systemd-analyze printed warnings:\n${verify.stderr}`);
      // ExecStartPre: the configuration check the unit runs before every start.
      const pre = /^ExecStartPre=(.*)$/m.exec(unit)[1].split(' ');
      const res = await execP(pre[0], pre.slice(1));
      assert.equal(res.code, 0, `ExecStartPre failed: ${res.stderr}`);
      assert.match(res.stdout, /configuration OK/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
