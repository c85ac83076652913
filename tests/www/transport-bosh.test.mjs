// BOSH transport (www/js/transport-bosh.js) against a scripted endpoint.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import './setup.mjs';
import { BoshTransport } from '../../www/js/transport-bosh.js';
import { el } from '../../www/js/xml.js';
import { FakeBoshServer, body, tick } from './fakes.mjs';

// Every transport is dropped after its test, so no held request (or its timers) outlives it.
const live = [];
afterEach(() => { for (const t of live.splice(0)) t.drop(); });

const FEATURES = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>";

async function open(opts = {}) {
  const srv = new FakeBoshServer();
  const persisted = [];
  const t = new BoshTransport({ url: 'http://gw/http-bind', domain: 'localhost', fetchImpl: srv.fetch, onpersist: (s) => persisted.push(s), ...opts });
  live.push(t);
  const got = [];
  const closed = [];
  t.onelement = (e) => got.push(e);
  t.onclose = (i) => closed.push(i);
  const connected = t.connect();
  const create = await srv.next();
  return { srv, t, got, closed, persisted, connected, create };
}

test('session creation: XEP-0124/0206 attributes, then one request held', async () => {
  const { srv, t, got, connected, create, persisted } = await open();
  assert.equal(create.attr('hold'), '1');
  assert.equal(create.attr('wait'), '30');
  assert.equal(create.attr('to'), 'localhost');
  assert.equal(create.attr('ver'), '1.11');
  assert.equal(create.attr('xmpp:version'), '1.0');
  assert.equal(create.body.getAttributeNS('urn:xmpp:xbosh', 'version'), '1.0');
  assert.equal(create.attr('sid'), null);
  assert.ok(create.rid > 2 ** 40 && create.rid < 2 ** 44, `rid ${create.rid}`);
  create.respond(body("sid='S1' wait='20' requests='2' hold='1' inactivity='60' polling='2' from='localhost'", FEATURES));
  await connected;
  assert.equal(got[0].localName, 'features');
  assert.equal(t.wait, 20, 'the gateway\'s wait is used');
  const held = await srv.next();
  assert.equal(held.rid, create.rid + 1);
  assert.equal(held.attr('sid'), 'S1');
  assert.equal(held.children().length, 0);
  assert.equal(persisted.at(-1).rid, held.rid, 'rid stored before the request leaves');
  assert.equal(persisted.at(-1).sid, 'S1');
});

test('data goes out on a second request; responses are handled in rid order', async () => {
  const { srv, t, got, connected, create } = await open();
  create.respond(body("sid='S1' requests='2'", FEATURES));
  await connected;
  const held = await srv.next();
  t.send(el('message', { to: 'b@x' }, el('body', {}, '<&>')));
  t.send(el('presence'));
  const data = await srv.next();
  assert.equal(data.rid, held.rid + 1);
  assert.deepEqual(data.children().map((c) => c.localName), ['message', 'presence'], 'two sends share one request');
  assert.equal(data.children()[0].textContent, '<&>');
  // The gateway answers the newer request first: it must wait for the older one.
  data.respond(body('', "<message xmlns='jabber:client' id='second'/>"));
  await tick();
  assert.equal(got.length, 1);
  held.respond(body('', "<message xmlns='jabber:client' id='first'/>"));
  await tick();
  await tick();
  assert.deepEqual(got.slice(1).map((e) => e.getAttribute('id')), ['first', 'second']);
  const next = await srv.next();
  assert.equal(next.rid, data.rid + 1, 'a new request is held again');
  assert.equal(t.inflight.size, 1);
});

test('restart request: xmpp:restart, no payload', async () => {
  const { srv, t, connected, create } = await open();
  create.respond(body("sid='S1'", FEATURES));
  await connected;
  await srv.next();
  t.restart();
  const r = await srv.next();
  assert.equal(r.body.getAttributeNS('urn:xmpp:xbosh', 'restart'), 'true');
  assert.equal(r.attr('to'), 'localhost');
  assert.equal(r.children().length, 0);
});

