'use strict';
// A raw HTTP/1.x client over node:net for black-box BOSH tests (XEP-0124 + XEP-0206).
//
// The tests control the sockets: a fresh socket per request (default), an explicit keep-alive
// socket (`socket: await client.connect()`), HTTP/1.0, Connection: close, pipelining (write
// several requests before any answer), aborting a socket while its request is held, and the
// exact request bytes (`raw`). Every response is parsed by hand (status line, headers,
// Content-Length / chunked / read-to-close bodies) and kept, so the suite can check rules that
// hold for every BOSH response (see checkResponse) after each test.
//
//   const client = new BoshClient({ port });
//   const res = await client.post("<body xmlns='http://jabber.org/protocol/httpbind' .../>");
//   res.status, res.header('content-type'), res.body, res.parsed (strict XML via ws-raw parseXml)
//
//   const s = new BoshSession(client);            // tracks sid / rid
//   await s.create({ wait: '2' });                 // creation request, s.sid, s.rid, s.attrs
//   const r = await s.req("<message .../>");       // rid = ++s.rid
//   const held = s.req(); ...; await held;         // requests are promises: hold them
//
// Also: boshScenario(options, fn) = fake-server scenario() + a BoshClient on ctx.bosh, with the
// per-response checks applied to every response of the test and the BOSH defaults
// (short wait/inactivity) merged into the gateway config.

const net = require('node:net');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { parseXml, kids } = require('./ws-raw');

const NS_HB = 'http://jabber.org/protocol/httpbind';
const NS_XB = 'urn:xmpp:xbosh';
const NS_ST = 'http://etherx.jabber.org/streams';
const NS_CLIENT = 'jabber:client';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const DEFAULT_CT = 'text/xml; charset=utf-8';

const CONDITIONS = ['bad-request', 'host-gone', 'host-unknown', 'improper-addressing',
  'internal-server-error', 'item-not-found', 'other-request', 'policy-violation',
  'remote-connection-failed', 'remote-stream-error', 'see-other-uri', 'system-shutdown',
  'undefined-condition'];
const CREATION_ONLY = ['sid', 'wait', 'requests', 'ver', 'polling', 'inactivity', 'hold', 'maxpause', 'accept', 'charsets'];

const noop = () => {};

function escAttr(v) {
  return String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** A random initial rid in [2^20, 2^40): large, as clients choose (BOSH-21). */
function randomRid() {
  return 2 ** 20 + crypto.randomInt(2 ** 40 - 2 ** 20);
}

/** `<body .../>` text. attrs: name -> value (null/undefined: left out). An `xmpp:` attribute
 *  declares xmlns:xmpp unless attrs gives it. */
function bodyXml(attrs = {}, payload = '') {
  const a = { ...attrs };
  if (Object.entries(a).some(([k, v]) => k.startsWith('xmpp:') && v !== null && v !== undefined) && a['xmlns:xmpp'] === undefined) a['xmlns:xmpp'] = NS_XB;
  if (a.xmlns === undefined) a.xmlns = NS_HB;
  const list = Object.entries(a).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => ` ${k}='${escAttr(v)}'`).join('');
  return payload ? `<body${list}>${payload}</body>` : `<body${list}/>`;
}

/** Canonical string of a parsed element (namespace, local name, attributes by expanded name,
 *  text and children), for comparing XML that may differ in prefixes, quoting and declarations. */
function canon(el, { ignoreAttrs = [] } = {}) {
  if (typeof el === 'string') return JSON.stringify(el);
  const attrs = el.attrsNs.filter((a) => !ignoreAttrs.includes(a.name))
    .map((a) => `${a.ns || ''}|${a.local}=${JSON.stringify(a.value)}`).sort().join(',');
  const ch = el.children.map((c) => canon(c)).join('');
  return `{${el.ns || ''}}${el.local}[${attrs}](${ch})`;
}

/** Parse an element as S (the upstream) sees it: unprefixed names without xmlns inherit jabber:client. */
function parseUpstream(raw) {
  const el = parseXml(`<wrap xmlns='${NS_CLIENT}' xmlns:stream='${NS_ST}'>${raw}</wrap>`);
  return kids(el)[0];
}

