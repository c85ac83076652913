// XEP-0198 stream management: counting handled stanzas, acknowledgements, the queue of
// unacknowledged outbound stanzas, and resumption. Pure: builds and reads elements only.

import { el, NS, attr } from './xml.js';

const MOD = 2 ** 32;

export class StreamManagement {
  constructor(saved = null) {
    this.enabled = false;
    this.id = null;
    this.resumable = false;
    this.max = null;
    this.inbound = 0; // h: stanzas we handled
    this.acked = 0; // last h the server acknowledged
    this.unacked = []; // serialised stanzas sent and not yet acknowledged
    if (saved) {
      this.id = saved.id || null;
      this.resumable = !!saved.resumable;
      this.inbound = saved.inbound >>> 0;
      this.acked = saved.acked >>> 0;
      this.unacked = Array.isArray(saved.unacked) ? saved.unacked.slice() : [];
    }
  }

  static offered(features) {
    if (!features) return false;
    for (let n = features.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 1 && n.localName === 'sm' && n.namespaceURI === NS.SM) return true;
    }
    return false;
  }

  enableElement() {
    return el('enable', { xmlns: NS.SM, resume: 'true' });
  }

  onEnabled(elem) {
    this.enabled = true;
    this.id = attr(elem, 'id');
    const r = attr(elem, 'resume');
    this.resumable = !!this.id && (r === 'true' || r === '1');
    this.max = attr(elem, 'max') ? Number(attr(elem, 'max')) : null;
    this.inbound = 0;
    this.acked = 0;
    this.unacked = [];
  }

  /** Count an inbound stanza (call for every message/presence/iq once enabled). */
  countInbound() {
    if (this.enabled) this.inbound = (this.inbound + 1) % MOD;
  }

  /** Remember an outbound stanza until acknowledged. */
  onSent(text) {
    if (this.enabled) this.unacked.push(text);
  }

  requestElement() {
    return el('r', { xmlns: NS.SM });
  }

  answerElement() {
    return el('a', { xmlns: NS.SM, h: this.inbound });
  }

  /**
   * The server handled stanzas up to h. Returns the acknowledged stanzas (oldest first).
   * Throws if h acknowledges more than was sent (a server bug; the session cannot be trusted).
   */
  onAck(h) {
    const n = ((Number(h) >>> 0) - this.acked + MOD) % MOD;
    if (n > this.unacked.length) {
      throw new Error(`the server acknowledged ${n} stanzas but only ${this.unacked.length} were pending`);
    }
    this.acked = Number(h) >>> 0;
    return this.unacked.splice(0, n);
  }

  resumeElement() {
    return el('resume', { xmlns: NS.SM, previd: this.id, h: this.inbound });
  }

  /** After <resumed h/>: drop what the server has and return what to send again. */
  onResumed(elem) {
    this.enabled = true;
    this.onAck(attr(elem, 'h'));
    const again = this.unacked;
    this.unacked = [];
    return again;
  }

  /** Resumption failed: the session is gone; unacknowledged stanzas are returned for the UI. */
  onFailed() {
    const lost = this.unacked;
    this.enabled = false;
    this.id = null;
    this.resumable = false;
    this.unacked = [];
    return lost;
  }

  reset() {
    this.enabled = false;
    this.id = null;
    this.resumable = false;
    this.inbound = 0;
    this.acked = 0;
    this.unacked = [];
  }

  snapshot() {
    return { id: this.id, resumable: this.resumable, inbound: this.inbound, acked: this.acked,
      unacked: this.unacked.slice(-200) };
  }
}
