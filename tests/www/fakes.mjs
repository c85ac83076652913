// Test doubles for the transports: a scriptable BOSH endpoint (fetch) and a WebSocket.
import { parseXml } from '../../www/js/xml.js';

const tick = () => new Promise((r) => setImmediate(r));

/** fetch() double: every request waits until the test answers it. */
export class FakeBoshServer {
  constructor() {
    this.requests = [];
    this.waiting = [];
    this.fetch = (url, opts) => new Promise((resolve, reject) => {
      const body = parseXml(opts.body);
      const req = {
        url, text: opts.body, body, rid: Number(body.getAttribute('rid')), answered: false,
        attr: (n) => (body.hasAttribute(n) ? body.getAttribute(n) : null),
        children: () => [...body.childNodes].filter((n) => n.nodeType === 1),
        respond: (xml, status = 200) => {
          req.answered = true;
          resolve({ ok: status >= 200 && status < 300, status, text: async () => xml });
        },
        fail: (e = new TypeError('Failed to fetch')) => { req.answered = true; reject(e); },
      };
      opts.signal.addEventListener('abort', () => { if (!req.answered) reject(new Error('aborted')); });
      this.requests.push(req);
      const w = this.waiting.shift();
      if (w) w(req);
    });
  }

  /** The next request not yet taken by next() (waits up to 3 s). */
  next(timeoutMs = 3000) {
    const taken = this.taken || (this.taken = new Set());
    const found = this.requests.find((r) => !taken.has(r));
    if (found) { taken.add(found); return Promise.resolve(found); }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no BOSH request came')), timeoutMs);
      this.waiting.push((r) => { clearTimeout(timer); taken.add(r); resolve(r); });
    });
  }
}

export const body = (attrs = '', inner = '') =>
  `<body xmlns='http://jabber.org/protocol/httpbind' xmlns:stream='http://etherx.jabber.org/streams' ${attrs}>${inner}</body>`;

/** WebSocket double; `FakeWebSocket.last` is the newest instance. */
export class FakeWebSocket {
  constructor(url, protocol) {
    this.url = url;
    this.requestedProtocol = protocol;
    this.readyState = 0;
    this.protocol = '';
    this.sent = [];
    this.closedWith = null;
    FakeWebSocket.instances.push(this);
    if (FakeWebSocket.onCreate) queueMicrotask(() => FakeWebSocket.onCreate(this));
  }

  static reset() {
    FakeWebSocket.instances = [];
    FakeWebSocket.onCreate = null;
  }

  static get last() {
    return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
  }

  // --- server side
  accept(protocol = 'xmpp') {
    this.readyState = 1;
    this.protocol = protocol;
    this.onopen && this.onopen({});
  }

  deliver(text) {
    this.onmessage && this.onmessage({ data: text });
  }

  serverClose(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose && this.onclose({ code, reason, wasClean: code !== 1006 });
  }

  // --- client side
  send(text) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(text);
    if (this.onsend) this.onsend(text);
  }

  close(code = 1000) {
    this.closedWith = code;
    const was = this.readyState;
    this.readyState = 3;
    if (was !== 3) queueMicrotask(() => this.onclose && this.onclose({ code: was === 0 ? 1006 : code, reason: '', wasClean: was === 1 }));
  }
}
FakeWebSocket.reset();

export { tick };
