// Building and reading the stanzas the chat needs: roster (RFC 6121), presence and
// subscriptions, messages with chat states (XEP-0085) and receipts (XEP-0184), carbons
// (XEP-0280), multi-user chat (XEP-0045). Pure: XmlElement out, DOM elements in.

import { el, NS, attr, child, childText, children } from './xml.js';
import { bareJid, resourceOf } from './jid.js';

let counter = 0;
/** A fresh stanza id (random prefix, so ids never repeat across page loads). */
export function newId(prefix = 'x') {
  counter = (counter + 1) % 1e9;
  const b = new Uint8Array(6);
  globalThis.crypto.getRandomValues(b);
  return `${prefix}${[...b].map((x) => x.toString(16).padStart(2, '0')).join('')}${counter.toString(36)}`;
}

export const CHAT_STATES = ['active', 'composing', 'paused', 'inactive', 'gone'];
export const SHOWS = ['chat', 'away', 'xa', 'dnd'];

// ---------------------------------------------------------------------------------- roster

export function rosterGet() {
  return el('iq', { type: 'get', id: newId('r') }, el('query', { xmlns: NS.ROSTER }));
}

export function rosterSet(jid, name, groups = []) {
  return el('iq', { type: 'set', id: newId('r') },
    el('query', { xmlns: NS.ROSTER },
      el('item', { jid, name: name || undefined }, groups.map((g) => el('group', {}, g)))));
}

export function rosterRemove(jid) {
  return el('iq', { type: 'set', id: newId('r') },
    el('query', { xmlns: NS.ROSTER }, el('item', { jid, subscription: 'remove' })));
}

/** Items of a roster <query/> (result or push). */
export function parseRosterItems(query) {
  return children(query, 'item', NS.ROSTER).map((item) => ({
    jid: bareJid(attr(item, 'jid') || ''),
    name: attr(item, 'name') || '',
    subscription: attr(item, 'subscription') || 'none',
    ask: attr(item, 'ask') === 'subscribe',
    groups: children(item, 'group', NS.ROSTER).map((g) => g.textContent),
  })).filter((i) => i.jid);
}

// -------------------------------------------------------------------------------- presence

/** Own presence: show is '', 'away', 'dnd', 'xa' or 'chat'. */
export function presence({ show = '', status = '', to, type, priority } = {}) {
  return el('presence', { to, type },
    show && SHOWS.includes(show) ? el('show', {}, show) : null,
    status ? el('status', {}, status) : null,
    priority !== undefined ? el('priority', {}, String(priority)) : null);
}

export const subscribe = (to) => el('presence', { to, type: 'subscribe' });
export const subscribed = (to) => el('presence', { to, type: 'subscribed' });
export const unsubscribed = (to) => el('presence', { to, type: 'unsubscribed' });

export function parsePresence(p) {
  const from = attr(p, 'from') || '';
  const x = child(p, 'x', NS.MUC_USER);
  let muc = null;
  if (x) {
    const item = child(x, 'item', NS.MUC_USER);
    muc = {
      codes: children(x, 'status', NS.MUC_USER).map((s) => attr(s, 'code')),
      affiliation: item ? attr(item, 'affiliation') : null,
      role: item ? attr(item, 'role') : null,
      jid: item ? attr(item, 'jid') : null,
    };
  }
  const err = child(p, 'error', NS.CLIENT) || child(p, 'error');
  return {
    from,
    bare: bareJid(from),
    resource: resourceOf(from),
    type: attr(p, 'type') || 'available',
    show: childText(p, 'show', NS.CLIENT) || childText(p, 'show') || '',
    status: childText(p, 'status', NS.CLIENT) || childText(p, 'status') || '',
    priority: Number(childText(p, 'priority', NS.CLIENT) || 0) || 0,
    muc,
    error: err ? parseError(err) : null,
  };
}

/** 'available' | 'away' | 'dnd' | 'offline' from the best resource's show. */
export function presenceLabel(show, online) {
  if (!online) return 'offline';
  if (show === 'dnd') return 'dnd';
  if (show === 'away' || show === 'xa') return 'away';
  return 'available';
}

// -------------------------------------------------------------------------------- messages

