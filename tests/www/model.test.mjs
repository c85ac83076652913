// The chat model (www/js/model.js): presence aggregation, history, receipts, rooms, storage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatModel } from '../../www/js/model.js';

const pres = (from, type = 'available', show = '', priority = 0) => {
  const [bare, resource = ''] = from.split('/');
  return { from, bare, resource, type, show, status: '', priority, muc: null, error: null };
};

test('presence: best resource wins, offline when the last one leaves', () => {
  const m = new ChatModel('me@x');
  const changes = [];
  m.on((k, key) => changes.push(`${k}:${key || ''}`));
  m.setRoster([{ jid: 'b@x', name: 'Bob', subscription: 'both', ask: false, groups: [] }, { jid: 'me@x', subscription: 'both' }]);
  assert.equal(m.roster.size, 1, 'own JID is not a contact');
  assert.equal(m.presenceOf('b@x'), 'offline');
  m.applyPresence(pres('b@x/phone', 'available', 'away'));
  assert.equal(m.presenceOf('b@x'), 'away');
  m.applyPresence(pres('b@x/desk', 'available', 'dnd', 10));
  assert.equal(m.presenceOf('b@x'), 'dnd');
  m.applyPresence(pres('b@x/desk', 'unavailable'));
  assert.equal(m.presenceOf('b@x'), 'away');
  m.applyPresence(pres('b@x/phone', 'unavailable'));
  assert.equal(m.presenceOf('b@x'), 'offline');
  assert.ok(changes.includes('presence:b@x'));
  assert.equal(m.displayName('b@x'), 'Bob');
  assert.equal(m.sharesPresence('b@x'), true);
});

test('subscription requests and roster pushes', () => {
  const m = new ChatModel('me@x');
  m.applyPresence(pres('c@x', 'subscribe'));
  assert.deepEqual([...m.requests], ['c@x']);
  m.applyRosterPush([{ jid: 'c@x', name: '', subscription: 'from', ask: false, groups: [] }]);
  assert.deepEqual([...m.requests], [], 'approved: the request is gone');
  m.applyRosterPush([{ jid: 'c@x', subscription: 'remove' }]);
  assert.equal(m.roster.size, 0);
});

test('messages: duplicates (a resent stanza) are dropped; states only move forward', () => {
  const m = new ChatModel('me@x');
  assert.equal(m.addMessage('b@x', { id: '1', dir: 'in', body: 'hi' }), true);
  assert.equal(m.addMessage('b@x', { id: '1', dir: 'in', body: 'hi' }), false);
  assert.equal(m.conv('b@x').unread, 1);
  m.markRead('b@x');
  assert.equal(m.conv('b@x').unread, 0);
  m.addMessage('b@x', { id: 'o1', dir: 'out', body: 'yo', state: 'sending' });
  m.markAcked(['o1']);
  assert.equal(m.conv('b@x').messages[1].state, 'sent');
  assert.equal(m.setMessageState('b@x', 'o1', 'delivered'), true);
  assert.equal(m.setMessageState('b@x', 'o1', 'sent'), false, 'never back from delivered');
  assert.equal(m.setMessageState('b@x', 'nope', 'delivered'), false);
  m.setTyping('b@x', 'composing');
  assert.equal(m.conv('b@x').typing, 'composing');
  m.setTyping('b@x', 'active');
  assert.equal(m.conv('b@x').typing, null);
});

test('rooms: join, own reflection marks delivered, errors', () => {
  const m = new ChatModel('me@x');
  m.addRoom('r@muc', 'me');
  const muc = (codes = []) => ({ codes, role: 'participant', affiliation: 'none', jid: null });
  assert.deepEqual(m.applyRoomPresence({ ...pres('r@muc/other'), muc: muc() }), { created: false });
  assert.deepEqual(m.applyRoomPresence({ ...pres('r@muc/me'), muc: muc(['110', '201']) }), { created: true });
  assert.equal(m.room('r@muc').state, 'joined');
  assert.equal(m.room('r@muc').occupants.size, 2);
  m.addRoomMessage('r@muc', { id: 'g1', dir: 'out', from: 'me', body: 'hello', state: 'sending' });
  assert.equal(m.addRoomMessage('r@muc', { id: 'g1', dir: 'out', from: 'me', body: 'hello' }), false);
  assert.equal(m.room('r@muc').messages[0].state, 'delivered');
  m.applyRoomPresence({ ...pres('r@muc/other', 'unavailable'), muc: muc() });
  assert.equal(m.room('r@muc').occupants.size, 1);
  m.addRoom('s@muc', 'me');
  assert.deepEqual(m.applyRoomPresence({ ...pres('s@muc/me', 'error'), error: { condition: 'conflict' } }), { error: 'conflict' });
  assert.equal(m.room('s@muc').state, 'error');
});

test('snapshot/restore keeps roster, presence, history and rooms (for a page reload)', () => {
  const m = new ChatModel('me@x');
  m.ownShow = 'away';
  m.setRoster([{ jid: 'b@x', name: 'Bob', subscription: 'both', ask: false, groups: [] }]);
  m.applyPresence(pres('b@x/r', 'available', 'dnd'));
  m.addMessage('b@x', { id: '1', dir: 'in', body: '🎉 <&>' });
  m.addRoom('r@muc', 'me');
  const r = ChatModel.restore('me@x', JSON.parse(JSON.stringify(m.snapshot())));
  assert.equal(r.ownShow, 'away');
  assert.equal(r.presenceOf('b@x'), 'dnd');
  assert.equal(r.conv('b@x').messages[0].body, '🎉 <&>');
  assert.equal(r.room('r@muc').nick, 'me');
  assert.equal(ChatModel.restore('other@x', m.snapshot()).roster.size, 0, 'another account starts empty');
});