/** True when the element or a descendant uses `prefix` on an element or attribute name. */
function usesPrefix(el, prefix) {
  if (el.prefix === prefix) return true;
  if (el.attrsNs.some((a) => a.name.startsWith(`${prefix}:`))) return true;
  return kids(el).some((c) => usesPrefix(c, prefix));
}

// ---------------------------------------------------------------------------------------
// HTTP connection with an incremental response parser

class HttpConn {
  constructor(sock, client) {
    this.sock = sock;
    this.client = client;
    this.pending = [];      // requests written and not answered yet, in order
    this.buf = Buffer.alloc(0);
    this.responses = [];
    this.closed = false;
    this.closedAt = null;
    this.gotFin = false;
    this.error = null;
    this.waiters = new Set();
    this.id = client ? client.nextConnId++ : 0;
    sock.setNoDelay(true);
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this._parse(); this._notify(); });
    sock.on('end', () => { this.gotFin = true; this._parse(true); this._notify(); });
    sock.on('error', (e) => { this.error = e; });
    sock.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this._parse(true);
      for (const p of this.pending.splice(0)) {
        p.reject(new Error(`bosh-raw: connection #${this.id} closed before the response to ${p.what}` +
          `${this.error ? ` (${this.error.code || this.error.message})` : ''}; unparsed: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`));
      }
      this._notify();
    });
  }

  static open({ port, host = '127.0.0.1', client = null, timeoutMs = 5000 }) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host });
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`bosh-raw: connect to ${host}:${port} timed out`)); }, timeoutMs);
      sock.once('connect', () => { clearTimeout(timer); sock.removeListener('error', onErr); resolve(new HttpConn(sock, client)); });
      const onErr = (e) => { clearTimeout(timer); reject(e); };
      sock.once('error', onErr);
    });
  }

  _notify() { for (const f of [...this.waiters]) f(); }

  /** Write raw bytes (string or Buffer). */
  write(data) {
    if (this.sock.destroyed) return false;
    return this.sock.write(data);
  }

  /** Registers a response slot for a request written (or about to be written) on this socket. */
  expect(method, what, meta) {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    promise.catch(noop);
    this.pending.push({ method, what, meta, resolve, reject, sentAt: Date.now() });
    return promise;
  }

  _parse(eof = false) {
    for (;;) {
      if (!this.pending.length) return;
      const head = this.buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const headText = this.buf.subarray(0, head).toString('latin1');
      const lines = headText.split('\r\n');
      const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
      const p = this.pending[0];
      if (!m) {
        this.pending.shift();
        p.reject(new Error(`bosh-raw: bad status line ${JSON.stringify(lines[0])}`));
        this.buf = Buffer.alloc(0);
        return;
      }
      const headers = {};
      const headerList = [];
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        if (c <= 0) continue;
        const name = l.slice(0, c).trim().toLowerCase();
        const value = l.slice(c + 1).trim();
        headerList.push([name, value]);
        (headers[name] = headers[name] || []).push(value);
      }
      const status = Number(m[2]);
      let offset = head + 4;
      if (status >= 100 && status < 200) { // interim response: skip it
        this.buf = this.buf.subarray(offset);
        continue;
      }
      const te = (headers['transfer-encoding'] || []).join(',').toLowerCase();
      const chunked = te.includes('chunked');
      const clHeader = headers['content-length'];
      const contentLength = clHeader ? Number(clHeader[0]) : null;
      let body;
      if (p.method === 'HEAD' || status === 204 || status === 304) {
        body = Buffer.alloc(0);
      } else if (chunked) {
        const parts = [];
        let pos = offset;
        let done = false;
        for (;;) {
          const le = this.buf.indexOf('\r\n', pos);
          if (le < 0) break;
          const size = parseInt(this.buf.subarray(pos, le).toString('latin1'), 16);
          if (Number.isNaN(size)) { done = true; break; }
          if (size === 0) {
            const end = this.buf.indexOf('\r\n\r\n', le);
            if (end < 0 && this.buf.length < le + 4) break;
            pos = end < 0 ? le + 2 : end + 4;
            done = true;
            break;
          }
          if (this.buf.length < le + 2 + size + 2) break;
          parts.push(this.buf.subarray(le + 2, le + 2 + size));
          pos = le + 2 + size + 2;
        }
        if (!done) return;
        body = Buffer.concat(parts);
        offset = pos;
      } else if (contentLength !== null) {
        if (this.buf.length < offset + contentLength) return;
        body = this.buf.subarray(offset, offset + contentLength);
        offset += contentLength;
      } else {
        if (!eof) return; // read until close
        body = this.buf.subarray(offset);
        offset = this.buf.length;
      }
      const res = new HttpResponse({
        status, httpVersion: m[1], reason: m[3] || '', statusLine: lines[0], headers, headerList,
        rawHead: headText, bodyBytes: Buffer.from(body), chunked, contentLength, conn: this,
        sentAt: p.sentAt, at: Date.now(), what: p.what, meta: p.meta || {}, method: p.method,
      });
      this.buf = this.buf.subarray(offset);
      this.pending.shift();
      this.responses.push(res);
      if (this.client) this.client._record(res);
      p.resolve(res);
    }
  }

  /** Resolves when the server has closed the connection (FIN or close); rejects after ms. */
  waitClosed(ms = 3000) {
    return this._waitUntil(() => (this.closed || this.gotFin ? true : undefined), ms, 'connection close');
  }

  _waitUntil(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = pred();
        if (v !== undefined) { cleanup(); resolve(v); }
      };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`bosh-raw: ${what} not seen on connection #${this.id} within ${ms} ms`)); }, ms);
      const cleanup = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  end() { try { this.sock.end(); } catch { /* gone */ } }
  destroy() { this.sock.destroy(); }
  rst() { try { this.sock.resetAndDestroy(); } catch { this.sock.destroy(); } }
}

