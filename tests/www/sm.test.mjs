// XEP-0198 counters, acknowledgements and resumption (www/js/sm.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './setup.mjs';
import { parseXml, NS } from '../../www/js/xml.js';
import { StreamManagement } from '../../www/js/sm.js';

const sm = (s) => parseXml(s.replace(/^<(\w+)/, `<$1 xmlns='${NS.SM}'`));

test('enable, count, acknowledge', () => {
  const s = new StreamManagement();
  assert.equal(s.enableElement().toString(), `<enable xmlns='${NS.SM}' resume='true'/>`);
  s.onSent('<message id="ignored-before-enable"/>');
  s.countInbound();
  assert.equal(s.unacked.length, 0);
  assert.equal(s.inbound, 0);
  s.onEnabled(sm("<enabled id='abc' resume='true' max='600'/>"));
  assert.equal(s.id, 'abc');
  assert.equal(s.resumable, true);
  assert.equal(s.max, 600);
  for (const i of [1, 2, 3]) s.onSent(`<message id='m${i}'/>`);
  s.countInbound();
  s.countInbound();
  assert.equal(s.answerElement().toString(), `<a xmlns='${NS.SM}' h='2'/>`);
  assert.deepEqual(s.onAck(2), ["<message id='m1'/>", "<message id='m2'/>"]);
  assert.deepEqual(s.unacked, ["<message id='m3'/>"]);
  assert.deepEqual(s.onAck(2), [], 'a repeated ack acknowledges nothing new');
  assert.throws(() => s.onAck(5), /acknowledged 3 stanzas but only 1/);
});

test('counters wrap at 2^32', () => {
  const s = new StreamManagement({ id: 'x', resumable: true, inbound: 2 ** 32 - 1, acked: 2 ** 32 - 1, unacked: ['a', 'b'] });
  s.enabled = true;
  s.countInbound();
  assert.equal(s.inbound, 0);
  assert.deepEqual(s.onAck(1), ['a', 'b']);
});

test('resume: what the server has is dropped, the rest is sent again', () => {
  const s = new StreamManagement();
  s.onEnabled(sm("<enabled id='sess' resume='1'/>"));
  for (const i of [1, 2, 3, 4]) s.onSent(`m${i}`);
  s.onAck(1);
  s.countInbound();
  const saved = JSON.parse(JSON.stringify(s.snapshot())); // survives a page reload
  const r = new StreamManagement(saved);
  assert.equal(r.resumeElement().toString(), `<resume xmlns='${NS.SM}' previd='sess' h='1'/>`);
  assert.deepEqual(r.onResumed(sm("<resumed previd='sess' h='3'/>")), ['m4']);
  assert.equal(r.enabled, true);
  assert.deepEqual(r.unacked, []);
});

test('failed resumption forgets the session; offered() reads features', () => {
  const s = new StreamManagement({ id: 'gone', resumable: true, unacked: ['x'] });
  assert.deepEqual(s.onFailed(), ['x']);
  assert.equal(s.id, null);
  assert.equal(s.resumable, false);
  const f = parseXml(`<stream:features xmlns:stream='${NS.STREAMS}'><sm xmlns='urn:xmpp:sm:2'/><sm xmlns='${NS.SM}'><optional/></sm></stream:features>`);
  assert.equal(StreamManagement.offered(f), true);
  assert.equal(StreamManagement.offered(parseXml(`<stream:features xmlns:stream='${NS.STREAMS}'><sm xmlns='urn:xmpp:sm:2'/></stream:features>`)), false);
  const noResume = new StreamManagement();
  noResume.onEnabled(sm("<enabled id='x'/>"));
  assert.equal(noResume.resumable, false);
});
