'use strict';
// A scripted fake upstream XMPP server (c2s, RFC 6120) on loopback for gateway tests.
//
//   const fake = await startFakeServer({ domain: 'example.com' });
//   ... route the gateway to 127.0.0.1:fake.port ...
//   const conn = await fake.waitForConnection(3000);
//   await conn.waitFor(/<presence/, 2000);  conn.send('<message .../>');  conn.rst();
//   await fake.stop();
//
// Default behaviour (auto mode), per connection:
//   - stream header received -> answer with a header (fresh id each time) and features:
//       before TLS, when `starttls` is configured: <starttls/> (with <required/> if asked)
//       before SASL success: `features` (default: SCRAM-SHA-1-PLUS, SCRAM-SHA-1, PLAIN + compression)
//       after SASL success:  `postAuthFeatures` (default: <bind/>)
//   - <starttls/> -> <proceed/>, then a server-side TLS handshake on the same socket
//   - <auth mechanism='PLAIN'> -> <success/>; any other mechanism -> <failure><invalid-mechanism/>
//   - <iq type='set'><bind/></iq> -> result with a full JID
//   - </stream:stream> -> </stream:stream> and FIN (unless replyToClose: false)
// Hooks (each may return true to suppress the default action):
//   onConnect(conn), onHeader(conn, header), onElement(conn, el), onStreamEnd(conn)
// `auto: false` turns all default answers off (a "black hole" that accepts and records).
//
// Also: makeTestPki(dir) creates a test CA and server certificates with the openssl CLI.

const net = require('node:net');
const tls = require('node:tls');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { EventEmitter } = require('node:events');
const { StringDecoder } = require('node:string_decoder');

const NS_ST = 'http://etherx.jabber.org/streams';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';

const DEFAULT_FEATURES =
  `<stream:features><mechanisms xmlns='${NS_SASL}'><mechanism>SCRAM-SHA-1-PLUS</mechanism>` +
  '<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>' +
  "<compression xmlns='http://jabber.org/features/compress'><method>zlib</method></compression>" +
  '</stream:features>';
const DEFAULT_POST_AUTH_FEATURES = `<stream:features><bind xmlns='${NS_BIND}'/></stream:features>`;

let idCounter = 0;
function freshId() {
  idCounter++;
  return `fake-${process.pid}-${idCounter}-${crypto.randomBytes(6).toString('hex')}`;
}

