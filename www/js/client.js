// The XMPP session: picks a transport (WebSocket first, BOSH when WebSocket is blocked, or
// the one the user forced), authenticates (SASL), binds a resource, enables XEP-0198 stream
// management, resumes after a lost connection or a page reload (BOSH attach, XEP-0198
// resume, or a fresh login with stored SCRAM keys), reconnects with backoff, and hands
// stanzas to the application. No DOM: the UI listens to events.
//
// Events (client.on(name, fn)): status {state, text}, online {resumed: false|'resumed'|
// 'attached'}, disconnected {message, retry}, reconnecting {inMs, attempt}, offline
// {message, error}, fallback {from, to, message}, message el, presence el, iq el,
// acked [ids], persist snapshot, log (dir, text).

import { NS, attr, child, children, isStanza, el } from './xml.js';

export { ConnectionEnded, StanzaError };
import { parseJid } from './jid.js';
import { SaslAuthenticator, SaslError, chooseMechanism, offeredMechanisms } from './sasl.js';
import { StreamManagement } from './sm.js';
import { WebSocketTransport, TransportError } from './transport-ws.js';
import { BoshTransport } from './transport-bosh.js';
import { describeEnd, describeSaslFailure, ConnectionEnded, StanzaError, streamErrorInfo, redact } from './errors.js';
import { newId, iqResult, iqError, parseError } from './stanzas.js';

const STEP_TIMEOUT_MS = 20000;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const IDLE_CHECK_MS = 60000;
const IDLE_ANSWER_MS = 20000;
const ID_RE = /^<\w+[^>]*?\sid='([^']*)'/;

export const FEATURES = [NS.DISCO_INFO, NS.RECEIPTS, NS.CHATSTATES, NS.PING, NS.MUC];

export class XmppClient {
  constructor({ WebSocketImpl = globalThis.WebSocket, fetchImpl = null, boshWait = 30,
    wsOpenTimeoutMs = 8000, allowPlain = true } = {}) {
    this.WebSocketImpl = WebSocketImpl;
    this.fetchImpl = fetchImpl;
    this.boshWait = boshWait;
    this.wsOpenTimeoutMs = wsOpenTimeoutMs;
    this.allowPlain = allowPlain;
    this.listeners = new Map();
    this.state = 'offline';
    this.transport = null;
    this.transportPref = 'auto';
    this.wsBlocked = false;
    this.endpoints = null;
    this.account = null; // { jid: Jid (requested), password, keys }
    this.jid = null; // bound full JID
    this.sm = new StreamManagement();
    this.pendingIq = new Map();
    this.outbox = [];
    this.inbox = [];
    this.waiter = null;
    this.negotiating = false;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.lastInbound = Date.now();
  }

  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  emit(name, ...args) {
    for (const fn of this.listeners.get(name) || []) {
      try { fn(...args); } catch (e) { console.error(`xmpp client ${name} listener`, e); }
    }
  }

  log(dir, text) {
    if (this.listeners.has('log')) this.emit('log', dir, redact(text));
  }

  setState(state, text) {
    this.state = state;
    this.emit('status', { state, text });
  }

  // ------------------------------------------------------------------------- public API

  /** Fresh login. Resolves when online; rejects with SaslError / ConnectionEnded. */
  async login({ jid, password, transport = 'auto', endpoints }) {
    this.stopTimers();
    const j = parseJid(jid);
    this.account = { jid: j, password, keys: null };
    this.transportPref = transport;
    this.endpoints = endpoints;
    this.sm = new StreamManagement();
    this.wantOnline = true;
    try {
      await this.establish({ resume: false });
    } catch (e) {
      this.wantOnline = false;
      this.setState('offline', '');
      throw e;
    }
  }

