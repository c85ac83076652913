'use strict';
// Real web XMPP client libraries over BOSH (XEP-0124 + XEP-0206) in Node, plus a minimal raw
// BOSH + XMPP client over node:net. Every wait has a deadline.
//
//   Strophe.js   stropheLogin({ url, domain, username, password, resource, mechanism })
//                -> { conn, jid, inbox, statuses, raw, page, stop(), abandon(), ... }
//                StrophePage: one simulated browser page (its own XMLHttpRequest class and
//                keep-alive connection pool, see xhr.js). Strophe finds `XMLHttpRequest` as a
//                global when it creates a request, so only one page may be alive at a time.
//                stropheAttach({ page, url, jid, sid, rid }) / stropheRestore({ page, url, jid }):
//                a new Strophe.Connection continuing an existing BOSH session (page reload).
//   StanzaJS     stanzaBoshLogin({ url, ... }): `transports: { bosh: url, websocket: false }`.
//                StanzaJS does HTTP with Node's global fetch (undici).
//   raw          RawBoshTransport (HTTP/1.0 + Connection: close per request, or HTTP/1.1
//                keep-alive on a fixed number of sockets) and RawBoshXmpp (session creation,
//                SASL PLAIN, restart, bind, messages, terminate) on top of it.

const net = require('node:net');
const crypto = require('node:crypto');
const { DOMParser } = require('@xmldom/xmldom');
const { createXHRClass } = require('./xhr');
const { Inbox, withTimeout, stanzaClient } = require('./xmpp-ws');

const NS_HB = 'http://jabber.org/protocol/httpbind';
const NS_XB = 'urn:xmpp:xbosh';
const NS_CLIENT = 'jabber:client';
const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_ROSTER = 'jabber:iq:roster';

function escText(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
function escAttr(s) {
  return escText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function tail(s, n = 4000) {
  s = String(s);
  return s.length > n ? `...${s.slice(-n)}` : s;
}

/** Deadline-bounded poll of a synchronous condition. */
async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`timeout: ${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Children elements of a DOM node (skipping text), optionally by local name / namespace. */
function childElements(node, local, ns) {
  const out = [];
  for (let c = node ? node.firstChild : null; c; c = c.nextSibling) {
    if (c.nodeType !== 1) continue;
    if (local && c.localName !== local) continue;
    if (ns && c.namespaceURI !== ns) continue;
    out.push(c);
  }
  return out;
}

function childText(el, local, ns) {
  const c = childElements(el, local, ns)[0];
  return c ? c.textContent : null;
}

// ---------------------------------------------------------------------------
// Strophe.js

let stropheModule = null;
function loadStrophe() {
  if (!stropheModule) {
    // The Node entry installs DOMParser, XMLSerializer, document and WebSocket globals
    // (from @xmldom/xmldom and ws); XMLHttpRequest is ours (per page, see StrophePage).
    stropheModule = require('strophe.js');
    const { Strophe } = stropheModule;
    Strophe.setLogLevel(process.env.XGW_TEST_VERBOSE ? Strophe.LogLevel.DEBUG : Strophe.LogLevel.ERROR);
  }
  return stropheModule;
}

function stropheStatusName(code) {
  const { Strophe } = loadStrophe();
  return Object.keys(Strophe.Status).find((k) => Strophe.Status[k] === code) || String(code);
}

let livePage = null;
// Library sessions not yet logged out or abandoned (Strophe's idle loop and StanzaJS's request
// loop keep running, and the test process alive, until they are).
const liveSessions = new Set();

/** Kill the live page, if any (test clean-up). */
function killLivePage() {
  if (livePage) livePage.kill();
}

/** Test clean-up: stop every Strophe / StanzaJS session still running, without a word. */
function killAllSessions() {
  for (const s of [...liveSessions]) {
    try {
      s.kill();
    } catch (e) {
      process.stderr.write(`xmpp-bosh: clean-up of a session failed: ${e.stack}\n`);
    }
  }
  liveSessions.clear();
  killLivePage();
}

/** One simulated browser page: an XMLHttpRequest class with its own connection pool. */
class StrophePage {
  constructor(name = 'page') {
    loadStrophe();
    if (livePage && !livePage.killed) {
      throw new Error(`StrophePage ${name}: page ${livePage.name} is still alive (Strophe uses the global ` +
        'XMLHttpRequest, so only one page can run at a time; kill() the other first)');
    }
    this.name = name;
    this.XHR = createXHRClass({ name });
    this.killed = false;
    livePage = this;
    globalThis.XMLHttpRequest = this.XHR;
  }

  /** The page goes away (reload/close): every request aborted, every socket closed. */
  kill() {
    if (this.killed) return;
    this.killed = true;
    this.XHR.kill();
    if (livePage === this) livePage = null;
  }

  /** Requests of one BOSH session (by sid; the creation request carries none). */
  requests(sid) {
    return this.XHR.log.filter((e) => e.sid === sid);
  }

  describe(n = 12) {
    const rows = this.XHR.log.slice(-n).map((e) => `  #${e.id} sock=${e.socket} rid=${e.rid} ${e.outcome}` +
      ` ${e.status === null ? '' : e.status} ${e.end ? e.end - e.start : Date.now() - e.start}ms\n` +
      `    > ${tail(e.body, 600)}\n    < ${e.response === null ? '(no response)' : tail(e.response, 600)}` +
      `${e.error ? `\n    ! ${e.error}` : ''}`);
    return `${this.name}: last ${rows.length} of ${this.XHR.log.length} HTTP requests\n${rows.join('\n')}`;
  }
}

