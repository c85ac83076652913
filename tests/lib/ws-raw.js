'use strict';
// A raw WebSocket client over node:net for black-box conformance tests.
//
// It does its own opening handshake (any headers, any Sec-WebSocket-Protocol list, any
// version/key, any method and path) and can put ANY frame on the wire: masked or not, any
// opcode, RSV bits, FIN=0 fragments, wrong or huge length fields, raw bytes. Everything the
// server sends is parsed frame by frame and kept, so tests can check the mask bit, opcodes,
// close codes and the order of frames.
//
//   const ws = await connectRaw({ port, protocols: ['xmpp'] });
//   ws.handshakeResponse  -> { status, statusLine, headers: {lower-name: [values]}, raw }
//   ws.sendText('<open .../>'); const m = await ws.nextMessage(2000);
//   await ws.waitClose(2000)  -> close code (1005 for an empty Close) or 'tcp-closed'
//
// Also: a small strict, namespace-aware XML parser (parseXml) used to check that every
// message the gateway sends is a standalone document (RFC 7395 §3.3.3), plus XMPP helpers.

const net = require('node:net');
const crypto = require('node:crypto');
const { EventEmitter } = require('node:events');

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const NS_FR = 'urn:ietf:params:xml:ns:xmpp-framing';
const NS_ST = 'http://etherx.jabber.org/streams';
const NS_CLIENT = 'jabber:client';
const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';

const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

