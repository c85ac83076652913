// BOSH (XEP-0124 + XEP-0206): HTTP long polling with rid/sid, hold=1, at most `requests`
// (normally 2) requests in flight, stream restarts (xmpp:restart), terminate, recoverable
// errors (type='error': resend), and attaching to an existing session after a page reload
// (same sid, the last rid resent). Same interface as transport-ws.js.

import { NS, parseXml, attr, children, child, escapeAttr, XmlParseError } from './xml.js';
import { TransportError } from './transport-ws.js';

const MAX_RID = 2 ** 53 - 1;
const RETRY_DELAYS_MS = [250, 1000, 2000, 4000];

function randomRid() {
  const b = new Uint32Array(2);
  globalThis.crypto.getRandomValues(b);
  // 2^42 .. 2^43: room for billions of requests below 2^53 (XEP-0124 §14.1)
  return (2 ** 42) + (b[0] % (2 ** 20)) * (2 ** 22) + (b[1] % (2 ** 22));
}

export class BoshTransport {
  /**
   * opts: url, domain, lang, wait (seconds asked for), hold, fetchImpl, log,
   *       onpersist(state): called with {url, sid, rid, wait, hold, requests, inactivity,
   *       polling} before each request is sent, so a reloaded page can attach.
   */
  constructor({ url, domain, lang = 'en', wait = 30, hold = 1, fetchImpl = null, log = () => {},
    onpersist = () => {} }) {
    this.name = 'bosh';
    this.url = url;
    this.domain = domain;
    this.lang = lang;
    this.wait = wait;
    this.hold = hold;
    this.fetch = fetchImpl || ((...a) => globalThis.fetch(...a));
    this.log = log;
    this.onpersist = onpersist;
    this.sid = null;
    this.rid = 0; // last rid sent
    this.processedRid = 0; // responses are handled strictly in rid order
    this.requests = 2;
    this.polling = 0;
    this.inactivity = null;
    this.queue = []; // serialised stanzas waiting for a request
    this.inflight = new Map(); // rid -> { body, attempts, controller, timer }
    this.responses = new Map(); // rid -> parsed <body/> (or an error marker) not yet handled
    this.pendingRestart = false;
    this.state = 'idle'; // idle | creating | open | closing | ended
    this.opened = false;
    this.onelement = () => {};
    this.onclose = () => {};
  }

  persistState() {
    if (!this.sid) return null;
    return {
      url: this.url, sid: this.sid, rid: this.rid, wait: this.wait, hold: this.hold,
      requests: this.requests, inactivity: this.inactivity, polling: this.polling, domain: this.domain,
    };
  }

  bodyAttrs(extra) {
    let s = `rid='${this.rid}' xmlns='${NS.HTTPBIND}'`;
    if (this.sid) s += ` sid='${escapeAttr(this.sid)}'`;
    for (const [k, v] of Object.entries(extra || {})) s += ` ${k}='${escapeAttr(v)}'`;
    return s;
  }

  /** Create the session; resolves once the gateway answered with a sid. */
  connect() {
    this.state = 'creating';
    this.rid = randomRid();
    this.processedRid = this.rid - 1;
    const attrs = this.bodyAttrs({
      content: 'text/xml; charset=utf-8', hold: this.hold, to: this.domain, ver: '1.11',
      wait: this.wait, 'xml:lang': this.lang, 'xmpp:version': '1.0', 'xmlns:xmpp': NS.XBOSH,
    });
    return this.startup(`<body ${attrs}/>`, true);
  }

  /**
   * Continue a session saved by a previous page (persistState()). The last rid is sent again
   * (the gateway keeps a held request whose connection went away, or replays its answer),
   * then the next one, which makes the gateway answer the first at once.
   */
  attach(saved) {
    Object.assign(this, {
      sid: saved.sid, wait: saved.wait || this.wait, hold: saved.hold || this.hold,
      requests: saved.requests || 2, inactivity: saved.inactivity || null, polling: saved.polling || 0,
    });
    this.state = 'creating';
    this.rid = saved.rid;
    this.processedRid = this.rid - 1;
    this.opened = true; // the stream is long open; elements go straight to the client
    const p = this.startup(`<body ${this.bodyAttrs()}/>`, false);
    // The next rid makes the gateway answer the resent one now instead of after `wait`.
    if (this.requests >= 2) {
      this.rid += 1;
      this.transmit(this.rid, `<body ${this.bodyAttrs()}/>`);
    }
    return p;
  }