  /**
   * Continue after a page reload from a snapshot(). Resolves with 'attached' (same BOSH
   * session), 'resumed' (XEP-0198) or false (logged in again: a new session). Rejects when
   * the stored credentials cannot be used (the UI then asks for the password).
   */
  async restore(saved) {
    this.stopTimers();
    const j = parseJid(saved.jid);
    this.account = { jid: j, password: null, keys: saved.keys || null };
    this.transportPref = saved.transportPref || 'auto';
    this.wsBlocked = !!saved.wsBlocked;
    this.endpoints = saved.endpoints;
    this.sm = new StreamManagement(saved.sm);
    this.wantOnline = true;
    if (saved.transport === 'bosh' && saved.bosh && saved.bosh.sid) {
      this.setState('connecting', 'Reattaching to your session…');
      const t = this.makeTransport('bosh', saved.bosh.url);
      this.transport = t;
      this.inbox = [];
      try {
        await t.attach(saved.bosh);
        this.jid = j;
        this.sm.enabled = !!(saved.sm && saved.sm.enabled);
        this.finishNegotiation(t);
        this.goOnline('attached');
        if (this.sm.enabled) this.sendRaw(this.sm.requestElement().toString());
        return 'attached';
      } catch (e) {
        this.transport = null;
        this.log('client', `BOSH attach failed: ${e.message}`);
      }
    }
    if (!this.account.keys) {
      this.wantOnline = false;
      this.setState('offline', '');
      throw new SaslError('credentials-expired', 'no stored login keys');
    }
    try {
      return await this.establish({ resume: true });
    } catch (e) {
      this.wantOnline = false;
      this.setState('offline', '');
      throw e;
    }
  }

  /** What a reloaded page needs to continue (no password: SCRAM keys at most). */
  snapshot() {
    if (!this.jid) return null;
    const t = this.transport;
    return {
      jid: this.jid.full,
      transport: t ? t.name : this.lastTransportName || null,
      transportPref: this.transportPref,
      wsBlocked: this.wsBlocked,
      endpoints: this.endpoints,
      keys: this.account && this.account.keys,
      sm: { ...this.sm.snapshot(), enabled: this.sm.enabled },
      bosh: t && t.name === 'bosh' ? t.persistState() : null,
    };
  }

  /** Send a stanza (XmlElement). While reconnecting it waits in the outbox. Returns its id. */
  send(stanza) {
    const text = stanza.toString();
    if (this.state === 'online' && this.transport) this.sendStanzaText(text);
    else this.outbox.push(text);
    return stanza.attrs ? stanza.attrs.id : undefined;
  }