function acceptKey(key) {
  return crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

function toBuf(p) {
  if (p === undefined || p === null) return Buffer.alloc(0);
  return Buffer.isBuffer(p) ? p : Buffer.from(String(p), 'utf8');
}

/**
 * Build one frame.
 *   fin (default true), rsv1/rsv2/rsv3 (bools), opcode (number), payload (Buffer|string),
 *   mask (default true), maskKey (4-byte Buffer; random by default),
 *   lenEncoding: 'auto' | 7 | 16 | 64  (force a length form, e.g. non-minimal),
 *   declaredLength: number|bigint      (put this in the length field instead of the real one;
 *                                      the payload bytes actually sent are still `payload`),
 *   rawLength64: Buffer (8 bytes)      (exact bytes for the 64-bit length field)
 */
function buildFrame(opts = {}) {
  const payload = toBuf(opts.payload);
  const fin = opts.fin === undefined ? true : !!opts.fin;
  const mask = opts.mask === undefined ? true : !!opts.mask;
  const opcode = opts.opcode === undefined ? OP.TEXT : opts.opcode;
  let b0 = (fin ? 0x80 : 0) | (opts.rsv1 ? 0x40 : 0) | (opts.rsv2 ? 0x20 : 0) | (opts.rsv3 ? 0x10 : 0) | (opcode & 0x0f);
  const len = opts.declaredLength !== undefined ? BigInt(opts.declaredLength) : BigInt(payload.length);
  let enc = opts.lenEncoding || 'auto';
  if (opts.rawLength64) enc = 64;
  if (enc === 'auto') enc = len < 126n ? 7 : len < 65536n ? 16 : 64;
  const parts = [];
  let header;
  if (enc === 7) {
    header = Buffer.from([b0, (mask ? 0x80 : 0) | Number(len & 0x7fn)]);
  } else if (enc === 16) {
    header = Buffer.alloc(4);
    header[0] = b0; header[1] = (mask ? 0x80 : 0) | 126;
    header.writeUInt16BE(Number(len & 0xffffn), 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = b0; header[1] = (mask ? 0x80 : 0) | 127;
    if (opts.rawLength64) opts.rawLength64.copy(header, 2, 0, 8);
    else header.writeBigUInt64BE(len & 0xffffffffffffffffn, 2);
  }
  parts.push(header);
  if (mask) {
    const key = opts.maskKey || crypto.randomBytes(4);
    parts.push(key);
    const masked = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ key[i & 3];
    parts.push(masked);
  } else {
    parts.push(payload);
  }
  return Buffer.concat(parts);
}

function closePayload(code, reason = '') {
  if (code === undefined || code === null) return Buffer.alloc(0);
  const r = toBuf(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

/** Incremental parser for frames sent by the server (never assumes masking is absent). */
class FrameParser {
  constructor() { this.buf = Buffer.alloc(0); }
  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out = [];
    for (;;) {
      const f = this._one();
      if (!f) break;
      out.push(f);
    }
    return out;
  }
  _one() {
    const b = this.buf;
    if (b.length < 2) return null;
    const fin = !!(b[0] & 0x80);
    const rsv = (b[0] >> 4) & 0x7;
    const opcode = b[0] & 0x0f;
    const masked = !!(b[1] & 0x80);
    let len = b[1] & 0x7f;
    let off = 2;
    let lenForm = 7;
    if (len === 126) {
      if (b.length < 4) return null;
      len = b.readUInt16BE(2); off = 4; lenForm = 16;
    } else if (len === 127) {
      if (b.length < 10) return null;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`server frame with absurd length ${big}`);
      len = Number(big); off = 10; lenForm = 64;
    }
    let key = null;
    if (masked) {
      if (b.length < off + 4) return null;
      key = b.subarray(off, off + 4); off += 4;
    }
    if (b.length < off + len) return null;
    let payload = Buffer.from(b.subarray(off, off + len));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
    this.buf = b.subarray(off + len);
    return { fin, rsv, opcode, masked, payload, length: len, lenForm };
  }
}

/**
 * Open a TCP connection and perform a WebSocket opening handshake.
 * Options:
 *   host ('127.0.0.1'), port, path ('/xmpp-websocket'), method ('GET'), httpVersion ('1.1'),
 *   protocols: array of strings -> one header 'Sec-WebSocket-Protocol: a, b';
 *              array of arrays   -> one header per inner array (repeated header);
 *              null              -> no header.  Default ['xmpp'].
 *   key (random 16-byte base64), version (13; null to omit), origin (omitted by default),
 *   headers: extra headers {name: value|null} (null removes a default header; array = repeated),
 *   rawRequest: a complete request string/Buffer to send instead of building one,
 *   timeoutMs (5000): for the HTTP response,
 *   autoPong (true): answer server Pings with the same payload,
 *   autoCloseReply (true): echo a server Close.
 * Resolves once the HTTP response head has been read (whatever its status).
 */
function connectRaw(opts = {}) {
  const host = opts.host || '127.0.0.1';
  const port = opts.port;
  const key = opts.key !== undefined ? opts.key : crypto.randomBytes(16).toString('base64');
  const req = opts.rawRequest !== undefined ? toBuf(opts.rawRequest) : buildRequest({ ...opts, host, port, key });
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.setNoDelay(true);
    let head = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      sock.destroy();
      reject(new Error(`ws-raw: no HTTP response head within ${opts.timeoutMs || 5000} ms ` +
        `(got ${JSON.stringify(head.toString('latin1').slice(0, 300))})`));
    }, opts.timeoutMs || 5000);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const idx = head.indexOf('\r\n\r\n');
      if (idx < 0) {
        if (head.length > 65536) onFail(new Error('ws-raw: response head larger than 64 KiB'));
        return;
      }
      done = true;
      clearTimeout(timer);
      sock.removeListener('data', onData);
      sock.removeListener('error', onFail);
      sock.removeListener('close', onClose);
      const raw = head.subarray(0, idx + 4).toString('latin1');
      const rest = head.subarray(idx + 4);
      const ws = new RawWs(sock, parseResponse(raw), key, opts);
      ws._start(rest);
      resolve(ws);
    };
    const onFail = (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    const onClose = () => onFail(new Error(`ws-raw: connection closed before a complete HTTP response ` +
      `(got ${JSON.stringify(head.toString('latin1').slice(0, 300))})`));
    sock.on('data', onData);
    sock.on('error', onFail);
    sock.on('close', onClose);
    sock.on('connect', () => sock.write(req));
  });
}

