// Wiring: discovery, the XMPP client, the chat model, the page and session storage.

import { XmppClient } from './client.js';
import { discover } from './discovery.js';
import { parseAccountJid, tryParseJid, bareJid } from './jid.js';
import { ChatModel } from './model.js';
import { makeStore } from './store.js';
import { Ui, TRANSPORT_TEXT } from './ui.js';
import { SaslError } from './sasl.js';
import { describeSaslFailure, describeEnd } from './errors.js';
import * as S from './stanzas.js';
import { NS, child } from './xml.js';

const params = new URLSearchParams(location.search);
const ui = new Ui(document);
const store = makeStore();
const client = new XmppClient({ boshWait: Number(params.get('bosh_wait')) || 30 });
let model = null;
let typingState = new Map(); // bare -> { state, timer }
let onlineCount = 0;

const ROOM_ERRORS = {
  conflict: 'that nickname is already taken in this room',
  'jid-malformed': 'the server does not accept that nickname (try plain letters and digits)',
  'not-authorized': 'the room needs a password',
  'registration-required': 'the room is for members only',
  forbidden: 'you are banned from this room',
  'not-allowed': 'the server does not allow creating this room',
  'service-unavailable': 'the room is full or the service is not available',
  'item-not-found': 'the room does not exist or is locked',
  'remote-server-not-found': 'there is no room service at that address',
};

if (params.has('debug')) client.on('log', (dir, text) => console.debug(`[xmpp ${dir}]`, text));

const endpointsReady = discover({ origin: location.origin }).then((e) => {
  ui.setEndpoints(e);
  return e;
});

function describeError(e) {
  if (e instanceof SaslError) return describeSaslFailure(e.condition, e.text).message;
  if (e && e.info) return describeEnd(e.info).message;
  return (e && e.message) || String(e);
}

function persist() {
  if (!model || !client.jid) return;
  const snap = client.snapshot();
  if (snap) store.saveSession(snap);
  store.saveState(model.snapshot());
}

function useModel(bare, saved = null) {
  if (!model || model.me !== bare) model = saved ? ChatModel.restore(bare, saved) : new ChatModel(bare);
  return model;
}

// ------------------------------------------------------------------------- log in / out

ui.on('login', async ({ jid, password, transport }) => {
  let account;
  try {
    account = parseAccountJid(jid);
  } catch (e) {
    ui.loginError(`That address does not look right: ${e.message}.`);
    return;
  }
  if (!password) {
    ui.loginError('Please enter your password.');
    return;
  }
  ui.setBusy(true);
  ui.hideAlert();
  store.savePrefs({ jid, transport });
  const endpoints = await endpointsReady;
  const saved = store.loadState();
  useModel(account.bare, saved && saved.me === account.bare ? saved : null);
  try {
    await client.login({ jid, password, transport, endpoints });
  } catch (e) {
    ui.setConnection('offline', 'Not connected');
    let message = describeError(e);
    if (transport === 'websocket' && e.info && e.info.transport === 'websocket' && !e.info.opened) {
      message += ' If WebSocket is blocked on your network, choose "Automatic" or "BOSH" under Connection.';
    }
    ui.loginError(message);
  }
});

ui.on('logout', async () => {
  store.clearSession();
  await client.logout();
  model = null;
  typingState = new Map();
  const prefs = store.loadPrefs();
  ui.showLogin({ jid: prefs.jid, transport: prefs.transport, note: 'You are logged out.' });
});

ui.on('retryNow', () => client.reconnectNow());

// --------------------------------------------------------------------- client events

client.on('status', ({ state, text }) => {
  if (state === 'online') return; // the online event says more
  const label = { offline: 'Not connected', connecting: text || 'Connecting…', reconnecting: 'Connection lost; retrying…', closing: 'Logging out…' }[state];
  ui.setConnection(state, label || text || state);
});