function escAttr(v) {
  return String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** Attributes of a start tag string like "<a x='1' y=\"2\">" (entities decoded). */
function parseAttrs(tag) {
  const attrs = {};
  const re = /([^\s=<>/]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/g;
  const body = tag.replace(/^<[^\s/>]+/, '');
  let m;
  while ((m = re.exec(body))) {
    const v = m[2] !== undefined ? m[2] : m[3];
    attrs[m[1]] = v.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  }
  return attrs;
}

/**
 * Incremental splitter for an XMPP stream: emits
 *   {type:'decl', raw} {type:'header', raw, name, attrs} {type:'element', raw, name, local, attrs}
 *   {type:'text', raw} (character data between top-level elements) {type:'comment'|'pi'|'doctype', raw}
 *   {type:'streamEnd', raw}
 * It is tolerant (not a validating parser); malformed input just waits for more bytes.
 */
class StreamSplitter {
  constructor() { this.reset(); }
  reset() { this.buf = ''; this.pos = 0; this.depth = 0; this.elStart = -1; this.elName = null; }
  push(str) {
    this.buf += str;
    const out = [];
    for (;;) {
      const ev = this._next();
      if (!ev) break;
      out.push(ev);
    }
    // compact
    const keepFrom = this.depth > 0 ? this.elStart : this.pos;
    if (keepFrom > 65536) {
      this.buf = this.buf.slice(keepFrom);
      if (this.depth > 0) this.elStart = 0;
      this.pos -= keepFrom;
    }
    return out;
  }
  _tagEnd(from) {
    let q = null;
    for (let i = from; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (q) { if (c === q) q = null; } else if (c === '"' || c === "'") q = c; else if (c === '>') return i;
    }
    return -1;
  }
  _next() {
    const b = this.buf;
    const p = this.pos;
    if (p >= b.length) return null;
    if (b[p] !== '<') {
      const lt = b.indexOf('<', p);
      const end = lt < 0 ? b.length : lt;
      this.pos = end;
      if (this.depth === 0) return { type: 'text', raw: b.slice(p, end) };
      return this._next();
    }
    let ev = null;
    let end;
    if (b.startsWith('<?', p)) {
      end = b.indexOf('?>', p); if (end < 0) return null; end += 2;
      ev = { type: b.startsWith('<?xml ', p) || b.startsWith('<?xml?', p) ? 'decl' : 'pi', raw: b.slice(p, end) };
    } else if (b.startsWith('<!--', p)) {
      end = b.indexOf('-->', p); if (end < 0) return null; end += 3;
      ev = { type: 'comment', raw: b.slice(p, end) };
    } else if (b.startsWith('<![CDATA[', p)) {
      end = b.indexOf(']]>', p); if (end < 0) return null; end += 3;
    } else if (b.startsWith('<!', p)) {
      end = b.indexOf('>', p); if (end < 0) return null; end += 1;
      ev = { type: 'doctype', raw: b.slice(p, end) };
    } else if (b.startsWith('</', p)) {
      end = b.indexOf('>', p); if (end < 0) return null; end += 1;
      const name = b.slice(p + 2, end - 1).trim();
      if (this.depth === 0) {
        ev = { type: /(^|:)stream$/.test(name) ? 'streamEnd' : 'strayEnd', raw: b.slice(p, end), name };
      } else {
        this.depth--;
        if (this.depth === 0) {
          const raw = b.slice(this.elStart, end);
          ev = this._element(raw);
        }
      }
    } else {
      const e = this._tagEnd(p + 1); if (e < 0) return null; end = e + 1;
      const tag = b.slice(p, end);
      const selfClosing = tag.endsWith('/>');
      const name = /^<([^\s/>]+)/.exec(tag)[1];
      if (this.depth === 0 && /(^|:)stream$/.test(name) && !selfClosing) {
        ev = { type: 'header', raw: tag, name, attrs: parseAttrs(tag) };
      } else if (this.depth === 0 && selfClosing) {
        ev = this._element(tag);
      } else {
        if (this.depth === 0) this.elStart = p;
        if (!selfClosing) this.depth++;
      }
    }
    this.pos = end;
    return ev || this._next();
  }
  _element(raw) {
    const name = /^<([^\s/>]+)/.exec(raw)[1];
    const startTag = raw.slice(0, this._tagEndIn(raw) + 1);
    return { type: 'element', raw, name, local: name.replace(/^.*:/, ''), attrs: parseAttrs(startTag) };
  }
  _tagEndIn(s) {
    let q = null;
    for (let i = 1; i < s.length; i++) {
      const c = s[i];
      if (q) { if (c === q) q = null; } else if (c === '"' || c === "'") q = c; else if (c === '>') return i;
    }
    return s.length - 1;
  }
}

class FakeConn extends EventEmitter {
  constructor(server, socket, index) {
    super();
    this.server = server;
    this.opts = server.opts;
    this.index = index;
    this.socket = socket;        // current socket (TLSSocket after STARTTLS)
    this.rawSocket = socket;
    this.auto = this.opts.auto === undefined ? true : !!this.opts.auto;
    this.tls = false;
    this.tlsError = null;
    this.sni = null;
    this.authed = false;
    this.log = '';               // all application-level bytes received (pre- and post-TLS)
    this.preTlsLog = '';
    this.postTlsLog = '';
    this.events = [];            // parsed stream events, in order
    this.headers = [];           // received stream headers (events)
    this.elements = [];          // received top-level elements (events)
    this.sentIds = [];           // ids of headers we sent
    this.sent = '';              // everything we sent (application level)
    this.bytesWritten = 0;
    this.isClosed = false;
    this.gotFin = false;
    this.closeInfo = null;
    this.splitter = new StreamSplitter();
    this.decoder = new StringDecoder('utf8');
    this.closed = new Promise((resolve) => { this._resolveClosed = resolve; });
    this._attach(socket);
    if (this.opts.directTls) this.startTls(this.opts.directTls);
    socket.on('end', () => { this.gotFin = true; this.emit('update'); });
    socket.on('close', (hadError) => {
      this.isClosed = true;
      this.closeInfo = { at: Date.now(), hadError };
      this._resolveClosed(this.closeInfo);
      this.emit('update');
    });
    socket.on('error', (e) => { this.socketError = e; });
  }

  _attach(sock) {
    sock.on('data', (d) => this._onData(d));
  }

  _onData(d) {
    const s = this.decoder.write(d);
    this.log += s;
    if (this.tls) this.postTlsLog += s; else this.preTlsLog += s;
    if (this.opts.onData) this.opts.onData(this, s);
    const evs = this.splitter.push(s);
    for (const ev of evs) {
      ev.at = Date.now();
      this.events.push(ev);
      if (this._upgrading) continue; // bytes after <starttls/> before TLS: recorded, not acted on
      this._onEvent(ev);
    }
    this.emit('update');
  }

  _onEvent(ev) {
    const o = this.opts;
    if (ev.type === 'header') {
      this.headers.push(ev);
      if (o.onHeader && o.onHeader(this, ev)) return;
      if (!this.auto) return;
      const delay = o.headerDelayMs || 0;
      const go = () => {
        if (this.isClosed) return;
        this.sendHeader();
        this.sendFeatures(this.currentFeatures());
      };
      if (delay) setTimeout(go, delay); else go();
    } else if (ev.type === 'element') {
      this.elements.push(ev);
      if (o.onElement && o.onElement(this, ev)) return;
      if (!this.auto) return;
      this._defaultElement(ev);
    } else if (ev.type === 'streamEnd') {
      if (o.onStreamEnd && o.onStreamEnd(this, ev)) return;
      if (!this.auto || o.replyToClose === false) return;
      this.send('</stream:stream>');
      this.end();
    }
  }

  currentFeatures() {
    const o = this.opts;
    if (o.starttls && !this.tls) {
      const req = o.starttls.required ? '<required/>' : '';
      const rest = o.starttls.required ? '' : (o.features || DEFAULT_FEATURES).replace(/^<stream:features>|<\/stream:features>$/g, '');
      return `<stream:features><starttls xmlns='${NS_TLS}'>${req}</starttls>${rest}</stream:features>`;
    }
    if (!this.authed) return typeof o.features === 'function' ? o.features(this) : (o.features || DEFAULT_FEATURES);
    return typeof o.postAuthFeatures === 'function' ? o.postAuthFeatures(this) : (o.postAuthFeatures || DEFAULT_POST_AUTH_FEATURES);
  }

  _defaultElement(ev) {
    const o = this.opts;
    if (ev.local === 'starttls' && o.starttls && !this.tls) {
      this.send(`<proceed xmlns='${NS_TLS}'/>`);
      this.startTls();
      return;
    }
    if (ev.local === 'auth') {
      if (ev.attrs.mechanism === 'PLAIN') {
        this.authed = true;
        this.send(`<success xmlns='${NS_SASL}'/>`);
      } else {
        this.send(`<failure xmlns='${NS_SASL}'><invalid-mechanism/></failure>`);
      }
      return;
    }
    if (ev.local === 'iq' && /<bind[\s/>]/.test(ev.raw)) {
      const res = /<resource>([^<]*)<\/resource>/.exec(ev.raw);
      const jid = `user@${o.domain}/${res ? res[1] : 'gw-test'}`;
      this.send(`<iq type='result' id='${escAttr(ev.attrs.id || '')}'><bind xmlns='${NS_BIND}'><jid>${jid}</jid></bind></iq>`);
    }
  }

  /** Switch the connection to TLS (server side) now. */
  startTls(material) {
    const m = material || this.opts.starttls;
    this._upgrading = true;
    const raw = this.rawSocket;
    raw.removeAllListeners('data');
    const ctx = tls.createSecureContext({ key: m.key, cert: m.cert });
    const t = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx, SNICallback: (name, cb) => { this.sni = name; cb(null, ctx); } });
    t.on('secure', () => {
      this.tls = true;
      this._upgrading = false;
      this.splitter.reset();
      this.decoder = new StringDecoder('utf8');
      this.emit('update');
    });
    t.on('error', (e) => { this.tlsError = e; this.emit('update'); });
    t.on('data', (d) => this._onData(d));
    this.socket = t;
  }

  // ---- sending ----
  send(str) {
    const s = typeof str === 'string' ? str : str.toString('utf8');
    this.sent += s;
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    const b = Buffer.from(s, 'utf8');
    return this.socket.write(b, () => { this.bytesWritten += b.length; });
  }
  /** Send raw bytes (a Buffer), e.g. invalid UTF-8. */
  sendBytes(buf) {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    return this.socket.write(buf, () => { this.bytesWritten += buf.length; });
  }
  /** Send a stream header. attrs override the defaults; a null value omits the attribute.
   *  opts.decl=false omits the XML declaration; opts.raw gives the exact text instead. */
  sendHeader(attrs = {}, opts = {}) {
    const o = this.opts;
    const a = { from: o.domain, id: freshId(), version: '1.0', 'xml:lang': o.lang || 'en', ...attrs };
    if (attrs.lang !== undefined) { a['xml:lang'] = attrs.lang; delete a.lang; }
    if (a.id) this.sentIds.push(a.id);
    this.lastHeaderAttrs = a;
    const list = Object.entries(a).filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => ` ${k}='${escAttr(v)}'`).join('');
    const decl = opts.decl === false ? '' : "<?xml version='1.0'?>";
    const ns = opts.nsDecls !== undefined ? opts.nsDecls : ` xmlns='jabber:client' xmlns:stream='${NS_ST}'`;
    this.send(`${decl}<stream:stream${list}${ns}>`);
    return a.id;
  }
  sendFeatures(xml) {
    this.send(xml || this.currentFeatures());
  }
  /** Write `totalBytes` of data produced by make(i) (a string per call), honouring
   *  back-pressure; resolves with the number of bytes handed to the kernel. Bounded by
   *  `timeoutMs` (resolves early with what was written, and sets .timedOut). */
  flood(totalBytes, make, { timeoutMs = 30000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      let queued = 0;
      let i = 0;
      const finish = (timedOut) => { resolve({ queued, flushed: this.bytesWritten, timedOut }); };
      const pump = () => {
        for (;;) {
          if (this.socket.destroyed || this.isClosed) return finish(false);
          if (queued >= totalBytes) {
            return this.socket.write('', () => finish(false));
          }
          if (Date.now() > deadline) return finish(true);
          const chunk = make(i++);
          queued += Buffer.byteLength(chunk);
          if (!this.send(chunk)) {
            const onDrain = () => { clearTimeout(t); this.socket.removeListener('close', onDrain); pump(); };
            const t = setTimeout(() => { this.socket.removeListener('drain', onDrain); this.socket.removeListener('close', onDrain); finish(true); }, Math.max(1, deadline - Date.now()));
            this.socket.once('drain', onDrain);
            this.socket.once('close', onDrain);
            return undefined;
          }
        }
      };
      pump();
    });
  }
  /** Abort the TCP connection with RST. */
  rst() { try { this.rawSocket.resetAndDestroy(); } catch { this.rawSocket.destroy(); } }
  /** Half-close (FIN) after pending writes. */
  end() { try { this.socket.end(); } catch { /* ignore */ } }
  destroy() { this.rawSocket.destroy(); }

  // ---- inspection ----
  received() { return this.log; }

  _waitUntil(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = pred();
        if (v !== undefined && v !== null && v !== false) { cleanup(); resolve(v); return true; }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake-server conn#${this.index}: ${what} not seen within ${ms} ms; received so far: ` +
          `${JSON.stringify(this.log.slice(-1500))}${this.isClosed ? ' (connection closed)' : ''}`));
      }, ms);
      const cleanup = () => { clearTimeout(timer); this.removeListener('update', check); };
      if (!check()) this.on('update', check);
    });
  }
  /** Wait until the received text matches (string: includes; RegExp: exec). Resolves with the match. */
  waitFor(pattern, ms = 3000) {
    return this._waitUntil(() => {
      if (typeof pattern === 'string') return this.log.includes(pattern) ? pattern : undefined;
      const m = pattern.exec(this.log);
      return m || undefined;
    }, ms, `pattern ${pattern}`);
  }
  /** Wait for the n-th (1-based) received stream header. */
  waitForHeader(n = 1, ms = 3000) {
    return this._waitUntil(() => this.headers[n - 1], ms, `stream header #${n}`);
  }
  /** Wait for a received top-level element matching pred (function or RegExp on raw). */
  waitForElement(pred, ms = 3000) {
    const f = typeof pred === 'function' ? pred : (el) => pred.test(el.raw);
    return this._waitUntil(() => this.elements.find(f), ms, `element ${pred}`);
  }
  /** Wait until the TCP connection is closed. Resolves with {at, hadError}. */
  waitClosed(ms = 3000) {
    return this._waitUntil(() => (this.isClosed ? this.closeInfo : undefined), ms, 'connection close');
  }
  waitTls(ms = 3000) {
    return this._waitUntil(() => (this.tls ? true : (this.tlsError ? { error: this.tlsError } : undefined)), ms, 'TLS handshake');
  }
}

