// SASL negotiation (www/js/sasl.js) with server elements parsed as the browser would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './setup.mjs';
import { parseXml, NS } from '../../www/js/xml.js';
import { chooseMechanism, offeredMechanisms, SaslAuthenticator, SaslError } from '../../www/js/sasl.js';
import { toBase64, fromBase64, utf8, utf8Decode } from '../../www/js/scram.js';

const sasl = (name, b64 = '') => parseXml(`<${name} xmlns='${NS.SASL}'>${b64}</${name}>`);
const b64 = (s) => toBase64(utf8(s));

test('offered mechanisms are read from stream features', () => {
  const f = parseXml(`<stream:features xmlns:stream='${NS.STREAMS}'><mechanisms xmlns='${NS.SASL}'>` +
    '<mechanism>PLAIN</mechanism><mechanism> SCRAM-SHA-1 </mechanism></mechanisms></stream:features>');
  assert.deepEqual(offeredMechanisms(f), ['PLAIN', 'SCRAM-SHA-1']);
  assert.deepEqual(offeredMechanisms(parseXml(`<features xmlns='${NS.STREAMS}'/>`)), []);
});

test('mechanism choice: strongest first, stored keys only for their mechanism, PLAIN needs the password', () => {
  const all = ['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'SCRAM-SHA-1-PLUS'];
  assert.equal(chooseMechanism(all, { password: 'p' }), 'SCRAM-SHA-256');
  assert.equal(chooseMechanism(['PLAIN', 'SCRAM-SHA-1'], { password: 'p' }), 'SCRAM-SHA-1');
  assert.equal(chooseMechanism(['PLAIN'], { password: 'p' }), 'PLAIN');
  assert.equal(chooseMechanism(['PLAIN'], { password: 'p' }, { allowPlain: false }), null);
  assert.equal(chooseMechanism(all, { keys: { mechanism: 'SCRAM-SHA-1' } }), 'SCRAM-SHA-1');
  assert.equal(chooseMechanism(['PLAIN', 'SCRAM-SHA-256'], { keys: { mechanism: 'SCRAM-SHA-1' } }), null);
  assert.equal(chooseMechanism(['SCRAM-SHA-1', 'PLAIN'], { password: 'p' }, { webCrypto: false }), 'PLAIN');
  assert.equal(chooseMechanism(['DIGEST-MD5', 'X-OAUTH2'], { password: 'p' }), null);
});

test('PLAIN sends authzid-less credentials, UTF-8 and XML-safe', async () => {
  const a = new SaslAuthenticator({ mechanism: 'PLAIN', username: 'jürgen', password: 'pw <&>"\' 🎉' });
  const auth = await a.start();
  assert.equal(auth.attrs.mechanism, 'PLAIN');
  assert.equal(auth.attrs.xmlns, NS.SASL);
  assert.equal(utf8Decode(fromBase64(auth.getText())), '\u0000jürgen\u0000pw <&>"\' 🎉');
  assert.deepEqual(await a.step(sasl('success')), { done: true });
  assert.equal(a.keys, null);
});

test('SCRAM-SHA-1 through SASL elements (RFC 5802 exchange), server proof checked', async () => {
  const a = new SaslAuthenticator({ mechanism: 'SCRAM-SHA-1', username: 'user', password: 'pencil', nonce: 'fyko+d2lbbFgONRv9qkxdawL' });
  const auth = await a.start();
  assert.equal(utf8Decode(fromBase64(auth.getText())), 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
  const r = await a.step(sasl('challenge', b64('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096')));
  assert.equal(r.done, false);
  assert.equal(r.send.name, 'response');
  assert.equal(utf8Decode(fromBase64(r.send.getText())),
    'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
  assert.deepEqual(await a.step(sasl('success', b64('v=rmF9pqV8S7suAoZWja4dJRkFsKQ='))), { done: true });
  assert.equal(a.keys.mechanism, 'SCRAM-SHA-1');
});

test('SCRAM: server-final in a challenge, then an empty success', async () => {
  const a = new SaslAuthenticator({ mechanism: 'SCRAM-SHA-1', username: 'user', password: 'pencil', nonce: 'fyko+d2lbbFgONRv9qkxdawL' });
  await a.start();
  await a.step(sasl('challenge', b64('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096')));
  const r = await a.step(sasl('challenge', b64('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')));
  assert.equal(r.send.toString(), `<response xmlns='${NS.SASL}'/>`);
  assert.deepEqual(await a.step(sasl('success')), { done: true });
});

test('SCRAM: a success without or with a wrong server proof is refused', async () => {
  for (const payload of ['', b64('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=')]) {
    const a = new SaslAuthenticator({ mechanism: 'SCRAM-SHA-1', username: 'user', password: 'pencil', nonce: 'fyko+d2lbbFgONRv9qkxdawL' });
    await a.start();
    await a.step(sasl('challenge', b64('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096')));
    await assert.rejects(a.step(sasl('success', payload)), (e) => e instanceof SaslError && e.condition === 'server-signature');
  }
});

test('failure carries its condition and text', async () => {
  const a = new SaslAuthenticator({ mechanism: 'PLAIN', username: 'u', password: 'p' });
  await a.start();
  const f = parseXml(`<failure xmlns='${NS.SASL}'><not-authorized/><text xml:lang='en'>Invalid username or password</text></failure>`);
  await assert.rejects(a.step(f), (e) => e instanceof SaslError && e.condition === 'not-authorized' && e.text === 'Invalid username or password');
  const g = parseXml(`<failure xmlns='${NS.SASL}'><account-disabled/></failure>`);
  await assert.rejects(a.step(g), (e) => e.condition === 'account-disabled');
  await assert.rejects(a.step(parseXml("<iq xmlns='jabber:client'/>")), (e) => e.condition === 'malformed-request');
});