function buildRequest(o) {
  const method = o.method || 'GET';
  const path = o.path || '/xmpp-websocket';
  const httpVersion = o.httpVersion || '1.1';
  const hdrs = [];
  const defaults = {
    Host: `${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': o.key,
    'Sec-WebSocket-Version': o.version === undefined ? '13' : o.version,
  };
  if (o.origin) defaults.Origin = o.origin;
  const extra = o.headers || {};
  const lowerExtra = new Map(Object.keys(extra).map((k) => [k.toLowerCase(), k]));
  for (const [k, v] of Object.entries(defaults)) {
    if (lowerExtra.has(k.toLowerCase())) continue;
    if (v !== null && v !== undefined) hdrs.push(`${k}: ${v}`);
  }
  const protocols = o.protocols === undefined ? ['xmpp'] : o.protocols;
  if (protocols !== null && !lowerExtra.has('sec-websocket-protocol')) {
    if (protocols.length && Array.isArray(protocols[0])) {
      for (const p of protocols) hdrs.push(`Sec-WebSocket-Protocol: ${p.join(', ')}`);
    } else if (protocols.length) {
      hdrs.push(`Sec-WebSocket-Protocol: ${protocols.join(', ')}`);
    }
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === null || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) hdrs.push(`${k}: ${one}`);
  }
  return Buffer.from(`${method} ${path} HTTP/${httpVersion}\r\n${hdrs.join('\r\n')}\r\n\r\n`, 'latin1');
}

function parseResponse(raw) {
  const lines = raw.split('\r\n');
  const statusLine = lines[0];
  const m = /^HTTP\/(\d\.\d)\s+(\d{3})(?:\s+(.*))?$/.exec(statusLine);
  const headers = {};
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    (headers[name] = headers[name] || []).push(value);
  }
  return {
    status: m ? Number(m[2]) : NaN,
    httpVersion: m ? m[1] : null,
    reason: m ? (m[3] || '') : '',
    statusLine,
    headers,
    header(name) { const v = headers[name.toLowerCase()]; return v ? v.join(', ') : undefined; },
    raw,
  };
}

class RawWs extends EventEmitter {
  constructor(sock, response, key, opts) {
    super();
    this.sock = sock;
    this.handshakeResponse = response;
    this.key = key;
    this.opts = opts;
    this.autoPong = opts.autoPong === undefined ? true : !!opts.autoPong;
    this.autoCloseReply = opts.autoCloseReply === undefined ? true : !!opts.autoCloseReply;
    this.parser = new FrameParser();
    this.frames = [];           // every frame the server sent, in order, with .at (ms)
    this.queue = [];            // messages not yet consumed by nextMessage()
    this.partial = null;        // data message being reassembled
    this.closeFrame = null;     // first Close received {code, reason, at}
    this.closeSent = false;
    this.dataAfterClose = [];   // data frames received after the server's Close
    this.tcpClosed = false;
    this.tcpClosedAt = null;
    this.gotFin = false;
    this.parseError = null;
    this.bodyAfterNon101 = Buffer.alloc(0);
    this.closedPromise = new Promise((resolve) => { this._resolveClosed = resolve; });
  }

  get upgraded() { return this.handshakeResponse.status === 101; }

  _start(rest) {
    this.sock.on('data', (d) => this._onData(d));
    this.sock.on('end', () => { this.gotFin = true; });
    this.sock.on('error', (e) => { this.socketError = e; });
    this.sock.on('close', () => {
      this.tcpClosed = true;
      this.tcpClosedAt = Date.now();
      this._resolveClosed(this.tcpClosedAt);
      this.emit('update');
    });
    if (rest.length) this._onData(rest);
  }

  _onData(d) {
    if (!this.upgraded) {
      this.bodyAfterNon101 = Buffer.concat([this.bodyAfterNon101, d]);
      this.emit('update');
      return;
    }
    let frames;
    try {
      frames = this.parser.push(d);
    } catch (e) {
      this.parseError = e;
      this.emit('update');
      return;
    }
    const now = Date.now();
    for (const f of frames) {
      f.at = now;
      this.frames.push(f);
      this._onFrame(f);
    }
    this.emit('update');
  }

  _onFrame(f) {
    if (this.closeFrame && (f.opcode === OP.TEXT || f.opcode === OP.BINARY || f.opcode === OP.CONT)) {
      this.dataAfterClose.push(f);
    }
    if (f.opcode >= 0x8) {
      const msg = { opcode: f.opcode, fin: f.fin, masked: f.masked, rsv: f.rsv, payload: f.payload, frames: [f], at: f.at };
      if (f.opcode === OP.CLOSE) {
        msg.code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
        msg.reason = f.payload.length > 2 ? f.payload.subarray(2).toString('utf8') : '';
        if (!this.closeFrame) {
          this.closeFrame = { code: msg.code, reason: msg.reason, at: f.at, payloadLength: f.payload.length };
          if (this.autoCloseReply && !this.closeSent) {
            this.closeSent = true;
            this._write(buildFrame({ opcode: OP.CLOSE, payload: f.payload.length >= 2 ? f.payload.subarray(0, 2) : Buffer.alloc(0) }));
          }
        }
      } else if (f.opcode === OP.PING && this.autoPong && !this.closeSent) {
        this._write(buildFrame({ opcode: OP.PONG, payload: f.payload }));
      }
      this.queue.push(msg);
      return;
    }
    // data frames
    if (f.opcode !== OP.CONT) {
      this.partial = { opcode: f.opcode, fin: false, masked: f.masked, rsv: f.rsv, chunks: [f.payload], frames: [f] };
    } else if (this.partial) {
      this.partial.chunks.push(f.payload);
      this.partial.frames.push(f);
      this.partial.masked = this.partial.masked || f.masked;
      this.partial.rsv |= f.rsv;
    } else {
      // continuation without a start: report as its own message so tests see it
      this.queue.push({ opcode: OP.CONT, fin: f.fin, masked: f.masked, rsv: f.rsv, payload: f.payload, frames: [f], at: f.at, orphan: true });
      return;
    }
    if (f.fin) {
      const p = this.partial;
      this.partial = null;
      const payload = Buffer.concat(p.chunks);
      this.queue.push({ opcode: p.opcode, fin: true, masked: p.masked, rsv: p.rsv, payload, text: payload.toString('utf8'), frames: p.frames, at: f.at });
    }
  }

  _write(buf) {
    if (this.sock.destroyed || this.sock.writableEnded) return false;
    try { this.sock.write(buf); return true; } catch { return false; }
  }

  // ---- sending ----
  sendRaw(buf) { return this._write(toBuf(buf)); }
  sendFrame(opts) { return this._write(buildFrame(opts)); }
  sendText(str, opts = {}) { return this.sendFrame({ ...opts, opcode: OP.TEXT, payload: str }); }
  sendBinary(data, opts = {}) { return this.sendFrame({ ...opts, opcode: OP.BINARY, payload: data }); }
  sendPing(payload = '', opts = {}) { return this.sendFrame({ ...opts, opcode: OP.PING, payload }); }
  sendPong(payload = '', opts = {}) { return this.sendFrame({ ...opts, opcode: OP.PONG, payload }); }
  sendClose(code = 1000, reason = '', opts = {}) {
    this.closeSent = true;
    return this.sendFrame({ ...opts, opcode: OP.CLOSE, payload: closePayload(code, reason) });
  }
  /** Send a text message split into fragments (array of Buffers/strings), optionally with
   *  control frames interleaved: items may be {control: frameOpts}. */
  sendFragments(parts, { opcode = OP.TEXT } = {}) {
    const dataParts = parts.filter((p) => !(p && p.control));
    let seen = 0;
    const out = [];
    for (const p of parts) {
      if (p && p.control) { out.push(buildFrame(p.control)); continue; }
      const first = seen === 0;
      seen++;
      out.push(buildFrame({ opcode: first ? opcode : OP.CONT, fin: seen === dataParts.length, payload: p }));
    }
    return this._write(Buffer.concat(out));
  }

  /** Tear the TCP connection down with no Close frame (FIN). */
  end() { try { this.sock.end(); } catch { /* ignore */ } }
  /** Abort with RST. */
  rst() { try { this.sock.resetAndDestroy(); } catch { this.sock.destroy(); } }
  destroy() { this.sock.destroy(); }

  // ---- receiving ----
  _waitUntil(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try { v = pred(); } catch (e) { cleanup(); reject(e); return true; }
        if (v !== undefined) { cleanup(); resolve(v); return true; }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`ws-raw: ${what} not received within ${ms} ms; ${this.describe()}`));
      }, ms);
      const cleanup = () => { clearTimeout(timer); this.removeListener('update', check); };
      if (!check()) this.on('update', check);
    });
  }

  /** Next message of any kind (data or control), in arrival order. Rejects on timeout or
   *  when the TCP connection closed with nothing left to read. */
  nextMessage(ms = 3000) {
    return this._waitUntil(() => {
      if (this.queue.length) return this.queue.shift();
      if (this.parseError) throw this.parseError;
      if (this.tcpClosed) throw new Error(`ws-raw: TCP connection closed while waiting for a message; ${this.describe()}`);
      return undefined;
    }, ms, 'message');
  }

  /** Next data message (skips Ping/Pong). A Close, or the TCP closing, before a data message
   *  makes it reject with a descriptive error. Returns the message object (with .text). */
  nextData(ms = 3000) {
    return this._waitUntil(() => {
      while (this.queue.length) {
        const m = this.queue.shift();
        if (m.opcode === OP.PING || m.opcode === OP.PONG) continue;
        if (m.opcode === OP.CLOSE) {
          throw new Error(`ws-raw: got Close ${m.code} ${JSON.stringify(m.reason)} while waiting for a data message; ${this.describe()}`);
        }
        return m;
      }
      if (this.parseError) throw this.parseError;
      if (this.tcpClosed) throw new Error(`ws-raw: TCP closed while waiting for a data message; ${this.describe()}`);
      return undefined;
    }, ms, 'data message');
  }

  /** Text of the next data message. */
  async nextText(ms = 3000) {
    const m = await this.nextData(ms);
    return m.text !== undefined ? m.text : m.payload.toString('utf8');
  }

  /** Data messages until (and excluding) the Close frame / TCP close. Does not throw on close. */
  async collectUntilClose(ms = 3000) {
    const out = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`ws-raw: no Close within ${ms} ms; data so far ${JSON.stringify(out.map((m) => m.text))}; ${this.describe()}`);
      const m = await this._waitUntil(() => {
        if (this.queue.length) return this.queue.shift();
        if (this.tcpClosed) return null;
        return undefined;
      }, left, 'message or close');
      if (m === null) return { messages: out, close: 'tcp-closed' };
      if (m.opcode === OP.CLOSE) return { messages: out, close: m.code, closeMessage: m };
      if (m.opcode === OP.PING || m.opcode === OP.PONG) continue;
      out.push(m);
    }
  }

  /** Resolves with the server's close code (1005 for an empty Close) once a Close frame has
   *  arrived, or 'tcp-closed' when TCP closes without one. Does not consume the queue. */
  waitClose(ms = 3000) {
    return this._waitUntil(() => {
      if (this.closeFrame) return this.closeFrame.code;
      if (this.tcpClosed || this.parseError) return 'tcp-closed';
      return undefined;
    }, ms, 'Close frame or TCP close');
  }

  /** Resolves once the TCP connection is closed (by either side). Value: time of close. */
  waitTcpClosed(ms = 3000) {
    return this._waitUntil(() => (this.tcpClosed ? this.tcpClosedAt : undefined), ms, 'TCP close');
  }

  /** Short human-readable state for error messages. */
  describe() {
    const fr = this.frames.slice(-8).map((f) => {
      const p = f.opcode === OP.CLOSE && f.payload.length >= 2
        ? `code=${f.payload.readUInt16BE(0)}`
        : JSON.stringify(f.payload.toString('utf8').slice(0, 160));
      return `[op=${f.opcode} fin=${f.fin ? 1 : 0} mask=${f.masked ? 1 : 0} ${p}]`;
    });
    return `status=${this.handshakeResponse.status} frames(last ${fr.length} of ${this.frames.length})=${fr.join(' ')} ` +
      `queued=${this.queue.length} close=${this.closeFrame ? this.closeFrame.code : '-'} tcpClosed=${this.tcpClosed}`;
  }
}

// ---------------------------------------------------------------------------------------
// Strict namespace-aware XML parser for ONE standalone document (one root element).
// Enough for checking gateway output: elements, attributes, text, CDATA, character and the
// five predefined entity references; an XML declaration is allowed only when allowDecl.
// Throws on anything not well-formed or not namespace-well-formed (undeclared prefixes,
// duplicate attributes, prefixed xmlns misuse), on comments/PIs/DOCTYPE (restricted XML).

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const NAME_RE = /^[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*(?::[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*)?$/;

function decodeEntities(s, where) {
  if (/&(?!(?:[A-Za-z][\w.-]*|#[0-9]+|#x[0-9a-fA-F]+);)/.test(s)) throw new Error(`xml: bare & in ${where}`);
  return s.replace(/&([^;]*);/g, (all, ent) => {
    if (ent === 'lt') return '<';
    if (ent === 'gt') return '>';
    if (ent === 'amp') return '&';
    if (ent === 'quot') return '"';
    if (ent === 'apos') return "'";
    let m = /^#x([0-9a-fA-F]+)$/.exec(ent);
    if (m) return String.fromCodePoint(parseInt(m[1], 16));
    m = /^#([0-9]+)$/.exec(ent);
    if (m) return String.fromCodePoint(parseInt(m[1], 10));
    throw new Error(`xml: unknown entity &${ent}; in ${where}`);
  });
}

function parseXml(input, { allowDecl = false } = {}) {
  const s = String(input);
  let i = 0;
  const fail = (msg) => { throw new Error(`xml: ${msg} at offset ${i} in ${JSON.stringify(s.slice(0, 300))}`); };
  if (s.startsWith('<?xml')) {
    if (!allowDecl) fail('XML declaration present');
    const e = s.indexOf('?>');
    if (e < 0) fail('unterminated declaration');
    i = e + 2;
  }
  const skipWs = () => { while (i < s.length && /\s/.test(s[i])) i++; };
  skipWs();
  if (s[i] !== '<') fail('document does not start with an element');

  function parseElement(scope) {
    // at '<'
    i++;
    const nameM = /^[^\s/>]+/.exec(s.slice(i));
    if (!nameM) fail('missing element name');
    const qname = nameM[0];
    if (!NAME_RE.test(qname)) fail(`bad element name ${qname}`);
    i += qname.length;
    const rawAttrs = [];
    for (;;) {
      const before = i;
      skipWs();
      if (s.startsWith('/>', i) || s[i] === '>') break;
      if (i === before) fail('attributes must be separated by whitespace');
      const am = /^([^\s=/>]+)\s*=\s*(["'])/.exec(s.slice(i));
      if (!am) fail(`bad attribute in <${qname}>`);
      const aname = am[1];
      if (!NAME_RE.test(aname)) fail(`bad attribute name ${aname}`);
      i += am[0].length;
      const q = am[2];
      const end = s.indexOf(q, i);
      if (end < 0) fail('unterminated attribute value');
      const rawVal = s.slice(i, end);
      if (rawVal.includes('<')) fail('< in attribute value');
      rawAttrs.push([aname, decodeEntities(rawVal, `attribute ${aname}`)]);
      i = end + 1;
    }
    const selfClose = s.startsWith('/>', i);
    i += selfClose ? 2 : 1;
    const seen = new Set();
    const nsScope = Object.create(scope);
    for (const [n, v] of rawAttrs) {
      if (seen.has(n)) fail(`duplicate attribute ${n}`);
      seen.add(n);
      if (n === 'xmlns') nsScope[''] = v;
      else if (n.startsWith('xmlns:')) {
        const p = n.slice(6);
        if (p === 'xmlns' || (p === 'xml' && v !== XML_NS)) fail(`illegal declaration ${n}`);
        if (v === '') fail(`empty namespace for prefix ${p}`);
        nsScope[p] = v;
      }
    }
    const resolve = (qn, isAttr) => {
      const c = qn.indexOf(':');
      if (c < 0) return { prefix: null, local: qn, ns: isAttr ? null : (nsScope[''] || null) };
      const prefix = qn.slice(0, c);
      const local = qn.slice(c + 1);
      if (prefix === 'xml') return { prefix, local, ns: XML_NS };
      if (prefix === 'xmlns') return { prefix, local, ns: XMLNS_NS };
      const ns = nsScope[prefix];
      if (!ns) fail(`undeclared prefix ${prefix} on ${qn}`);
      return { prefix, local, ns };
    };
    const el = { qname, ...resolve(qname, false), attrs: {}, attrsNs: [], children: [], text: '' };
    const expanded = new Set();
    for (const [n, v] of rawAttrs) {
      el.attrs[n] = v;
      const r = resolve(n, true);
      if (r.prefix !== 'xmlns' && n !== 'xmlns') {
        const key = `${r.ns}|${r.local}`;
        if (expanded.has(key)) fail(`duplicate expanded attribute ${n}`);
        expanded.add(key);
        el.attrsNs.push({ name: n, local: r.local, ns: r.ns, value: v });
      }
    }
    el.nsScope = nsScope;
    if (selfClose) return el;
    for (;;) {
      if (i >= s.length) fail(`unclosed element <${qname}>`);
      if (s.startsWith('</', i)) {
        const m = /^<\/([^\s>]+)\s*>/.exec(s.slice(i));
        if (!m) fail('bad end tag');
        if (m[1] !== qname) fail(`mismatched end tag </${m[1]}> for <${qname}>`);
        i += m[0].length;
        return el;
      }
      if (s.startsWith('<!--', i)) fail('comment (restricted XML)');
      if (s.startsWith('<?', i)) fail('processing instruction (restricted XML)');
      if (s.startsWith('<![CDATA[', i)) {
        const e = s.indexOf(']]>', i);
        if (e < 0) fail('unterminated CDATA');
        const t = s.slice(i + 9, e);
        el.children.push(t); el.text += t;
        i = e + 3;
        continue;
      }
      if (s.startsWith('<!', i)) fail('DOCTYPE/declaration (restricted XML)');
      if (s[i] === '<') { el.children.push(parseElement(nsScope)); continue; }
      const e = s.indexOf('<', i);
      const raw = e < 0 ? s.slice(i) : s.slice(i, e);
      if (raw.includes(']]>')) fail(']]> in text');
      const t = decodeEntities(raw, `text of <${qname}>`);
      el.children.push(t); el.text += t;
      i = e < 0 ? s.length : e;
    }
  }
  const rootScope = Object.create(null);
  rootScope.xml = XML_NS;
  const root = parseElement(rootScope);
  skipWs();
  if (i !== s.length) fail('content after the root element (more than one element?)');
  return root;
}

/** Attribute lookup by expanded name on a parsed element (ns null = no namespace). */
function attrNs(el, ns, local) {
  const a = el.attrsNs.find((x) => x.ns === ns && x.local === local);
  return a ? a.value : undefined;
}
/** Child elements, optionally filtered by local name and namespace. */
function kids(el, local, ns) {
  return el.children.filter((c) => typeof c === 'object' && (!local || c.local === local) && (ns === undefined || c.ns === ns));
}

// ---------------------------------------------------------------------------------------
// XMPP helpers (RFC 7395)

function openXml(to = 'example.com', extra = '') {
  return `<open xmlns='${NS_FR}' to='${to}' version='1.0'${extra ? ` ${extra}` : ''}/>`;
}
const CLOSE_XML = `<close xmlns='${NS_FR}'/>`;

/**
 * Handshake + <open/>; returns { ws, open (parsed), openText, features (parsed), featuresText }.
 * Throws with context if the server does not answer as expected.
 */
async function openXmpp(port, { to = 'example.com', openExtra = 'xml:lang=\'en\'', connect = {}, timeoutMs = 5000, expectFeatures = true } = {}) {
  const ws = await connectRaw({ port, ...connect });
  if (!ws.upgraded) {
    ws.destroy();
    throw new Error(`openXmpp: handshake failed: ${ws.handshakeResponse.statusLine}`);
  }
  ws.sendText(openXml(to, openExtra));
  const openText = await ws.nextText(timeoutMs);
  const open = parseXml(openText);
  if (open.local !== 'open' || open.ns !== NS_FR) throw new Error(`openXmpp: expected <open/>, got ${openText}`);
  const res = { ws, open, openText };
  if (expectFeatures) {
    res.featuresText = await ws.nextText(timeoutMs);
    res.features = parseXml(res.featuresText);
    if (res.features.local !== 'features' || res.features.ns !== NS_ST) {
      throw new Error(`openXmpp: expected <stream:features/>, got ${res.featuresText}`);
    }
  }
  return res;
}

/**
 * Check every frame the server sent on `ws` against the rules that hold for any connection.
 * Returns a list of problem strings (empty = fine), each prefixed with the checklist ID.
 *   WS-11 server frames unmasked; WS-12 data opcodes 1/0 only; RSV bits 0; control frames
 *   FIN=1 and <= 125 bytes; WS-21 no reserved/invalid close codes; WS-23 minimal lengths;
 *   WS-20 no data after the server's Close; WS-14 (G side) valid UTF-8; WS-28 first byte '<'
 *   and no XML declaration; WS-42 no whitespace-only message; WS-26/WS-25 each message is one
 *   standalone, namespace-well-formed element.
 */
function checkServerFrames(ws, { parse = true } = {}) {
  const problems = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let sawClose = false;
  ws.frames.forEach((f, idx) => {
    const where = `frame #${idx} (op=${f.opcode})`;
    if (f.masked) problems.push(`WS-11: ${where} from the server is masked`);
    if (f.rsv) problems.push(`WS-17: ${where} has RSV bits ${f.rsv}`);
    if ([0x2].includes(f.opcode)) problems.push(`WS-12: ${where} is a binary frame`);
    if ((f.opcode >= 0x3 && f.opcode <= 0x7) || f.opcode >= 0xb) problems.push(`WS-16: ${where} uses a reserved opcode`);
    if (f.opcode >= 0x8 && (!f.fin || f.length > 125)) problems.push(`WS-16: control ${where} fin=${f.fin} len=${f.length}`);
    if ((f.lenForm === 16 && f.length < 126) || (f.lenForm === 64 && f.length < 65536)) {
      problems.push(`WS-23: ${where} uses a non-minimal ${f.lenForm}-bit length for ${f.length} bytes`);
    }
    if (f.opcode === OP.CLOSE) {
      if (f.payload.length === 1) problems.push(`WS-21: ${where} Close payload of 1 byte`);
      if (f.payload.length >= 2) {
        const c = f.payload.readUInt16BE(0);
        if (c < 1000 || [1004, 1005, 1006, 1015].includes(c) || (c >= 1016 && c < 3000) || c >= 5000) {
          problems.push(`WS-21: ${where} Close code ${c} is reserved/invalid`);
        }
      }
      sawClose = true;
    } else if (sawClose && f.opcode < 0x8) {
      problems.push(`WS-20: data ${where} after the server's Close: ${JSON.stringify(f.payload.toString('utf8').slice(0, 120))}`);
    }
  });
  // reassemble data messages independently of the consumer queue
  let cur = null;
  const msgs = [];
  for (const f of ws.frames) {
    if (f.opcode === OP.TEXT || f.opcode === OP.BINARY) cur = [f.payload];
    else if (f.opcode === OP.CONT && cur) cur.push(f.payload);
    else continue;
    if (f.fin) { msgs.push(Buffer.concat(cur)); cur = null; }
  }
  msgs.forEach((b, i) => {
    const where = `message #${i} ${JSON.stringify(b.toString('utf8').slice(0, 160))}`;
    let text;
    try { text = decoder.decode(b); } catch { problems.push(`WS-14: ${where} is not valid UTF-8`); return; }
    if (text.length === 0 || /^\s*$/.test(text)) { problems.push(`WS-42: ${where} is empty/whitespace-only`); return; }
    if (b[0] !== 0x3c) problems.push(`WS-28: ${where} does not start with '<' (byte 0x${b[0].toString(16)})`);
    if (text.startsWith('<?xml')) problems.push(`WS-28: ${where} starts with an XML declaration`);
    if (parse) {
      try { parseXml(text, { allowDecl: true }); } catch (e) { problems.push(`WS-26: ${where} is not a standalone namespace-well-formed element: ${e.message.slice(0, 200)}`); }
    }
  });
  return problems;
}