/**
 * Start a fake server on 127.0.0.1 (or opts.host). Options:
 *   domain ('example.com'), lang ('en'), host, port (0 = any),
 *   features / postAuthFeatures (string or fn(conn)), starttls: {required, key, cert},
 *   directTls: {key, cert} (TLS from the first byte),
 *   auto (true), headerDelayMs, replyToClose (true),
 *   onConnect(conn), onHeader(conn, ev), onElement(conn, ev), onStreamEnd(conn, ev), onData(conn, str)
 */
async function startFakeServer(opts = {}) {
  const o = { domain: 'example.com', lang: 'en', ...opts };
  const emitter = new EventEmitter();
  const connections = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const conn = new FakeConn(fake, socket, connections.length);
    connections.push(conn);
    if (o.onConnect) o.onConnect(conn);
    emitter.emit('connection', conn);
  });
  const fake = {
    opts: o,
    connections,
    server,
    port: 0,
    host: o.host || '127.0.0.1',
    /** Resolves with the n-th (1-based) connection once it exists. */
    waitForConnection(ms = 3000, n = 1) {
      return new Promise((resolve, reject) => {
        if (connections.length >= n) { resolve(connections[n - 1]); return; }
        const on = () => {
          if (connections.length >= n) { clearTimeout(timer); emitter.removeListener('connection', on); resolve(connections[n - 1]); }
        };
        const timer = setTimeout(() => {
          emitter.removeListener('connection', on);
          reject(new Error(`fake-server: connection #${n} not made within ${ms} ms (have ${connections.length})`));
        }, ms);
        emitter.on('connection', on);
      });
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: fake.host, port: o.port || 0 }, resolve);
  });
  fake.port = server.address().port;
  return fake;
}