client.on('online', async ({ resumed, transport, jid }) => {
  const bare = bareJid(jid);
  useModel(bare, store.loadState());
  ui.showChat(model);
  ui.hideErrorAlert();
  const how = resumed === 'attached' ? ' (session continued)' : resumed === 'resumed' ? ' (session resumed)' : '';
  ui.setConnection('online', `Online as ${jid} via ${TRANSPORT_TEXT[transport]}${how}`, transport, resumed || 'new');
  onlineCount += 1;
  document.getElementById('conn').dataset.connects = String(onlineCount); // for tests and debugging
  ui.setTransportNote(`Connected with ${TRANSPORT_TEXT[transport]}${client.wsBlocked ? ' (WebSocket was not available)' : ''}.`);
  if (resumed) {
    persist();
    return;
  }
  // A new session: the server knows nothing of our presence or rooms yet.
  model.clearPresence();
  try {
    const res = await client.iq(S.rosterGet());
    model.setRoster(S.parseRosterItems(child(res, 'query', NS.ROSTER)));
  } catch (e) {
    ui.showAlert(`Could not load your contacts: ${e.message}`);
  }
  client.send(S.presence({ show: model.ownShow }));
  client.iq(S.carbonsEnable()).catch(() => { /* server without carbons */ });
  for (const [room, r] of model.rooms) {
    if (r.state === 'joined' || r.state === 'joining') {
      model.addRoom(room, r.nick);
      client.send(S.mucJoin(room, r.nick, 0));
    }
  }
  persist();
});

client.on('persist', (snap) => {
  if (snap) store.saveSession(snap);
});

client.on('fallback', ({ message }) => {
  ui.showAlert(`WebSocket did not work here (${message}), so this page uses BOSH (HTTP long polling) instead.`, { info: true });
});

client.on('disconnected', ({ message }) => {
  ui.showAlert(`Connection lost. ${message}`, { retry: true });
});

client.on('reconnecting', ({ inMs, attempt, message }) => {
  const secs = Math.max(1, Math.round(inMs / 1000));
  ui.setConnection('reconnecting', `Connection lost; retrying in ${secs} s (attempt ${attempt})…`);
  ui.showAlert(`Connection lost: ${message} Retrying in ${secs} s…`, { retry: true });
});

client.on('offline', ({ message, error }) => {
  if (!error) return;
  store.clearSession();
  const prefs = store.loadPrefs();
  ui.showLogin({ jid: model ? model.me : prefs.jid, transport: prefs.transport, error: message });
});

client.on('acked', (ids) => model && model.markAcked(ids));

client.on('iq', (iq, handled) => {
  const q = child(iq, 'query', NS.ROSTER);
  if (!q || iq.getAttribute('type') !== 'set') return;
  const from = iq.getAttribute('from');
  if (from && bareJid(from) !== model.me) return; // roster pushes only from our own account
  handled();
  model.applyRosterPush(S.parseRosterItems(q));
  client.send(S.iqResult(iq));
});

client.on('presence', (p) => {
  if (!model) return;
  const pr = S.parsePresence(p);
  if (model.rooms.has(pr.bare)) {
    const r = model.applyRoomPresence(pr);
    if (r.created) client.iq(S.mucInstantRoom(pr.bare)).catch(() => {});
    if (r.error) {
      const why = ROOM_ERRORS[r.error] || (pr.error && pr.error.text) || r.error;
      model.room(pr.bare).error = why;
      ui.renderHeader();
      ui.formError('room-error', `Could not join ${pr.bare}: ${why}.`);
    }
    return;
  }
  if (pr.type === 'subscribe') {
    const c = model.contact(pr.bare);
    // We asked them first (or already follow them): approving back is what the user wants.
    if (c && (c.ask || c.subscription === 'to' || c.subscription === 'both')) {
      client.send(S.subscribed(pr.bare));
      return;
    }
  }
  model.applyPresence(pr);
});