/** Max number of simultaneously open requests of `entries` and the sockets they used. */
function overlap(entries) {
  let best = { count: 0, sockets: [] };
  for (const e of entries) {
    const at = e.start;
    const open = entries.filter((x) => x.start <= at && (x.end === null || x.end > at));
    if (open.length > best.count) best = { count: open.length, sockets: [...new Set(open.map((x) => x.socket))] };
  }
  return best;
}

function stropheMechanisms(mechanism) {
  const { Strophe } = loadStrophe();
  const table = { PLAIN: Strophe.SASLPlain, 'SCRAM-SHA-1': Strophe.SASLSHA1, 'SCRAM-SHA-256': Strophe.SASLSHA256 };
  if (!mechanism) return undefined;
  if (!table[mechanism]) throw new Error(`stropheLogin: unknown mechanism ${mechanism}`);
  return [table[mechanism]];
}

/** Wire up recording on a fresh Strophe.Connection. */
function instrumentStrophe(conn, label, page) {
  const { Strophe } = loadStrophe();
  const s = {
    conn,
    page,
    label,
    statuses: [],
    raw: { in: [], out: [] },
    inbox: new Inbox(`Strophe ${label}`),
    presences: new Inbox(`Strophe ${label} presence`),
    statusWaiters: new Set(),
  };
  conn.rawInput = (d) => s.raw.in.push(String(d));
  conn.rawOutput = (d) => s.raw.out.push(String(d));
  s.onStatus = (status, condition, elem) => {
    s.statuses.push({ status, name: stropheStatusName(status), condition: condition || null, at: Date.now(),
      elem: elem ? Strophe.serialize(elem) : null });
    for (const w of [...s.statusWaiters]) w();
  };
  s.statusNames = () => s.statuses.map((x) => (x.condition ? `${x.name}(${x.condition})` : x.name));
  /** Wait for one of `want` statuses (names); reject on one of `fail`. */
  s.waitStatus = (want, fail, ms, what) => new Promise((resolve, reject) => {
    let timer = null;
    const check = () => {
      const hit = s.statuses.find((x) => want.includes(x.name));
      const bad = s.statuses.find((x) => fail.includes(x.name));
      if (!hit && !bad) return;
      s.statusWaiters.delete(check);
      clearTimeout(timer);
      if (bad && (!hit || s.statuses.indexOf(bad) < s.statuses.indexOf(hit))) {
        reject(Object.assign(new Error(`Strophe ${label}: ${what} failed: status ${bad.name}` +
          `${bad.condition ? ` condition=${bad.condition}` : ''} (statuses: ${s.statusNames().join(', ')})`),
        { status: bad.name, condition: bad.condition }));
      } else resolve(hit);
    };
    timer = setTimeout(() => {
      s.statusWaiters.delete(check);
      reject(new Error(`timeout: Strophe ${label}: ${what} not reached within ${ms} ms (statuses: ` +
        `${s.statusNames().join(', ')})\n${page.describe()}`));
    }, ms);
    s.statusWaiters.add(check);
    check();
  });
  /** Handlers for messages and presences (stay registered: return true). */
  s.addHandlers = () => {
    conn.addHandler((el) => { s.inbox.push(el); return true; }, null, 'message');
    conn.addHandler((el) => { s.presences.push(el); return true; }, null, 'presence');
  };
  s.sid = () => conn._proto.sid;
  /** Highest rid sent for the current session. */
  s.lastRid = () => Math.max(...page.requests(conn._proto.sid).map((e) => e.rid));
  s.send = (stanza) => conn.send(stanza);
  s.sendMessage = (to, body, id, type = 'chat') => {
    conn.send(loadStrophe().$msg({ to, type, id }).c('body').t(body));
  };
  /** An IQ round trip; resolves with the result element, rejects with the error stanza. */
  s.iq = (builder, ms = 8000, what = 'iq') => withTimeout(new Promise((resolve, reject) => {
    conn.sendIQ(builder, resolve, (err) => reject(new Error(`Strophe ${label}: ${what} failed: ` +
      `${err ? Strophe.serialize(err) : 'timeout'}`)), ms);
  }), ms + 1000, `Strophe ${label} ${what}\n${page.describe(6)}`);
  s.describe = () => `Strophe ${label} statuses: ${s.statusNames().join(', ')}\n${page.describe()}`;
  /**
   * Graceful logout: unavailable presence + type='terminate'. Resolves when Strophe reports
   * DISCONNECTED; `timedOut` is true if it only got there by its own disconnect timer.
   */
  s.stop = async (ms = 8000) => {
    if (!conn.connected) return { alreadyDisconnected: true };
    const before = s.statuses.length;
    conn.disconnect('logout');
    await withTimeout(until(() => s.statuses.slice(before).some((x) => x.name === 'DISCONNECTED'), ms,
      `Strophe ${label} logout`), ms + 500, `Strophe ${label} logout\n${page.describe()}`);
    const result = {
      timedOut: s.statuses.slice(before).some((x) => x.name === 'CONNTIMEOUT'),
      inFlight: page.XHR.inFlight(),
    };
    liveSessions.delete(s);
    if (s.ownsPage) page.kill();
    return result;
  };
  /** The page dies without a word: no terminate, timers stopped, sockets closed. */
  s.abandon = () => {
    liveSessions.delete(s);
    conn._onIdle = () => {};
    conn.connected = false;
    clearTimeout(conn._idleTimeout);
    conn.connect_callback = null;
    page.kill();
  };
  s.kill = s.abandon;
  liveSessions.add(s);
  return s;
}

