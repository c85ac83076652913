'use strict';
// What the benchmark's XMPP sessions (bench/lib/xmpp-raw.js over TCP or WebSocket,
// bench/lib/bosh-client.js over BOSH) share while logging in: elements from the server are
// awaited one at a time with a timeout (_next), or go to onStanza once the session is online.

class ElementWaiter {
  constructor(opts) {
    this.user = opts.user;
    this.onStanza = opts.onStanza || (() => {});
    this.timeoutMs = opts.timeoutMs || 30000;
    this.online = false;
    this.inq = [];          // elements received while nobody waited
    this.waiter = null;     // { resolve, reject, timer } of the pending _next()
    this.pendingError = null;
  }

  /** An element from the server: to onStanza once online, else to the waiter or the queue. */
  _deliver(el) {
    if (this.online) { this.onStanza(el); return; }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      clearTimeout(w.timer);
      w.resolve(el);
    } else {
      this.inq.push(el);
    }
  }

  /** The session failed: the pending and every later _next() rejects with err. */
  _fail(err) {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.pendingError = this.pendingError || err;
  }

  /** The next element, within timeoutMs. */
  _next(what) {
    if (this.inq.length) return Promise.resolve(this.inq.shift());
    if (this.pendingError) return Promise.reject(this.pendingError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`${this.user}: timeout waiting for ${what} (${this.timeoutMs} ms)`));
      }, this.timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  /** Online: whatever arrived during the login goes to onStanza, in order. */
  _goOnline() {
    this.online = true;
    for (const el of this.inq.splice(0)) this.onStanza(el);
  }

  /**
   * The login after the first features f1, the same on every transport: SASL PLAIN, the
   * stream restart (restart() sends it and returns the new features), bind, the RFC 3921
   * session only when the server says it is mandatory, then online and the initial presence.
   * send(xml) sends one element the transport's way.
   */
  async _loginAfterFeatures(f1, { send, restart, presence }) {
    if (!/<mechanism>PLAIN<\/mechanism>/.test(f1)) throw new Error(`${this.user}: PLAIN not offered: ${f1.slice(0, 400)}`);
    const creds = Buffer.from(`\0${this.user}\0${this.password}`, 'utf8').toString('base64');
    send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${creds}</auth>`);
    const a = await this._next('SASL result');
    if (!a.startsWith('<success')) throw new Error(`${this.user}: SASL failed: ${a.slice(0, 300)}`);
    const f2 = await restart();
    if (!/<bind[\s>/]/.test(f2)) throw new Error(`${this.user}: no <bind/> offered: ${f2.slice(0, 400)}`);
    send(`<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>` +
      `<resource>${xmlEscape(this.resource)}</resource></bind></iq>`);
    const b = await this._next('bind result');
    if (!/^<iq[^>]*type=["']result["']/.test(b)) throw new Error(`${this.user}: bind failed: ${b.slice(0, 300)}`);
    const m = /<jid>([^<]+)<\/jid>/.exec(b);
    if (m) this.jid = m[1];
    if (/<session[^>]*xmlns=["']urn:ietf:params:xml:ns:xmpp-session["']/.test(f2) && !/<optional\s*\/>/.test(f2)) {
      send("<iq xmlns='jabber:client' type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
      const s = await this._next('session result');
      if (!/^<iq[^>]*type=["']result["']/.test(s)) throw new Error(`${this.user}: session failed: ${s.slice(0, 300)}`);
    }
    this._goOnline();
    if (presence) this.send("<presence xmlns='jabber:client'/>");
  }
}

function xmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;',
  }[c]));
}

module.exports = { ElementWaiter, xmlEscape };