client.on('message', (m) => {
  if (!model) return;
  const msg = S.parseMessage(m, model.me);
  if (model.rooms.has(msg.bare) && (msg.type === 'groupchat' || msg.type === 'error')) {
    roomMessage(msg);
    return;
  }
  const peer = msg.carbon === 'sent' ? bareJid(msg.to) : msg.bare;
  if (!peer || peer === model.me) return;
  if (msg.type === 'error') {
    const why = msg.error ? msg.error.condition : 'error';
    model.setMessageState(peer, msg.id, 'error', why === 'service-unavailable' ? 'the contact is not reachable' : why);
    return;
  }
  if (msg.receivedId) model.setMessageState(peer, msg.receivedId, 'delivered');
  if (msg.chatState && !msg.carbon) model.setTyping(peer, msg.body ? null : msg.chatState);
  if (msg.body) {
    const out = msg.carbon === 'sent';
    const time = msg.stamp ? Date.parse(msg.stamp) || Date.now() : Date.now();
    model.addMessage(peer, { id: msg.id, dir: out ? 'out' : 'in', body: msg.body, time, state: out ? 'sent' : 'received' });
    if (!out) model.setTyping(peer, null);
    if (msg.receiptRequest && msg.id && !msg.carbon && msg.type !== 'groupchat') {
      client.send(S.receipt(msg.from, msg.id));
    }
  }
});

function roomMessage(msg) {
  const r = model.room(msg.bare);
  if (msg.type === 'error') {
    model.setMessageState(msg.bare, msg.id, 'error', msg.error ? msg.error.condition : 'error');
    return;
  }
  if (msg.subject !== null && msg.body === null) {
    model.setRoomSubject(msg.bare, msg.subject);
    return;
  }
  if (!msg.body) return;
  const out = msg.resource === r.nick;
  const time = msg.stamp ? Date.parse(msg.stamp) || Date.now() : Date.now();
  model.addRoomMessage(msg.bare, { id: msg.id, dir: out ? 'out' : 'in', from: msg.resource, body: msg.body, time,
    state: out ? 'delivered' : 'received' });
}

// ---------------------------------------------------------------------- user actions

// The gateway ends a session that sends a stanza over its limit (256 KiB by default), so
// long texts are refused here with an explanation instead.
const MAX_MESSAGE_BYTES = 60000;

ui.on('send', (target, text) => {
  if (!model) return false;
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_MESSAGE_BYTES) {
    ui.showAlert(`This message is too long to send (${Math.ceil(bytes / 1000)} kB; at most ${MAX_MESSAGE_BYTES / 1000} kB).`);
    return false;
  }
  if (target.kind === 'room') {
    const r = model.room(target.jid);
    if (!r || r.state !== 'joined') {
      ui.showAlert('You are not in this room yet.');
      return false;
    }
    const st = S.groupMessage(target.jid, text);
    model.addRoomMessage(target.jid, { id: st.attrs.id, dir: 'out', from: r.nick, body: text, state: 'sending' });
    client.send(st);
  } else {
    const st = S.chatMessage(target.jid, text);
    model.addMessage(target.jid, { id: st.attrs.id, dir: 'out', body: text, state: 'sending' });
    client.send(st);
    if (!client.sm.enabled && client.state === 'online') model.setMessageState(target.jid, st.attrs.id, 'sent');
    const t = typingState.get(target.jid);
    if (t) { clearTimeout(t.timer); typingState.delete(target.jid); }
  }
  persist();
  return true;
});

// XEP-0085: composing while typing, paused after 5 s without typing or when the box empties.
ui.on('typing', (target, hasText) => {
  if (target.kind !== 'chat' || client.state !== 'online') return;
  const jid = target.jid;
  let t = typingState.get(jid);
  if (!t) typingState.set(jid, (t = { state: 'active', timer: null }));
  clearTimeout(t.timer);
  if (hasText) {
    if (t.state !== 'composing') {
      t.state = 'composing';
      client.send(S.chatState(jid, 'composing'));
    }
    t.timer = setTimeout(() => {
      t.state = 'paused';
      client.send(S.chatState(jid, 'paused'));
    }, 5000);
  } else if (t.state === 'composing') {
    t.state = 'active';
    client.send(S.chatState(jid, 'active'));
  }
});

ui.on('setShow', (show) => {
  if (!model) return;
  model.ownShow = show;
  client.send(S.presence({ show }));
  persist();
});

ui.on('addContact', async (text) => {
  const j = tryParseJid(text);
  if (!j || !j.local || j.resource) {
    ui.formError('add-error', 'Enter an address like bob@example.org.');
    return;
  }
  if (j.bare === model.me) {
    ui.formError('add-error', 'That is your own address.');
    return;
  }
  ui.formError('add-error', '');
  try {
    await client.iq(S.rosterSet(j.bare, ''));
    client.send(S.subscribe(j.bare));
    ui.clearForm('add-contact-form');
    ui.showAlert(`Contact request sent to ${j.bare}. They appear online once they accept.`, { info: true });
  } catch (e) {
    ui.formError('add-error', `Could not add ${j.bare}: ${e.message}.`);
  }
});