/**
 * Log in with Strophe.js over BOSH. `mechanism` registers only that SASL mechanism.
 * Other options: page (a StrophePage; default a new one owned by the session), keepalive
 * (Strophe's sessionStorage caching of jid/sid/rid), wait/hold (Strophe's defaults 60/1).
 */
async function stropheLogin({ url, domain, username, password, resource, mechanism, page, keepalive = false,
  wait, hold, timeoutMs = 10000 }) {
  const { Strophe } = loadStrophe();
  const pg = page || new StrophePage(`Strophe ${username}`);
  const conn = new Strophe.Connection(url, { mechanisms: stropheMechanisms(mechanism), keepalive });
  const s = instrumentStrophe(conn, `${username}@${domain}`, pg);
  s.ownsPage = !page;
  s.addHandlers();
  conn.connect(`${username}@${domain}/${resource}`, password, s.onStatus, wait, hold);
  try {
    await s.waitStatus(['CONNECTED'], ['CONNFAIL', 'AUTHFAIL', 'DISCONNECTED', 'ERROR', 'CONNTIMEOUT'], timeoutMs,
      `login of ${username}@${domain}`);
  } catch (e) {
    e.strophe = s;
    const failed = s.statuses.find((x) => x.name === e.status);
    e.elem = failed ? failed.elem : null;
    // After AUTHFAIL the session is still up (Strophe leaves that to the application): end it
    // properly with a terminate, as a page would.
    if (conn.connected && !conn.disconnecting) {
      conn.disconnect('login failed');
      await s.waitStatus(['DISCONNECTED'], [], 3000, 'disconnect after the failure').catch(() => {});
    }
    e.inFlight = pg.XHR.inFlight();
    e.message += `\n${pg.describe()}`;
    s.abandon();
    throw e;
  }
  s.jid = conn.jid;
  const rawIn = s.raw.in.join('\n');
  const featureBlock = /<(?:stream:)?features[\s\S]*?<\/(?:stream:)?features>/.exec(rawIn);
  s.offeredMechanisms = featureBlock
    ? [...featureBlock[0].matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1]) : [];
  const auth = /<auth\b[^>]*\bmechanism=["']([^"']+)["']/.exec(s.raw.out.join('\n'));
  s.usedMechanism = auth ? auth[1] : null;
  return s;
}

/** A new Strophe.Connection on `page` that attaches to an existing session (jid, sid, rid = next rid). */
function stropheAttach({ page, url, jid, sid, rid, label }) {
  const { Strophe } = loadStrophe();
  const conn = new Strophe.Connection(url, {});
  const s = instrumentStrophe(conn, label || `${jid} (attached)`, page);
  s.addHandlers();
  // Right after construction: the idle loop started by the constructor keeps running only
  // once the connection is connected.
  conn.attach(jid, sid, rid, s.onStatus);
  s.jid = conn.jid;
  return s;
}