class HttpResponse {
  constructor(o) {
    Object.assign(this, o);
    this.elapsed = this.at - this.sentAt;
    const enc = (this.headers['content-encoding'] || []).join(',').toLowerCase().trim();
    this.decodedBytes = this.bodyBytes;
    this.decodeError = null;
    try {
      if (enc === 'gzip' || enc === 'x-gzip') this.decodedBytes = zlib.gunzipSync(this.bodyBytes);
      else if (enc === 'deflate') this.decodedBytes = zlib.inflateSync(this.bodyBytes);
    } catch (e) { this.decodeError = e; }
    this.body = this.decodedBytes.toString('utf8');
    this.parsed = null;
    this.parseError = null;
    if (this.body.length) {
      try { this.parsed = parseXml(this.body, { allowDecl: true }); } catch (e) { this.parseError = e; }
    }
  }

  /** Header value (several headers of one name joined with ', '), or undefined. */
  header(name) {
    const v = this.headers[name.toLowerCase()];
    return v ? v.join(', ') : undefined;
  }

  get type() { return this.parsed ? this.parsed.attrs.type : undefined; }
  get condition() { return this.parsed ? this.parsed.attrs.condition : undefined; }
  /** Child elements of <body/> (parsed). */
  get children() { return this.parsed ? kids(this.parsed) : []; }
  isTerminate(cond) {
    if (!this.parsed || this.parsed.attrs.type !== 'terminate') return false;
    if (cond === undefined) return true;
    return cond === null ? this.parsed.attrs.condition === undefined : this.parsed.attrs.condition === cond;
  }
  /** 200 with a <body/> that has no type and no children. */
  isEmptyBody() {
    return this.status === 200 && !!this.parsed && this.parsed.local === 'body' && this.parsed.ns === NS_HB &&
      this.parsed.attrs.type === undefined && this.children.length === 0;
  }
  describe(max = 600) {
    return `[${this.method} ${this.what}] -> ${this.statusLine} after ${this.elapsed} ms; ` +
      `headers ${JSON.stringify(this.headerList)}; body ${JSON.stringify(this.body.slice(0, max))}`;
  }
}

// ---------------------------------------------------------------------------------------
// Client: requests, bookkeeping and the per-response checks

class BoshClient {
  /**
   * port, host ('127.0.0.1'), path ('/http-bind'),
   * origin: Origin header sent with every request (null: none),
   * expectAcao: the Access-Control-Allow-Origin every POST response must carry ('*';
   *   null: must be absent; undefined: not checked).
   */
  constructor({ port, host = '127.0.0.1', path = '/http-bind', origin = null, expectAcao = '*' } = {}) {
    this.port = port;
    this.host = host;
    this.path = path;
    this.origin = origin;
    this.expectAcao = expectAcao;
    this.conns = new Set();
    this.responses = [];
    this.nextConnId = 1;
  }

