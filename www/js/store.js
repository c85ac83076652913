// Session persistence for page reloads (sessionStorage: this tab only, gone when it closes).
// What is stored: the bound JID, the transport and its state (BOSH sid/rid), the XEP-0198
// resumption id and counters, SCRAM-derived keys (never the password), and the chat state
// (roster, presence, recent history). localStorage only remembers the last address and the
// transport choice, to pre-fill the login form.

const SESSION_KEY = 'xmppgw.session.v1';
const STATE_KEY = 'xmppgw.state.v1';
const PREFS_KEY = 'xmppgw.prefs.v1';

function safe(fn, fallback = null) {
  try {
    return fn();
  } catch {
    return fallback; // storage disabled, full, or corrupt: the page still works
  }
}

export function makeStore(session = globalThis.sessionStorage, local = globalThis.localStorage) {
  const get = (st, key) => safe(() => {
    const v = st && st.getItem(key);
    return v ? JSON.parse(v) : null;
  });
  const set = (st, key, value) => safe(() => st && st.setItem(key, JSON.stringify(value)));
  return {
    loadSession: () => get(session, SESSION_KEY),
    saveSession: (s) => set(session, SESSION_KEY, s),
    loadState: () => get(session, STATE_KEY),
    saveState: (s) => set(session, STATE_KEY, s),
    clearSession: () => safe(() => { session.removeItem(SESSION_KEY); session.removeItem(STATE_KEY); }),
    loadPrefs: () => {
      const p = get(local, PREFS_KEY) || {};
      return {
        jid: typeof p.jid === 'string' ? p.jid : '',
        transport: ['auto', 'websocket', 'bosh'].includes(p.transport) ? p.transport : 'auto',
      };
    },
    savePrefs: (p) => set(local, PREFS_KEY, { jid: p.jid || '', transport: p.transport || 'auto' }),
  };
}
