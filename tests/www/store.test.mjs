// Session persistence (www/js/store.js) with in-memory storages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeStore } from '../../www/js/store.js';

class MemoryStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
  removeItem(k) { this.m.delete(k); }
}

test('session and state round-trip; clearSession removes both', () => {
  const session = new MemoryStorage();
  const s = makeStore(session, new MemoryStorage());
  assert.equal(s.loadSession(), null);
  s.saveSession({ jid: 'a@b/c', keys: { clientKey: 'x' } });
  s.saveState({ me: 'a@b' });
  assert.deepEqual(s.loadSession(), { jid: 'a@b/c', keys: { clientKey: 'x' } });
  assert.deepEqual(s.loadState(), { me: 'a@b' });
  s.clearSession();
  assert.equal(s.loadSession(), null);
  assert.equal(s.loadState(), null);
});

test('preferences keep only the address and a known transport', () => {
  const local = new MemoryStorage();
  const s = makeStore(new MemoryStorage(), local);
  assert.deepEqual(s.loadPrefs(), { jid: '', transport: 'auto' });
  s.savePrefs({ jid: 'a@b', transport: 'bosh', password: 'never stored' });
  assert.deepEqual(s.loadPrefs(), { jid: 'a@b', transport: 'bosh' });
  assert.ok(![...local.m.values()].join().includes('never stored'));
  local.setItem('xmppgw.prefs.v1', JSON.stringify({ jid: 5, transport: '"]x' }));
  assert.deepEqual(s.loadPrefs(), { jid: '', transport: 'auto' });
});

test('broken or missing storage never throws', () => {
  const broken = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('quota'); }, removeItem() { throw new Error('x'); } };
  const s = makeStore(broken, broken);
  assert.equal(s.loadSession(), null);
  assert.doesNotThrow(() => s.saveSession({ a: 1 }));
  assert.doesNotThrow(() => s.clearSession());
  const corrupt = new MemoryStorage();
  corrupt.setItem('xmppgw.session.v1', '{not json');
  assert.equal(makeStore(corrupt, null).loadSession(), null);
  assert.deepEqual(makeStore(null, null).loadPrefs(), { jid: '', transport: 'auto' });
});
