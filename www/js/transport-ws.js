// XMPP over WebSocket (RFC 7395): one XML element per message, sub-protocol "xmpp",
// <open/> and <close/> in urn:ietf:params:xml:ns:xmpp-framing.
//
// Interface shared with transport-bosh.js:
//   t.onelement = (domElement) => ...   every element except <open/>/<close/>
//   t.onclose = (info) => ...            once; info: { transport, wsCode, wsReason, opened,
//                                         clean, network? } (see errors.js describeEnd)
//   await t.connect()                    resolves when the server's <open/> arrived
//   t.send(xmlElement), t.restart(), await t.close(), t.drop()

import { el, NS, parseXml, attr, XmlParseError } from './xml.js';

export class TransportError extends Error {
  constructor(message, info) {
    super(message);
    this.name = 'TransportError';
    this.info = info;
  }
}

export class WebSocketTransport {
  constructor({ url, domain, lang = 'en', WebSocketImpl = globalThis.WebSocket, openTimeoutMs = 10000,
    log = () => {} }) {
    this.name = 'websocket';
    this.url = url;
    this.domain = domain;
    this.lang = lang;
    this.WebSocketImpl = WebSocketImpl;
    this.openTimeoutMs = openTimeoutMs;
    this.log = log;
    this.ws = null;
    this.opened = false; // the server's first <open/> arrived
    this.closing = false; // we sent <close/> or decided to close
    this.ended = false;
    this.serverClosed = false;
    this.streamId = null;
    this.onelement = () => {};
    this.onclose = () => {};
  }

  connect() {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (info, message) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new TransportError(message, info));
      };
      this._connectResolve = () => {
        if (settled) return;
        settled = true;
        this.connected = true;
        clearTimeout(timer);
        resolve();
      };
      this._connectReject = fail;
      const timer = setTimeout(() => {
        fail({ transport: this.name, opened: false, network: true, timeout: true,
          message: 'The WebSocket did not open in time.' }, 'websocket open timeout');
        this.drop();
      }, this.openTimeoutMs);
      try {
        this.ws = new this.WebSocketImpl(this.url, 'xmpp');
      } catch (e) {
        fail({ transport: this.name, opened: false, network: true,
          message: `Cannot open a WebSocket to ${this.url}: ${e.message}` }, e.message);
        return;
      }
      const ws = this.ws;
      ws.onopen = () => {
        if (ws.protocol !== 'xmpp') {
          this.log('ws', `server chose sub-protocol "${ws.protocol}"`);
          this.closing = true;
          ws.close(1000);
          fail({ transport: this.name, opened: false, network: true,
            message: 'The WebSocket endpoint did not accept the "xmpp" sub-protocol.' }, 'no xmpp sub-protocol');
          return;
        }
        this.sendRaw(this.openElement().toString());
      };
      ws.onmessage = (ev) => this.handleMessage(ev.data);
      ws.onerror = () => { /* a close event follows with the details */ };
      ws.onclose = (ev) => this.handleClose(ev.code, ev.reason, ev.wasClean);
    });
  }

  openElement() {
    return el('open', { xmlns: NS.FRAMING, to: this.domain, version: '1.0', 'xml:lang': this.lang });
  }

  handleMessage(data) {
    if (typeof data !== 'string') {
      this.log('ws', 'binary message ignored');
      return;
    }
    this.log('in', data);
    let elem;
    try {
      elem = parseXml(data);
    } catch (e) {
      if (e instanceof XmlParseError) {
        this.log('ws', `unparsable message: ${e.message}`);
        this.drop({ message: 'The gateway sent data this page cannot read.' });
        return;
      }
      throw e;
    }
    if (elem.namespaceURI === NS.FRAMING && elem.localName === 'open') {
      this.streamId = attr(elem, 'id');
      if (!this.opened) {
        this.opened = true;
        if (this._connectResolve) this._connectResolve();
      }
      return;
    }
    if (elem.namespaceURI === NS.FRAMING && elem.localName === 'close') {
      this.serverClosed = true;
      this.seeOtherUri = attr(elem, 'see-other-uri');
      if (!this.closing) {
        this.closing = true;
        this.sendRaw(el('close', { xmlns: NS.FRAMING }).toString());
      }
      // The server closes the WebSocket; make sure it ends even if it does not.
      clearTimeout(this.closeTimer);
      if (!this.ended) this.closeTimer = setTimeout(() => this.ws && this.ws.close(1000), 2000);
      return;
    }
    this.onelement(elem);
  }

  handleClose(code, reason, wasClean) {
    clearTimeout(this.closeTimer);
    clearTimeout(this.closeWaitTimer);
    if (this.ended) return;
    this.ended = true;
    const info = {
      transport: this.name, wsCode: code, wsReason: reason || '', opened: this.opened,
      clean: this.closing && (this.serverClosed || wasClean),
    };
    this.log('ws', `closed code=${code} reason=${reason || ''} opened=${this.opened}`);
    if (!this.connected) {
      // connect() reports it; onclose is only for a connection that was established.
      if (this._connectReject) this._connectReject(info, `websocket closed before the stream opened (code ${code})`);
      return;
    }
    if (this._closeResolve) this._closeResolve();
    this.onclose(info);
  }

  sendRaw(text) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.log('out', text);
    this.ws.send(text);
    return true;
  }

  send(elem) {
    return this.sendRaw(typeof elem === 'string' ? elem : elem.toString());
  }

  /** Stream restart after SASL success: a new <open/>; the server answers <open/> + features. */
  restart() {
    this.sendRaw(this.openElement().toString());
  }

  /** Polite close: <close/>, wait for the server's <close/> / the socket close (at most 3 s). */
  close() {
    if (this.ended || !this.ws) return Promise.resolve();
    return new Promise((resolve) => {
      this._closeResolve = resolve;
      this.closeWaitTimer = setTimeout(() => this.drop(), 3000);
      if (!this.closing) {
        this.closing = true;
        if (!this.sendRaw(el('close', { xmlns: NS.FRAMING }).toString())) this.drop();
      }
    });
  }

  /** Close the socket at once (no <close/>): the gateway keeps an XEP-0198 session resumable. */
  drop(extra = {}) {
    if (this.ended) return;
    const ws = this.ws;
    if (ws) {
      try { ws.onclose = null; ws.close(); } catch { /* already closing */ }
    }
    this.handleClose(1006, extra.message || '', false);
  }
}
