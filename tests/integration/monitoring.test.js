'use strict';
// Monitoring: /healthz on every listener, /metrics (Prometheus text) and /status (JSON) on the
// status listener only (status.listen). The counters are checked against what a real client
// session through the gateway to Prosody does, and against a refused and a failed session.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');

const { startProsody } = require('../lib/prosody');
const { startGateway, assertCleanExit, gatewayAvailable } = require('../lib/gateway');
const { getFreePort, waitForPort } = require('../lib/ports');
const { stanzaLogin } = require('../lib/xmpp-ws');
const { connectRaw, openXml } = require('../lib/ws-raw');

const SKIP = gatewayAvailable() ? false : 'gateway binary build-asan/xmppgw not built';
const T = { timeout: 30000, skip: SKIP };
const DOMAIN = 'localhost';

function get(port, path, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to ${path}`)));
    req.end();
  });
}

/** Prometheus text -> Map of "name{labels}" -> number; checks the format of every line. */
function parseMetrics(text) {
  const samples = new Map();
  const types = new Set();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (type) { types.add(type[1]); continue; }
    if (/^# HELP \S+ .+$/.test(line)) continue;
    const m = /^([a-z_]+)(\{[a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*\})? (\d+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    assert.ok(types.has(m[1]), `sample before its # TYPE: ${line}`);
    samples.set(`${m[1]}${m[2] || ''}`, Number(m[3]));
  }
  return samples;
}

describe('monitoring endpoints', () => {
  let prosody;
  let gw;
  let statusPort;
  const metrics = async () => {
    const r = await get(statusPort, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    return parseMetrics(r.body);
  };

  before(async () => {
    if (SKIP) return;
    prosody = await startProsody({ hosts: [{ domain: DOMAIN, users: { alice: 'alice-pw' } }], websocket: false });
    statusPort = await getFreePort();
    gw = await startGateway({
      routes: [{ domain: DOMAIN, host: '127.0.0.1', port: prosody.c2sPort }],
      config: { status: { listen: [`127.0.0.1:${statusPort}`] }, limits: { max_sessions_per_ip: 1 } },
    });
    await waitForPort(statusPort, { timeoutMs: 10000 });
  });

  after(async () => {
    if (gw) assertCleanExit(await gw.stop());
    if (prosody) await prosody.stop();
  });

  test('/healthz answers on both listeners; /metrics and /status only on the status listener, which has no WebSocket', T, async () => {
    for (const port of [gw.port, statusPort]) {
      const h = await get(port, '/healthz');
      assert.equal(h.status, 200);
      assert.equal(h.body, 'ok\n');
    }
    assert.equal((await get(gw.port, '/metrics')).status, 404);
    assert.equal((await get(gw.port, '/status')).status, 404);
    assert.equal((await get(statusPort, '/elsewhere')).status, 404);
    assert.equal((await get(statusPort, '/metrics', 'DELETE')).status, 405);
    const ws = await connectRaw({ port: statusPort });
    assert.ok(!ws.upgraded, `no WebSocket on the status listener: ${ws.handshakeResponse.statusLine}`);
    ws.destroy();
  });

  test('counters follow a real session, a refused one and a failed one', T, async () => {
    const m0 = await metrics();
    assert.equal(m0.get('xmppgw_sessions{transport="websocket"}'), 0);
    const s = await stanzaLogin({ url: gw.wsUrl, domain: DOMAIN, username: 'alice', password: 'alice-pw', mechanism: 'PLAIN' });
    const m1 = await metrics();
    assert.equal(m1.get('xmppgw_sessions{transport="websocket"}'), 1);
    assert.equal(m1.get('xmppgw_sessions_created_total{transport="websocket"}'), m0.get('xmppgw_sessions_created_total{transport="websocket"}') + 1);
    assert.ok(m1.get('xmppgw_bytes_total{transport="websocket",direction="to_server"}') > 100);
    assert.ok(m1.get('xmppgw_bytes_total{transport="websocket",direction="to_client"}') > 100);
    assert.equal(m1.get('xmppgw_upstream_connections_total'), m0.get('xmppgw_upstream_connections_total') + 1);
    const st = JSON.parse((await get(statusPort, '/status')).body);
    assert.equal(st.service, 'xmppgw');
    assert.equal(st.sessions.websocket.live, 1);
    assert.equal(st.limits.max_sessions_per_ip, 1);
    assert.ok(st.uptime_s >= 0 && st.rss_bytes > 0);
    await s.stop();
    const deadline = Date.now() + 5000;
    let m2;
    do { m2 = await metrics(); } while (m2.get('xmppgw_sessions{transport="websocket"}') !== 0 && Date.now() < deadline && await new Promise((r) => setTimeout(r, 50)) === undefined);
    assert.equal(m2.get('xmppgw_sessions{transport="websocket"}'), 0, 'the session is gone after logout');
    assert.equal(m2.get('xmppgw_sessions_ended_total{transport="websocket",condition="none"}'),
      (m0.get('xmppgw_sessions_ended_total{transport="websocket",condition="none"}') || 0) + 1);
    // An unrouted domain ends with host-unknown.
    const bad = await connectRaw({ port: gw.port });
    bad.sendText(openXml('nowhere.example'));
    await bad.nextText(5000);
    await bad.nextText(5000);
    bad.destroy();
    // A second concurrent session from one forwarded address is refused (limit 1).
    const a = await connectRaw({ port: gw.port, headers: { 'X-Forwarded-For': '192.0.2.77' } });
    assert.ok(a.upgraded);
    a.sendText(openXml(DOMAIN));
    await a.nextText(5000);
    const b = await connectRaw({ port: gw.port, headers: { 'X-Forwarded-For': '192.0.2.77' } });
    assert.equal(b.handshakeResponse.status, 429);
    a.destroy();
    b.destroy();
    const m3 = await metrics();
    assert.equal(m3.get('xmppgw_sessions_ended_total{transport="websocket",condition="host-unknown"}'), 1);
    assert.equal(m3.get('xmppgw_sessions_refused_total{reason="max_sessions_per_ip"}'), 1, 'the 429 counts as a refusal');
    assert.match(gw.stderr(), /peer=192\.0\.2\.77 WebSocket refused: limits\.max_sessions_per_ip \(1\) reached/);
  });
});