/** A new Strophe.Connection with keepalive that restores the session cached in sessionStorage. */
function stropheRestore({ page, url, jid, label }) {
  const { Strophe } = loadStrophe();
  const conn = new Strophe.Connection(url, { keepalive: true });
  const s = instrumentStrophe(conn, label || `${jid} (restored)`, page);
  s.addHandlers();
  conn.restore(jid, s.onStatus);
  s.jid = conn.jid;
  return s;
}

/** A Web Storage (sessionStorage) stand-in for Strophe's keepalive option. */
class MemoryStorage {
  constructor() { this.map = new Map(); }
  get length() { return this.map.size; }
  key(i) { return [...this.map.keys()][i] ?? null; }
  getItem(k) { return this.map.has(String(k)) ? this.map.get(String(k)) : null; }
  setItem(k, v) { this.map.set(String(k), String(v)); }
  removeItem(k) { this.map.delete(String(k)); }
  clear() { this.map.clear(); }
}

// ---------------------------------------------------------------------------
// StanzaJS over BOSH

/**
 * Log in with StanzaJS over BOSH. `mechanism` restricts the SASL factory to that mechanism.
 * Returns { client, jid, offeredMechanisms, inbox (messages), streamErrors, raw, stop() }.
 */
async function stanzaBoshLogin({ url, domain, username, password, resource, mechanism, timeoutMs = 10000 }) {
  const { client, offered } = stanzaClient({ domain, username, password, resource, mechanism, transports: { bosh: url, websocket: false } });
  const label = `${username}@${domain}`;
  const inbox = new Inbox(`StanzaJS/BOSH ${label}`);
  const streamErrors = [];
  const terminates = [];
  const transportErrors = [];
  const raw = { incoming: [], outgoing: [] };
  // The transport ends itself with the fetch error when a request fails for good: record it.
  const BoshTransport = client.transports.bosh;
  client.transports.bosh = class RecordingBosh extends BoshTransport {
    end(err, ...rest) {
      if (err) transportErrors.push(err && err.message ? err.message : String(err));
      return super.end(err, ...rest);
    }
  };
  client.on('message', (m) => inbox.push(m));
  client.on('stream:error', (e) => streamErrors.push(e));
  client.on('bosh:terminate', (b) => terminates.push(b));
  client.on('raw:incoming', (d) => raw.incoming.push(String(d)));
  client.on('raw:outgoing', (d) => raw.outgoing.push(String(d)));
  const disconnected = new Promise((resolve) => client.once('disconnected', resolve));
  const describe = (n = 8) => `StanzaJS/BOSH ${label}: last HTTP bodies\n` +
    `${raw.outgoing.slice(-n).map((d) => `  > ${tail(d, 600)}`).join('\n')}\n` +
    `${raw.incoming.slice(-n).map((d) => `  < ${tail(d, 600)}`).join('\n')}` +
    `${terminates.length ? `\n  terminate: ${JSON.stringify(terminates)}` : ''}` +
    `${transportErrors.length ? `\n  transport errors: ${transportErrors.join('; ')}` : ''}`;
  const started = new Promise((resolve, reject) => {
    client.once('session:started', resolve);
    client.once('auth:failed', () => reject(new Error(`StanzaJS: authentication failed for ${label}`)));
    client.once('disconnected', () => reject(Object.assign(
      new Error(`StanzaJS: disconnected before session start (${label})` +
        (streamErrors.length ? `; stream error ${JSON.stringify(streamErrors)}` : '') +
        (terminates.length ? `; BOSH terminate ${JSON.stringify(terminates)}` : '')),
      { streamErrors, terminates },
    )));
  });
  client.connect();
  try {
    await withTimeout(started, timeoutMs, `StanzaJS/BOSH login of ${label}`);
  } catch (e) {
    client.disconnect();
    await withTimeout(disconnected, 3000, 'StanzaJS disconnect').catch(() => {});
    e.message += `\n${describe()}`;
    throw e;
  }
  let streamEnded = false;
  client.on('stream:end', () => { streamEnded = true; });
  /** HTTP requests still waiting for an answer. */
  const activeRequests = () => (client.transport && client.transport.channels
    ? client.transport.channels.filter((c) => c.active).map((c) => c.rid) : []);
  const stop = async (ms = 8000) => {
    client.disconnect();
    await withTimeout(disconnected, ms, `StanzaJS/BOSH logout of ${label}\n${describe()}`);
    liveSessions.delete(session);
  };
  // Stop at once: no terminate, no retries of failed requests (a held fetch cannot be
  // aborted: StanzaJS uses no AbortController; it ends when the server answers or goes away).
  const kill = () => {
    liveSessions.delete(session);
    const tr = client.transport;
    if (tr) {
      for (const c of tr.channels || []) c.maxRetries = 0;
      tr.isEnded = true;
      clearTimeout(tr.idleTimeout);
    }
    client.sessionTerminating = true;
    client.config.autoReconnect = false;
  };
  const session = {
    client, jid: client.jid, sid: () => client.transport && client.transport.sid,
    offeredMechanisms: offered.mechanisms, inbox, streamErrors, terminates, transportErrors, raw,
    disconnected, streamEnded: () => streamEnded, activeRequests, describe, stop, kill,
  };
  liveSessions.add(session);
  return session;
}

