// Plain-words messages for gateway and server errors (www/js/errors.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './setup.mjs';
import {
  describeBoshCondition, describeStreamError, describeWsClose, describeSaslFailure, describeEnd, describeHttpStatus,
  redact, streamErrorInfo, ConnectionEnded,
} from '../../www/js/errors.js';
import { parseXml } from '../../www/js/xml.js';

const BOSH = ['bad-request', 'host-gone', 'host-unknown', 'improper-addressing', 'internal-server-error', 'item-not-found',
  'other-request', 'policy-violation', 'remote-connection-failed', 'remote-stream-error', 'see-other-uri', 'system-shutdown',
  'undefined-condition'];
const STREAM = ['bad-format', 'bad-namespace-prefix', 'conflict', 'connection-timeout', 'host-gone', 'host-unknown',
  'improper-addressing', 'internal-server-error', 'invalid-from', 'invalid-namespace', 'invalid-xml', 'not-authorized',
  'not-well-formed', 'policy-violation', 'remote-connection-failed', 'reset', 'resource-constraint', 'restricted-xml',
  'see-other-host', 'system-shutdown', 'undefined-condition', 'unsupported-encoding', 'unsupported-feature',
  'unsupported-stanza-type', 'unsupported-version'];
const WS = [1000, 1001, 1002, 1003, 1006, 1007, 1008, 1011];

test('every BOSH condition, stream error and close code has its own sentence', () => {
  const seen = new Set();
  for (const c of BOSH) {
    const d = describeBoshCondition(c);
    assert.ok(d.message.length > 20 && !d.message.includes('undefined'), c);
    if (!['host-gone', 'host-unknown'].includes(c)) seen.add(d.message);
  }
  for (const c of STREAM) assert.ok(describeStreamError(c).message.length > 20, c);
  for (const code of WS) {
    const d = describeWsClose(code);
    assert.match(d.message, code === 1000 || code === 1001 ? /closed|going away/ : new RegExp(String(code)), String(code));
  }
  assert.equal(seen.size, BOSH.length - 2, 'BOSH messages are distinct');
});

test('key messages say what happened in plain words', () => {
  assert.match(describeBoshCondition('remote-connection-failed').message, /could not reach the chat server/);
  assert.match(describeBoshCondition('host-unknown').message, /does not serve that domain/);
  assert.match(describeBoshCondition('system-shutdown').message, /shutting down/);
  assert.match(describeBoshCondition('item-not-found').message, /no longer knows this session/);
  assert.match(describeStreamError('conflict').message, /logged in again somewhere else/);
  assert.match(describeStreamError('policy-violation').message, /limit was exceeded/);
  assert.match(describeWsClose(1006).message, /lost unexpectedly/);
  assert.match(describeWsClose(1008).message, /policy/);
  assert.equal(describeSaslFailure('not-authorized').message, 'Wrong address or password.');
  assert.match(describeStreamError('undefined-condition', 'Server maintenance').message, /The server said: "Server maintenance"/);
  assert.match(describeWsClose(4000, 'custom').message, /code 4000.*Reason given: custom/);
  assert.match(describeBoshCondition('x-made-up').message, /x-made-up/);
  assert.match(describeHttpStatus(502).message, /HTTP 502/);
});

test('which errors are worth retrying automatically', () => {
  const retry = (d) => d.retry;
  assert.equal(retry(describeSaslFailure('not-authorized')), false);
  assert.equal(retry(describeSaslFailure('temporary-auth-failure')), true);
  assert.equal(retry(describeStreamError('conflict')), false);
  assert.equal(retry(describeStreamError('system-shutdown')), true);
  assert.equal(retry(describeStreamError('host-unknown')), false);
  assert.equal(retry(describeBoshCondition('remote-connection-failed')), true);
  assert.equal(retry(describeBoshCondition('policy-violation')), false);
  assert.equal(retry(describeWsClose(1006)), true);
  assert.equal(retry(describeWsClose(1001)), true);
  assert.equal(retry(describeWsClose(1008)), false);
});

test('describeEnd: the most specific cause wins', () => {
  // A stream error inside a BOSH remote-stream-error: the stream error is what the user needs.
  assert.match(describeEnd({ boshCondition: 'remote-stream-error', streamError: { condition: 'conflict', text: '' } }).message, /somewhere else/);
  // A stream error before a WebSocket close 1000.
  assert.match(describeEnd({ wsCode: 1000, streamError: { condition: 'system-shutdown' } }).message, /shutting down/);
  assert.match(describeEnd({ boshCondition: 'host-unknown' }).message, /does not serve that domain/);
  assert.match(describeEnd({ wsCode: 1001 }).message, /going away/);
  assert.match(describeEnd({ wsCode: 1006, opened: false }).message, /could not be reached/);
  assert.match(describeEnd({ httpStatus: 404 }).message, /HTTP 404/);
  assert.match(describeEnd({ network: true }).message, /could not be reached/);
  assert.equal(describeEnd({ message: 'custom words' }).message, 'custom words');
});

test('helpers: stream error parsing, log redaction, ConnectionEnded', () => {
  const e = parseXml("<stream:error xmlns:stream='http://etherx.jabber.org/streams'><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bye</text>" +
    "<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
  assert.deepEqual(streamErrorInfo(e), { condition: 'system-shutdown', text: 'bye' });
  assert.equal(redact("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHVzZXIAcGVuY2ls</auth><body>keep</body>"),
    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>[redacted]</auth><body>keep</body>");
  const c = new ConnectionEnded({ boshCondition: 'system-shutdown' });
  assert.equal(c.retry, true);
  assert.match(c.message, /shutting down/);
});