  startup(body, creating) {
    return new Promise((resolve, reject) => {
      this._startResolve = resolve;
      this._startReject = (info, message) => reject(new TransportError(message, info));
      this.transmit(this.rid, body, creating);
    });
  }

  transmit(rid, body, creating = false) {
    const req = { rid, body, attempts: 0, creating, controller: null, timer: null };
    this.inflight.set(rid, req);
    this.onpersist(this.persistState());
    this.post(req);
  }

  post(req) {
    const controller = new AbortController();
    req.controller = controller;
    clearTimeout(req.timer);
    // A held request is answered within `wait`; give the network 10 s more.
    req.timer = setTimeout(() => controller.abort(), (Number(this.wait) + 10) * 1000);
    this.log('out', req.body);
    this.fetch(this.url, {
      method: 'POST',
      body: req.body,
      headers: { 'Content-Type': 'text/xml; charset=utf-8' },
      cache: 'no-store',
      credentials: 'omit',
      signal: controller.signal,
    }).then(async (res) => {
      const text = await res.text();
      clearTimeout(req.timer);
      if (!this.inflight.has(req.rid) || this.state === 'ended') return;
      if (!res.ok) {
        if (res.status >= 500 && res.status !== 501) return this.retry(req, { httpStatus: res.status });
        return this.finish({ httpStatus: res.status });
      }
      let bodyEl;
      try {
        bodyEl = parseXml(text);
      } catch (e) {
        if (!(e instanceof XmlParseError)) throw e;
        return this.retry(req, { message: 'The gateway sent an unreadable BOSH response.' });
      }
      if (bodyEl.localName !== 'body' || bodyEl.namespaceURI !== NS.HTTPBIND) {
        return this.retry(req, { message: 'The gateway sent something that is not a BOSH <body/>.' });
      }
      this.log('in', text);
      this.responses.set(req.rid, bodyEl);
      this.drain();
    }).catch((e) => {
      clearTimeout(req.timer);
      if (!this.inflight.has(req.rid) || this.state === 'ended') return;
      this.retry(req, { network: true, message: `The gateway could not be reached (${e && e.message ? e.message : e}).` });
    });
  }

  retry(req, why) {
    // A session that does not even start is reported at once; the client's backoff takes over.
    const max = req.creating ? 1 : RETRY_DELAYS_MS.length;
    if (req.attempts >= max) {
      this.finish(why.network || why.httpStatus ? why : { ...why, network: true });
      return;
    }
    const delay = RETRY_DELAYS_MS[req.attempts++];
    this.log('bosh', `rid ${req.rid}: ${why.message || why.httpStatus}; resending in ${delay} ms`);
    req.timer = setTimeout(() => {
      if (this.inflight.has(req.rid) && this.state !== 'ended') this.post(req);
    }, delay);
  }

  /** Handle answered requests strictly in rid order. */
  drain() {
    while (this.responses.has(this.processedRid + 1)) {
      const rid = this.processedRid + 1;
      const body = this.responses.get(rid);
      const req = this.inflight.get(rid);
      const type = attr(body, 'type');
      if (type === 'error' && req && this.state !== 'ended') {
        // Recoverable binding error (XEP-0124 §17.3): send the same request again.
        this.responses.delete(rid);
        this.retry(req, { message: 'recoverable BOSH error' });
        return;
      }
      this.responses.delete(rid);
      this.inflight.delete(rid);
      this.processedRid = rid;
      if (!this.handleBody(body, req)) return;
      if (this.state === 'closing' && rid === this.terminateRid) {
        this.finish({ clean: true });
        return;
      }
    }
    this.pump();
  }

  /** Returns false when the session ended. */
  handleBody(body, req) {
    if (req && req.creating) {
      const sid = attr(body, 'sid');
      if (!sid && attr(body, 'type') !== 'terminate') {
        this.finish({ message: 'The gateway answered the session request without a session id.' });
        return false;
      }
      if (sid) {
        this.sid = sid;
        const num = (name, dflt) => {
          const v = attr(body, name);
          return v !== null && /^\d+$/.test(v) ? Number(v) : dflt;
        };
        this.wait = num('wait', this.wait);
        this.requests = Math.max(1, num('requests', 2));
        this.hold = num('hold', this.hold);
        this.polling = num('polling', 0);
        this.inactivity = num('inactivity', null);
        this.opened = true;
      }
    }
    for (const c of children(body)) {
      if (c.localName === 'error' && c.namespaceURI === NS.STREAMS) this.streamErrorSeen = c;
      this.onelement(c);
      if (this.state === 'ended') return false;
    }
    if (attr(body, 'type') === 'terminate') {
      const cond = attr(body, 'condition');
      const info = { boshCondition: cond || (this.state === 'closing' ? null : 'undefined-condition') };
      if (this.streamErrorSeen) {
        const c = children(this.streamErrorSeen).find((x) => x.namespaceURI === NS.STREAM_ERRORS && x.localName !== 'text');
        const text = child(this.streamErrorSeen, 'text', NS.STREAM_ERRORS);
        if (c) info.streamError = { condition: c.localName, text: text ? text.textContent : '' };
      }
      this.finish(info);
      return false;
    }
    if (this.state === 'creating') {
      this.state = 'open';
      if (this._startResolve) this._startResolve();
    }
    return true;
  }

