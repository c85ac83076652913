// Stanza builders and readers (www/js/stanzas.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './setup.mjs';
import { parseXml, NS } from '../../www/js/xml.js';
import * as S from '../../www/js/stanzas.js';

const C = "xmlns='jabber:client'";

test('a chat message carries the body, active state and a receipt request; awkward text escaped', () => {
  const m = S.chatMessage('bob@localhost', '<&>"\' 🎉', 'id1');
  assert.equal(m.toString(), "<message to='bob@localhost' type='chat' id='id1'><body>&lt;&amp;&gt;\"' 🎉</body>" +
    `<active xmlns='${NS.CHATSTATES}'/><request xmlns='${NS.RECEIPTS}'/></message>`);
  const back = S.parseMessage(parseXml(m.toString().replace('<message', `<message ${C} from='alice@localhost/x'`)));
  assert.equal(back.body, '<&>"\' 🎉');
  assert.equal(back.chatState, 'active');
  assert.equal(back.receiptRequest, true);
  assert.equal(back.bare, 'alice@localhost');
});

test('chat states, receipts, errors, delays are read', () => {
  const typing = S.parseMessage(parseXml(`<message ${C} from='b@x/r' type='chat'><composing xmlns='${NS.CHATSTATES}'/></message>`));
  assert.equal(typing.chatState, 'composing');
  assert.equal(typing.body, null);
  const rcpt = S.parseMessage(parseXml(`<message ${C} from='b@x/r'><received xmlns='${NS.RECEIPTS}' id='m1'/></message>`));
  assert.equal(rcpt.receivedId, 'm1');
  assert.match(S.receipt('b@x/r', 'm1').toString(), /^<message to='b@x\/r' id='[^']+'><received xmlns='urn:xmpp:receipts' id='m1'\/><\/message>$/);
  const err = S.parseMessage(parseXml(`<message ${C} from='b@x' type='error' id='m2'><error type='cancel'>` +
    `<service-unavailable xmlns='${NS.STANZAS}'/><text xmlns='${NS.STANZAS}'>gone</text></error></message>`));
  assert.deepEqual(err.error, { type: 'cancel', condition: 'service-unavailable', text: 'gone' });
  const old = S.parseMessage(parseXml(`<message ${C} from='r@muc/n' type='groupchat'><body>hi</body><delay xmlns='${NS.DELAY}' stamp='2020-01-01T00:00:00Z'/></message>`));
  assert.equal(old.stamp, '2020-01-01T00:00:00Z');
  assert.equal(old.resource, 'n');
  assert.match(S.chatState('b@x', 'paused').toString(), /<paused xmlns='http:\/\/jabber.org\/protocol\/chatstates'\/><no-store xmlns='urn:xmpp:hints'\/>/);
});

test('carbons are unwrapped only when they come from our own account', () => {
  const carbon = (from) => parseXml(`<message ${C} from='${from}' to='me@x/web'><sent xmlns='${NS.CARBONS}'>` +
    `<forwarded xmlns='${NS.FORWARD}'><message ${C} from='me@x/phone' to='bob@x' type='chat' id='c1'><body>from my phone</body></message></forwarded></sent></message>`);
  const mine = S.parseMessage(carbon('me@x'), 'me@x');
  assert.equal(mine.carbon, 'sent');
  assert.equal(mine.to, 'bob@x');
  assert.equal(mine.body, 'from my phone');
  const spoofed = S.parseMessage(carbon('mallory@x'), 'me@x');
  assert.equal(spoofed.carbon, null, 'a carbon from someone else is not trusted');
  assert.equal(spoofed.body, null);
});

test('presence: show, status, priority, MUC status codes, errors', () => {
  const p = S.parsePresence(parseXml(`<presence ${C} from='b@x/r'><show>dnd</show><status>busy &amp; away</status><priority>5</priority></presence>`));
  assert.deepEqual([p.type, p.show, p.status, p.priority, p.bare, p.resource], ['available', 'dnd', 'busy & away', 5, 'b@x', 'r']);
  const self = S.parsePresence(parseXml(`<presence ${C} from='room@muc/me'><x xmlns='${NS.MUC_USER}'>` +
    "<item affiliation='owner' role='moderator'/><status code='110'/><status code='201'/></x></presence>"));
  assert.deepEqual(self.muc.codes, ['110', '201']);
  assert.equal(self.muc.role, 'moderator');
  const e = S.parsePresence(parseXml(`<presence ${C} from='room@muc/me' type='error'><error type='cancel'><conflict xmlns='${NS.STANZAS}'/></error></presence>`));
  assert.equal(e.error.condition, 'conflict');
  assert.equal(S.presenceLabel('xa', true), 'away');
  assert.equal(S.presenceLabel('chat', true), 'available');
  assert.equal(S.presenceLabel('dnd', false), 'offline');
  assert.equal(S.presence({ show: 'away', status: 'lunch' }).toString(), '<presence><show>away</show><status>lunch</status></presence>');
  assert.equal(S.presence({ show: 'bogus' }).toString(), '<presence/>');
  assert.equal(S.subscribe('b@x').toString(), "<presence to='b@x' type='subscribe'/>");
});

test('roster items and requests', () => {
  const q = parseXml(`<query xmlns='${NS.ROSTER}'><item jid='Bob@X' name='Bob &lt;3' subscription='to' ask='subscribe'>` +
    "<group>Friends</group><group>Grüße</group></item><item jid='bad jid@x'/></query>");
  assert.deepEqual(S.parseRosterItems(q), [{ jid: 'bob@x', name: 'Bob <3', subscription: 'to', ask: true, groups: ['Friends', 'Grüße'] }]);
  assert.match(S.rosterSet('b@x', 'B', ['g']).toString(), /^<iq type='set' id='[^']+'><query xmlns='jabber:iq:roster'><item jid='b@x' name='B'><group>g<\/group><\/item><\/query><\/iq>$/);
  assert.match(S.rosterRemove('b@x').toString(), /subscription='remove'/);
});

test('MUC join/leave/instant room and iq replies', () => {
  assert.equal(S.mucJoin('r@muc', 'Älice', 5).toString(),
    `<presence to='r@muc/Älice'><x xmlns='${NS.MUC}'><history maxstanzas='5'/></x></presence>`);
  assert.equal(S.mucLeave('r@muc', 'n').toString(), "<presence to='r@muc/n' type='unavailable'/>");
  assert.match(S.mucInstantRoom('r@muc').toString(), /<x xmlns='jabber:x:data' type='submit'\/>/);
  const iq = parseXml(`<iq ${C} type='get' id='q1' from='x@y/z'><foo xmlns='urn:x'/></iq>`);
  assert.equal(S.iqResult(iq).toString(), "<iq type='result' id='q1' to='x@y/z'/>");
  assert.equal(S.iqError(iq).toString(), "<iq type='error' id='q1' to='x@y/z'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
  assert.notEqual(S.newId(), S.newId());
});