test('terminate with remote-stream-error carries the server\'s stream error', async () => {
  const { srv, connected, create, closed } = await open();
  create.respond(body("sid='S1'", FEATURES));
  await connected;
  const held = await srv.next();
  held.respond(body("type='terminate' condition='remote-stream-error'",
    "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced</text></stream:error>"));
  await tick();
  assert.equal(closed.length, 1);
  assert.equal(closed[0].boshCondition, 'remote-stream-error');
  assert.deepEqual(closed[0].streamError, { condition: 'conflict', text: 'Replaced' });
});

test('creation refused (host-unknown) rejects connect()', async () => {
  const { connected, create, closed } = await open();
  create.respond(body("type='terminate' condition='host-unknown'"));
  await assert.rejects(connected, (e) => e.info.boshCondition === 'host-unknown');
  assert.equal(closed.length, 0, 'connect() reports it, not onclose');
});

test('a failed request is sent again with the same rid and body', async () => {
  const { srv, t, connected, create } = await open();
  create.respond(body("sid='S1'", FEATURES));
  await connected;
  const held = await srv.next();
  t.send(el('presence'));
  const data = await srv.next();
  data.fail();
  const again = await srv.next(); // after 250 ms
  assert.equal(again.rid, data.rid);
  assert.equal(again.text, data.text);
  held.respond(body());
  again.respond(body());
});

test('HTTP 404 ends the session; recoverable type=error resends', async () => {
  const { srv, connected, create, closed } = await open();
  create.respond(body("sid='S1'", FEATURES));
  await connected;
  const held = await srv.next();
  held.respond(body("type='error'"));
  const resent = await srv.next();
  assert.equal(resent.rid, held.rid);
  resent.respond('gone', 404);
  await tick();
  assert.equal(closed[0].httpStatus, 404);
});

test('attach after a reload: the last rid again, then the next; item-not-found rejects', async () => {
  const srv = new FakeBoshServer();
  const t = new BoshTransport({ url: 'http://gw/http-bind', domain: 'localhost', fetchImpl: srv.fetch });
  live.push(t);
  const got = [];
  t.onelement = (e) => got.push(e);
  const attached = t.attach({ sid: 'S9', rid: 1000, wait: 20, requests: 2, hold: 1 });
  const a = await srv.next();
  const b = await srv.next();
  assert.deepEqual([a.rid, b.rid, a.attr('sid'), b.attr('sid')], [1000, 1001, 'S9', 'S9']);
  a.respond(body('', "<message xmlns='jabber:client' id='queued-while-away'/>"));
  await attached;
  assert.equal(got[0].getAttribute('id'), 'queued-while-away');

  const srv2 = new FakeBoshServer();
  const t2 = new BoshTransport({ url: 'http://gw/http-bind', domain: 'localhost', fetchImpl: srv2.fetch });
  live.push(t2);
  const p = t2.attach({ sid: 'OLD', rid: 5 });
  (await srv2.next()).respond(body("type='terminate' condition='item-not-found'"));
  await assert.rejects(p, (e) => e.info.boshCondition === 'item-not-found');
});

test('close(): type=terminate with unavailable presence, clean end', async () => {
  const { srv, t, connected, create, closed } = await open();
  create.respond(body("sid='S1'", FEATURES));
  await connected;
  const held = await srv.next();
  const done = t.close();
  const term = await srv.next();
  assert.equal(term.attr('type'), 'terminate');
  assert.equal(term.children()[0].localName, 'presence');
  assert.equal(term.children()[0].getAttribute('type'), 'unavailable');
  held.respond(body());
  term.respond(body("type='terminate'"));
  await done;
  assert.equal(closed.length, 1);
  assert.equal(closed[0].clean, true);
});

test('an unreachable gateway fails the session creation quickly (one resend)', async () => {
  const { srv, connected, create } = await open();
  create.fail();
  const again = await srv.next();
  assert.equal(again.rid, create.rid);
  again.fail();
  await assert.rejects(connected, (e) => e.info.network === true && /could not be reached/.test(e.info.message));
});