/** A listening socket that accepts and reads (to notice FIN/RST) but never answers.
 *  accepted(): sockets still open; acceptedTotal(): ever accepted; received(): bytes read. */
async function startBlackHole({ host = '127.0.0.1' } = {}) {
  const sockets = new Set();
  let total = 0;
  let got = '';
  const server = net.createServer((s) => {
    total++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('data', (d) => { if (got.length < 65536) got += d.toString('latin1'); });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen({ host, port: 0 }, resolve));
  return {
    port: server.address().port,
    accepted: () => sockets.size,
    acceptedTotal: () => total,
    received: () => got,
    async stop() { for (const s of sockets) s.destroy(); await new Promise((r) => server.close(() => r())); },
  };
}

/** A port with nothing listening (bound then released). */
async function closedPort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host, port: 0 }, () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/**
 * Create a throw-away PKI with the openssl CLI:
 *   ca.pem/ca.key, and for each name in `names` (default ['example.com', 'other.example'])
 *   <name>.pem/<name>.key signed by the CA with subjectAltName DNS:<name>.
 * Returns { dir, caFile, ca, certs: { name: {key, cert, keyFile, certFile} }, cleanup() }.
 */
function makeTestPki({ names = ['example.com', 'other.example'], dir } = {}) {
  const d = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-pki-'));
  const run = (args) => execFileSync('openssl', args, { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=xmppgw test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const certs = {};
  for (const name of names) {
    const ext = path.join(d, `${name}.ext`);
    fs.writeFileSync(ext, `subjectAltName=DNS:${name}\nbasicConstraints=CA:FALSE\n` +
      'keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '2', '-extfile', ext]);
    certs[name] = {
      keyFile: path.join(d, `${name}.key`),
      certFile: path.join(d, `${name}.pem`),
      key: fs.readFileSync(path.join(d, `${name}.key`)),
      cert: fs.readFileSync(path.join(d, `${name}.pem`)),
    };
  }
  return {
    dir: d,
    caFile: path.join(d, 'ca.pem'),
    ca: fs.readFileSync(path.join(d, 'ca.pem')),
    certs,
    cleanup() { fs.rmSync(d, { recursive: true, force: true }); },
  };
}

/**
 * Run one black-box scenario: a fake upstream (unless fake === null), a gateway routed to it,
 * then fn(ctx). Whatever happens, every client and server is torn down, the gateway is
 * stopped, every WS client's frames are checked with checkServerFrames (unless
 * frameChecks === false) and the gateway must exit cleanly (assertCleanExit).
 *   options: fake (startFakeServer opts | null), route (overrides for the fake's route),
 *            extraRoutes, config (gateway config), gw (other startGateway opts),
 *            frameChecks (true)
 *   ctx: { gw, fake, connect(opts) -> RawWs, open(opts) -> openXmpp result, track(ws),
 *          stopGateway() -> exit result (then not stopped again) }
 */
async function scenario(options, fn) {
  const { startGateway, assertCleanExit } = require('./gateway');
  const wsRaw = require('./ws-raw');
  const o = options || {};
  const clients = [];
  let fakeSrv = null;
  let gw = null;
  let err = null;
  let result = null;
  let stopped = false;
  try {
    if (o.fake !== null) fakeSrv = await startFakeServer(o.fake || {});
    const routes = [];
    if (fakeSrv) {
      routes.push({ domain: fakeSrv.opts.domain, host: '127.0.0.1', port: fakeSrv.port, tls: 'starttls', allow_plaintext: true, ...(o.route || {}) });
    }
    routes.push(...(o.extraRoutes || []));
    gw = await startGateway({ routes, config: o.config || {}, ...(o.gw || {}) });
    const track = (ws) => { clients.push(ws); return ws; };
    const ctx = {
      gw,
      fake: fakeSrv,
      track,
      connect: async (copts = {}) => track(await wsRaw.connectRaw({ port: gw.port, host: gw.host, ...copts })),
      open: async (xopts = {}) => {
        const r = await wsRaw.openXmpp(gw.port, { ...xopts, connect: { host: gw.host, ...(xopts.connect || {}) } });
        track(r.ws);
        return r;
      },
      stopGateway: async () => { stopped = true; result = await gw.stop(); return result; },
    };
    await fn(ctx);
  } catch (e) {
    err = e;
  }
  const frameProblems = [];
  if (o.frameChecks !== false) {
    clients.forEach((ws, i) => {
      for (const p of wsRaw.checkServerFrames(ws)) frameProblems.push(`client #${i}: ${p}`);
    });
  }
  for (const ws of clients) ws.destroy();
  if (gw && !stopped) result = await gw.stop();
  if (fakeSrv) await fakeSrv.stop();
  let exitProblem = null;
  if (result) {
    try { assertCleanExit(result); } catch (e) { exitProblem = e; }
  }
  if (err) {
    const extra = [];
    if (frameProblems.length) extra.push(`frame checks also failed:\n  ${frameProblems.join('\n  ')}`);
    if (exitProblem) extra.push(`gateway exit also failed: ${exitProblem.message}`);
    else if (result) extra.push(`--- gateway stderr (tail) ---\n${(result.stderr || '').slice(-4000)}`);
    if (extra.length) err.message += `\n${extra.join('\n')}`;
    throw err;
  }
  if (frameProblems.length) {
    throw new Error(`server frame checks failed:\n  ${frameProblems.join('\n  ')}` +
      (exitProblem ? `\ngateway exit also failed: ${exitProblem.message}` : ''));
  }
  if (exitProblem) throw exitProblem;
  if (!result && gw) throw new Error('scenario: gateway not stopped');
}

module.exports = {
  scenario,
  startFakeServer,
  startBlackHole,
  closedPort,
  makeTestPki,
  StreamSplitter,
  parseAttrs,
  freshId,
  DEFAULT_FEATURES,
  DEFAULT_POST_AUTH_FEATURES,
  NS: { ST: NS_ST, SASL: NS_SASL, TLS: NS_TLS, BIND: NS_BIND },
};