  async connect() {
    const c = await HttpConn.open({ port: this.port, host: this.host, client: this });
    this.conns.add(c);
    return c;
  }

  _record(res) { this.responses.push(res); }

  /** The raw request bytes. headers: object; a null value removes a default header. */
  build({ method = 'POST', path = this.path, headers = {}, body = '', version = '1.1', close = false } = {}) {
    const bodyBuf = Buffer.isBuffer(body) ? body : Buffer.from(String(body), 'utf8');
    const h = {
      Host: `${this.host}:${this.port}`,
      ...(method === 'POST' ? { 'Content-Type': DEFAULT_CT } : {}),
      ...(this.origin ? { Origin: this.origin } : {}),
      ...((method === 'POST' || bodyBuf.length) ? { 'Content-Length': String(bodyBuf.length) } : {}),
      ...((close || version === '1.0') ? { Connection: 'close' } : {}),
    };
    for (const [k, v] of Object.entries(headers)) {
      const existing = Object.keys(h).find((x) => x.toLowerCase() === k.toLowerCase());
      if (existing) delete h[existing];
      if (v !== null && v !== undefined) h[k] = v;
    }
    const head = `${method} ${path} HTTP/${version}\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), bodyBuf]);
  }

  /**
   * Send one request and resolve with its HttpResponse.
   *   method ('POST'), path, headers, body (string | Buffer), version ('1.1' | '1.0'),
   *   close (add Connection: close), socket (an HttpConn from connect(); default: a fresh
   *   socket that is ended after the response), raw (exact bytes instead of build()),
   *   meta (what the checks need: session, creation, expectStatus, expectAcao, skipChecks).
   * The returned promise never causes an unhandled rejection if a test drops it.
   */
  request(opts = {}) {
    const p = (async () => {
      const own = !opts.socket;
      const conn = opts.socket || await this.connect();
      const bytes = opts.raw || this.build(opts);
      const what = `${opts.path || this.path} ${JSON.stringify(
        (Buffer.isBuffer(opts.body) ? opts.body.toString('latin1') : String(opts.body || '')).slice(0, 200))}`;
      const rp = conn.expect(opts.method || 'POST', what, opts.meta);
      conn.write(bytes);
      const res = await rp;
      if (own) conn.end();
      return res;
    })();
    p.catch(noop);
    return p;
  }

  post(body, opts = {}) { return this.request({ ...opts, method: 'POST', body }); }

  /** Rules that hold for every POST response on the BOSH path. Returns problem strings. */
  checkResponse(res) {
    const problems = [];
    const meta = res.meta || {};
    if (meta.skipChecks || res.method !== 'POST') return problems;
    const say = (id, msg) => problems.push(`${id}: ${msg}; response ${res.describe(400)}`);
    const session = meta.session || null;
    const legacy = !!(session && session.legacy);
    // status (BOSH-38, BOSH-79, BOSH-80)
    const okStatus = meta.expectStatus ? [].concat(meta.expectStatus) : (legacy ? [200, 400, 403, 404] : [200]);
    if (!okStatus.includes(res.status)) say(legacy ? 'BOSH-80' : 'BOSH-79', `HTTP status ${res.status}, expected ${okStatus.join('/')}`);
    // framing (BOSH-01, BOSH-02)
    if (res.chunked) say('BOSH-02', 'chunked transfer coding');
    if (res.contentLength === null) say('BOSH-02', 'no Content-Length');
    // headers (BOSH-04/05, Cache-Control, CORS BOSH-11)
    const expectCt = (session && session.contentType) || DEFAULT_CT;
    if (res.header('content-type') !== expectCt) say(session && session.contentType !== DEFAULT_CT ? 'BOSH-05' : 'BOSH-04', `Content-Type ${JSON.stringify(res.header('content-type'))}, expected ${JSON.stringify(expectCt)}`);
    if (!/(^|,)\s*no-store\s*(,|$)/i.test(res.header('cache-control') || '')) say('BOSH-HTTP', `Cache-Control ${JSON.stringify(res.header('cache-control'))}, expected no-store`);
    const acao = meta.expectAcao !== undefined ? meta.expectAcao : this.expectAcao;
    if (acao !== undefined) {
      if (acao === null && res.header('access-control-allow-origin') !== undefined) say('BOSH-11', `unexpected Access-Control-Allow-Origin ${res.header('access-control-allow-origin')}`);
      if (acao !== null && res.header('access-control-allow-origin') !== acao) say('BOSH-11', `Access-Control-Allow-Origin ${JSON.stringify(res.header('access-control-allow-origin'))}, expected ${JSON.stringify(acao)}`);
    }
    if (res.status !== 200) return problems; // legacy HTTP errors: body not judged
    // body (BOSH-13 .. BOSH-16)
    if (res.parseError || !res.parsed) { say('BOSH-13', `not a strict, namespace-well-formed XML document: ${res.parseError ? res.parseError.message.slice(0, 200) : 'empty body'}`); return problems; }
    const b = res.parsed;
    if (b.local !== 'body' || b.ns !== NS_HB) say('BOSH-13', `root is {${b.ns}}${b.local}, expected {${NS_HB}}body`);
    if (/<!--|<!DOCTYPE|<!ENTITY/.test(res.body) || res.body.indexOf('<?', 1) >= 0) say('BOSH-14', 'comment, PI, DTD or declaration inside the body');
    for (const c of b.children) {
      if (typeof c === 'string' && /\S/.test(c)) say('BOSH-16', `character data directly in <body/>: ${JSON.stringify(c.slice(0, 60))}`);
    }
    for (const c of kids(b)) {
      if (['message', 'presence', 'iq'].includes(c.local) && c.ns !== NS_CLIENT) say('XEP206-07', `<${c.qname}> in namespace ${c.ns}, expected jabber:client`);
      if (c.ns === NS_HB) say('TD-3', `child <${c.qname}> left in the httpbind namespace`);
      if (c.ns === NS_CLIENT && c.prefix) say('XMPP-15', `prefixed jabber:client element <${c.qname}>`);
    }
    if (usesPrefix(b, 'stream') && b.attrs['xmlns:stream'] !== NS_ST) {
      say('XEP206-06', "the stream prefix is used but xmlns:stream is not declared on <body/>");
    }
    const type = b.attrs.type;
    if (type !== undefined && type !== 'terminate' && type !== 'error') say('BOSH-73', `unknown type='${type}'`);
    if (b.attrs.condition !== undefined) {
      if (type !== 'terminate') say('BOSH-73', `condition='${b.attrs.condition}' without type='terminate'`);
      if (!CONDITIONS.includes(b.attrs.condition)) say('TERM-13', `unknown condition '${b.attrs.condition}'`);
      if (b.attrs.condition === 'undefined-condition' && kids(b).length === 0) say('BOSH-76', 'undefined-condition without application-specific child');
    }
    if (b.attrs.stream !== undefined) say('BOSH-87', "a 'stream' attribute (multi-stream is not supported)");
    if (b.attrs.secure !== undefined || b.attrs.window !== undefined) say('BOSH-36', "obsolete 'secure' or 'window' attribute");
    if (!meta.creation) {
      const extra = CREATION_ONLY.filter((a) => b.attrs[a] !== undefined);
      if (extra.length) say('BOSH-33', `creation-only attributes on a later response: ${extra.join(', ')}`);
    } else if (type !== 'terminate') {
      if (!/^[0-9a-fA-F]{34}$/.test(b.attrs.sid || '')) say('CM-02', `creation response without a 34-hex-digit sid (sid=${JSON.stringify(b.attrs.sid)})`);
    }
    return problems;
  }

  /** Checks every response received so far. */
  check() {
    const out = [];
    for (const r of this.responses) out.push(...this.checkResponse(r));
    return out;
  }

  destroyAll() { for (const c of this.conns) c.destroy(); }
}

// ---------------------------------------------------------------------------------------
// Session helper

class BoshSession {
  constructor(client, { to = 'example.com' } = {}) {
    this.client = client;
    this.to = to;
    this.sid = null;
    this.rid = null;
    this.contentType = DEFAULT_CT;
    this.legacy = false;
    this.attrs = null;       // attributes of the creation response
    this.createResponse = null;
    this.createAttrs = null; // attributes of the creation request
  }

  /**
   * Session creation request. attrs override the defaults (to, rid, ver 1.11, wait 60, hold 1,
   * xml:lang en, xmpp:version 1.0); a null value leaves an attribute out (no ver: a legacy
   * client, BOSH-80). Resolves with the response; sets sid, rid and attrs when it has a sid.
   */
  async create(attrs = {}, payload = '', opts = {}) {
    const a = {
      to: this.to, rid: randomRid(), ver: '1.11', wait: '60', hold: '1', 'xml:lang': 'en', 'xmpp:version': '1.0', ...attrs,
    };
    this.createAttrs = a;
    this.legacy = a.ver === null || a.ver === undefined;
    if (a.content !== null && a.content !== undefined) this.contentType = a.content;
    this.rid = Number(a.rid);
    const res = await this.client.post(bodyXml(a, payload), { ...opts, meta: { session: this, creation: true, ...(opts.meta || {}) } });
    this.createResponse = res;
    if (res.parsed) {
      this.attrs = res.parsed.attrs;
      if (res.parsed.attrs.sid) this.sid = res.parsed.attrs.sid;
    }
    return res;
  }

  /** The XML of a request of this session with rid `rid`. */
  xml(rid, payload = '', attrs = {}) {
    if (!this.sid) throw new Error('BoshSession: no sid (the creation failed or was not made)');
    return bodyXml({ rid: String(rid), sid: this.sid, ...attrs }, payload);
  }

  /** Next request (rid = ++this.rid); resolves with the response. */
  req(payload = '', attrs = {}, opts = {}) {
    this.rid += 1;
    return this.send(this.rid, payload, attrs, opts);
  }

  /** Request with an explicit rid (does not change this.rid). */
  send(rid, payload = '', attrs = {}, opts = {}) {
    return this.client.post(this.xml(rid, payload, attrs), { ...opts, meta: { session: this, ...(opts.meta || {}) } });
  }

  /** Raw body bytes/text posted as a request of this session (for the checks' expectations). */
  post(body, opts = {}) {
    return this.client.post(body, { ...opts, meta: { session: this, ...(opts.meta || {}) } });
  }

  /**
   * Send `payload` (with attrs) as the next request, then keep polling with empty requests until
   * pred(children collected so far) is true or ms pass. Resolves with { responses, children }.
   * Throws on a terminate or error body.
   */
  async exchange(payload, attrs, pred, ms = 6000, optsFn = null) {
    const deadline = Date.now() + ms;
    const responses = [];
    const children = [];
    let first = true;
    for (let i = 0; i < 50; i++) {
      const o = optsFn ? await optsFn() : {};
      const res = await (first ? this.req(payload, attrs, o) : this.req('', {}, o));
      first = false;
      responses.push(res);
      if (res.status !== 200 || !res.parsed || res.parsed.attrs.type) {
        throw new Error(`exchange: unexpected response ${res.describe()}`);
      }
      children.push(...res.children);
      if (pred(children)) return { responses, children };
      if (Date.now() > deadline) break;
    }
    throw new Error(`exchange: condition not met within ${ms} ms; children so far ${JSON.stringify(children.map((c) => c.qname))}; last ${responses.length ? responses[responses.length - 1].describe() : '-'}`);
  }
}

// ---------------------------------------------------------------------------------------
// Scenario

/** Gateway config used by every BOSH scenario unless overridden (short timers, small limits). */
const BOSH_TEST_CONFIG = {
  bosh: { max_wait_s: 2, inactivity_s: 5, polling_s: 1, maxpause_s: 10, max_body_bytes: 8192, allowed_origins: [] },
  upstream: { connect_timeout_s: 2 },
};

function isPlainObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
function deepMerge(base, over) {
  const out = { ...base };
  for (const [k, v] of Object.entries(over || {})) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
  return out;
}

/**
 * fake-server scenario() with a BoshClient: ctx.bosh (client), ctx.session(opts) -> BoshSession,
 * ctx.open(attrs) -> { s, res, conn } (creation + its upstream connection).
 * options: as scenario() plus client (BoshClient options) and noDefaults (skip BOSH_TEST_CONFIG).
 * After fn, every response is checked (checkResponse) and every socket closed.
 */
async function boshScenario(options, fn) {
  const { scenario } = require('./fake-server');
  const o = { ...(options || {}) };
  o.config = o.noDefaults ? (o.config || {}) : deepMerge(BOSH_TEST_CONFIG, o.config || {});
  return scenario(o, async (ctx) => {
    const client = new BoshClient({ port: ctx.gw.port, host: ctx.gw.host, ...(o.client || {}) });
    ctx.bosh = client;
    ctx.session = (sopts) => new BoshSession(client, sopts);
    ctx.open = async (attrs = {}, payload = '', opts = {}) => {
      const before = ctx.fake ? ctx.fake.connections.length : 0;
      const s = new BoshSession(client);
      const res = await s.create(attrs, payload, opts);
      if (!s.sid) throw new Error(`open: creation failed: ${res.describe()}`);
      const conn = ctx.fake ? await ctx.fake.waitForConnection(3000, before + 1) : null;
      return { s, res, conn };
    };
    let err = null;
    try { await fn(ctx); } catch (e) { err = e; }
    const problems = client.check();
    client.destroyAll();
    if (err) {
      if (problems.length) err.message += `\nper-response checks also failed:\n  ${problems.join('\n  ')}`;
      throw err;
    }
    if (problems.length) throw new Error(`per-response checks failed:\n  ${problems.join('\n  ')}`);
  });
}

// ---------------------------------------------------------------------------------------
// Assertion helpers for the conformance tests

const assert = require('node:assert/strict');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** HTTP 200 + <body type='terminate'/> with condition `cond` (null: no condition attribute). */
function assertT(res, cond, label = '') {
  const want = cond === null ? 'T()' : `T(${cond})`;
  assert.ok(res.status === 200 && res.parsed && res.parsed.local === 'body' && res.parsed.attrs.type === 'terminate' &&
    (cond === null ? res.parsed.attrs.condition === undefined : res.parsed.attrs.condition === cond),
  `${label}: expected ${want} with HTTP 200, got ${res.describe()}`);
  return res;
}

/** HTTP 200 + an empty <body/> with no type. */
function assertEmpty(res, label = '') {
  assert.ok(res.isEmptyBody(), `${label}: expected an empty 200 <body/>, got ${res.describe()}`);
  return res;
}

/** HTTP 200 + a body without type (a normal response, maybe with payloads). */
function assertOk(res, label = '') {
  assert.ok(res.status === 200 && res.parsed && res.parsed.local === 'body' && res.parsed.ns === NS_HB && res.parsed.attrs.type === undefined,
    `${label}: expected a normal 200 <body/>, got ${res.describe()}`);
  return res;
}

/** 'pending' if p has not settled after ms, else 'settled'. */
async function stillPending(p, ms) {
  let timer;
  const r = await Promise.race([
    p.then(() => 'settled', () => 'settled'),
    new Promise((res) => { timer = setTimeout(() => res('pending'), ms); }),
  ]);
  clearTimeout(timer);
  return r === 'pending';
}

/** Element children with local name (and namespace). */
function childrenNamed(res, local, ns) {
  return res.children.filter((c) => c.local === local && (ns === undefined || c.ns === ns));
}

/** The ids of top-level stanzas in a response, in order. */
function stanzaIds(res) {
  return res.children.filter((c) => ['message', 'presence', 'iq'].includes(c.local)).map((c) => c.attrs.id);
}

/**
 * SASL PLAIN, restart and bind through the fake server's default answers.
 * Returns { success, features, bound } (each an array of children).
 */
async function login(s, { restartAttrs, optsFn = null } = {}) {
  const a = await s.exchange(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>AHVzZXIAcGFzcw==</auth>`, {},
    (ch) => ch.some((c) => c.local === 'success' && c.ns === NS_SASL), 6000, optsFn);
  const f = await s.exchange('', restartAttrs || { 'xmpp:restart': 'true', to: s.to, 'xml:lang': 'en' },
    (ch) => ch.some((c) => c.local === 'features' && c.ns === NS_ST && kids(c, 'bind', NS_BIND).length), 6000, optsFn);
  const b = await s.exchange(`<iq xmlns='${NS_CLIENT}' type='set' id='bind_1'><bind xmlns='${NS_BIND}'><resource>bosh</resource></bind></iq>`, {},
    (ch) => ch.some((c) => c.local === 'iq' && c.attrs.id === 'bind_1' && c.attrs.type === 'result'), 6000, optsFn);
  return { success: a.children, features: f.children, bound: b.children };
}

