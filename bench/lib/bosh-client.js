'use strict';
// A small BOSH (XEP-0124 + XEP-0206) XMPP client for the benchmark, shaped like a browser tab
// running Strophe.js: HTTP/1.1 through node:http with its own keep-alive Agent (maxSockets 2, so
// at most two TCP connections per session), hold=1 and requests=2.
//
//   - Exactly one request is held at the server at all times: when a response arrives and no
//     request is left open, the next rid goes out at once (an empty poll, or whatever is queued).
//   - Outgoing stanzas use the second request slot: send() posts them immediately while only
//     the poll is open; while both slots are busy they are queued and go out together in the
//     next request (a response may carry several stanzas, and so may a request).
//   - rids increase by one per request; responses are processed strictly in rid order (two
//     requests on two TCP connections can be answered in either order on the wire).
//   - Every request has Content-Length (never chunked).
//   - <body type='terminate'/> outside our own logout, type='error', HTTP statuses other than
//     200 and repeated network errors end the session and are reported through onProblem();
//     every HTTP error is also counted in the per-path stats.
//   - A network error on a reused keep-alive socket (the server closed it while idle just as
//     the request went out) is retried at once with the same rid, as browsers do; other network
//     errors are retried twice after 250 ms with the same rid (the server's rid window answers
//     a repeated rid from its cache).
//
// Interface as bench/lib/xmpp-raw.js RawSession: login({presence}), send(text) -> bool,
// close(ms), destroy(), jid, failed. Options: url, domain, user, password, resource, timeoutMs
// (each login step), wait (BOSH wait, s), onStanza(text), onProblem(kind, detail),
// stats (newBoshStats(), shared by the sessions of one path).

const http = require('node:http');
const crypto = require('node:crypto');
const { StreamSplitter, xmlEscape } = require('./xmpp-raw');
const { ElementWaiter } = require('./element-waiter');

const NS_HB = 'http://jabber.org/protocol/httpbind';
const NS_XB = 'urn:xmpp:xbosh';
const CONTENT_TYPE = 'text/xml; charset=utf-8';

/** Counters shared by every session of one path (numbers and one level of objects only). */
function newBoshStats() {
  return {
    sessions: 0,           // sessions that got a sid
    requests: 0,           // HTTP requests written (retries included)
    responses: 0,          // HTTP responses received (any status)
    emptyResponses: 0,     // 200 <body/> without children (wait expired or the hold rule)
    stanzaResponses: 0,    // 200 <body/> with at least one child
    multiStanzaResponses: 0, // ... with more than one child
    stanzas: 0,            // children received
    batchedRequests: 0,    // requests that carried more than one queued stanza
    connections: 0,        // TCP connections opened
    serverClosed: 0,       // connections the server closed (FIN) while the session was alive
    kaRetries: 0,          // requests retried after a reset on a reused keep-alive socket
    retries: 0,            // requests retried after another network error
    httpErrors: 0,         // non-200 statuses + network errors (keep-alive resets not counted)
    httpErrorKinds: {},
    terminates: {},        // terminate conditions received outside a logout
    errorSamples: [],
    maxOutstanding: 0,
  };
}

const ATTR_RE = /([^\s=/>]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/g;

/** Parse a BOSH response body: { attrs, children: [element text] }. Throws if malformed. */
function parseBody(text) {
  const p = text.indexOf('<body');
  if (p < 0) throw new Error(`no <body> in ${JSON.stringify(text.slice(0, 200))}`);
  const e = StreamSplitter.tagEnd(text, p);
  if (e < 0) throw new Error(`unterminated <body> tag in ${JSON.stringify(text.slice(0, 200))}`);
  const head = text.slice(p, e);
  const attrs = {};
  for (const m of head.slice(5).matchAll(ATTR_RE)) attrs[m[1]] = m[2] !== undefined ? m[2] : m[3];
  const children = [];
  if (!head.endsWith('/>')) {
    const end = text.lastIndexOf('</body>');
    if (end < e) throw new Error(`no </body> in ${JSON.stringify(text.slice(0, 200))}`);
    const inner = text.slice(e, end);
    if (inner.indexOf('<') >= 0) {
      const sp = new StreamSplitter({ onHeader: () => {}, onElement: (el) => children.push(el), onEnd: () => {} });
      sp.push(inner);
      if (sp.buf.trim()) throw new Error(`incomplete child element in ${JSON.stringify(text.slice(0, 300))}`);
    }
  }
  return { attrs, children };
}

function bodyXml(attrs, payload) {
  let s = `<body xmlns='${NS_HB}'`;
  let xmpp = false;
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('xmpp:')) xmpp = true;
    s += ` ${k}='${xmlEscape(v)}'`;
  }
  if (xmpp) s += ` xmlns:xmpp='${NS_XB}'`;
  return payload ? `${s}>${payload}</body>` : `${s}/>`;
}

