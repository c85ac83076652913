'use strict';
// A deliberately small raw XMPP client for the benchmark, over either
//   - RFC 7395 WebSocket (`ws` package, subprotocol "xmpp", one element per message), or
//   - a plain c2s TCP stream (node:net, with a tiny top-level element splitter).
// It only does what the benchmark needs: open, SASL PLAIN, stream restart, resource binding,
// initial presence, sending/receiving <message/>, and closing. Every wait has a deadline.

const net = require('node:net');
const WebSocket = require('ws');
const { ElementWaiter, xmlEscape } = require('./element-waiter');

const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';


/**
 * Splits a server-to-client XML stream into top-level elements. Calls
 * onHeader(tagText) for <stream:stream ...>, onElement(text) for every complete child of
 * the stream, onEnd() for </stream:stream>. Good enough for a well-formed server stream
 * without comments/CDATA (which XMPP forbids); attribute values may contain '>'.
 */
class StreamSplitter {
  constructor({ onHeader, onElement, onEnd }) {
    this.onHeader = onHeader;
    this.onElement = onElement;
    this.onEnd = onEnd;
    this.buf = '';
    this.maxBuffered = 1 << 20;
  }

  reset() { this.buf = ''; }

  // Index just past the '>' that ends the tag starting at `p` (buf[p] === '<'), or -1.
  static tagEnd(buf, p) {
    let q = null;
    for (let i = p + 1; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (q !== null) {
        if (c === q) q = null;
      } else if (c === 34 || c === 39) {
        q = c;
      } else if (c === 62) {
        return i + 1;
      }
    }
    return -1;
  }

  push(chunk) {
    this.buf += chunk;
    if (this.buf.length > this.maxBuffered) throw new Error('stream splitter: element larger than 1 MiB');
    const buf = this.buf;
    let pos = 0;
    let consumed = 0;
    outer:
    for (;;) {
      const p = buf.indexOf('<', pos);
      if (p < 0) { consumed = buf.length; break; }
      const e = StreamSplitter.tagEnd(buf, p);
      if (e < 0) { consumed = p; break; }
      const c1 = buf[p + 1];
      if (c1 === '?') { pos = e; consumed = e; continue; }
      if (buf.startsWith('<stream:stream', p)) {
        this.onHeader(buf.slice(p, e));
        pos = e; consumed = e;
        if (this.buf !== buf) return; // reset() from the handler (restart)
        continue;
      }
      if (buf.startsWith('</stream:stream', p)) {
        pos = e; consumed = e;
        this.onEnd();
        continue;
      }
      // A child element of the stream: find where it ends.
      let depth = 0;
      let t = p;
      let te = e;
      for (;;) {
        const closing = buf[t + 1] === '/';
        const selfClosing = buf[te - 2] === '/';
        if (closing) depth--;
        else if (!selfClosing) depth++;
        if (depth === 0) {
          this.onElement(buf.slice(p, te));
          pos = te; consumed = te;
          continue outer;
        }
        t = buf.indexOf('<', te);
        if (t < 0) { consumed = p; break outer; }
        te = StreamSplitter.tagEnd(buf, t);
        if (te < 0) { consumed = p; break outer; }
      }
    }
    this.buf = this.buf === buf ? buf.slice(consumed) : this.buf;
  }
}

/**
 * One XMPP client session.
 *   kind: 'ws' (url) or 'tcp' (host, port)
 *   domain, user, password, resource
 *   onStanza(text) is called for every element received once online.
 *   onProblem(kind, detail) for stream errors / unexpected closes.
 */
class RawSession extends ElementWaiter {
  constructor(opts) {
    super(opts);
    this.kind = opts.kind;
    this.url = opts.url;
    this.host = opts.host || '127.0.0.1';
    this.port = opts.port;
    this.domain = opts.domain;
    this.password = opts.password;
    this.resource = opts.resource || 'r';
    this.jid = `${this.user}@${this.domain}/${this.resource}`;
    this.onProblem = opts.onProblem || (() => {});
    this.closed = false;
    this.closing = false;
    this.sock = null;
    this.ws = null;
    this.splitter = null;
    this.streamEnded = false;
    this.closedPromise = null;
  }