let markerSeq = 0;
/** A fresh id for marker stanzas. */
function mark(prefix = 'm') { markerSeq += 1; return `${prefix}-${process.pid}-${markerSeq}`; }

/**
 * Prove that a request's payload was NOT forwarded: after the offending request, either the
 * session is over (S sees </stream:stream> or the TCP close) or a later barrier presence on the
 * same session reaches S; in both cases `pattern` must not be in what S received.
 * rid: the rid to use for the barrier (default: s.rid + 1 without changing s.rid).
 */
async function assertNotForwarded(s, conn, pattern, label, { rid } = {}) {
  const id = mark('barrier');
  const ended = () => conn.log.includes('</stream:stream>') || conn.isClosed;
  if (!ended()) {
    const r = rid !== undefined ? rid : s.rid + 1;
    s.send(r, `<presence xmlns='${NS_CLIENT}' id='${id}'/>`).catch(noop);
    await conn._waitUntil(() => (conn.log.includes(id) || ended() ? true : undefined), 4000, `barrier ${id} or stream end`)
      .catch((e) => { throw new Error(`${label}: neither the barrier reached S nor the session ended: ${e.message}`); });
  }
  const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
  // After STARTTLS only the encrypted stream carries client payloads; the plaintext part holds
  // the gateway's own <starttls/>.
  const log = conn.tls ? conn.postTlsLog : conn.log;
  assert.ok(!re.test(log), `${label}: S received the payload: ${JSON.stringify(log.slice(-600))}`);
}

