'use strict';
// A small XMLHttpRequest for Node over node:http, enough for browser XMPP libraries (Strophe.js
// BOSH) to run unmodified in tests. Follows the WHATWG XHR state machine for what BOSH clients
// use: open / setRequestHeader / overrideMimeType / send / abort, readyState 0..4 with a
// readystatechange event per change, status / statusText / responseText / responseXML (parsed
// with @xmldom/xmldom; null unless the response is XML and well-formed, as in browsers) /
// getResponseHeader / getAllResponseHeaders, timeout + timeout event, and the events load,
// error, abort, timeout, loadend (as on* properties and via addEventListener).
// Asynchronous requests only (open(..., false) throws).
//
//   const { createXHRClass } = require('./xhr');
//   const XHR = createXHRClass({ name: 'page 1' });   // its own keep-alive http.Agent
//   globalThis.XMLHttpRequest = XHR;
//   ... XHR.log (one entry per request: body, status, response, socket, times, errors),
//   XHR.inFlight(), XHR.maxConcurrent, XHR.handlerErrors, XHR.kill() (a page going away:
//   abort everything, close every socket, later calls are inert)
//
// Each class owns an http.Agent with keepAlive and maxSockets >= 2, so a BOSH client can hold
// one request at the server (hold=1) while it sends another: the two go out on two sockets.
// Exceptions thrown by event handlers are caught (a browser reports them to the console and
// carries on) and recorded in XHR.handlerErrors, so tests can assert that there were none.

const http = require('node:http');
const { DOMParser } = require('@xmldom/xmldom');

const UNSENT = 0;
const OPENED = 1;
const HEADERS_RECEIVED = 2;
const LOADING = 3;
const DONE = 4;

// Request headers a page may not set (Fetch "forbidden request-header names"), plus the ones
// this implementation computes itself.
const FORBIDDEN_HEADERS = new Set(['accept-charset', 'accept-encoding', 'access-control-request-headers',
  'access-control-request-method', 'connection', 'content-length', 'cookie', 'cookie2', 'date', 'dnt',
  'expect', 'host', 'keep-alive', 'origin', 'referer', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'via']);

function isXmlMime(ct) {
  const m = String(ct || '').split(';')[0].trim().toLowerCase();
  return m === 'text/xml' || m === 'application/xml' || m.endsWith('+xml');
}

/** Parse XML text strictly; null on any error (what a browser's responseXML gives). */
function parseXmlOrNull(text) {
  if (!text) return null;
  let failed = false;
  let doc;
  try {
    doc = new DOMParser({
      onError: (level) => { if (level === 'error' || level === 'fatalError') failed = true; },
    }).parseFromString(text, 'text/xml');
  } catch {
    return null;
  }
  if (failed || !doc || !doc.documentElement) return null;
  return doc;
}

let classSeq = 0;

/**
 * A new XMLHttpRequest class (think: one browser page) with its own connection pool.
 * opts: name, maxSockets (default 6, as browsers per host; at least 2), origin (an Origin header
 * sent with every request, as a page on another origin would; default none), agent (use this
 * http.Agent instead of a new one).
 */
