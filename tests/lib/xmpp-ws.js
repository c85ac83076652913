'use strict';
// Thin promise helpers around the real web XMPP client libraries (@xmpp/client and
// StanzaJS) over RFC 7395 WebSocket, plus a minimal raw WebSocket XMPP client.
// Every wait has a deadline.

const WebSocket = require('ws');

/** Reject with `what` if `promise` has not settled within `ms`. */
function withTimeout(promise, ms, what = 'operation') {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// A queue of received items with a predicate-based, deadline-bounded wait.
class Inbox {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = new Set();
  }
  push(item) {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      const idx = this.items.findIndex(w.pred);
      if (idx >= 0) {
        const [hit] = this.items.splice(idx, 1);
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(hit);
      }
    }
  }
  /** Remove and return the first item matching pred (waiting up to ms). */
  take(pred = () => true, ms = 5000, what = 'item') {
    const idx = this.items.findIndex(pred);
    if (idx >= 0) return Promise.resolve(this.items.splice(idx, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timeout: ${this.name}: no ${what} within ${ms} ms`));
      }, ms);
      this.waiters.add(w);
    });
  }
}

// ---------------------------------------------------------------------------
// @xmpp/client (xmpp.js). ESM-only, and it uses the global WebSocket, which
// Node 20 does not have by default: install the `ws` package's class there.
let xmppjsModule = null;
async function loadXmppJs() {
  if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = WebSocket;
  if (!xmppjsModule) xmppjsModule = await import('@xmpp/client');
  return xmppjsModule;
}

/**
 * Log in with @xmpp/client. `mechanism` forces a SASL mechanism ('SCRAM-SHA-1', 'PLAIN').
 * Returns { xmpp, xml, jid, offeredMechanisms, features, inbox (stanzas), errors, stop() }.
 * Automatic reconnection is disabled.
 */
async function xmppjsLogin({ url, domain, username, password, resource, mechanism, timeoutMs = 10000 }) {
  const { client, xml } = await loadXmppJs();
  const offered = { mechanisms: null, used: null };
  const credentials = async (authenticate, mechanisms) => {
    offered.mechanisms = [...mechanisms];
    const use = mechanism || mechanisms[0];
    if (!mechanisms.includes(use)) {
      throw new Error(`SASL mechanism ${use} not offered (offered: ${mechanisms.join(', ')})`);
    }
    offered.used = use;
    await authenticate({ username, password }, use);
  };
  const xmpp = client({ service: url, domain, resource, credentials, timeout: timeoutMs });
  xmpp.reconnect.stop();
  // @xmpp/client 0.14 bug: a frame that arrives after the parser was detached (e.g. the
  // <close/> right after a stream error) throws "Cannot read properties of null (reading
  // 'write')" from a socket listener, i.e. an uncaught exception. Drop such data instead.
  // Waiting for the server's </close> uses `timeout`, and that timer outlives a socket that
  // closed first (it then holds the test process open): wait 3 s at most for it.
  const closeStream = xmpp._closeStream;
  xmpp._closeStream = function boundedCloseStream(t) {
    return closeStream.call(this, Math.min(t || 3000, 3000));
  };
  const onData = xmpp._onData;
  xmpp._onData = function guardedOnData(data) {
    if (!this.parser) return undefined;
    return onData.call(this, data);
  };
  const inbox = new Inbox(`xmpp.js ${username}`);
  const errors = [];
  const features = [];
  xmpp.on('error', (e) => errors.push(e));
  xmpp.on('stanza', (s) => inbox.push(s));
  xmpp.on('nonza', (el) => { if (el.is('features', 'http://etherx.jabber.org/streams')) features.push(el); });
  let jid;
  try {
    jid = await withTimeout(xmpp.start(), timeoutMs, `@xmpp/client login of ${username}@${domain}`);
  } catch (e) {
    await forceClose(xmpp);
    if (errors.length && !e.condition) e.streamErrors = errors;
    throw e;
  }
  const stop = async (ms = 5000) => {
    await withTimeout(xmpp.stop(), ms, `@xmpp/client logout of ${username}`);
  };
  return { xmpp, xml, jid, offeredMechanisms: offered.mechanisms, usedMechanism: offered.used, features, inbox, errors, stop };
}

async function forceClose(xmpp) {
  try {
    xmpp.reconnect.stop();
    await withTimeout(xmpp.disconnect(1000), 2000, 'xmpp.js disconnect');
  } catch { /* best effort */ }
  try { if (xmpp.socket && xmpp.socket.socket) xmpp.socket.socket.terminate?.(); } catch { /* ignore */ }
}

// ---------------------------------------------------------------------------
// StanzaJS. Uses the `ws` package itself in Node.
let stanzaModule = null;
function loadStanza() {
  if (!stanzaModule) stanzaModule = require('stanza');
  return stanzaModule;
}

/**
 * A StanzaJS client for one transport (transports: { websocket: url|false, bosh: url|false }),
 * with no reconnection or stream management, that records the SASL mechanisms it was offered
 * (offered.mechanisms) and, with `mechanism`, may use only that one.
 */
function stanzaClient({ domain, username, password, resource, mechanism, transports }) {
  const XMPP = loadStanza();
  const client = XMPP.createClient({
    jid: `${username}@${domain}`,
    password,
    resource,
    server: domain,
    transports,
    autoReconnect: false,
    useStreamManagement: false,
    allowResumption: false,
  });
  const offered = { mechanisms: null };
  const origCreate = client.sasl.createMechanism.bind(client.sasl);
  client.sasl.createMechanism = (names) => {
    offered.mechanisms = [...names];
    return origCreate(names);
  };
  if (mechanism) {
    client.sasl.mechanisms = client.sasl.mechanisms.filter((m) => m.name === mechanism);
    if (client.sasl.mechanisms.length !== 1) throw new Error(`StanzaJS does not know ${mechanism}`);
  }
  return { client, offered };
}

/**
 * Log in with StanzaJS. `mechanism` restricts the SASL factory to that one mechanism.
 * Returns { client, jid, offeredMechanisms, inbox (messages), streamErrors, raw, stop() }.
 */
async function stanzaLogin({ url, domain, username, password, resource, mechanism, timeoutMs = 10000 }) {
  const { client, offered } = stanzaClient({ domain, username, password, resource, mechanism, transports: { websocket: url, bosh: false } });
  const inbox = new Inbox(`StanzaJS ${username}`);
  const streamErrors = [];
  const raw = { incoming: [], outgoing: [] };
  client.on('message', (m) => inbox.push(m));
  client.on('stream:error', (e) => streamErrors.push(e));
  client.on('raw:incoming', (d) => raw.incoming.push(String(d)));
  client.on('raw:outgoing', (d) => raw.outgoing.push(String(d)));
  const disconnected = new Promise((resolve) => client.once('disconnected', resolve));
  const started = new Promise((resolve, reject) => {
    client.once('session:started', resolve);
    client.once('auth:failed', () => reject(new Error(`StanzaJS: authentication failed for ${username}@${domain}`)));
    client.once('disconnected', () => reject(Object.assign(
      new Error(`StanzaJS: disconnected before session start (${username}@${domain})` +
        (streamErrors.length ? `; stream error ${JSON.stringify(streamErrors)}` : '')),
      { streamErrors },
    )));
  });
  client.connect();
  try {
    await withTimeout(started, timeoutMs, `StanzaJS login of ${username}@${domain}`);
  } catch (e) {
    client.disconnect();
    await withTimeout(disconnected, 3000, 'StanzaJS disconnect').catch(() => {});
    throw e;
  }
  const stop = async (ms = 5000) => {
    client.disconnect();
    await withTimeout(disconnected, ms, `StanzaJS logout of ${username}`);
  };
  return { client, jid: client.jid, offeredMechanisms: offered.mechanisms, inbox, streamErrors, raw, disconnected, stop };
}

// ---------------------------------------------------------------------------
// Minimal raw RFC 7395 client: one text frame per XML element.
const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

function openFrame(domain, extra = '') {
  return `<open xmlns="${NS_FRAMING}" to="${domain}" version="1.0"${extra}/>`;
}
function closeFrame() {
  return `<close xmlns="${NS_FRAMING}"/>`;
}

/**
 * Connect a raw WebSocket with subprotocol "xmpp". Returns
 * { ws, frames: Inbox of strings, closed: Promise<{code, reason}>, send(str), close() }.
 */
async function rawConnect(url, { protocols = ['xmpp'], timeoutMs = 5000, headers } = {}) {
  const ws = new WebSocket(url, protocols, { headers });
  const frames = new Inbox(`raw ${url}`);
  const all = [];
  ws.on('message', (data, isBinary) => {
    const s = isBinary ? { binary: Buffer.from(data) } : data.toString('utf8');
    all.push(s);
    frames.push(s);
  });
  const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} instead of WebSocket upgrade`)));
  }), timeoutMs, `WebSocket connect to ${url}`);
  ws.on('error', () => {});
  return {
    ws,
    frames,
    all,
    closed,
    send: (s) => ws.send(s),
    close: () => { try { ws.close(); } catch { /* ignore */ } },
    terminate: () => { try { ws.terminate(); } catch { /* ignore */ } },
  };
}

/** Message bodies that must arrive byte for byte: XML specials, non-ASCII, astral-plane
 * characters, whitespace, and text that looks like markup or CDATA. */
const BODIES = [
  'plain ascii',
  '<&>"\'',
  'Grüße, 日本',
  '🎉𝄞',
  'mixed <b>not markup</b> & "quotes" \'apos\' Grüße 日本語 🎉𝄞 end',
  '  leading and trailing spaces  \n second line\tafter tab',
  ']]> <![CDATA[ x ]]> &amp; &lt; literal entity text',
];

module.exports = {
  BODIES,
  stanzaClient,
  withTimeout,
  Inbox,
  loadXmppJs,
  xmppjsLogin,
  stanzaLogin,
  rawConnect,
  openFrame,
  closeFrame,
  NS_FRAMING,
};