/**
 * Probe once per process whether the gateway binary serves BOSH at all (a creation request on
 * POST /http-bind gets a <body/> answer). Used to skip the suite while BOSH is not built yet,
 * unless XGW_BOSH_REQUIRED is set.
 */
let probeResult = null;
async function probeBosh() {
  if (probeResult) return probeResult;
  probeResult = (async () => {
    const { startGateway } = require('./gateway');
    let gw;
    try {
      gw = await startGateway({ routes: [] });
      const c = new BoshClient({ port: gw.port });
      let timer;
      const res = await Promise.race([
        c.post(bodyXml({ rid: '1000', to: 'example.com', ver: '1.11', wait: '1', hold: '1' })),
        new Promise((r) => { timer = setTimeout(() => r(null), 5000); }),
      ]);
      clearTimeout(timer);
      c.destroyAll();
      if (!res) return { ok: false, reason: 'POST /http-bind was not answered within 5 s' };
      if (res.parsed && res.parsed.local === 'body' && res.parsed.ns === NS_HB) return { ok: true };
      return { ok: false, reason: `POST /http-bind answered ${res.statusLine} ${JSON.stringify(res.body.slice(0, 120))}` };
    } catch (e) {
      return { ok: false, reason: `probe failed: ${e.message.slice(0, 200)}` };
    } finally {
      if (gw) await gw.stop();
    }
  })();
  return probeResult;
}

/** Wraps a test body: skips (t.skip) while the binary has no BOSH, unless XGW_BOSH_REQUIRED. */
function boshTest(fn) {
  return async (t) => {
    const p = await probeBosh();
    if (!p.ok && !process.env.XGW_BOSH_REQUIRED) { t.skip(`BOSH not served by this build: ${p.reason}`); return undefined; }
    return fn(t);
  };
}

module.exports = {
  BoshClient,
  BoshSession,
  HttpConn,
  HttpResponse,
  boshScenario,
  bodyXml,
  canon,
  parseUpstream,
  usesPrefix,
  randomRid,
  escAttr,
  deepMerge,
  BOSH_TEST_CONFIG,
  CONDITIONS,
  CREATION_ONLY,
  DEFAULT_CT,
  sleep,
  assertT,
  assertEmpty,
  assertOk,
  stillPending,
  childrenNamed,
  stanzaIds,
  login,
  mark,
  assertNotForwarded,
  probeBosh,
  boshTest,
  NS: { HB: NS_HB, XB: NS_XB, ST: NS_ST, CLIENT: NS_CLIENT, SASL: NS_SASL, BIND: NS_BIND, STREAMS: NS_STREAMS, TLS: NS_TLS },
};
