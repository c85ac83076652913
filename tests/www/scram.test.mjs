// SCRAM-SHA-1 (RFC 5802 §5) and SCRAM-SHA-256 (RFC 7677 §3) test vectors, computed with
// WebCrypto exactly as in the browser (Node 20's globalThis.crypto.subtle).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import './setup.mjs';
import {
  ScramClient, ScramError, deriveKeys, escapeUsername, parseScramMessage, saslprep,
  toBase64, fromBase64, utf8, utf8Decode, xorBytes,
} from '../../www/js/scram.js';

const VECTORS = [
  {
    rfc: 'RFC 5802', mechanism: 'SCRAM-SHA-1', cnonce: 'fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    rfc: 'RFC 7677', mechanism: 'SCRAM-SHA-256', cnonce: 'rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
];

for (const v of VECTORS) {
  test(`${v.mechanism}: the ${v.rfc} example exchange`, async () => {
    const c = new ScramClient({ mechanism: v.mechanism, username: 'user', password: 'pencil', nonce: v.cnonce });
    assert.equal(c.clientFirst(), `n,,n=user,r=${v.cnonce}`);
    assert.equal(await c.clientFinal(v.serverFirst), v.clientFinal);
    assert.equal(await c.verifyServerFinal(v.serverFinal), true);
    assert.equal(c.keys.mechanism, v.mechanism);
    assert.equal(c.keys.iterations, 4096);
  });

  test(`${v.mechanism}: stored ClientKey/ServerKey log in without the password`, async () => {
    const first = new ScramClient({ mechanism: v.mechanism, username: 'user', password: 'pencil', nonce: v.cnonce });
    first.clientFirst();
    await first.clientFinal(v.serverFirst);
    const keys = JSON.parse(JSON.stringify(first.keys)); // as stored in sessionStorage
    assert.ok(!JSON.stringify(keys).includes('pencil'));
    const again = new ScramClient({ mechanism: v.mechanism, username: 'user', keys, nonce: v.cnonce });
    again.clientFirst();
    assert.equal(await again.clientFinal(v.serverFirst), v.clientFinal);
    assert.equal(await again.verifyServerFinal(v.serverFinal), true);
  });

  test(`${v.mechanism}: a wrong server signature is refused`, async () => {
    const c = new ScramClient({ mechanism: v.mechanism, username: 'user', password: 'pencil', nonce: v.cnonce });
    c.clientFirst();
    await c.clientFinal(v.serverFirst);
    const bad = `v=${toBase64(new Uint8Array(fromBase64(v.serverFinal.slice(2)).length))}`;
    await assert.rejects(c.verifyServerFinal(bad), (e) => e instanceof ScramError && e.condition === 'server-signature');
  });

  test(`${v.mechanism}: a wrong password gives a different proof`, async () => {
    const c = new ScramClient({ mechanism: v.mechanism, username: 'user', password: 'pencil!', nonce: v.cnonce });
    c.clientFirst();
    assert.notEqual(await c.clientFinal(v.serverFirst), v.clientFinal);
  });
}

test('deriveKeys agrees with an independent computation (node:crypto PBKDF2/HMAC)', async () => {
  for (const [mechanism, hash, salt] of [['SCRAM-SHA-1', 'sha1', 'QSXCR+Q6sek8bf92'], ['SCRAM-SHA-256', 'sha256', 'W22ZaJ0SNY7soEsUEjb6gQ==']]) {
    const k = await deriveKeys(mechanism, 'pencil', fromBase64(salt), 4096);
    const sp = nodeCrypto.pbkdf2Sync('pencil', Buffer.from(salt, 'base64'), 4096, hash === 'sha1' ? 20 : 32, hash);
    const hm = (key, data) => nodeCrypto.createHmac(hash, key).update(data).digest('base64');
    assert.equal(k.salt, salt);
    assert.equal(k.iterations, 4096);
    assert.equal(k.clientKey, hm(sp, 'Client Key'), mechanism);
    assert.equal(k.serverKey, hm(sp, 'Server Key'), mechanism);
  }
  // RFC 5802's SaltedPassword, as every implementation prints it.
  const sp1 = nodeCrypto.pbkdf2Sync('pencil', Buffer.from('QSXCR+Q6sek8bf92', 'base64'), 4096, 20, 'sha1');
  assert.equal(sp1.toString('hex'), '1d96ee3a529b5a5f9e47c01f229a2cb8a6e15f7d');
});

test('stored keys for another salt or iteration count need the password', async () => {
  const v = VECTORS[0];
  const keys = await deriveKeys('SCRAM-SHA-1', 'pencil', fromBase64('AAAAAAAAAAAAAAAA'), 4096);
  const c = new ScramClient({ mechanism: v.mechanism, username: 'user', keys, nonce: v.cnonce });
  c.clientFirst();
  await assert.rejects(c.clientFinal(v.serverFirst), (e) => e.condition === 'credentials-expired');
});

test('server-first messages that must be refused', async () => {
  const cases = [
    ['r=someoneelse,s=QSXCR+Q6sek8bf92,i=4096', 'malformed-request'], // nonce does not extend ours
    ['r=abc,s=QSXCR+Q6sek8bf92,i=4096', 'malformed-request'], // our nonce only, not extended
    ['r=abcdef,s=QSXCR+Q6sek8bf92,i=0', 'malformed-request'],
    ['r=abcdef,s=QSXCR+Q6sek8bf92,i=4k', 'malformed-request'],
    ['r=abcdef,s=QSXCR+Q6sek8bf92', 'malformed-request'],
    ['r=abcdef,s=not base64!,i=4096', 'incorrect-encoding'],
    ['e=invalid-proof', 'not-authorized'],
    ['r=abcdef,s=QSXCR+Q6sek8bf92,i=99999999', 'scram-error'], // absurd iteration count
    ['m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096', 'scram-error'],
    ['garbage', 'malformed-request'],
  ];
  for (const [msg, cond] of cases) {
    const c = new ScramClient({ mechanism: 'SCRAM-SHA-1', username: 'u', password: 'p', nonce: 'abc' });
    c.clientFirst();
    await assert.rejects(c.clientFinal(msg), (e) => e instanceof ScramError && e.condition === cond, msg);
  }
});

test('usernames are escaped (=2C, =3D) and prepared', () => {
  assert.equal(escapeUsername('a,b=c'), 'a=2Cb=3Dc');
  assert.equal(saslprep('I\u00ADX'), 'IX'); // soft hyphen maps to nothing (RFC 4013 example)
  assert.equal(saslprep('a\u00A0b'), 'a b'); // non-ASCII space
  assert.equal(saslprep('\u2168'), 'IX'); // NFKC (RFC 4013 example: ROMAN NUMERAL NINE)
  const c = new ScramClient({ mechanism: 'SCRAM-SHA-1', username: 'jürgen,=x', password: 'p', nonce: 'N' });
  assert.equal(c.clientFirst(), 'n,,n=jürgen=2C=3Dx,r=N');
});

test('SCRAM message parsing keeps "=" inside values', () => {
  const m = parseScramMessage('r=abc,s=QSXCR+Q6sek8bf92==,i=4096');
  assert.equal(m.get('s'), 'QSXCR+Q6sek8bf92==');
  assert.throws(() => parseScramMessage('r=a,r=b'), ScramError);
  assert.throws(() => parseScramMessage('noequals'), ScramError);
});

test('base64 and UTF-8 helpers round-trip awkward text', () => {
  for (const s of ['', 'a', '<&>"\'', 'Grüße 日本', '🎉𝄞', '\u0000x\u0000y']) {
    assert.equal(utf8Decode(fromBase64(toBase64(utf8(s)))), s);
  }
  assert.equal(toBase64(utf8('\u0000user\u0000pencil')), 'AHVzZXIAcGVuY2ls');
  assert.deepEqual([...xorBytes(new Uint8Array([1, 2]), new Uint8Array([3, 3]))], [2, 1]);
  assert.throws(() => fromBase64('abc'), ScramError);
});

test('a fresh client nonce is random and printable without commas', () => {
  const a = new ScramClient({ mechanism: 'SCRAM-SHA-1', username: 'u', password: 'p' });
  const b = new ScramClient({ mechanism: 'SCRAM-SHA-1', username: 'u', password: 'p' });
  assert.notEqual(a.cnonce, b.cnonce);
  assert.match(a.cnonce, /^[A-Za-z0-9+/]{24,}$/);
});