ui.on('acceptRequest', (jid) => {
  client.send(S.subscribed(jid));
  const c = model.contact(jid);
  if (!c || (!c.ask && c.subscription !== 'to' && c.subscription !== 'both')) client.send(S.subscribe(jid));
  model.resolveRequest(jid);
  persist();
});

ui.on('declineRequest', (jid) => {
  client.send(S.unsubscribed(jid));
  model.resolveRequest(jid);
  persist();
});

ui.on('joinRoom', (roomText, nickText) => {
  const j = tryParseJid(roomText);
  if (!j || !j.local || j.resource) {
    ui.formError('room-error', 'Enter a room address like room@conference.example.org.');
    return;
  }
  const nick = nickText || model.me.split('@')[0];
  if (/[\u0000-\u001F]/.test(nick)) {
    ui.formError('room-error', 'The nickname contains characters that are not allowed.');
    return;
  }
  ui.formError('room-error', '');
  model.addRoom(j.bare, nick);
  client.send(S.mucJoin(j.bare, nick));
  ui.clearForm('join-room-form');
  ui.open({ kind: 'room', jid: j.bare });
  persist();
});

ui.on('leaveRoom', (room) => {
  const r = model.room(room);
  if (r) client.send(S.mucLeave(room, r.nick));
  model.removeRoom(room);
  ui.current = null;
  ui.renderConversation();
  ui.showList();
  persist();
});

// ------------------------------------------------------------------------- page life

// A duplicated tab starts with a copy of this tab's sessionStorage. Resuming the same XEP-0198
// or BOSH session from both would make them take it from each other forever, so a starting
// page first asks the other tabs whether the saved session is theirs (BroadcastChannel).
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('xmppgw.sessions') : null;
if (tabs) {
  tabs.onmessage = (ev) => {
    const d = ev.data || {};
    if (d.type === 'who-has' && client.jid && client.jid.full === d.jid && client.state !== 'offline') {
      tabs.postMessage({ type: 'mine', nonce: d.nonce });
    }
  };
}

function sessionInUse(jid) {
  if (!tabs) return Promise.resolve(false);
  const nonce = Math.random().toString(36).slice(2);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { tabs.removeEventListener('message', on); resolve(false); }, 250);
    const on = (ev) => {
      if (ev.data && ev.data.type === 'mine' && ev.data.nonce === nonce) {
        clearTimeout(timer);
        tabs.removeEventListener('message', on);
        resolve(true);
      }
    };
    tabs.addEventListener('message', on);
    tabs.postMessage({ type: 'who-has', jid, nonce });
  });
}

addEventListener('pagehide', persist);
document.addEventListener('visibilitychange', () => {
  if (document.hidden) persist();
  else ui.markCurrentRead();
});

async function boot() {
  const saved = store.loadSession();
  const prefs = store.loadPrefs();
  if (!saved || !saved.jid) {
    ui.showLogin({ jid: prefs.jid, transport: prefs.transport });
    return;
  }
  const bare = bareJid(saved.jid);
  useModel(bare, store.loadState());
  ui.showChat(model);
  ui.setConnection('connecting', 'Resuming your session…');
  if (await sessionInUse(saved.jid)) {
    // Another tab owns that session: log in next to it with a new resource instead.
    Object.assign(saved, { jid: bare, sm: null, bosh: null, transport: null });
    model.clearPresence();
  }
  try {
    if (!saved.endpoints) saved.endpoints = await endpointsReady;
    await client.restore(saved);
  } catch (e) {
    store.saveSession(null);
    ui.setConnection('offline', 'Not connected');
    const why = e instanceof SaslError && e.condition === 'credentials-expired'
      ? 'Please enter your password again to continue.' : describeError(e);
    ui.showLogin({ jid: bare, transport: saved.transportPref || prefs.transport, error: why });
  }
}

boot();