/** Parse a <stream:error/> message: returns {el, condition, text, children} or null. */
function streamErrorInfo(text) {
  let el;
  try { el = parseXml(text); } catch { return null; }
  if (el.local !== 'error' || el.ns !== NS_ST) return null;
  const conds = kids(el).filter((c) => c.ns === NS_STREAMS && c.local !== 'text');
  const t = kids(el, 'text', NS_STREAMS)[0];
  return { el, condition: conds.length ? conds[0].local : null, conditions: conds.map((c) => c.local), text: t ? t.text : null };
}

/** True when `text` is <close xmlns=NS_FR .../>. */
function isCloseEl(text) {
  try { const el = parseXml(text); return el.local === 'close' && el.ns === NS_FR; } catch { return false; }
}
/** True when `text` is <open xmlns=NS_FR .../>. */
function isOpenEl(text) {
  try { const el = parseXml(text); return el.local === 'open' && el.ns === NS_FR; } catch { return false; }
}

module.exports = {
  checkServerFrames,
  streamErrorInfo,
  isCloseEl,
  isOpenEl,
  connectRaw,
  buildFrame,
  buildRequest,
  closePayload,
  FrameParser,
  RawWs,
  acceptKey,
  parseXml,
  attrNs,
  kids,
  openXml,
  openXmpp,
  CLOSE_XML,
  OP,
  NS: { FR: NS_FR, ST: NS_ST, CLIENT: NS_CLIENT, STREAMS: NS_STREAMS, SASL: NS_SASL, TLS: NS_TLS, BIND: NS_BIND, XML: XML_NS },
};
