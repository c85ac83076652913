// JID parsing and normalisation (www/js/jid.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJid, tryParseJid, bareJid, resourceOf, parseAccountJid, Jid, JidError } from '../../www/js/jid.js';

test('parts of a JID', () => {
  const j = parseJid('Alice@Example.ORG/Phone 1');
  assert.equal(j.local, 'alice');
  assert.equal(j.domain, 'example.org');
  assert.equal(j.resource, 'Phone 1', 'the resource keeps its case');
  assert.equal(j.bare, 'alice@example.org');
  assert.equal(j.full, 'alice@example.org/Phone 1');
  assert.equal(String(j), j.full);
  assert.ok(j.equals('ALICE@example.org/Phone 1'));
  assert.ok(!j.equals('alice@example.org/phone 1'));
  assert.equal(j.toBare().full, 'alice@example.org');
  assert.equal(j.withResource('x').full, 'alice@example.org/x');
});

test('separators: the first / starts the resource, the first @ before it ends the local part', () => {
  const j = parseJid('room@conference.example.org/nick/with@and/slash');
  assert.equal(j.local, 'room');
  assert.equal(j.resource, 'nick/with@and/slash');
  const d = parseJid('example.org/res@x');
  assert.equal(d.local, null);
  assert.equal(d.domain, 'example.org');
  assert.equal(d.bare, 'example.org');
});

test('normalisation: trailing dot, NFC, IPv6 literals, non-ASCII', () => {
  assert.equal(parseJid('a@example.org.').domain, 'example.org');
  assert.equal(parseJid('Jürgen@Bücher.example').bare, 'jürgen@bücher.example');
  assert.equal(parseJid('u\u0308@x').local, 'ü', 'NFC');
  assert.equal(parseJid('a@[::1]/r').domain, '[::1]');
  assert.equal(parseJid('🎉@example.org').local, '🎉');
});

test('invalid JIDs are refused with a reason', () => {
  const bad = ['', '@example.org', 'a@', 'a@/r', 'a@b/', 'a b@example.org', 'a"b@x', "a'b@x", 'a<b@x', 'a:b@x',
    'a@b@c', 'a@exa mple.org', 'a@example..org', 'a@[not-ipv6]', 'a@x/\u0000', `${'x'.repeat(1024)}@x`];
  for (const s of bad) {
    assert.throws(() => parseJid(s), JidError, JSON.stringify(s));
    assert.equal(tryParseJid(s), null);
    assert.equal(bareJid(s), '');
  }
  assert.throws(() => parseJid(null), JidError);
});

test('helpers', () => {
  assert.equal(bareJid('Bob@Localhost/abc'), 'bob@localhost');
  assert.equal(resourceOf('room@muc.x/Älice'), 'Älice');
  assert.equal(resourceOf('room@muc.x'), '');
  assert.equal(parseAccountJid('  alice@localhost ').bare, 'alice@localhost');
  assert.throws(() => parseAccountJid('localhost'), JidError);
  assert.ok(parseJid('a@b') instanceof Jid);
});
