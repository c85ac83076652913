// The XMPP session logic (www/js/client.js) against a small scripted server behind a fake
// WebSocket: login, bind, stream management, acks, losing the connection, resuming.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import './setup.mjs';
import { XmppClient } from '../../www/js/client.js';
import { SaslError } from '../../www/js/sasl.js';
import { parseXml, el, NS } from '../../www/js/xml.js';
import { fromBase64, utf8Decode } from '../../www/js/scram.js';
import { FakeWebSocket } from './fakes.mjs';

const STREAMS = "xmlns:stream='http://etherx.jabber.org/streams'";

/** Just enough of an XMPP server: PLAIN, bind, XEP-0198 (enable, r/a, resume). */
class FakeServer {
  constructor({ password = 'secret', sm = true } = {}) {
    this.password = password;
    this.sm = sm;
    this.sessions = new Map(); // sm id -> { handled }
    this.sockets = [];
    this.received = [];
    FakeWebSocket.onCreate = (ws) => this.attach(ws);
  }

  attach(ws) {
    this.sockets.push(ws);
    ws.state = { authed: false, handled: 0, smId: null };
    ws.onsend = (text) => this.handle(ws, text);
    ws.accept();
  }

  handle(ws, text) {
    const e = parseXml(text);
    const st = ws.state;
    const out = (x) => ws.deliver(x);
    switch (e.localName) {
      case 'open':
        out("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='localhost' id='x' version='1.0'/>");
        out(st.authed
          ? `<stream:features ${STREAMS}><bind xmlns='${NS.BIND}'/>${this.sm ? `<sm xmlns='${NS.SM}'/>` : ''}</stream:features>`
          : `<stream:features ${STREAMS}><mechanisms xmlns='${NS.SASL}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`);
        return;
      case 'auth': {
        const [, user, pass] = utf8Decode(fromBase64(e.textContent)).split('\u0000');
        if (user === 'alice' && pass === this.password) {
          st.authed = true;
          out(`<success xmlns='${NS.SASL}'/>`);
        } else {
          out(`<failure xmlns='${NS.SASL}'><not-authorized/><text>Invalid username or password</text></failure>`);
        }
        return;
      }
      case 'enable':
        st.smId = `sm${this.sessions.size + 1}`;
        this.sessions.set(st.smId, { handled: 0 });
        st.handled = 0;
        out(`<enabled xmlns='${NS.SM}' id='${st.smId}' resume='true'/>`);
        return;
      case 'resume': {
        const s = this.sessions.get(e.getAttribute('previd'));
        if (!s) {
          out(`<failed xmlns='${NS.SM}'><item-not-found xmlns='${NS.STANZAS}'/></failed>`);
          return;
        }
        st.smId = e.getAttribute('previd');
        st.handled = s.handled;
        this.resumedWithH = Number(e.getAttribute('h'));
        out(`<resumed xmlns='${NS.SM}' previd='${st.smId}' h='${s.handled}'/>`);
        return;
      }
      case 'r':
        out(`<a xmlns='${NS.SM}' h='${st.handled}'/>`);
        return;
      case 'a':
        this.lastAck = Number(e.getAttribute('h'));
        return;
      case 'close':
        out("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
        ws.serverClose(1000);
        return;
      default:
        break;
    }
    // a stanza
    this.received.push(text);
    if (st.smId) {
      st.handled += 1;
      this.sessions.get(st.smId).handled = st.handled;
    }
    if (e.localName === 'iq' && e.getElementsByTagNameNS(NS.BIND, 'bind').length) {
      out(`<iq xmlns='jabber:client' type='result' id='${e.getAttribute('id')}'><bind xmlns='${NS.BIND}'><jid>alice@localhost/web</jid></bind></iq>`);
    } else if (e.localName === 'iq' && e.getAttribute('type') === 'get' && e.getElementsByTagNameNS(NS.ROSTER, 'query').length) {
      out(`<iq xmlns='jabber:client' type='result' id='${e.getAttribute('id')}'><query xmlns='${NS.ROSTER}'/></iq>`);
    }
  }

  get ws() {
    return this.sockets[this.sockets.length - 1];
  }
}

const ENDPOINTS = { websocket: 'ws://gw/xmpp-websocket', bosh: 'http://gw/http-bind' };
const newClient = () => new XmppClient({ WebSocketImpl: FakeWebSocket, fetchImpl: () => Promise.reject(new Error('no BOSH here')) });

function eventOnce(client, name, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event`)), timeoutMs);
    const off = client.on(name, (d) => { clearTimeout(timer); off(); resolve(d); });
  });
}

beforeEach(() => FakeWebSocket.reset());

test('login: SASL, bind, stream management; iq round trip; logout', async () => {
  const srv = new FakeServer();
  const c = newClient();
  const online = eventOnce(c, 'online');
  await c.login({ jid: 'alice@localhost', password: 'secret', transport: 'websocket', endpoints: ENDPOINTS });
  assert.deepEqual(await online, { resumed: false, transport: 'websocket', jid: 'alice@localhost/web' });
  assert.equal(c.state, 'online');
  assert.equal(c.sm.enabled, true);
  assert.equal(c.sm.id, 'sm1');
  const res = await c.iq(el('iq', { type: 'get' }, el('query', { xmlns: NS.ROSTER })));
  assert.equal(res.getAttribute('type'), 'result');
  const snap = c.snapshot();
  assert.equal(snap.jid, 'alice@localhost/web');
  assert.equal(snap.sm.id, 'sm1');
  assert.ok(!JSON.stringify(snap).includes('secret'), 'no password in the snapshot');
  const off = eventOnce(c, 'offline');
  await c.logout();
  assert.equal((await off).error, false);
  assert.equal(c.state, 'offline');
});

test('a wrong password rejects login with not-authorized and stays offline', async () => {
  new FakeServer();
  const c = newClient();
  await assert.rejects(c.login({ jid: 'alice@localhost', password: 'nope', transport: 'websocket', endpoints: ENDPOINTS }),
    (e) => e instanceof SaslError && e.condition === 'not-authorized');
  assert.equal(c.state, 'offline');
});

test('acks: the server\'s <r/> is answered with the number of stanzas handled; <a/> marks ours', async () => {
  const srv = new FakeServer();
  const c = newClient();
  await c.login({ jid: 'alice@localhost', password: 'secret', transport: 'websocket', endpoints: ENDPOINTS });
  const acked = eventOnce(c, 'acked');
  c.send(el('message', { to: 'b@x', id: 'm1' }, el('body', {}, 'hi')));
  assert.deepEqual(await acked, ['m1']);
  srv.ws.deliver("<message xmlns='jabber:client' from='b@x/r'><body>1</body></message>");
  srv.ws.deliver("<presence xmlns='jabber:client' from='b@x/r'/>");
  srv.ws.deliver(`<r xmlns='${NS.SM}'/>`);
  assert.equal(srv.lastAck, 2);
  // Pings and unknown requests get answers.
  srv.ws.deliver(`<iq xmlns='jabber:client' type='get' id='p1' from='localhost'><ping xmlns='${NS.PING}'/></iq>`);
  assert.match(srv.received.at(-1), /^<iq type='result' id='p1' to='localhost'\/>$/);
  srv.ws.deliver("<iq xmlns='jabber:client' type='get' id='u1' from='x@y'><mystery xmlns='urn:x'/></iq>");
  assert.match(srv.received.at(-1), /service-unavailable/);
  await c.logout();
});

test('a lost connection is retried with backoff and resumed (XEP-0198); unacked stanzas are resent', async () => {
  const srv = new FakeServer();
  const c = newClient();
  await c.login({ jid: 'alice@localhost', password: 'secret', transport: 'websocket', endpoints: ENDPOINTS });
  srv.ws.deliver("<message xmlns='jabber:client' from='b@x/r'><body>counted</body></message>");
  // The server stops reading: this message is never acknowledged.
  srv.ws.onsend = () => {};
  c.send(el('message', { to: 'b@x', id: 'lost' }, el('body', {}, 'in flight')));
  const lost = eventOnce(c, 'disconnected');
  const retrying = eventOnce(c, 'reconnecting');
  const online = eventOnce(c, 'online', 8000);
  srv.ws.serverClose(1006);
  assert.match((await lost).message, /lost unexpectedly/);
  const r = await retrying;
  assert.ok(r.inMs >= 800 && r.inMs <= 1200, `first retry after about 1 s (${r.inMs})`);
  assert.equal(c.state, 'reconnecting');
  assert.equal((await online).resumed, 'resumed');
  assert.equal(srv.resumedWithH, 1, 'the client told the server what it had handled');
  assert.ok(srv.received.some((s) => s.includes("id='lost'")), 'the unacknowledged message was sent again');
  await c.logout();
});

test('a stream error that retrying cannot fix ends the session with its message', async () => {
  const srv = new FakeServer();
  const c = newClient();
  await c.login({ jid: 'alice@localhost', password: 'secret', transport: 'websocket', endpoints: ENDPOINTS });
  const off = eventOnce(c, 'offline');
  srv.ws.deliver(`<stream:error ${STREAMS}><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`);
  srv.ws.deliver("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  srv.ws.serverClose(1000);
  const d = await off;
  assert.equal(d.error, true);
  assert.match(d.message, /logged in again somewhere else/);
  assert.equal(c.state, 'offline');
});

test('restore after a reload: resume with the saved XEP-0198 state (needs the password for PLAIN)', async () => {
  const srv = new FakeServer();
  const c = newClient();
  await c.login({ jid: 'alice@localhost', password: 'secret', transport: 'websocket', endpoints: ENDPOINTS });
  const snap = JSON.parse(JSON.stringify(c.snapshot()));
  srv.ws.serverClose(1006); // the page went away
  c.stopTimers();
  c.wantOnline = false;
  // PLAIN leaves no stored keys: the reloaded page must ask for the password.
  const fresh = newClient();
  await assert.rejects(fresh.restore(snap), (e) => e.condition === 'credentials-expired');
  assert.equal(srv.sessions.size, 1);
});