  // ---- transport -----------------------------------------------------------------------
  _connect() {
    if (this.kind === 'ws') {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(this.url, 'xmpp', {
          perMessageDeflate: false, handshakeTimeout: this.timeoutMs, maxPayload: 1 << 20,
        });
        this.ws = ws;
        let opened = false;
        this.closedPromise = new Promise((r) => ws.once('close', (code, reason) => {
          this.closed = true;
          if (!this.closing && opened) this.onProblem('ws-close', `${this.user}: WebSocket closed by peer (${code} ${reason})`);
          this._fail(new Error(`${this.user}: WebSocket closed (${code} ${reason})`));
          r();
        }));
        ws.once('open', () => {
          opened = true;
          if (ws.protocol !== 'xmpp') {
            reject(new Error(`${this.user}: server chose subprotocol '${ws.protocol}'`));
            ws.terminate();
            return;
          }
          resolve();
        });
        ws.once('unexpected-response', (req, res) => {
          reject(new Error(`${this.user}: WebSocket handshake answered HTTP ${res.statusCode}`));
          ws.terminate();
        });
        ws.on('error', (e) => {
          if (!opened) reject(e);
          else this._fail(e);
        });
        ws.on('message', (data, isBinary) => {
          if (isBinary) { this.onProblem('binary', `${this.user}: binary frame`); return; }
          const s = data.toString('utf8');
          if (s.startsWith('<close')) { this.streamEnded = true; this._deliver(s); return; }
          if (s.startsWith('<stream:error')) this.onProblem('stream-error', `${this.user}: ${s}`);
          this._deliver(s);
        });
      });
    }
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: this.host, port: this.port });
      this.sock = sock;
      sock.setNoDelay(true);
      sock.setEncoding('utf8');
      let connected = false;
      this.splitter = new StreamSplitter({
        onHeader: (h) => this._deliver(h),
        onElement: (el) => {
          if (el.startsWith('<stream:error')) this.onProblem('stream-error', `${this.user}: ${el}`);
          this._deliver(el);
        },
        onEnd: () => { this.streamEnded = true; this._deliver('</stream:stream>'); },
      });
      this.closedPromise = new Promise((r) => sock.once('close', () => {
        this.closed = true;
        if (!this.closing && connected) this.onProblem('tcp-close', `${this.user}: TCP closed by peer`);
        this._fail(new Error(`${this.user}: TCP connection closed`));
        r();
      }));
      const t = setTimeout(() => { sock.destroy(new Error(`${this.user}: connect timeout`)); }, this.timeoutMs);
      sock.once('connect', () => { connected = true; clearTimeout(t); resolve(); });
      sock.on('error', (e) => { clearTimeout(t); if (!connected) reject(e); else this._fail(e); });
      sock.on('data', (d) => {
        try {
          this.splitter.push(d);
        } catch (e) {
          this.onProblem('parse', `${this.user}: ${e.message}`);
          sock.destroy();
        }
      });
    });
  }

  send(s) {
    if (this.closed) return false;
    if (this.ws) this.ws.send(s);
    else this.sock.write(s);
    return true;
  }

  _sendOpen() {
    if (this.ws) {
      this.send(`<open xmlns="${NS_FRAMING}" to="${this.domain}" version="1.0"/>`);
    } else {
      this.splitter.reset();
      this.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
        `xmlns:stream='http://etherx.jabber.org/streams' to='${this.domain}' version='1.0'>`);
    }
  }

  async _expectHeader() {
    const h = await this._next('stream header');
    const ok = this.ws ? h.startsWith('<open') : h.startsWith('<stream:stream');
    if (!ok) throw new Error(`${this.user}: expected stream header, got ${h.slice(0, 300)}`);
    const f = await this._next('stream features');
    if (!f.startsWith('<stream:features')) throw new Error(`${this.user}: expected features, got ${f.slice(0, 300)}`);
    return f;
  }

  /** Connect, SASL PLAIN, restart, bind, optional initial presence. */
  async login({ presence = true } = {}) {
    await this._connect();
    this._sendOpen();
    const f1 = await this._expectHeader();
    await this._loginAfterFeatures(f1, {
      presence,
      send: (xml) => this.send(xml),
      restart: () => { this._sendOpen(); return this._expectHeader(); },
    });
  }

  /** Graceful close (</close> or </stream:stream>), bounded; then the socket is destroyed. */
  async close(ms = 5000) {
    if (this.closed) return;
    this.closing = true;
    this.online = false;
    try {
      if (this.ws) {
        if (this.ws.readyState === WebSocket.OPEN) this.send(`<close xmlns="${NS_FRAMING}"/>`);
      } else if (this.sock && !this.sock.destroyed) {
        this.send('</stream:stream>');
      }
    } catch { /* already gone */ }
    let timer;
    const waited = await Promise.race([
      this.closedPromise.then(() => true),
      new Promise((r) => { timer = setTimeout(() => r(false), ms); }),
    ]);
    clearTimeout(timer);
    if (!waited) {
      if (this.ws) this.ws.terminate();
      if (this.sock) this.sock.destroy();
    }
  }

  destroy() {
    this.closing = true;
    if (this.ws) this.ws.terminate();
    if (this.sock) this.sock.destroy();
  }
}

module.exports = { RawSession, StreamSplitter, xmlEscape };