  /** Keep one request held at the gateway, and send queued data as soon as a slot is free. */
  pump() {
    if (this.state !== 'open') return;
    while (this.inflight.size < this.requests) {
      if (this.pendingRestart) {
        this.pendingRestart = false;
        this.rid += 1;
        this.transmit(this.rid, `<body ${this.bodyAttrs({
          to: this.domain, 'xml:lang': this.lang, 'xmpp:restart': 'true', 'xmlns:xmpp': NS.XBOSH,
        })}/>`);
        continue;
      }
      const hasData = this.queue.length > 0;
      if (!hasData && this.inflight.size > 0) return;
      if (!hasData && this.polling && this.hold === 0) {
        // Polling session (hold=0): do not ask faster than the gateway allows.
        if (!this.pollTimer) {
          this.pollTimer = setTimeout(() => { this.pollTimer = null; this.sendNow(); }, this.polling * 1000);
        }
        return;
      }
      this.sendNow();
      if (!hasData) return;
    }
  }

  sendNow() {
    if (this.state !== 'open' || this.inflight.size >= this.requests) return;
    if (this.rid + 1 > MAX_RID) {
      this.finish({ message: 'The BOSH request counter ran out; reconnecting.' });
      return;
    }
    this.rid += 1;
    const payload = this.queue.join('');
    this.queue = [];
    this.transmit(this.rid, `<body ${this.bodyAttrs()}>${payload}</body>`);
  }

  send(elem) {
    if (this.state === 'ended' || this.state === 'closing') return false;
    const text = typeof elem === 'string' ? elem : elem.toString();
    this.queue.push(text);
    if (this.state === 'open') {
      // Let several sends in the same tick share one request.
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => { this.flushScheduled = false; this.pump(); });
      }
    }
    return true;
  }

  restart() {
    this.pendingRestart = true;
    this.pump();
  }

  /** Polite end: type='terminate' with unavailable presence; waits for the answer (max 3 s). */
  close() {
    if (this.state === 'ended' || !this.sid) {
      this.drop();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this._closeResolve = resolve;
      this.state = 'closing';
      this.rid += 1;
      this.terminateRid = this.rid;
      const payload = this.queue.join('') + `<presence type='unavailable' xmlns='${NS.CLIENT}'/>`;
      this.queue = [];
      this.transmit(this.rid, `<body ${this.bodyAttrs({ type: 'terminate' })}>${payload}</body>`);
      this.closeTimer = setTimeout(() => this.finish({ clean: true }), 3000);
    });
  }

  /** Stop at once: abort every request (the gateway session lingers until its inactivity). */
  drop(extra = {}) {
    this.finish({ clean: false, network: true, ...extra });
  }

  finish(info) {
    if (this.state === 'ended') return;
    const wasClosing = this.state === 'closing';
    const wasCreating = this.state === 'creating';
    this.state = 'ended';
    clearTimeout(this.closeTimer);
    clearTimeout(this.pollTimer);
    for (const req of this.inflight.values()) {
      clearTimeout(req.timer);
      try { req.controller && req.controller.abort(); } catch { /* ignore */ }
    }
    this.inflight.clear();
    this.responses.clear();
    const full = { transport: this.name, opened: this.opened, clean: wasClosing, ...info };
    if (wasClosing && !full.boshCondition) full.clean = true;
    this.log('bosh', `ended ${JSON.stringify(full)}`);
    if (wasCreating && this._startReject) {
      this._startReject(full, `BOSH session could not start: ${full.boshCondition || full.httpStatus || full.message}`);
      return;
    }
    if (this._closeResolve) this._closeResolve();
    this.onclose(full);
  }
}
