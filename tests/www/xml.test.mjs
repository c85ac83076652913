// XML building, escaping and parsing (www/js/xml.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './setup.mjs';
import {
  el, XmlElement, escapeText, escapeAttr, cleanText, serialize, parseXml, XmlParseError,
  child, children, childText, attr, is, isStanza, NS,
} from '../../www/js/xml.js';

const AWKWARD = ['<&>"\'', 'Grüße 日本', '🎉𝄞', ']]> <![CDATA[ x ]]> &amp; &lt;', '  two  spaces\tand\ttabs\nnew line'];

test('text and attribute escaping', () => {
  assert.equal(escapeText('<&>"\''), '&lt;&amp;&gt;"\'');
  assert.equal(escapeAttr('<&>"\''), '&lt;&amp;&gt;&quot;&apos;');
  assert.equal(escapeAttr('a\tb\nc\rd'), 'a&#9;b&#10;c&#13;d');
  assert.equal(escapeText('a\rb'), 'a&#13;b');
  assert.equal(escapeText('🎉𝄞 日本'), '🎉𝄞 日本', 'astral and non-ASCII stay as they are');
});

test('characters XML cannot carry become U+FFFD', () => {
  assert.equal(cleanText('a\u0000b\u0007c\u001Fd'), 'a\uFFFDb\uFFFDc\uFFFDd');
  assert.equal(cleanText('x\uFFFEy\uFFFF'), 'x\uFFFDy\uFFFD');
  assert.equal(cleanText('lone \uD83C here'), 'lone \uFFFD here');
  assert.equal(cleanText('lone \uDF89 here'), 'lone \uFFFD here');
  assert.equal(cleanText('pair \uD83C\uDF89 ok'), 'pair 🎉 ok');
  assert.equal(cleanText('tab\tnl\ncr\r'), 'tab\tnl\ncr\r');
});

test('serialisation of nested elements', () => {
  const m = el('message', { to: 'bob@example.org', type: 'chat', id: 'a<1>' },
    el('body', {}, 'hi & bye'), el('active', { xmlns: NS.CHATSTATES }), null, false, undefined);
  assert.equal(m.toString(),
    "<message to='bob@example.org' type='chat' id='a&lt;1&gt;'><body>hi &amp; bye</body>" +
    "<active xmlns='http://jabber.org/protocol/chatstates'/></message>");
  const q = new XmlElement('iq', { type: 'get', skip: null, also: undefined, no: false });
  q.c('query', { xmlns: 'jabber:iq:roster' });
  assert.equal(serialize(q), "<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
  assert.equal(m.getChild('body').getText(), 'hi & bye');
  assert.equal(m.getChild('active', NS.CHATSTATES).name, 'active');
  assert.equal(m.getChild('nope'), null);
  const t = el('x', {}, ['a', ['b', el('y')]], 42);
  assert.equal(t.toString(), '<x>ab<y/>42</x>');
});

test('invalid element and attribute names are refused', () => {
  assert.throws(() => el('bad name'), TypeError);
  assert.throws(() => el('x', { 'on click': '1' }), TypeError);
  assert.throws(() => el('<script>'), TypeError);
  assert.doesNotThrow(() => el('stream:features', { 'xml:lang': 'en', 'xmlns:stream': NS.STREAMS }));
});

test('awkward text round-trips through serialise + parse, in text and attributes', () => {
  for (const s of [...AWKWARD, 'carriage\r\nreturn\rhere']) {
    const root = parseXml(el('message', { title: s }, el('body', {}, s)).toString());
    assert.equal(childText(root, 'body'), s, JSON.stringify(s));
    assert.equal(attr(root, 'title'), s, JSON.stringify(s));
  }
});

test('parseXml reads namespaces and reports malformed input', () => {
  const e = parseXml("<message xmlns='jabber:client' from='a@b/c'><body>x &lt; y</body><received xmlns='urn:xmpp:receipts' id='1'/></message>");
  assert.ok(isStanza(e));
  assert.ok(is(e, 'message', NS.CLIENT));
  assert.equal(childText(e, 'body', NS.CLIENT), 'x < y');
  assert.equal(attr(child(e, 'received', NS.RECEIPTS), 'id'), '1');
  assert.equal(attr(e, 'missing'), null);
  assert.equal(children(e).length, 2);
  assert.equal(children(e, 'body').length, 1);
  assert.equal(child(e, 'body', NS.RECEIPTS), null);
  for (const bad of ['<a><b></a>', '<a>', 'not xml', '<a></a><b/>', '']) {
    assert.throws(() => parseXml(bad), XmlParseError, bad);
  }
});

test('isStanza accepts jabber:client and unqualified BOSH children only', () => {
  const body = parseXml("<body xmlns='http://jabber.org/protocol/httpbind'><message/><iq xmlns='jabber:client'/><presence xmlns='urn:other'/><foo/></body>");
  assert.deepEqual(children(body).map(isStanza), [true, true, false, false]);
});