  /** Send an iq and wait for its result element; rejects with StanzaError or on timeout. */
  iq(stanza, timeoutMs = 15000) {
    if (!stanza.attrs.id) stanza.attrs.id = newId('iq');
    const id = stanza.attrs.id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingIq.delete(id);
        reject(new StanzaError({ condition: 'remote-server-timeout', text: 'no answer in time' }));
      }, timeoutMs);
      this.pendingIq.set(id, { resolve, reject, timer });
      this.send(stanza);
    });
  }

  async logout() {
    this.wantOnline = false;
    this.stopTimers();
    const t = this.transport;
    this.setState('closing', 'Logging out…');
    if (t) {
      if (t.name === 'websocket') this.sendRaw(el('presence', { type: 'unavailable' }).toString());
      try { await t.close(); } catch { /* gone anyway */ }
    }
    this.transport = null;
    this.sm.reset();
    this.jid = null;
    this.failPendingIqs('logged out');
    this.setState('offline', '');
    this.emit('offline', { message: 'You are logged out.', error: false });
  }

  /** Reconnect now instead of waiting for the backoff timer. */
  reconnectNow() {
    if (this.state !== 'reconnecting') return;
    clearTimeout(this.reconnectTimer);
    this.reconnect();
  }

  // ----------------------------------------------------------------------- connecting

  makeTransport(kind, url) {
    const common = { domain: this.account.jid.domain, log: (d, t) => this.log(d, t) };
    const t = kind === 'websocket'
      ? new WebSocketTransport({ ...common, url: url || this.endpoints.websocket, WebSocketImpl: this.WebSocketImpl,
        openTimeoutMs: this.wsOpenTimeoutMs })
      : new BoshTransport({ ...common, url: url || this.endpoints.bosh, wait: this.boshWait, fetchImpl: this.fetchImpl,
        onpersist: () => { if (this.transport === t && this.state === 'online') this.emit('persist', this.snapshot()); } });
    t.onelement = (e) => this.onElement(t, e);
    t.onclose = (info) => this.onTransportClose(t, info);
    return t;
  }

  async openTransport() {
    const order = this.transportPref === 'websocket' ? ['websocket']
      : this.transportPref === 'bosh' || this.wsBlocked ? ['bosh'] : ['websocket', 'bosh'];
    let wsFailure = null;
    for (const kind of order) {
      const t = this.makeTransport(kind);
      this.transport = t;
      this.inbox = [];
      this.lastStreamError = null;
      try {
        await t.connect();
        if (wsFailure) {
          this.wsBlocked = true;
          this.emit('fallback', { from: 'websocket', to: 'bosh', message: wsFailure });
        }
        return t;
      } catch (e) {
        this.transport = null;
        if (!(e instanceof TransportError)) throw e;
        if (kind === 'websocket' && order.length > 1) {
          wsFailure = describeEnd(e.info).message;
          this.setState('connecting', 'WebSocket is not available here; trying BOSH (HTTP)…');
          continue;
        }
        throw new ConnectionEnded(e.info);
      }
    }
    throw new Error('no transport to try');
  }

  /** Connect, authenticate, then resume (if asked and possible) or bind. */
  async establish({ resume }) {
    this.setState('connecting', 'Connecting…');
    const t = await this.openTransport();
    this.negotiating = true;
    try {
      let features = await this.nextFeatures();
      const mechs = offeredMechanisms(features);
      const creds = { password: this.account.password, keys: this.account.keys };
      const mechanism = chooseMechanism(mechs, creds, { allowPlain: this.allowPlain });
      if (!mechanism) {
        if (!creds.password && creds.keys) throw new SaslError('credentials-expired', '');
        throw new SaslError('no-mechanism', mechs.length ? `offered: ${mechs.join(', ')}` : '');
      }
      this.setState('connecting', 'Logging in…');
      const auth = new SaslAuthenticator({ mechanism, username: this.account.jid.local,
        password: this.account.password, keys: this.account.keys });
      t.send(await auth.start());
      for (;;) {
        const r = await auth.step(await this.next());
        if (r.send) t.send(r.send);
        if (r.done) break;
      }
      if (auth.keys) {
        // Keep the derived keys, not the password (see README "The bundled web client").
        this.account.keys = auth.keys;
        this.account.password = null;
      }
      t.restart();
      features = await this.nextFeatures();
      const smOffered = StreamManagement.offered(features);
      if (resume && smOffered && this.sm.id && this.sm.resumable) {
        t.send(this.sm.resumeElement());
        const answer = await this.next();
        if (answer.namespaceURI === NS.SM && answer.localName === 'resumed') {
          const again = this.sm.onResumed(answer);
          this.jid = this.jid || this.account.jid;
          this.finishNegotiation(t);
          for (const text of again) this.sendStanzaText(text);
          this.goOnline('resumed');
          return 'resumed';
        }
        // The old session is gone: its unacknowledged messages go out again in the new one.
        const lost = this.sm.onFailed().filter((text) => text.startsWith('<message'));
        this.outbox.unshift(...lost);
        this.log('client', 'stream resumption failed; binding a new session');
      }
      this.sm.reset();
      await this.bind(t, features);
      if (smOffered) {
        t.send(this.sm.enableElement());
        const answer = await this.next();
        if (answer.namespaceURI === NS.SM && answer.localName === 'enabled') this.sm.onEnabled(answer);
      }
      this.finishNegotiation(t);
      this.goOnline(false);
      return false;
    } catch (e) {
      this.negotiating = false;
      if (this.transport === t) {
        this.transport = null;
        t.onclose = () => {};
        t.drop();
      }
      throw e;
    }
  }

  async nextFeatures() {
    const f = await this.next();
    if (f.localName !== 'features' || f.namespaceURI !== NS.STREAMS) {
      throw new ConnectionEnded({ message: `The server sent <${f.localName}/> instead of stream features.` });
    }
    return f;
  }

  async bind(t, features) {
    if (!child(features, 'bind', NS.BIND)) throw new ConnectionEnded({ message: 'The server offers no resource binding.' });
    const id = newId('b');
    const resource = this.account.jid.resource;
    t.send(el('iq', { type: 'set', id }, el('bind', { xmlns: NS.BIND }, resource ? el('resource', {}, resource) : null)));
    const res = await this.next();
    if (attr(res, 'type') !== 'result' || attr(res, 'id') !== id) {
      const e = res.localName === 'iq' ? child(res, 'error') : null;
      throw new ConnectionEnded({ message: `The server refused to bind a session (${e ? parseError(e).condition : res.localName}).` });
    }
    const jidText = child(child(res, 'bind', NS.BIND), 'jid', NS.BIND);
    this.jid = parseJid(jidText ? jidText.textContent : this.account.jid.bare);
    const session = child(features, 'session', NS.SESSION);
    if (session && !child(session, 'optional', NS.SESSION)) {
      const sid = newId('s');
      t.send(el('iq', { type: 'set', id: sid }, el('session', { xmlns: NS.SESSION })));
      const r = await this.next();
      if (attr(r, 'type') !== 'result') throw new ConnectionEnded({ message: 'The server refused to start the session.' });
    }
  }

  /** The next element during negotiation (stream errors and a closed transport throw). */
  next(timeoutMs = STEP_TIMEOUT_MS) {
    if (this.inbox.length) return this.checkNegotiationElement(this.inbox.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new ConnectionEnded({ message: 'The server did not answer in time.' }));
      }, timeoutMs);
      this.waiter = {
        resolve: (e) => { clearTimeout(timer); this.waiter = null; resolve(this.checkNegotiationElement(e)); },
        reject: (err) => { clearTimeout(timer); this.waiter = null; reject(err); },
      };
    });
  }

  checkNegotiationElement(e) {
    if (e.localName === '__closed__') return Promise.reject(e.err);
    if (e.localName === 'error' && e.namespaceURI === NS.STREAMS) {
      return Promise.reject(new ConnectionEnded({ streamError: streamErrorInfo(e) }));
    }
    return Promise.resolve(e);
  }

  finishNegotiation(t) {
    this.negotiating = false;
    this.lastTransportName = t.name;
    const pending = this.inbox;
    this.inbox = [];
    this.state = 'online'; // dispatch what arrived with the last negotiation element
    for (const e of pending) this.handleOnline(e);
  }

  goOnline(resumed) {
    this.attempt = 0;
    this.setState('online', '');
    const queued = this.outbox;
    this.outbox = [];
    for (const text of queued) this.sendStanzaText(text);
    this.startIdleTimer();
    this.emit('online', { resumed, transport: this.transport.name, jid: this.jid.full });
    this.emit('persist', this.snapshot());
  }

  // ------------------------------------------------------------------------ receiving

  onElement(t, e) {
    if (t !== this.transport) return;
    this.lastInbound = Date.now();
    if (this.negotiating || this.state !== 'online') {
      if (this.waiter) this.waiter.resolve(e);
      else this.inbox.push(e);
      return;
    }
    this.handleOnline(e);
  }

  handleOnline(e) {
    if (e.namespaceURI === NS.SM) {
      if (e.localName === 'r') this.sendRaw(this.sm.answerElement().toString());
      else if (e.localName === 'a') {
        try {
          const acked = this.sm.onAck(attr(e, 'h'));
          const ids = acked.map((s) => (ID_RE.exec(s) || [])[1]).filter(Boolean);
          if (ids.length) this.emit('acked', ids);
        } catch (err) {
          this.log('client', err.message);
        }
      }
      return;
    }
    if (e.localName === 'error' && e.namespaceURI === NS.STREAMS) {
      this.lastStreamError = streamErrorInfo(e);
      return;
    }
    if (!isStanza(e)) return;
    this.sm.countInbound();
    if (e.localName === 'iq') this.handleIq(e);
    else this.emit(e.localName, e);
  }

  handleIq(iq) {
    const type = attr(iq, 'type');
    const id = attr(iq, 'id');
    if (type === 'result' || type === 'error') {
      const p = this.pendingIq.get(id);
      if (!p) return;
      this.pendingIq.delete(id);
      clearTimeout(p.timer);
      if (type === 'result') p.resolve(iq);
      else p.reject(new StanzaError(parseError(child(iq, 'error') || iq)));
      return;
    }
    const payload = children(iq)[0];
    if (payload && payload.namespaceURI === NS.PING && type === 'get') {
      this.send(iqResult(iq));
      return;
    }
    if (payload && payload.namespaceURI === NS.DISCO_INFO && type === 'get') {
      const r = iqResult(iq);
      r.c('query', { xmlns: NS.DISCO_INFO }).append(
        el('identity', { category: 'client', type: 'web', name: 'xmppgw web client' }),
        FEATURES.map((v) => el('feature', { var: v })));
      this.send(r);
      return;
    }
    let handled = false;
    this.emit('iq', iq, () => { handled = true; });
    if (!handled) this.send(iqError(iq));
  }

  // -------------------------------------------------------------------------- sending

  sendRaw(text) {
    return this.transport ? this.transport.send(text) : false;
  }

  sendStanzaText(text) {
    this.sendRaw(text);
    if (this.sm.enabled) {
      this.sm.onSent(text);
      if (!this.ackTimer) {
        this.ackTimer = setTimeout(() => {
          this.ackTimer = null;
          if (this.state === 'online' && this.sm.enabled) this.sendRaw(this.sm.requestElement().toString());
        }, 250);
      }
    }
  }

  // ------------------------------------------------------------------ losing, retrying

  onTransportClose(t, info) {
    if (t !== this.transport) return;
    this.transport = null;
    if (this.lastStreamError && !info.streamError) info = { ...info, streamError: this.lastStreamError };
    this.log('client', `transport closed: ${JSON.stringify(info)}`);
    if (this.negotiating) {
      const err = new ConnectionEnded(info);
      if (this.waiter) this.waiter.reject(err);
      else this.inbox.push({ localName: '__closed__', namespaceURI: null, err });
      return;
    }
    if (this.state === 'closing' || !this.wantOnline) return;
    this.connectionLost(describeEnd(info));
  }

  connectionLost(d) {
    this.stopIdleTimer();
    this.failPendingIqs('connection lost');
    if (!d.retry) {
      this.wantOnline = false;
      this.sm.reset();
      this.setState('offline', '');
      this.emit('offline', { message: d.message, error: true });
      return;
    }
    this.emit('disconnected', { message: d.message, retry: true });
    this.scheduleReconnect(d.message);
  }

  scheduleReconnect(message) {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const inMs = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.attempt += 1;
    this.setState('reconnecting', message);
    this.emit('reconnecting', { inMs, attempt: this.attempt, message });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.reconnect(), inMs);
  }

  async reconnect() {
    if (!this.wantOnline) return;
    try {
      await this.establish({ resume: true });
    } catch (e) {
      if (!this.wantOnline) return;
      if (e instanceof SaslError) {
        const d = describeSaslFailure(e.condition, e.text);
        if (!d.retry) {
          this.wantOnline = false;
          this.setState('offline', '');
          this.emit('offline', { message: d.message, error: true, needPassword: true });
          return;
        }
        this.scheduleReconnect(d.message);
        return;
      }
      const d = e instanceof ConnectionEnded ? describeEnd(e.info) : { message: e.message, retry: true };
      if (!d.retry) {
        this.wantOnline = false;
        this.setState('offline', '');
        this.emit('offline', { message: d.message, error: true });
        return;
      }
      this.scheduleReconnect(d.message);
    }
  }

  failPendingIqs(why) {
    for (const [id, p] of this.pendingIq) {
      clearTimeout(p.timer);
      p.reject(new StanzaError({ condition: 'recipient-unavailable', text: why }));
      this.pendingIq.delete(id);
    }
  }

  /** A connection that went silent is dropped so the reconnect logic takes over. */
  startIdleTimer() {
    this.stopIdleTimer();
    this.idleTimer = setInterval(() => {
      if (this.state !== 'online' || !this.transport) return;
      const quiet = Date.now() - this.lastInbound;
      if (quiet > IDLE_CHECK_MS + IDLE_ANSWER_MS && this.probeSent) {
        this.log('client', 'no answer to the keepalive; dropping the connection');
        const t = this.transport;
        t.drop({ message: 'no answer from the gateway' });
        return;
      }
      if (quiet > IDLE_CHECK_MS && !this.probeSent) {
        this.probeSent = true;
        if (this.sm.enabled) this.sendRaw(this.sm.requestElement().toString());
        else this.iq(el('iq', { type: 'get', to: this.jid.domain }, el('ping', { xmlns: NS.PING }))).catch(() => {});
      } else if (quiet <= IDLE_CHECK_MS) this.probeSent = false;
    }, 5000);
  }

  stopIdleTimer() {
    clearInterval(this.idleTimer);
    this.idleTimer = null;
  }

  stopTimers() {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.stopIdleTimer();
  }
}
