// WebSocket transport (www/js/transport-ws.js, RFC 7395) with a fake WebSocket.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import './setup.mjs';
import { WebSocketTransport } from '../../www/js/transport-ws.js';
import { el } from '../../www/js/xml.js';
import { FakeWebSocket, tick } from './fakes.mjs';

const OPEN = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='localhost' id='s1' version='1.0'/>";

beforeEach(() => FakeWebSocket.reset());

function make(opts = {}) {
  const t = new WebSocketTransport({ url: 'ws://gw/xmpp-websocket', domain: 'localhost', WebSocketImpl: FakeWebSocket, ...opts });
  const got = [];
  const closed = [];
  t.onelement = (e) => got.push(e);
  t.onclose = (i) => closed.push(i);
  return { t, got, closed };
}

test('opens with the xmpp sub-protocol and an <open/>; elements are delivered one per message', async () => {
  const { t, got } = make();
  const p = t.connect();
  const ws = FakeWebSocket.last;
  assert.equal(ws.requestedProtocol, 'xmpp');
  ws.accept();
  assert.equal(ws.sent[0], "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0' xml:lang='en'/>");
  ws.deliver(OPEN);
  await p;
  assert.equal(t.streamId, 's1');
  ws.deliver("<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>");
  ws.deliver("<message xmlns='jabber:client'><body>Grüße 🎉</body></message>");
  assert.deepEqual(got.map((e) => e.localName), ['features', 'message']);
  t.send(el('presence'));
  assert.equal(ws.sent.at(-1), '<presence/>');
  t.restart();
  assert.match(ws.sent.at(-1), /^<open /);
});

test('a socket that closes before <open/> rejects connect() (so the client can fall back)', async () => {
  const { t, closed } = make();
  const p = t.connect();
  FakeWebSocket.last.serverClose(1006);
  await assert.rejects(p, (e) => e.info.wsCode === 1006 && e.info.opened === false);
  assert.equal(closed.length, 0);
});

test('no "xmpp" sub-protocol in the answer is refused', async () => {
  const { t } = make();
  const p = t.connect();
  FakeWebSocket.last.accept('');
  await assert.rejects(p, /no xmpp sub-protocol/);
});

test('no <open/> in time is a failure too', async () => {
  const { t } = make({ openTimeoutMs: 30 });
  const p = t.connect();
  FakeWebSocket.last.accept();
  await assert.rejects(p, (e) => e.info.timeout === true);
});

test('the server\'s <close/> is answered; the close code reaches onclose', async () => {
  const { t, closed, got } = make();
  const p = t.connect();
  const ws = FakeWebSocket.last;
  ws.accept();
  ws.deliver(OPEN);
  await p;
  ws.deliver("<stream:error xmlns:stream='http://etherx.jabber.org/streams'><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
  ws.deliver("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  assert.equal(ws.sent.at(-1), "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  ws.serverClose(1001, 'shutdown');
  assert.equal(got[0].localName, 'error');
  assert.deepEqual([closed[0].wsCode, closed[0].wsReason, closed[0].opened, closed[0].clean], [1001, 'shutdown', true, true]);
});

test('close(): <close/>, then the socket', async () => {
  const { t, closed } = make();
  const p = t.connect();
  const ws = FakeWebSocket.last;
  ws.accept();
  ws.deliver(OPEN);
  await p;
  ws.onsend = (text) => {
    if (text.startsWith('<close')) {
      ws.deliver("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
      ws.serverClose(1000);
    }
  };
  await t.close();
  await tick();
  assert.equal(closed[0].clean, true);
  assert.equal(closed[0].wsCode, 1000);
});

test('unparsable data drops the connection', async () => {
  const { t, closed } = make();
  const p = t.connect();
  const ws = FakeWebSocket.last;
  ws.accept();
  ws.deliver(OPEN);
  await p;
  ws.deliver('<unclosed');
  assert.equal(closed.length, 1);
  assert.equal(ws.closedWith, 1000);
});
