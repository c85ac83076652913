// SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677) with WebCrypto (PBKDF2 + HMAC).
// Runs in browsers (secure contexts) and in Node 20 (globalThis.crypto.subtle). No DOM.
//
// The client can authenticate either with the password or with stored derived keys
// (ClientKey/ServerKey for a given salt and iteration count), so a page can log in again
// without keeping the password itself.

export const SCRAM_MECHANISMS = Object.freeze({
  'SCRAM-SHA-256': { hash: 'SHA-256', bits: 256 },
  'SCRAM-SHA-1': { hash: 'SHA-1', bits: 160 },
});

// Refuse absurd iteration counts from a server (a page would hang for minutes).
export const MAX_ITERATIONS = 1000000;

export class ScramError extends Error {
  constructor(message, condition = 'scram-error') {
    super(message);
    this.name = 'ScramError';
    this.condition = condition;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function utf8(s) {
  return enc.encode(s);
}

export function utf8Decode(bytes) {
  return dec.decode(bytes);
}

export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function fromBase64(b64) {
  const s = String(b64).replace(/\s+/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) {
    throw new ScramError('invalid base64', 'incorrect-encoding');
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function xorBytes(a, b) {
  if (a.length !== b.length) throw new ScramError('xor of unequal lengths');
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    throw new ScramError('this browser offers no WebCrypto here (the page needs https or localhost)',
      'no-webcrypto');
  }
  return s;
}

export function webCryptoAvailable() {
  return !!(globalThis.crypto && globalThis.crypto.subtle);
}

function mech(mechanism) {
  const m = SCRAM_MECHANISMS[mechanism];
  if (!m) throw new ScramError(`unsupported mechanism ${mechanism}`);
  return m;
}

/** Hi() of RFC 5802: PBKDF2 with HMAC-<hash>. */
export async function saltedPassword(mechanism, password, salt, iterations) {
  const m = mech(mechanism);
  const key = await subtle().importKey('raw', utf8(saslprep(password)), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle().deriveBits({ name: 'PBKDF2', hash: m.hash, salt, iterations }, key, m.bits);
  return new Uint8Array(bits);
}

export async function hmac(mechanism, key, data) {
  const m = mech(mechanism);
  const k = await subtle().importKey('raw', key, { name: 'HMAC', hash: m.hash }, false, ['sign']);
  return new Uint8Array(await subtle().sign('HMAC', k, typeof data === 'string' ? utf8(data) : data));
}

export async function digest(mechanism, data) {
  return new Uint8Array(await subtle().digest(mech(mechanism).hash, data));
}

/** ClientKey and ServerKey from the password (what a page may keep instead of the password). */
export async function deriveKeys(mechanism, password, salt, iterations) {
  const sp = await saltedPassword(mechanism, password, salt, iterations);
  return {
    mechanism,
    salt: toBase64(salt),
    iterations,
    clientKey: toBase64(await hmac(mechanism, sp, 'Client Key')),
    serverKey: toBase64(await hmac(mechanism, sp, 'Server Key')),
  };
}

// SASLprep (RFC 4013), the parts that matter in practice: non-ASCII spaces map to a space,
// "commonly mapped to nothing" characters are removed, then NFKC.
export function saslprep(s) {
  return String(s)
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, ' ')
    .replace(/[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, '')
    .normalize('NFKC');
}

/** saslname of RFC 5802: "=" -> "=3D", "," -> "=2C". */
export function escapeUsername(s) {
  return saslprep(s).replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** "a=1,b=2" -> Map; values may contain "=" (base64). */
export function parseScramMessage(s) {
  const out = new Map();
  for (const part of String(s).split(',')) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) throw new ScramError(`malformed SCRAM message part "${part}"`, 'malformed-request');
    if (out.has(m[1])) throw new ScramError(`duplicate SCRAM attribute ${m[1]}`, 'malformed-request');
    out.set(m[1], m[2]);
  }
  return out;
}

export function randomNonce(bytes = 24) {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  // printable, no ",": base64 without padding is fine
  return toBase64(b).replace(/=+$/, '');
}

const GS2_HEADER = 'n,,';

/**
 * One SCRAM exchange.
 *   const c = new ScramClient({ mechanism, username, password | keys, nonce? });
 *   send c.clientFirst(); send await c.clientFinal(serverFirst); await c.verifyServerFinal(msg)
 *   c.keys -> { mechanism, salt, iterations, clientKey, serverKey } (base64) for later logins
 */
export class ScramClient {
  constructor({ mechanism, username, password = null, keys = null, nonce = null }) {
    mech(mechanism);
    if (password === null && !keys) throw new ScramError('SCRAM needs a password or stored keys');
    this.mechanism = mechanism;
    this.username = username;
    this.password = password;
    this.storedKeys = keys && keys.mechanism === mechanism ? keys : null;
    this.cnonce = nonce || randomNonce();
    this.clientFirstBare = `n=${escapeUsername(username)},r=${this.cnonce}`;
    this.serverSignature = null;
    this.keys = null;
    this.state = 'initial';
  }

  clientFirst() {
    this.state = 'first-sent';
    return GS2_HEADER + this.clientFirstBare;
  }

  async clientFinal(serverFirst) {
    if (this.state !== 'first-sent') throw new ScramError('unexpected server-first-message');
    const attrs = parseScramMessage(serverFirst);
    if (attrs.has('e')) throw new ScramError(`server error: ${attrs.get('e')}`, 'not-authorized');
    if (attrs.has('m')) throw new ScramError('server requires an unsupported SCRAM extension');
    const nonce = attrs.get('r');
    const saltB64 = attrs.get('s');
    const iterStr = attrs.get('i');
    if (!nonce || !saltB64 || !iterStr) throw new ScramError('server-first-message lacks r, s or i', 'malformed-request');
    if (!nonce.startsWith(this.cnonce) || nonce.length <= this.cnonce.length) {
      throw new ScramError('the server nonce does not extend ours', 'malformed-request');
    }
    if (!/^[1-9][0-9]*$/.test(iterStr)) throw new ScramError('bad iteration count', 'malformed-request');
    const iterations = Number(iterStr);
    if (iterations > MAX_ITERATIONS) throw new ScramError(`iteration count ${iterations} is too high`);
    const salt = fromBase64(saltB64);

    let keys = this.storedKeys;
    if (!keys || keys.salt !== toBase64(salt) || keys.iterations !== iterations) {
      if (this.password === null) {
        throw new ScramError('the stored login keys no longer match the server (password changed?)',
          'credentials-expired');
      }
      keys = await deriveKeys(this.mechanism, this.password, salt, iterations);
    }
    this.keys = keys;

    const clientFinalNoProof = `c=${btoa(GS2_HEADER)},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${clientFinalNoProof}`;
    const clientKey = fromBase64(keys.clientKey);
    const storedKey = await digest(this.mechanism, clientKey);
    const clientSignature = await hmac(this.mechanism, storedKey, authMessage);
    const proof = xorBytes(clientKey, clientSignature);
    this.serverSignature = toBase64(await hmac(this.mechanism, fromBase64(keys.serverKey), authMessage));
    this.state = 'final-sent';
    return `${clientFinalNoProof},p=${toBase64(proof)}`;
  }

  /** Check the server's proof; throws ScramError unless it matches. */
  async verifyServerFinal(serverFinal) {
    if (this.state !== 'final-sent') throw new ScramError('unexpected server-final-message');
    const attrs = parseScramMessage(serverFinal);
    if (attrs.has('e')) throw new ScramError(`server error: ${attrs.get('e')}`, 'not-authorized');
    const v = attrs.get('v');
    if (!v || v !== this.serverSignature) {
      throw new ScramError('the server could not prove it knows the password (server signature mismatch)',
        'server-signature');
    }
    this.state = 'done';
    return true;
  }
}

/** Bytes of the concatenation (exported for tests). */
export { concat as concatBytes };