// ---------------------------------------------------------------------------
// Raw BOSH over node:net

let rawSocketSeq = 0;

/** Parse one HTTP response from the start of `buf`. Returns null if incomplete. */
function parseHttpResponse(buf, { eof = false } = {}) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buf.subarray(0, headEnd).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new Error(`bad HTTP status line ${JSON.stringify(statusLine)}`);
  const headers = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i <= 0) throw new Error(`bad HTTP header line ${JSON.stringify(l)}`);
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  const start = headEnd + 4;
  const res = {
    version: m[1], status: Number(m[2]), reason: m[3] || '', headers, head,
    contentLength: headers['content-length'] === undefined ? null : Number(headers['content-length']),
    chunked: /(^|,)\s*chunked\s*$/i.test(headers['transfer-encoding'] || ''),
  };
  if (res.chunked) {
    let pos = start;
    const parts = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (buf.length < lineEnd + 2 + size + 2) return null;
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', lineEnd + 2);
        if (trailerEnd < 0) return null;
        res.bodyBytes = Buffer.concat(parts);
        res.consumed = trailerEnd + 2;
        break;
      }
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
  } else if (res.contentLength !== null) {
    if (buf.length < start + res.contentLength) return null;
    res.bodyBytes = buf.subarray(start, start + res.contentLength);
    res.consumed = start + res.contentLength;
  } else {
    if (!eof) return null; // read to close
    res.bodyBytes = buf.subarray(start);
    res.consumed = buf.length;
  }
  res.body = res.bodyBytes.toString('utf8');
  return res;
}

/**
 * Raw HTTP transport for BOSH.
 *   mode '1.0': a new TCP connection per request, `POST ... HTTP/1.0` + `Connection: close`;
 *               the server must close it after the response.
 *   mode '1.1': HTTP/1.1 keep-alive on at most `sockets` persistent connections, one request
 *               at a time on each (no pipelining).
 * Every exchange is recorded in `log` (request, response head/body, socket id, timing).
 */
class RawBoshTransport {
  constructor({ host = '127.0.0.1', port, path = '/http-bind', mode = '1.1', sockets = 2, timeoutMs = 30000 }) {
    this.host = host;
    this.port = port;
    this.path = path;
    this.mode = mode;
    this.maxSockets = sockets;
    this.timeoutMs = timeoutMs;
    this.log = [];
    this.sockets = []; // persistent (1.1): { id, sock, busy, closed, closedBy, served }
    this.waiters = [];
    this.closedByUs = false;
  }

