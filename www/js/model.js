// What the chat knows: roster, presence per resource, contact requests, one-to-one
// conversations (history for the page's lifetime, kept across reloads in sessionStorage),
// typing states and rooms. Pure: the UI subscribes with on('change', fn(kind, key)).

import { presenceLabel } from './stanzas.js';

const MAX_MESSAGES = 500; // per conversation kept in memory
const MAX_SAVED = 100; // per conversation kept in sessionStorage

export class ChatModel {
  constructor(me) {
    this.me = me; // own bare JID
    this.roster = new Map(); // bare -> { jid, name, subscription, ask, groups }
    this.resources = new Map(); // bare -> Map(resource -> { show, status, priority })
    this.requests = new Set(); // bare JIDs asking to see our presence
    this.convs = new Map(); // bare -> { messages: [], typing: null, unread: 0 }
    this.rooms = new Map(); // room -> { nick, state, occupants: Map, messages, subject, error, unread }
    this.ownShow = '';
    this.listeners = new Set();
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(kind, key) {
    for (const fn of this.listeners) fn(kind, key);
  }

  // ---------------------------------------------------------------------------- roster

  setRoster(items) {
    this.roster.clear();
    for (const i of items) if (i.jid !== this.me) this.roster.set(i.jid, i);
    this.changed('roster');
  }

  applyRosterPush(items) {
    for (const i of items) {
      if (i.subscription === 'remove') this.roster.delete(i.jid);
      else if (i.jid !== this.me) this.roster.set(i.jid, i);
      if (i.subscription === 'both' || i.subscription === 'from') this.requests.delete(i.jid);
    }
    this.changed('roster');
  }

  contact(bare) {
    return this.roster.get(bare) || null;
  }

  displayName(bare) {
    const c = this.roster.get(bare);
    return c && c.name ? c.name : bare;
  }

  /** 'available' | 'away' | 'dnd' | 'offline'. */
  presenceOf(bare) {
    const res = this.resources.get(bare);
    if (!res || res.size === 0) return 'offline';
    const best = [...res.values()].sort((a, b) => b.priority - a.priority || rank(a.show) - rank(b.show))[0];
    return presenceLabel(best.show, true);
  }

  statusTextOf(bare) {
    const res = this.resources.get(bare);
    if (!res) return '';
    for (const r of res.values()) if (r.status) return r.status;
    return '';
  }

  /** Whether we may see this contact's presence. */
  sharesPresence(bare) {
    const c = this.roster.get(bare);
    return !!c && (c.subscription === 'to' || c.subscription === 'both');
  }

  // -------------------------------------------------------------------------- presence

  /** A parsed presence (stanzas.parsePresence) from a contact (not a room). */
  applyPresence(p) {
    if (p.type === 'available' || p.type === 'unavailable') {
      if (!p.bare || p.bare === this.me) return;
      let res = this.resources.get(p.bare);
      if (p.type === 'unavailable') {
        if (res) {
          if (p.resource) res.delete(p.resource);
          else res.clear();
        }
      } else {
        if (!res) this.resources.set(p.bare, (res = new Map()));
        res.set(p.resource || '', { show: p.show, status: p.status, priority: p.priority });
      }
      if (this.presenceOf(p.bare) === 'offline') this.setTyping(p.bare, null);
      this.changed('presence', p.bare);
    } else if (p.type === 'subscribe') {
      this.requests.add(p.bare);
      this.changed('requests', p.bare);
    } else if (p.type === 'unsubscribed') {
      this.resources.delete(p.bare);
      this.changed('presence', p.bare);
    }
  }

  resolveRequest(bare) {
    this.requests.delete(bare);
    this.changed('requests', bare);
  }

  /** Everyone is offline as far as we know (a new session: the server will tell us again). */
  clearPresence() {
    this.resources.clear();
    for (const c of this.convs.values()) c.typing = null;
    this.changed('presence');
  }

  // ----------------------------------------------------------------------- conversations

  conv(bare) {
    let c = this.convs.get(bare);
    if (!c) this.convs.set(bare, (c = { messages: [], typing: null, unread: 0 }));
    return c;
  }

  /** Add a message { id, dir: 'in'|'out', body, time, state, from? }; false if a duplicate. */
  addMessage(bare, msg) {
    const c = this.conv(bare);
    if (msg.id && c.messages.some((m) => m.id === msg.id && m.dir === msg.dir && m.body === msg.body)) return false;
    c.messages.push({ time: Date.now(), state: msg.dir === 'in' ? 'received' : 'sending', ...msg });
    if (c.messages.length > MAX_MESSAGES) c.messages.splice(0, c.messages.length - MAX_MESSAGES);
    if (msg.dir === 'in') c.unread += 1;
    this.changed('messages', bare);
    return true;
  }

  markRead(bare) {
    const c = this.convs.get(bare);
    if (c && c.unread) {
      c.unread = 0;
      this.changed('unread', bare);
    }
  }

  /** Update our outgoing message `id` to `state` unless it is already further along. */
  setMessageState(bare, id, state, error = '') {
    const order = ['sending', 'sent', 'delivered'];
    const list = this.rooms.has(bare) ? this.rooms.get(bare).messages : (this.convs.get(bare) || {}).messages;
    const m = list && list.find((x) => x.id === id && x.dir === 'out');
    if (!m) return false;
    if (state === 'error') {
      m.state = 'error';
      m.error = error;
    } else if (order.indexOf(state) > order.indexOf(m.state)) {
      m.state = state;
    } else {
      return false;
    }
    this.changed('message-state', bare);
    return true;
  }

  /** XEP-0198 acknowledged these stanza ids: the server has the messages. */
  markAcked(ids) {
    const set = new Set(ids);
    for (const [bare, c] of [...this.convs, ...this.rooms]) {
      for (const m of c.messages) {
        if (m.dir === 'out' && m.state === 'sending' && set.has(m.id)) {
          m.state = 'sent';
          this.changed('message-state', bare);
        }
      }
    }
  }

  setTyping(bare, state) {
    const c = this.convs.get(bare);
    const value = state === 'composing' || state === 'paused' ? state : null;
    if (!c && value === null) return;
    const conv = c || this.conv(bare);
    if (conv.typing === value) return;
    conv.typing = value;
    this.changed('typing', bare);
  }

  // ------------------------------------------------------------------------------- rooms

  room(roomJid) {
    return this.rooms.get(roomJid) || null;
  }

  addRoom(roomJid, nick) {
    const existing = this.rooms.get(roomJid);
    const r = existing || { nick, state: 'joining', occupants: new Map(), messages: [], subject: '', error: '', unread: 0 };
    r.nick = nick;
    r.state = 'joining';
    r.error = '';
    this.rooms.set(roomJid, r);
    this.changed('rooms', roomJid);
    return r;
  }

  /** A parsed presence from room/nick. Returns { created: true } when we just made the room. */
  applyRoomPresence(p) {
    const r = this.rooms.get(p.bare);
    if (!r) return {};
    const nick = p.resource;
    const self = nick === r.nick || (p.muc && p.muc.codes.includes('110'));
    if (p.type === 'error') {
      if (r.state !== 'joined') r.state = 'error';
      r.error = p.error ? p.error.condition : 'error';
      this.changed('rooms', p.bare);
      return { error: r.error };
    }
    if (p.type === 'unavailable') {
      r.occupants.delete(nick);
      if (self) r.state = 'left';
    } else if (p.type === 'available') {
      r.occupants.set(nick, { show: p.show, role: p.muc && p.muc.role, affiliation: p.muc && p.muc.affiliation });
      if (self) r.state = 'joined';
    }
    this.changed('rooms', p.bare);
    return { created: !!(self && p.muc && p.muc.codes.includes('201')) };
  }

  addRoomMessage(roomJid, msg) {
    const r = this.rooms.get(roomJid);
    if (!r) return false;
    if (msg.id) {
      const mine = r.messages.find((m) => m.id === msg.id && m.from === msg.from && m.body === msg.body);
      if (mine) {
        // Our own message reflected by the room: it reached everyone.
        if (mine.dir === 'out' && mine.state !== 'delivered') {
          mine.state = 'delivered';
          this.changed('message-state', roomJid);
        }
        return false;
      }
    }
    r.messages.push({ time: Date.now(), state: msg.dir === 'in' ? 'received' : 'sending', ...msg });
    if (r.messages.length > MAX_MESSAGES) r.messages.splice(0, r.messages.length - MAX_MESSAGES);
    if (msg.dir === 'in') r.unread += 1;
    this.changed('room-messages', roomJid);
    return true;
  }

  setRoomSubject(roomJid, subject) {
    const r = this.rooms.get(roomJid);
    if (!r) return;
    r.subject = subject;
    this.changed('rooms', roomJid);
  }

  markRoomRead(roomJid) {
    const r = this.rooms.get(roomJid);
    if (r && r.unread) {
      r.unread = 0;
      this.changed('unread', roomJid);
    }
  }

  removeRoom(roomJid) {
    this.rooms.delete(roomJid);
    this.changed('rooms', roomJid);
  }

  // --------------------------------------------------------------------------- storage

  snapshot() {
    const trim = (list) => list.slice(-MAX_SAVED);
    return {
      me: this.me,
      ownShow: this.ownShow,
      roster: [...this.roster.values()],
      resources: [...this.resources].map(([b, m]) => [b, [...m]]),
      requests: [...this.requests],
      convs: [...this.convs].map(([b, c]) => [b, { messages: trim(c.messages), unread: c.unread }]),
      rooms: [...this.rooms].map(([j, r]) => [j, {
        nick: r.nick, state: r.state, subject: r.subject, unread: r.unread,
        occupants: [...r.occupants], messages: trim(r.messages),
      }]),
    };
  }

  static restore(me, s) {
    const m = new ChatModel(me);
    if (!s || s.me !== me) return m;
    m.ownShow = s.ownShow || '';
    for (const i of s.roster || []) m.roster.set(i.jid, i);
    for (const [b, list] of s.resources || []) m.resources.set(b, new Map(list));
    for (const b of s.requests || []) m.requests.add(b);
    for (const [b, c] of s.convs || []) m.convs.set(b, { messages: c.messages || [], unread: c.unread || 0, typing: null });
    for (const [j, r] of s.rooms || []) {
      m.rooms.set(j, { nick: r.nick, state: r.state, subject: r.subject || '', unread: r.unread || 0, error: '',
        occupants: new Map(r.occupants || []), messages: r.messages || [] });
    }
    return m;
  }
}

function rank(show) {
  return { chat: 0, '': 1, away: 2, xa: 3, dnd: 4 }[show] ?? 5;
}