function createXHRClass(opts = {}) {
  const maxSockets = Math.max(2, opts.maxSockets || 6);
  const agent = opts.agent || new http.Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 1000 });
  const name = opts.name || `xhr-${++classSeq}`;
  const live = new Set();
  let killed = false;
  let reqSeq = 0;
  let socketSeq = 0;
  const socketIds = new WeakMap();
  const socketId = (s) => {
    if (!s) return null;
    if (!socketIds.has(s)) socketIds.set(s, ++socketSeq);
    return socketIds.get(s);
  };

  class XMLHttpRequest {
    constructor() {
      this._listeners = new Map();
      this._reset();
      this.timeout = 0;
      this.withCredentials = false;
      this.responseType = '';
      this.onreadystatechange = null;
      this.onload = null;
      this.onerror = null;
      this.onabort = null;
      this.ontimeout = null;
      this.onloadend = null;
      this.onloadstart = null;
      this.upload = { addEventListener() {}, removeEventListener() {} };
    }

    _reset() {
      this.readyState = UNSENT;
      this.status = 0;
      this.statusText = '';
      this.responseText = '';
      this.responseURL = '';
      this._doc = undefined;
      this._method = null;
      this._url = null;
      this._headers = {};
      this._respHeaders = {};
      this._respContentType = '';
      this._mime = null;
      this._sent = false;
      this._req = null;
      this._timer = null;
      this._entry = null;
    }

    get response() { return this.responseText; }

    get responseXML() {
      if (this.readyState !== DONE || this.status === 0) return null;
      if (this._doc === undefined) {
        const ct = this._mime || this._respContentType;
        this._doc = isXmlMime(ct) ? parseXmlOrNull(this.responseText) : null;
      }
      return this._doc;
    }

    addEventListener(type, fn) {
      if (!this._listeners.has(type)) this._listeners.set(type, new Set());
      this._listeners.get(type).add(fn);
    }

    removeEventListener(type, fn) {
      const set = this._listeners.get(type);
      if (set) set.delete(fn);
    }

    _fire(type) {
      const ev = { type, target: this, currentTarget: this };
      const fns = [];
      if (typeof this[`on${type}`] === 'function') fns.push(this[`on${type}`]);
      for (const fn of this._listeners.get(type) || []) fns.push(fn);
      for (const fn of fns) {
        try {
          fn.call(this, ev);
        } catch (e) {
          XMLHttpRequest.handlerErrors.push(e);
          if (process.env.XGW_TEST_VERBOSE) process.stderr.write(`[${name}] ${type} handler threw: ${e.stack}\n`);
        }
      }
    }

    _setState(state) {
      this.readyState = state;
      this._fire('readystatechange');
    }

    open(method, url, async = true) {
      if (killed) return;
      if (async === false) throw new Error('xhr.js: synchronous XMLHttpRequest is not supported');
      if (this._req) this._abortNetwork();
      const listeners = this._listeners;
      this._reset();
      this._listeners = listeners;
      this._method = String(method).toUpperCase();
      this._url = new URL(url);
      if (this._url.protocol !== 'http:') throw new Error(`xhr.js: only http: URLs are supported, got ${url}`);
      this._setState(OPENED);
    }

    setRequestHeader(header, value) {
      if (killed) return;
      if (this.readyState !== OPENED || this._sent) {
        const e = new Error('setRequestHeader: the object state must be OPENED and not sent');
        e.name = 'InvalidStateError';
        throw e;
      }
      const lower = String(header).toLowerCase();
      if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-')) return;
      const prev = Object.keys(this._headers).find((k) => k.toLowerCase() === lower);
      if (prev) this._headers[prev] = `${this._headers[prev]}, ${value}`;
      else this._headers[header] = String(value);
    }

    overrideMimeType(mime) {
      if (this.readyState === LOADING || this.readyState === DONE) {
        const e = new Error('overrideMimeType: too late');
        e.name = 'InvalidStateError';
        throw e;
      }
      this._mime = String(mime);
    }

    getResponseHeader(header) {
      if (this.readyState < HEADERS_RECEIVED) return null;
      const v = this._respHeaders[String(header).toLowerCase()];
      return v === undefined ? null : v;
    }

    getAllResponseHeaders() {
      if (this.readyState < HEADERS_RECEIVED) return '';
      return Object.keys(this._respHeaders).sort()
        .map((k) => `${k}: ${this._respHeaders[k]}\r\n`).join('');
    }

    send(body = null) {
      if (killed) return;
      if (this.readyState !== OPENED || this._sent) {
        const e = new Error('send: the object state must be OPENED and not sent');
        e.name = 'InvalidStateError';
        throw e;
      }
      this._sent = true;
      const data = body === null || body === undefined || this._method === 'GET' || this._method === 'HEAD'
        ? null : Buffer.from(typeof body === 'string' ? body : String(body), 'utf8');
      const headers = { ...this._headers };
      if (data && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = 'text/plain;charset=UTF-8';
      }
      if (opts.origin) headers.Origin = opts.origin;
      if (data) headers['Content-Length'] = String(data.length);
      const entry = {
        id: ++reqSeq,
        method: this._method,
        url: this._url.href,
        body: data ? data.toString('utf8') : '',
        sid: data ? ((/\bsid=(['"])([^'"]*)\1/.exec(data.toString('utf8')) || [])[2] || null) : null,
        rid: data ? Number((/\brid=(['"])(\d+)\1/.exec(data.toString('utf8')) || [])[2] || NaN) : NaN,
        start: Date.now(),
        end: null,
        status: null,
        response: null,
        socket: null,
        reusedSocket: null,
        outcome: 'pending',
      };
      this._entry = entry;
      XMLHttpRequest.log.push(entry);
      live.add(this);
      XMLHttpRequest._concurrency();

      let req;
      try {
        req = http.request({
          protocol: 'http:',
          hostname: this._url.hostname.replace(/^\[|\]$/g, ''),
          port: this._url.port || 80,
          path: `${this._url.pathname}${this._url.search}`,
          method: this._method,
          headers,
          agent,
        });
      } catch (e) {
        this._networkError('error', e);
        return;
      }
      this._req = req;
      req.on('socket', (s) => {
        entry.socket = socketId(s);
        entry.reusedSocket = req.reusedSocket;
      });
      req.on('response', (res) => {
        if (this._req !== req) { res.resume(); return; }
        this.status = res.statusCode;
        this.statusText = res.statusMessage || '';
        this.responseURL = this._url.href;
        this._respHeaders = {};
        for (const [k, v] of Object.entries(res.headers)) this._respHeaders[k] = Array.isArray(v) ? v.join(', ') : v;
        this._respContentType = this._respHeaders['content-type'] || '';
        this._setState(HEADERS_RECEIVED);
        const chunks = [];
        res.on('data', (c) => {
          if (this._req !== req) return;
          chunks.push(c);
          // LOADING once; the text is decoded when complete (no split UTF-8 sequences).
          if (this.readyState === HEADERS_RECEIVED) this._setState(LOADING);
        });
        res.on('end', () => {
          if (this._req !== req) return;
          this._clearTimer();
          this.responseText = Buffer.concat(chunks).toString('utf8');
          this._req = null;
          live.delete(this);
          entry.end = Date.now();
          entry.status = this.status;
          entry.response = this.responseText;
          entry.outcome = 'done';
          if (this.readyState === HEADERS_RECEIVED) this.readyState = LOADING;
          this._setState(DONE);
          this._fire('load');
          this._fire('loadend');
        });
        res.on('error', (e) => { if (this._req === req) this._networkError('error', e); });
        res.on('aborted', () => { if (this._req === req) this._networkError('error', new Error('response aborted')); });
      });
      req.on('error', (e) => { if (this._req === req) this._networkError('error', e); });
      if (this.timeout > 0) {
        this._timer = setTimeout(() => {
          if (this._req === req) this._networkError('timeout', new Error(`timeout after ${this.timeout} ms`));
        }, this.timeout);
      }
      this._fire('loadstart');
      req.end(data || undefined);
    }

    _clearTimer() {
      if (this._timer) { clearTimeout(this._timer); this._timer = null; }
    }

    _abortNetwork() {
      const req = this._req;
      this._req = null;
      this._clearTimer();
      live.delete(this);
      if (req) {
        try { req.destroy(); } catch { /* gone */ }
      }
    }

    // Request error steps: DONE with status 0, readystatechange, then the event and loadend.
    _networkError(kind, err) {
      this._abortNetwork();
      const entry = this._entry;
      if (entry && entry.outcome === 'pending') {
        entry.end = Date.now();
        entry.status = 0;
        entry.outcome = kind;
        entry.error = err ? err.message : kind;
      }
      this.status = 0;
      this.statusText = '';
      this.responseText = '';
      this._respHeaders = {};
      this._setState(DONE);
      this._fire(kind);
      this._fire('loadend');
    }

    abort() {
      const active = this._req !== null || (this.readyState === OPENED && this._sent)
        || this.readyState === HEADERS_RECEIVED || this.readyState === LOADING;
      if (active) {
        this._abortNetwork();
        const entry = this._entry;
        if (entry && entry.outcome === 'pending') {
          entry.end = Date.now();
          entry.status = 0;
          entry.outcome = 'abort';
        }
        this.status = 0;
        this.responseText = '';
        if (!killed) {
          this._setState(DONE);
          this._fire('abort');
          this._fire('loadend');
        }
      }
      if (this.readyState === DONE) this.readyState = UNSENT;
    }

    static inFlight() { return [...live].map((x) => x._entry); }

    static _concurrency() {
      XMLHttpRequest.maxConcurrent = Math.max(XMLHttpRequest.maxConcurrent, live.size);
    }

    /** The page goes away: abort every request silently, close all sockets, ignore later calls. */
    static kill() {
      killed = true;
      for (const x of [...live]) x.abort();
      agent.destroy();
    }

    static get killed() { return killed; }
  }

  Object.assign(XMLHttpRequest, { UNSENT, OPENED, HEADERS_RECEIVED, LOADING, DONE });
  Object.assign(XMLHttpRequest.prototype, { UNSENT, OPENED, HEADERS_RECEIVED, LOADING, DONE });
  XMLHttpRequest.className = name;
  XMLHttpRequest.agent = agent;
  XMLHttpRequest.log = [];
  XMLHttpRequest.handlerErrors = [];
  XMLHttpRequest.maxConcurrent = 0;
  return XMLHttpRequest;
}

module.exports = { createXHRClass, parseXmlOrNull, UNSENT, OPENED, HEADERS_RECEIVED, LOADING, DONE };