  buildRequest(body) {
    const data = Buffer.from(body, 'utf8');
    const head = `POST ${this.path} HTTP/${this.mode}\r\nHost: ${this.host}:${this.port}\r\n` +
      'Content-Type: text/xml; charset=utf-8\r\n' +
      `Content-Length: ${data.length}\r\n${this.mode === '1.0' ? 'Connection: close\r\n' : ''}\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), data]);
  }

  request(body) {
    const entry = { id: this.log.length + 1, body, start: Date.now(), end: null, socket: null, res: null, error: null };
    this.log.push(entry);
    const p = this.mode === '1.0' ? this._oneShot(entry) : this._keepAlive(entry);
    return p.then((res) => { entry.end = Date.now(); entry.res = res; return res; },
      (e) => { entry.end = Date.now(); entry.error = e.message; throw e; });
  }

  _oneShot(entry) {
    return new Promise((resolve, reject) => {
      const id = ++rawSocketSeq;
      entry.socket = id;
      const sock = net.connect({ host: this.host, port: this.port });
      let buf = Buffer.alloc(0);
      let res = null;
      let done = false;
      const finish = (err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(closeTimer);
        sock.destroy();
        if (err) reject(err); else resolve(res);
      };
      const timer = setTimeout(() => finish(new Error(`HTTP/1.0 request #${entry.id} on socket ${id}: no complete ` +
        `response within ${this.timeoutMs} ms; got ${JSON.stringify(buf.toString('utf8').slice(0, 500))}`)), this.timeoutMs);
      let closeTimer = null;
      sock.on('connect', () => sock.write(this.buildRequest(entry.body)));
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (res) {
          res.extraBytes = (res.extraBytes || 0) + d.length;
          return;
        }
        try {
          res = parseHttpResponse(buf);
        } catch (e) { finish(e); return; }
        if (res) {
          res.socket = id;
          res.serverClosed = false;
          // HTTP/1.0 + Connection: close: the server closes after the response.
          closeTimer = setTimeout(() => { res.serverClosed = false; finish(null); }, 2000);
        }
      });
      sock.on('end', () => {
        if (!res) {
          try {
            res = parseHttpResponse(buf, { eof: true });
          } catch (e) { finish(e); return; }
          if (!res) { finish(new Error(`HTTP/1.0 request #${entry.id}: connection closed before a complete response: ` +
            `${JSON.stringify(buf.toString('utf8').slice(0, 500))}`)); return; }
          res.socket = id;
          res.readToClose = true;
        }
        res.serverClosed = true;
        finish(null);
      });
      sock.on('error', (e) => finish(new Error(`HTTP/1.0 request #${entry.id}: ${e.message}`)));
    });
  }

  async _acquire() {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const idle = this.sockets.find((s) => !s.busy && !s.closed);
      if (idle) { idle.busy = true; return idle; }
      if (this.sockets.filter((s) => !s.closed).length < this.maxSockets) {
        const s = await this._open();
        s.busy = true;
        return s;
      }
      if (Date.now() > deadline) throw new Error(`no free keep-alive socket within ${this.timeoutMs} ms`);
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }

  _release(s) {
    s.busy = false;
    const w = this.waiters.splice(0);
    for (const r of w) r();
  }

  _open() {
    return new Promise((resolve, reject) => {
      const s = { id: ++rawSocketSeq, busy: false, closed: false, closedBy: null, served: 0, buf: Buffer.alloc(0), pending: null };
      s.sock = net.connect({ host: this.host, port: this.port });
      s.sock.once('connect', () => { this.sockets.push(s); resolve(s); });
      s.sock.on('data', (d) => {
        s.buf = Buffer.concat([s.buf, d]);
        this._drain(s);
      });
      s.sock.on('end', () => { if (!s.closed) { s.closed = true; s.closedBy = this.closedByUs ? 'client' : 'server'; } this._fail(s, 'server closed the connection'); });
      s.sock.on('close', () => { if (!s.closed) { s.closed = true; s.closedBy = this.closedByUs ? 'client' : 'server'; } this._fail(s, 'connection closed'); });
      s.sock.on('error', (e) => { s.error = e.message; if (!this.sockets.includes(s)) reject(e); this._fail(s, e.message); });
    });
  }

  _drain(s) {
    if (!s.pending) {
      if (s.buf.length) s.unexpected = (s.unexpected || '') + s.buf.toString('utf8');
      s.buf = Buffer.alloc(0);
      return;
    }
    let res;
    try {
      res = parseHttpResponse(s.buf);
    } catch (e) { this._fail(s, e.message); return; }
    if (!res) return;
    s.buf = s.buf.subarray(res.consumed);
    res.socket = s.id;
    s.served += 1;
    const p = s.pending;
    s.pending = null;
    clearTimeout(p.timer);
    this._release(s);
    p.resolve(res);
  }

  _fail(s, why) {
    if (!s.pending) return;
    const p = s.pending;
    s.pending = null;
    clearTimeout(p.timer);
    p.reject(new Error(`keep-alive socket ${s.id}: ${why} while waiting for the response to request #${p.entry.id}; ` +
      `got ${JSON.stringify(s.buf.toString('utf8').slice(0, 500))}`));
  }

  async _keepAlive(entry) {
    const s = await this._acquire();
    entry.socket = s.id;
    return new Promise((resolve, reject) => {
      s.pending = { resolve, reject, entry };
      s.pending.timer = setTimeout(() => this._fail(s, `no response within ${this.timeoutMs} ms`), this.timeoutMs);
      s.sock.write(this.buildRequest(entry.body));
    });
  }

  close() {
    this.closedByUs = true;
    for (const s of this.sockets) s.sock.destroy();
  }
}

function parseBody(text) {
  let failed = null;
  const doc = new DOMParser({ onError: (level, msg) => { if (level !== 'warning') failed = String(msg); } })
    .parseFromString(text, 'text/xml');
  if (failed || !doc || !doc.documentElement) throw new Error(`response is not well-formed XML (${failed}): ${text.slice(0, 300)}`);
  return doc.documentElement;
}

