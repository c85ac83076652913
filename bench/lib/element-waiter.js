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
}

module.exports = { ElementWaiter };
