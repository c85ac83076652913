// SASL negotiation for XMPP (RFC 6120 §6): choosing a mechanism and running the exchange
// with <auth/>, <challenge/>, <response/>, <success/>, <failure/>. Pure: the caller moves
// elements; this module builds the outbound ones and reads the inbound DOM elements.

import { el, NS, child, children, isElement } from './xml.js';
import { ScramClient, ScramError, SCRAM_MECHANISMS, toBase64, fromBase64, utf8, utf8Decode,
  webCryptoAvailable, saslprep } from './scram.js';

// Strongest first.
export const MECHANISM_PREFERENCE = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'];

export class SaslError extends Error {
  constructor(condition, text = '') {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'SaslError';
    this.condition = condition;
    this.text = text;
  }
}

/** Mechanism names offered in <stream:features/>. */
export function offeredMechanisms(features) {
  const mechs = child(features, 'mechanisms', NS.SASL);
  return mechs ? children(mechs, 'mechanism', NS.SASL).map((m) => m.textContent.trim()) : [];
}

/**
 * Pick the mechanism to use.
 *   creds: { password?: string, keys?: {mechanism,...} }
 *   allowPlain: PLAIN only when the page is on a secure origin or the user allowed it.
 * Returns a name or null.
 */
export function chooseMechanism(offered, creds, { allowPlain = true, webCrypto = webCryptoAvailable() } = {}) {
  const set = new Set(offered);
  for (const m of MECHANISM_PREFERENCE) {
    if (!set.has(m)) continue;
    if (SCRAM_MECHANISMS[m]) {
      if (!webCrypto) continue;
      if (creds.password) return m;
      if (creds.keys && creds.keys.mechanism === m) return m;
    } else if (m === 'PLAIN' && allowPlain && creds.password) {
      return m;
    }
  }
  return null;
}

function b64OrEmpty(text) {
  return text === '' ? '=' : toBase64(utf8(text));
}

function decodePayload(elem) {
  const t = (elem.textContent || '').trim();
  if (t === '' || t === '=') return '';
  return utf8Decode(fromBase64(t));
}

/**
 *   const a = new SaslAuthenticator({ mechanism, username, password, keys });
 *   send(await a.start());
 *   for each inbound SASL element: const r = await a.step(elem); if (r.send) send(r.send);
 *   until r.done (success) -- or a SaslError is thrown (failure)
 *   a.keys: SCRAM keys to store for the next login (null for PLAIN)
 */
export class SaslAuthenticator {
  constructor({ mechanism, username, password = null, keys = null, nonce = null }) {
    this.mechanism = mechanism;
    this.username = username;
    this.password = password;
    this.scram = SCRAM_MECHANISMS[mechanism]
      ? new ScramClient({ mechanism, username, password, keys, nonce }) : null;
    if (!this.scram && mechanism !== 'PLAIN') throw new SaslError('invalid-mechanism', mechanism);
    if (mechanism === 'PLAIN' && password === null) throw new SaslError('invalid-mechanism', 'PLAIN needs the password');
    this.verified = false;
  }

  get keys() {
    return this.scram ? this.scram.keys : null;
  }

  async start() {
    let initial;
    if (this.scram) initial = this.scram.clientFirst();
    else initial = `\u0000${saslprep(this.username)}\u0000${saslprep(this.password)}`;
    return el('auth', { xmlns: NS.SASL, mechanism: this.mechanism }, b64OrEmpty(initial));
  }

  async step(elem) {
    if (!isElement(elem) || elem.namespaceURI !== NS.SASL) {
      throw new SaslError('malformed-request', `unexpected element <${elem && elem.localName}/> during authentication`);
    }
    try {
      switch (elem.localName) {
        case 'challenge': {
          if (!this.scram) throw new SaslError('malformed-request', 'unexpected challenge for PLAIN');
          const payload = decodePayload(elem);
          if (this.scram.state === 'first-sent') {
            const final = await this.scram.clientFinal(payload);
            return { done: false, send: el('response', { xmlns: NS.SASL }, b64OrEmpty(final)) };
          }
          // Some servers send server-final as a challenge and expect an empty response.
          await this.scram.verifyServerFinal(payload);
          this.verified = true;
          return { done: false, send: el('response', { xmlns: NS.SASL }) };
        }
        case 'success': {
          if (this.scram && !this.verified) {
            const payload = decodePayload(elem);
            if (!payload) throw new SaslError('server-signature', 'the server sent no proof of the password');
            await this.scram.verifyServerFinal(payload);
            this.verified = true;
          }
          return { done: true };
        }
        case 'failure': {
          const cond = children(elem).find((c) => c.localName !== 'text');
          const text = child(elem, 'text', NS.SASL);
          throw new SaslError(cond ? cond.localName : 'not-authorized', text ? text.textContent : '');
        }
        default:
          throw new SaslError('malformed-request', `unexpected <${elem.localName}/> during authentication`);
      }
    } catch (e) {
      if (e instanceof ScramError) throw new SaslError(e.condition, e.message);
      throw e;
    }
  }
}

/** <abort/> (sent when the client gives up). */
export function saslAbort() {
  return el('abort', { xmlns: NS.SASL });
}