/**
 * A minimal BOSH + XMPP client on RawBoshTransport: keeps one request held at the server
 * (hold=1) and sends on a second one, as browser clients do.
 *   const x = new RawBoshXmpp({ transport, domain });
 *   await x.login({ username, password, resource });   // PLAIN, restart, bind
 *   x.sendMessage(to, body, id); await x.inbox.take(pred); await x.logout();
 * Every response is checked (status 200, Content-Length framing, <body/> in the httpbind
 * namespace); `problems` lists what was wrong.
 */
class RawBoshXmpp {
  constructor({ transport, domain, wait = 10, hold = 1 }) {
    this.t = transport;
    this.domain = domain;
    this.wait = wait;
    this.hold = hold;
    this.rid = 2 ** 20 + crypto.randomInt(2 ** 32);
    this.sid = null;
    this.requests = 2;
    this.outstanding = 0;
    this.queue = [];
    this.polling = false;
    this.inbox = new Inbox(`raw BOSH ${domain}`);
    this.problems = [];
    this.exchanges = [];
    this.terminated = null;
    this.errors = [];
  }

  _body(attrs, payload = '') {
    const a = { rid: String(attrs.rid), xmlns: NS_HB, ...attrs };
    if (Object.keys(a).some((k) => k.startsWith('xmpp:'))) a['xmlns:xmpp'] = NS_XB;
    const list = Object.entries(a).map(([k, v]) => ` ${k}='${escAttr(v)}'`).join('');
    return payload ? `<body${list}>${payload}</body>` : `<body${list}/>`;
  }

  _check(res, reqBody) {
    const say = (m) => this.problems.push(`${m}\n  request: ${tail(reqBody, 400)}\n  response: ${res.head}\n\n${tail(res.body, 400)}`);
    if (res.status !== 200) say(`HTTP status ${res.status}`);
    if (res.contentLength === null) say('no Content-Length');
    else if (res.contentLength !== res.bodyBytes.length) say(`Content-Length ${res.contentLength} != ${res.bodyBytes.length} body bytes`);
    if (res.chunked) say('chunked transfer coding');
    if (this.t.mode === '1.0') {
      if (res.chunked) say('chunked transfer coding in a response to HTTP/1.0');
      if (!res.serverClosed) say('HTTP/1.0 request with Connection: close, but the server kept the connection open');
      if (res.extraBytes) say(`${res.extraBytes} bytes after the response`);
    }
    let body = null;
    try {
      body = parseBody(res.body);
    } catch (e) {
      say(e.message);
      return null;
    }
    if (body.localName !== 'body' || body.namespaceURI !== NS_HB) say(`root {${body.namespaceURI}}${body.localName}`);
    return body;
  }

  async _exchange(attrs, payload) {
    const rid = this.rid++;
    const reqBody = this._body({ rid, ...(this.sid ? { sid: this.sid } : {}), ...attrs }, payload);
    const x = { rid, req: reqBody, res: null };
    this.exchanges.push(x);
    this.outstanding += 1;
    let res;
    try {
      res = await this.t.request(reqBody);
    } finally {
      this.outstanding -= 1;
    }
    x.res = res;
    const body = this._check(res, reqBody);
    if (body) {
      if (body.getAttribute('type') === 'terminate') {
        this.terminated = { condition: body.getAttribute('condition') || null, rid, body: res.body };
        this.polling = false;
      }
      for (const el of childElements(body)) this.inbox.push(el);
    }
    return { res, body };
  }

  _pump() {
    while (!this.terminated) {
      if (this.queue.length && this.outstanding < this.requests) {
        const item = this.queue.shift();
        this._run(item);
        continue;
      }
      if (this.polling && !this.queue.length && this.outstanding === 0) {
        this._run({ attrs: {}, payload: '' });
        continue;
      }
      break;
    }
  }

  _run(item) {
    const p = this._exchange(item.attrs, item.payload);
    p.then((r) => { if (item.resolve) item.resolve(r); this._pump(); },
      (e) => { this.errors.push(e); if (item.reject) item.reject(e); });
  }

  /** Queue a request (its payload may be empty); resolves with its response. */
  send(payload = '', attrs = {}) {
    return new Promise((resolve, reject) => {
      this.queue.push({ payload, attrs, resolve, reject });
      this._pump();
    });
  }

  async create() {
    const { body } = await this._exchange({
      to: this.domain, 'xml:lang': 'en', wait: String(this.wait), hold: String(this.hold), ver: '1.6',
      'xmpp:version': '1.0', content: 'text/xml; charset=utf-8',
    }, '');
    if (!body || body.getAttribute('type') === 'terminate') {
      throw new Error(`session creation refused: ${this.exchanges[0].res && this.exchanges[0].res.body}`);
    }
    this.sid = body.getAttribute('sid');
    this.creation = body;
    if (!this.sid) throw new Error(`no sid in the creation response: ${this.exchanges[0].res.body}`);
    this.requests = Number(body.getAttribute('requests') || 2);
    this.polling = true;
    this._pump();
    return body;
  }