class BoshBenchSession extends ElementWaiter {
  constructor(opts) {
    super(opts);
    const u = new URL(opts.url);
    this.host = u.hostname;
    this.port = Number(u.port) || 80;
    this.path = u.pathname;
    this.domain = opts.domain;
    this.password = opts.password;
    this.resource = opts.resource || 'r';
    this.jid = `${this.user}@${this.domain}/${this.resource}`;
    this.onProblem = opts.onProblem || (() => {});
    this.wait = opts.wait || 10;
    this.stats = opts.stats || newBoshStats();
    this.agent = null;
    this.sid = null;
    this.rid = 0;          // next rid to send
    this.procRid = 0;      // next rid whose response is processed
    this.answered = new Map(); // rid -> parsed body, waiting for an earlier rid
    this.maxRequests = 2;
    this.outstanding = 0;  // requests without a response yet
    this.inflight = new Set(); // { req, timer } of the requests on the wire
    this.queue = [];       // { payload, attrs? } not sent yet
    this.polling = false;
    this.pumpScheduled = false;
    this.closing = false;
    this.closed = false;
    this.terminated = null;
    this.idleWaiter = null;
    this.conns = 0;
    this.failed = false;
  }

  // ---- HTTP ------------------------------------------------------------------------------
  _ensureAgent() {
    if (this.agent) return;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2, maxFreeSockets: 2, scheduling: 'lifo' });
    const create = agent.createConnection;
    agent.createConnection = (...args) => {
      const sock = create.apply(agent, args);
      this.conns += 1;
      this.stats.connections += 1;
      sock.setNoDelay(true);
      sock.once('end', () => { if (!this.closing && !this.closed) this.stats.serverClosed += 1; });
      return sock;
    };
    this.agent = agent;
  }

  _httpError(kind, detail) {
    const st = this.stats;
    st.httpErrors += 1;
    st.httpErrorKinds[kind] = (st.httpErrorKinds[kind] || 0) + 1;
    if (st.errorSamples.length < 6) st.errorSamples.push(`${kind}: ${String(detail).slice(0, 300)}`);
  }

  /** Post `xml` (rid `rid`); attempt / kaAttempt count the retries of this rid. */
  _post(rid, xml, attempt = 0, kaAttempt = 0) {
    const buf = Buffer.from(xml, 'utf8');
    this.stats.requests += 1;
    let done = false;
    const entry = { req: null, timer: null };
    const finish = () => {
      done = true;
      clearTimeout(entry.timer);
      this.inflight.delete(entry);
    };
    const req = http.request({
      agent: this.agent, host: this.host, port: this.port, path: this.path, method: 'POST',
      headers: { 'Content-Type': CONTENT_TYPE, 'Content-Length': buf.length },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        if (done) return;
        finish();
        this._onResponse(rid, res.statusCode, text);
      });
      res.on('error', (e) => fail(e));
    });
    const fail = (e) => {
      if (done) return;
      finish();
      this._onFailure(rid, xml, attempt, kaAttempt, e, req.reusedSocket);
    };
    req.on('error', fail);
    entry.req = req;
    // A held request is answered within `wait`: allow generous slack before calling it lost.
    entry.timer = setTimeout(() => req.destroy(new Error(`no response within ${this.wait + 20} s`)), (this.wait + 20) * 1000);
    this.inflight.add(entry);
    req.end(buf);
  }

  _onFailure(rid, xml, attempt, kaAttempt, e, reused) {
    if (this.closed) return;
    const what = `${e.code || ''} ${e.message}`.trim();
    if (reused && kaAttempt < 3 && /ECONNRESET|EPIPE|socket hang up/i.test(what)) {
      this.stats.kaRetries += 1;
      this._post(rid, xml, attempt, kaAttempt + 1);
      return;
    }
    this._httpError('network', `${this.user}: rid ${rid}: ${what}`);
    if (attempt < 2 && !this.closing) {
      this.stats.retries += 1;
      setTimeout(() => { if (!this.closed) this._post(rid, xml, attempt + 1, 0); }, 250);
      return;
    }
    this.outstanding -= 1;
    if (this.closing) { this._checkIdle(); return; }
    this._dead('http-network', `${this.user}: rid ${rid} failed 3 times: ${what}`);
  }

  _onResponse(rid, status, text) {
    this.outstanding -= 1;
    this.stats.responses += 1;
    if (this.closed) return;
    if (status !== 200) {
      this._httpError(`HTTP ${status}`, `${this.user}: rid ${rid}: HTTP ${status} ${text.slice(0, 200)}`);
      if (this.closing) { this._checkIdle(); return; }
      this._dead(`http-${status}`, `${this.user}: rid ${rid}: HTTP ${status} ${text.slice(0, 300)}`);
      return;
    }
    let parsed;
    try {
      parsed = parseBody(text);
    } catch (e) {
      if (this.closing) { this._checkIdle(); return; }
      this._dead('parse', `${this.user}: rid ${rid}: ${e.message}`);
      return;
    }
    this.answered.set(rid, parsed);
    while (this.answered.has(this.procRid) && !this.closed) {
      const p = this.answered.get(this.procRid);
      this.answered.delete(this.procRid);
      this.procRid += 1;
      this._process(p);
      if (this.terminated) break;
    }
    this._checkIdle();
    if (!this.closed && !this.terminated) this._schedulePump();
  }

  _process({ attrs, children }) {
    const st = this.stats;
    if (!this.sid) {
      if (!attrs.sid || attrs.type) {
        this._dead(attrs.type === 'terminate' ? `terminate:${attrs.condition || 'none'}` : 'creation',
          `${this.user}: session creation answered ${JSON.stringify(attrs)} ${children.join('').slice(0, 300)}`);
        return;
      }
      this.sid = attrs.sid;
      this.maxRequests = Math.max(1, Math.min(2, Number(attrs.requests) || 2));
      this.polling = true;
      st.sessions += 1;
    }
    if (attrs.type === 'terminate') {
      const cond = attrs.condition || 'none';
      this.terminated = cond;
      if (this.closing) return;
      st.terminates[cond] = (st.terminates[cond] || 0) + 1;
      this._dead(`terminate:${cond}`, `${this.user}: <body type='terminate' condition='${cond}'>${children.join('').slice(0, 300)}`);
      return;
    }
    if (attrs.type === 'error') {
      if (this.closing) return;
      this._dead('bosh-error', `${this.user}: <body type='error'> (recoverable binding error) ${children.join('').slice(0, 300)}`);
      return;
    }
    if (children.length === 0) {
      st.emptyResponses += 1;
      return;
    }
    st.stanzaResponses += 1;
    if (children.length > 1) st.multiStanzaResponses += 1;
    st.stanzas += children.length;
    for (const el of children) {
      if (el.startsWith('<stream:error')) this.onProblem('stream-error', `${this.user}: ${el}`);
      this._deliver(el);
    }
  }

  _sendRequest(attrs, payload) {
    const rid = this.rid++;
    const a = { rid: String(rid) };
    if (this.sid) a.sid = this.sid;
    Object.assign(a, attrs);
    this.outstanding += 1;
    if (this.outstanding > this.stats.maxOutstanding) this.stats.maxOutstanding = this.outstanding;
    this._post(rid, bodyXml(a, payload));
  }

  _schedulePump() {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // After the microtasks of the response (the login steps queue their next stanza there), so
    // that the next request carries it instead of being an empty poll followed by a second one.
    setImmediate(() => { this.pumpScheduled = false; this._pump(); });
  }

  _pump() {
    if (this.closed || this.terminated || !this.sid) return;
    while (this.outstanding < this.maxRequests) {
      if (this.queue.length) {
        if (this.queue[0].attrs) {
          const item = this.queue.shift();
          this._sendRequest(item.attrs, item.payload);
          continue;
        }
        let payload = '';
        let n = 0;
        while (this.queue.length && !this.queue[0].attrs) { payload += this.queue.shift().payload; n += 1; }
        if (n > 1) this.stats.batchedRequests += 1;
        this._sendRequest({}, payload);
      } else if (this.polling && this.outstanding === 0) {
        this._sendRequest({}, '');
      } else {
        break;
      }
    }
  }

  _checkIdle() {
    if (this.outstanding <= 0 && (this.queue.length === 0 || this.closed) && this.idleWaiter) {
      const w = this.idleWaiter;
      this.idleWaiter = null;
      w();
    }
  }

  // ---- XMPP --------------------------------------------------------------------------------
  /** The session is over (error or terminate): report it unless we are closing, drop everything. */
  _dead(kind, detail) {
    if (!this.closing) this.onProblem(kind, detail);
    this.terminated = this.terminated || kind;
    this._fail(new Error(detail));
    this._shutdown();
  }

  _shutdown() {
    if (this.closed) return;
    this.closed = true;
    this.online = false;
    this.queue.length = 0;
    for (const e of this.inflight) clearTimeout(e.timer);
    this.inflight.clear();
    if (this.agent) this.agent.destroy();
    if (this.idleWaiter) { const w = this.idleWaiter; this.idleWaiter = null; w(); }
  }

  /** Queue `payload` (optionally with body attributes: its own request) and pump. */
  _queue(payload, attrs) {
    this.queue.push(attrs ? { payload, attrs } : { payload });
    this._pump();
  }

  send(s) {
    if (this.closed || this.terminated || this.closing) return false;
    this._queue(s);
    return true;
  }

  /** Session creation, SASL PLAIN, restart, bind (+ session if mandatory), optional presence. */
  async login({ presence = true } = {}) {
    this._ensureAgent();
    this.rid = 2 ** 20 + crypto.randomInt(2 ** 40);
    this.procRid = this.rid;
    this._sendRequest({
      to: this.domain, 'xml:lang': 'en', ver: '1.11', wait: String(this.wait), hold: '1',
      content: CONTENT_TYPE, 'xmpp:version': '1.0',
    }, '');
    const f1 = await this._next('stream features');
    if (!/^<(stream:)?features/.test(f1)) throw new Error(`${this.user}: expected features, got ${f1.slice(0, 300)}`);
    await this._loginAfterFeatures(f1, {
      presence,
      send: (xml) => this._queue(xml),
      restart: async () => {
        this._queue('', { to: this.domain, 'xml:lang': 'en', 'xmpp:restart': 'true' });
        const f2 = await this._next('stream features after restart');
        if (!/^<(stream:)?features/.test(f2)) throw new Error(`${this.user}: expected features, got ${f2.slice(0, 300)}`);
        return f2;
      },
    });
  }

  /** Logout: unavailable presence in a type='terminate' request; wait (bounded) for every answer. */
  async close(ms = 5000) {
    if (this.closed) return;
    this.closing = true;
    this.online = false;
    this.polling = false;
    if (this.sid && !this.terminated) {
      const idle = new Promise((resolve) => { this.idleWaiter = resolve; });
      this.queue.length = 0;
      this._queue("<presence xmlns='jabber:client' type='unavailable'/>", { type: 'terminate' });
      let timer;
      await Promise.race([idle, new Promise((r) => { timer = setTimeout(r, ms); })]);
      clearTimeout(timer);
    }
    this._shutdown();
  }

  destroy() {
    this.closing = true;
    this._shutdown();
  }
}

module.exports = { BoshBenchSession, newBoshStats, parseBody, bodyXml, NS_HB };