export function chatMessage(to, body, id = newId('m')) {
  return el('message', { to, type: 'chat', id },
    el('body', {}, body),
    el('active', { xmlns: NS.CHATSTATES }),
    el('request', { xmlns: NS.RECEIPTS }));
}

export function chatState(to, state, type = 'chat') {
  return el('message', { to, type, id: newId('c') },
    el(state, { xmlns: NS.CHATSTATES }),
    el('no-store', { xmlns: NS.HINTS }));
}

export function receipt(to, id) {
  return el('message', { to, id: newId('d') }, el('received', { xmlns: NS.RECEIPTS, id }));
}

export function groupMessage(room, body, id = newId('g')) {
  return el('message', { to: room, type: 'groupchat', id }, el('body', {}, body));
}

export function parseError(e) {
  const cond = children(e).find((c) => c.namespaceURI === NS.STANZAS && c.localName !== 'text');
  return {
    type: attr(e, 'type') || '',
    condition: cond ? cond.localName : 'undefined-condition',
    text: childText(e, 'text', NS.STANZAS) || '',
  };
}

/**
 * Read a message. Carbons are unwrapped when `ownBare` sent them; the result then has
 * carbon: 'sent' | 'received'.
 */
export function parseMessage(m, ownBare = null) {
  const from = attr(m, 'from') || '';
  if (ownBare && (bareJid(from) === ownBare || from === '')) {
    for (const dir of ['sent', 'received']) {
      const wrap = child(m, dir, NS.CARBONS);
      const fwd = wrap && child(wrap, 'forwarded', NS.FORWARD);
      const inner = fwd && children(fwd).find((c) => c.localName === 'message');
      if (inner) return { ...parseMessage(inner, null), carbon: dir };
    }
  }
  const state = CHAT_STATES.find((s) => child(m, s, NS.CHATSTATES));
  const received = child(m, 'received', NS.RECEIPTS);
  const delay = child(m, 'delay', NS.DELAY);
  const err = attr(m, 'type') === 'error' ? child(m, 'error') : null;
  const x = child(m, 'x', NS.MUC_USER);
  return {
    from,
    to: attr(m, 'to') || '',
    bare: bareJid(from),
    resource: resourceOf(from),
    type: attr(m, 'type') || 'normal',
    id: attr(m, 'id') || '',
    body: childText(m, 'body', NS.CLIENT) ?? childText(m, 'body'),
    subject: childText(m, 'subject', NS.CLIENT) ?? childText(m, 'subject'),
    chatState: state || null,
    receiptRequest: !!child(m, 'request', NS.RECEIPTS),
    receivedId: received ? attr(received, 'id') || '' : null,
    stamp: delay ? attr(delay, 'stamp') : null,
    mucInvite: x ? child(x, 'invite', NS.MUC_USER) !== null : false,
    error: err ? parseError(err) : null,
    carbon: null,
  };
}

// -------------------------------------------------------------------------- carbons, ping

export function carbonsEnable() {
  return el('iq', { type: 'set', id: newId('cb') }, el('enable', { xmlns: NS.CARBONS }));
}

export function pingIq(to) {
  return el('iq', { type: 'get', id: newId('p'), to }, el('ping', { xmlns: NS.PING }));
}

// --------------------------------------------------------------------------- multi-user chat

export function mucJoin(room, nick, maxHistory = 20) {
  return el('presence', { to: `${room}/${nick}` },
    el('x', { xmlns: NS.MUC }, el('history', { maxstanzas: String(maxHistory) })));
}

export function mucLeave(room, nick) {
  return el('presence', { to: `${room}/${nick}`, type: 'unavailable' });
}

/** Accept the default configuration of a room we just created (an "instant room"). */
export function mucInstantRoom(room) {
  return el('iq', { type: 'set', to: room, id: newId('mo') },
    el('query', { xmlns: NS.MUC_OWNER }, el('x', { xmlns: NS.DATA, type: 'submit' })));
}

// ---------------------------------------------------------------------------------- replies

export function iqResult(iq) {
  return el('iq', { type: 'result', id: attr(iq, 'id'), to: attr(iq, 'from') || undefined });
}

export function iqError(iq, condition = 'service-unavailable', type = 'cancel') {
  return el('iq', { type: 'error', id: attr(iq, 'id'), to: attr(iq, 'from') || undefined },
    el('error', { type }, el(condition, { xmlns: NS.STANZAS })));
}