  take(local, ns, ms, what) {
    return this.inbox.take((el) => el.localName === local && (!ns || el.namespaceURI === ns), ms, what || local);
  }

  async login({ username, password, resource, timeoutMs = 10000 }) {
    await this.create();
    const f1 = await this.take('features', NS_STREAM, timeoutMs, 'stream features');
    const mechs = childElements(childElements(f1, 'mechanisms', NS_SASL)[0], 'mechanism').map((m) => m.textContent);
    this.offeredMechanisms = mechs;
    if (!mechs.includes('PLAIN')) throw new Error(`PLAIN not offered: ${mechs}`);
    const cred = Buffer.from(`\0${username}\0${password}`, 'utf8').toString('base64');
    this.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${cred}</auth>`);
    const outcome = await this.inbox.take((el) => el.namespaceURI === NS_SASL && ['success', 'failure'].includes(el.localName),
      timeoutMs, 'SASL outcome');
    if (outcome.localName !== 'success') throw new Error(`SASL PLAIN failed: ${outcome.toString()}`);
    this.send('', { to: this.domain, 'xml:lang': 'en', 'xmpp:restart': 'true' });
    const f2 = await this.take('features', NS_STREAM, timeoutMs, 'stream features after restart');
    if (!childElements(f2, 'bind', NS_BIND).length) throw new Error(`no bind feature: ${f2.toString()}`);
    this.send(`<iq xmlns='${NS_CLIENT}' type='set' id='bind1'><bind xmlns='${NS_BIND}'><resource>${escText(resource)}</resource></bind></iq>`);
    const iq = await this.inbox.take((el) => el.localName === 'iq' && el.getAttribute('id') === 'bind1', timeoutMs, 'bind result');
    if (iq.getAttribute('type') !== 'result') throw new Error(`bind failed: ${iq.toString()}`);
    this.jid = childText(childElements(iq, 'bind', NS_BIND)[0], 'jid', NS_BIND);
    return this.jid;
  }

  sendMessage(to, body, id, type = 'chat') {
    return this.send(`<message xmlns='${NS_CLIENT}' to='${escAttr(to)}' type='${type}' id='${escAttr(id)}'>` +
      `<body>${escText(body)}</body></message>`);
  }

  async iq(type, id, inner, ms = 8000) {
    this.send(`<iq xmlns='${NS_CLIENT}' type='${type}' id='${escAttr(id)}'>${inner}</iq>`);
    return this.inbox.take((el) => el.localName === 'iq' && el.getAttribute('id') === id, ms, `iq ${id} result`);
  }

  /** terminate with unavailable presence; resolves with the terminate response once every request is answered. */
  async logout(ms = 8000) {
    this.polling = false;
    const r = await withTimeout(this.send(`<presence xmlns='${NS_CLIENT}' type='unavailable'/>`, { type: 'terminate' }),
      ms, 'raw BOSH terminate response');
    await withTimeout(until(() => this.outstanding === 0, ms, 'all raw BOSH requests answered after terminate'), ms + 500,
      'raw BOSH requests after terminate');
    return r;
  }

  describe(n = 10) {
    return `raw BOSH (HTTP/${this.t.mode}) sid=${this.sid}: last ${Math.min(n, this.exchanges.length)} of ${this.exchanges.length} exchanges\n` +
      this.exchanges.slice(-n).map((x) => `  rid=${x.rid}\n    > ${tail(x.req, 500)}\n    < ${x.res ? `${x.res.status} ` +
        `sock=${x.res.socket} ${tail(x.res.body, 500)}` : '(pending)'}`).join('\n');
  }
}

/** POST one body on a fresh connection (node:http, HTTP/1.1); resolves { status, body }. */
function postOnce(url, body, timeoutMs = 8000) {
  const http = require('node:http');
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST', agent: false,
      headers: { 'Content-Type': 'text/xml; charset=utf-8', Connection: 'close' },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  }), timeoutMs, `POST ${url}`);
}

module.exports = {
  NS_HB, NS_XB, NS_CLIENT, NS_STREAM, NS_SASL, NS_BIND, NS_ROSTER,
  escText, escAttr, childElements, childText, until, tail,
  loadStrophe, StrophePage, killLivePage, killAllSessions, stropheLogin, stropheAttach, stropheRestore, stropheStatusName, MemoryStorage, overlap,
  stanzaBoshLogin,
  parseHttpResponse, RawBoshTransport, RawBoshXmpp, postOnce,
};
