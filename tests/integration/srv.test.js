'use strict';
// XMPP-01 (RFC 6120 §3.2.1): a route without "host" finds the server through DNS SRV
// (_xmpp-client._tcp, or _xmpps-client._tcp for direct TLS), tries the targets in RFC 2782
// order until one connects, treats a lone "." target as "no service", and falls back to the
// domain itself when there is no SRV record. DNS answers come from a fake server on loopback
// (upstream.dns_servers); the XMPP server is the scripted fake one.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { scenario, closedPort } = require('../lib/fake-server');
const { startFakeDns } = require('../lib/fake-dns');
const { gatewayAvailable } = require('../lib/gateway');
const { openXml, streamErrorInfo } = require('../lib/ws-raw');

const SKIP = gatewayAvailable() ? false : 'gateway binary build-asan/xmppgw not built';
const T = { timeout: 40000, skip: SKIP };

describe('XMPP-01 upstream discovery through DNS SRV', () => {
  let dns;
  before(async () => { if (!SKIP) dns = await startFakeDns(); });
  after(async () => { if (dns) await dns.stop(); });

  const srvScenario = (domain, fn) => scenario({
    fake: { domain },
    route: { host: undefined, port: 1 }, // no host: DNS decides (port 1 would only be the A/AAAA fallback)
    config: { upstream: { dns_servers: [`127.0.0.1:${dns.port}`], connect_timeout_s: 8 } },
  }, fn);

  test('XMPP-01 targets in priority order: the first refuses, the second serves the session', T, () => srvScenario('srv.example', async (ctx) => {
    const dead = await closedPort();
    dns.set('_xmpp-client._tcp.srv.example', [
      { priority: 20, weight: 0, port: ctx.fake.port, target: 'localhost' },
      { priority: 10, weight: 5, port: dead, target: 'localhost' },
    ]);
    const { featuresText } = await ctx.open({ to: 'srv.example' });
    assert.match(featuresText, /features/);
    assert.equal(ctx.fake.connections.length, 1);
    const log = ctx.gw.stderr();
    const first = log.indexOf(`trying SRV target localhost:${dead}`);
    const second = log.indexOf(`trying SRV target localhost:${ctx.fake.port}`);
    assert.ok(first >= 0 && second > first, `the priority-10 target first, then the priority-20 one:\n${log.split('\n').filter((l) => /SRV|upstream/.test(l)).join('\n')}`);
    assert.ok(dns.queries.includes('_xmpp-client._tcp.srv.example'));
  }));

  test('XMPP-01 a lone "." target means no service: remote-connection-failed, no connection', T, () => srvScenario('none.example', async (ctx) => {
    dns.set('_xmpp-client._tcp.none.example', [{ priority: 0, weight: 0, port: 0, target: '.' }]);
    const ws = await ctx.connect();
    ws.sendText(openXml('none.example'));
    const open = await ws.nextText(5000);
    assert.match(open, /^<open /);
    const err = streamErrorInfo(await ws.nextText(5000));
    assert.equal(err && err.condition, 'remote-connection-failed');
    assert.equal(ctx.fake.connections.length, 0);
    assert.match(ctx.gw.stderr(), /DNS SRV says there is no XMPP service for this domain/);
  }));

  test('XMPP-01 no SRV record: the domain itself on the route\'s port', T, () => scenario({
    fake: { domain: 'localhost' },
    route: { host: undefined },
    config: { upstream: { dns_servers: [`127.0.0.1:${dns.port}`], connect_timeout_s: 8 } },
  }, async (ctx) => {
    const { featuresText } = await ctx.open({ to: 'localhost' });
    assert.match(featuresText, /features/);
    assert.ok(dns.queries.includes('_xmpp-client._tcp.localhost'));
    assert.match(ctx.gw.stderr(), new RegExp(`no SRV records for _xmpp-client\\._tcp\\.localhost .*connecting to localhost:${ctx.fake.port}`));
  }));
});
