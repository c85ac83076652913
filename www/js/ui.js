// The page: reads the static markup of index.html, renders the model into it with DOM
// methods (textContent only, never innerHTML: message text is shown exactly as sent), and
// reports user actions through on(name, fn). No inline styles: classes, data-* and hidden.

const PRESENCE_TEXT = { available: 'Online', away: 'Away', dnd: 'Do not disturb', offline: 'Offline' };
const STATE_TEXT = { sending: 'Sending…', sent: '✓ Sent', delivered: '✓✓ Delivered', error: 'Not delivered' };
const TRANSPORT_TEXT = { websocket: 'WebSocket', bosh: 'BOSH' };

function h(doc, tag, attrs = {}, ...kids) {
  const e = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) if (k) e.append(k);
  return e;
}

function timeText(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export class Ui {
  constructor(doc = document) {
    this.doc = doc;
    this.$ = (id) => doc.getElementById(id);
    this.handlers = new Map();
    this.model = null;
    this.current = null; // { kind: 'chat'|'room', jid }
    this.rendered = { key: null, count: 0, items: [] };
    this.bind();
  }

  on(name, fn) {
    this.handlers.set(name, fn);
  }

  fire(name, ...args) {
    const fn = this.handlers.get(name);
    return fn ? fn(...args) : undefined;
  }

  bind() {
    const $ = this.$;
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const form = $('login-form');
      const transport = form.querySelector('input[name="transport"]:checked');
      this.fire('login', {
        jid: $('login-jid').value.trim(),
        password: $('login-password').value,
        transport: transport ? transport.value : 'auto',
      });
    });
    $('logout').addEventListener('click', () => this.fire('logout'));
    $('retry-now').addEventListener('click', () => this.fire('retryNow'));
    $('alert-close').addEventListener('click', () => this.hideAlert());
    $('my-show').addEventListener('change', () => this.fire('setShow', $('my-show').value));
    $('add-contact-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.fire('addContact', $('add-jid').value.trim());
    });
    $('join-room-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.fire('joinRoom', $('room-jid').value.trim(), $('room-nick').value.trim());
    });
    $('leave-room').addEventListener('click', () => this.current && this.fire('leaveRoom', this.current.jid));
    $('back').addEventListener('click', () => this.showList());
    $('compose').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.sendCompose();
    });
    const input = $('compose-input');
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.sendCompose();
      }
    });
    input.addEventListener('input', () => {
      if (this.current) this.fire('typing', this.current, input.value.length > 0);
    });
    for (const listId of ['roster', 'rooms']) {
      $(listId).addEventListener('keydown', (ev) => this.rovingKeys(ev));
    }
    $('chat-view').addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && $('chat-view').classList.contains('show-conversation')) this.showList();
    });
  }

  /** Arrow keys move between contact buttons (Tab still goes through them too). */
  rovingKeys(ev) {
    if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(ev.key)) return;
    const buttons = [...this.$('sidebar').querySelectorAll('.contact-btn')];
    const i = buttons.indexOf(this.doc.activeElement);
    if (i < 0) return;
    ev.preventDefault();
    let j = i;
    if (ev.key === 'ArrowDown') j = Math.min(buttons.length - 1, i + 1);
    else if (ev.key === 'ArrowUp') j = Math.max(0, i - 1);
    else if (ev.key === 'Home') j = 0;
    else j = buttons.length - 1;
    buttons[j].focus();
  }

  sendCompose() {
    const input = this.$('compose-input');
    const text = input.value;
    if (!this.current || text.trim() === '') return;
    if (this.fire('send', this.current, text) !== false) {
      input.value = '';
      this.fire('typing', this.current, false);
    }
  }

  // ----------------------------------------------------------------------------- views

  showLogin({ jid = '', transport = 'auto', error = '', note = '' } = {}) {
    const $ = this.$;
    $('chat-view').hidden = true;
    $('logout').hidden = true;
    $('login-view').hidden = false;
    $('about').open = true; // the endpoint note for web developers, folded away while chatting
    if (jid) $('login-jid').value = jid;
    const radio = $('login-form').querySelector(`input[name="transport"][value="${transport}"]`);
    if (radio) radio.checked = true;
    $('login-password').value = '';
    $('login-error').textContent = error;
    $('login-note').textContent = note;
    this.setBusy(false);
    (jid ? $('login-password') : $('login-jid')).focus();
  }

  loginError(message) {
    this.$('login-error').textContent = message;
    this.setBusy(false);
    this.$('login-password').focus();
  }

  setBusy(busy) {
    const b = this.$('login-submit');
    b.disabled = busy;
    b.textContent = busy ? 'Logging in…' : 'Log in';
  }

  showChat(model) {
    const $ = this.$;
    if (this.model !== model) {
      this.model = model;
      model.on((kind, key) => this.onModelChange(kind, key));
      this.current = null;
      this.rendered = { key: null, count: 0, items: [] };
    }
    $('login-view').hidden = true;
    $('chat-view').hidden = false;
    $('about').open = false;
    $('logout').hidden = false;
    $('me-jid').textContent = model.me;
    $('my-show').value = model.ownShow || '';
    if (!$('room-nick').value) $('room-nick').value = model.me.split('@')[0];
    this.renderRoster();
    this.renderRequests();
    this.renderRooms();
    this.renderConversation();
  }

  /** session: 'new' | 'resumed' (XEP-0198) | 'attached' (same BOSH session), when online. */
  setConnection(state, text, transport = null, session = null) {
    const conn = this.$('conn');
    conn.dataset.state = state;
    if (transport) conn.dataset.transport = transport;
    else delete conn.dataset.transport;
    if (session) conn.dataset.session = session;
    else delete conn.dataset.session;
    this.$('conn-text').textContent = text;
  }

  showAlert(text, { retry = false, info = false } = {}) {
    this.$('alert').hidden = false;
    this.$('alert').classList.toggle('alert-info', info);
    this.$('alert-text').textContent = text;
    this.$('retry-now').hidden = !retry;
  }

  hideAlert() {
    this.$('alert').hidden = true;
  }

  /** Hide the alert unless it is only information (e.g. the WebSocket -> BOSH note). */
  hideErrorAlert() {
    if (!this.$('alert').classList.contains('alert-info')) this.hideAlert();
  }

  setEndpoints(e) {
    this.$('about-ws').textContent = e.websocket;
    this.$('about-bosh').textContent = e.bosh;
    this.$('about-note').textContent = e.note;
    this.$('about').dataset.source = e.source;
  }

  setTransportNote(text) {
    this.$('about-transport').textContent = text;
  }

  formError(id, message) {
    this.$(id).textContent = message;
  }

  clearForm(id) {
    for (const input of this.$(id).querySelectorAll('input')) if (input.id !== 'room-nick') input.value = '';
  }

  // ----------------------------------------------------------------------------- model

  onModelChange(kind, key) {
    if (kind === 'roster' || kind === 'presence' || kind === 'unread') {
      this.renderRoster();
      this.renderRooms();
      if (this.current) this.renderHeader();
    }
    if (kind === 'requests' || kind === 'roster') this.renderRequests();
    if (kind === 'rooms') {
      this.renderRooms();
      if (this.current && this.current.jid === key) this.renderHeader();
    }
    if (['messages', 'room-messages', 'message-state'].includes(kind)) {
      if (this.current && this.current.jid === key) {
        this.syncMessages();
        this.markCurrentRead();
      } else {
        this.renderRoster();
        this.renderRooms();
      }
    }
    if (kind === 'typing' && this.current && this.current.jid === key) this.renderTyping();
  }

  contactEntries() {
    const m = this.model;
    const jids = new Set([...m.roster.keys(), ...[...m.convs.keys()].filter((j) => m.convs.get(j).messages.length)]);
    return [...jids].sort((a, b) => m.displayName(a).localeCompare(m.displayName(b)) || a.localeCompare(b));
  }

  contactStateText(jid) {
    const m = this.model;
    const c = m.contact(jid);
    if (!c) return { presence: 'offline', text: 'Not in your contacts' };
    if (!m.sharesPresence(jid)) {
      return { presence: 'offline', text: c.ask ? 'Waiting for approval' : 'Not sharing presence' };
    }
    const p = m.presenceOf(jid);
    const status = m.statusTextOf(jid);
    return { presence: p, text: status && p !== 'offline' ? `${PRESENCE_TEXT[p]}: ${status}` : PRESENCE_TEXT[p] };
  }

  renderRoster() {
    const m = this.model;
    if (!m) return;
    const ul = this.$('roster');
    const entries = this.contactEntries();
    this.$('roster-empty').hidden = entries.length > 0;
    this.reconcile(ul, entries, (jid, li) => {
      const st = this.contactStateText(jid);
      const conv = m.convs.get(jid);
      li.dataset.jid = jid;
      li.dataset.presence = st.presence;
      li.className = 'contact';
      const btn = this.listButton(li, { kind: 'chat', jid });
      const unread = conv ? conv.unread : 0;
      btn.replaceChildren(...[
        h(this.doc, 'span', { class: `dot presence-${st.presence}`, 'aria-hidden': 'true' }),
        h(this.doc, 'span', { class: 'contact-main' },
          h(this.doc, 'span', { class: 'contact-name', text: m.displayName(jid) }),
          h(this.doc, 'span', { class: 'contact-state', text: st.text })),
        unread ? h(this.doc, 'span', { class: 'badge', text: String(unread), 'aria-hidden': 'true' }) : null,
        unread ? h(this.doc, 'span', { class: 'visually-hidden', text: `, ${unread} unread` }) : null,
      ].filter(Boolean));
    });
  }

  renderRooms() {
    const m = this.model;
    if (!m) return;
    this.reconcile(this.$('rooms'), [...m.rooms.keys()].sort(), (jid, li) => {
      const r = m.rooms.get(jid);
      li.dataset.jid = jid;
      li.dataset.state = r.state;
      li.className = 'room';
      const stateText = { joining: 'Joining…', joined: `${r.occupants.size} present`, left: 'Left', error: 'Could not join' }[r.state] || r.state;
      const btn = this.listButton(li, { kind: 'room', jid });
      btn.replaceChildren(...[
        h(this.doc, 'span', { class: 'dot room', 'aria-hidden': 'true' }),
        h(this.doc, 'span', { class: 'contact-main' },
          h(this.doc, 'span', { class: 'contact-name', text: jid }),
          h(this.doc, 'span', { class: 'contact-state', text: stateText })),
        r.unread ? h(this.doc, 'span', { class: 'badge', text: String(r.unread) }) : null,
      ].filter(Boolean));
    });
  }

  /** One <button> per list item that opens the conversation. */
  listButton(li, target) {
    let btn = li.querySelector('button.contact-btn');
    if (!btn) {
      btn = h(this.doc, 'button', { type: 'button', class: 'contact-btn' });
      btn.addEventListener('click', () => this.open({ kind: li.dataset.kind, jid: li.dataset.jid }));
      li.append(btn);
    }
    li.dataset.kind = target.kind;
    const cur = this.current && this.current.jid === target.jid && this.current.kind === target.kind;
    if (cur) btn.setAttribute('aria-current', 'true');
    else btn.removeAttribute('aria-current');
    return btn;
  }

  /** Keyed update of a list: keeps existing items (and focus) in place. */
  reconcile(ul, keys, update) {
    const existing = new Map([...ul.children].map((li) => [li.dataset.jid, li]));
    const wanted = new Set(keys);
    for (const [k, li] of existing) if (!wanted.has(k)) li.remove();
    let prev = null;
    for (const k of keys) {
      let li = existing.get(k);
      if (!li) li = h(this.doc, 'li');
      update(k, li);
      const next = prev ? prev.nextSibling : ul.firstChild;
      if (next !== li) ul.insertBefore(li, next);
      prev = li;
    }
  }

  renderRequests() {
    const m = this.model;
    if (!m) return;
    const ul = this.$('requests');
    const reqs = [...m.requests];
    this.$('requests-section').hidden = reqs.length === 0;
    ul.replaceChildren(...reqs.map((jid) => {
      const accept = h(this.doc, 'button', { type: 'button', class: 'btn btn-primary', text: 'Accept', 'aria-label': `Accept ${jid}` });
      const decline = h(this.doc, 'button', { type: 'button', class: 'btn', text: 'Decline', 'aria-label': `Decline ${jid}` });
      accept.addEventListener('click', () => this.fire('acceptRequest', jid));
      decline.addEventListener('click', () => this.fire('declineRequest', jid));
      return h(this.doc, 'li', { class: 'request', 'data-jid': jid },
        h(this.doc, 'p', { class: 'request-text', text: `${jid} wants to add you as a contact and see when you are online.` }),
        accept, decline);
    }));
  }

  // ----------------------------------------------------------------------- conversation

  open(target) {
    this.current = target;
    this.$('chat-view').classList.add('show-conversation');
    this.renderRoster();
    this.renderRooms();
    this.renderConversation();
    this.fire('opened', target);
    this.$('compose-input').focus();
  }

  showList() {
    this.$('chat-view').classList.remove('show-conversation');
    const jid = this.current && this.current.jid;
    const btn = jid && [...this.$('sidebar').querySelectorAll('li')].find((li) => li.dataset.jid === jid);
    if (btn) btn.querySelector('button').focus();
  }

  renderConversation() {
    const has = !!this.current;
    this.$('conv-empty').hidden = has;
    this.$('compose').hidden = !has;
    this.$('messages').hidden = !has;
    this.renderHeader();
    this.syncMessages();
    this.renderTyping();
    if (has) this.markCurrentRead();
  }

  renderHeader() {
    const $ = this.$;
    const m = this.model;
    const cur = this.current;
    $('leave-room').hidden = !cur || cur.kind !== 'room';
    if (!cur || !m) {
      $('conv-title').textContent = 'No conversation open';
      $('conv-sub').textContent = '';
      return;
    }
    if (cur.kind === 'room') {
      const r = m.room(cur.jid);
      $('conv-title').textContent = cur.jid;
      $('conv-sub').textContent = !r ? 'Not joined'
        : r.state === 'error' ? `Could not join: ${r.error}`
          : `${r.state === 'joined' ? `${r.occupants.size} present` : r.state}${r.subject ? ` · ${r.subject}` : ''} · you are ${r.nick}`;
      $('compose-input').placeholder = `Message ${cur.jid}`;
    } else {
      $('conv-title').textContent = m.displayName(cur.jid);
      $('conv-sub').textContent = `${cur.jid} · ${this.contactStateText(cur.jid).text}`;
      $('compose-input').placeholder = `Message ${m.displayName(cur.jid)} (Enter sends, Shift+Enter for a new line)`;
    }
  }

  currentMessages() {
    const m = this.model;
    const cur = this.current;
    if (!cur || !m) return [];
    if (cur.kind === 'room') return (m.room(cur.jid) || { messages: [] }).messages;
    return (m.convs.get(cur.jid) || { messages: [] }).messages;
  }

  syncMessages() {
    const ol = this.$('messages');
    const key = this.current ? `${this.current.kind}:${this.current.jid}` : null;
    const list = this.currentMessages();
    if (this.rendered.key !== key || list.length < this.rendered.count ||
        (this.rendered.count && list[this.rendered.count - 1] !== this.rendered.items[this.rendered.count - 1].msg)) {
      ol.replaceChildren();
      this.rendered = { key, count: 0, items: [] };
    }
    for (const item of this.rendered.items) this.updateMessage(item);
    const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
    for (let i = this.rendered.count; i < list.length; i++) {
      const item = this.renderMessage(list[i]);
      this.rendered.items.push(item);
      ol.append(item.li);
    }
    this.rendered.count = list.length;
    if (atBottom || list.length && list[list.length - 1].dir === 'out') ol.scrollTop = ol.scrollHeight;
  }

  renderMessage(msg) {
    const d = this.doc;
    const room = this.current && this.current.kind === 'room';
    const author = msg.dir === 'out' ? 'You' : room ? msg.from : this.model.displayName(this.current.jid);
    const status = h(d, 'span', { class: 'msg-status' });
    const li = h(d, 'li', { class: `msg msg-${msg.dir}` },
      h(d, 'span', { class: 'msg-author', text: author }),
      h(d, 'p', { class: 'msg-body', text: msg.body }),
      h(d, 'p', { class: 'msg-meta' },
        h(d, 'time', { datetime: new Date(msg.time).toISOString(), text: timeText(msg.time) }),
        msg.dir === 'out' ? status : null));
    if (msg.id) li.dataset.id = msg.id;
    const item = { li, status, msg, shown: null };
    this.updateMessage(item);
    return item;
  }

  updateMessage(item) {
    const { msg, li, status } = item;
    if (item.shown === msg.state) return;
    item.shown = msg.state;
    li.dataset.state = msg.state;
    if (msg.dir !== 'out') return;
    status.dataset.state = msg.state;
    status.textContent = msg.state === 'error' && msg.error ? `Not delivered: ${msg.error}` : STATE_TEXT[msg.state] || '';
  }

  renderTyping() {
    const cur = this.current;
    const el = this.$('typing');
    if (!cur || cur.kind !== 'chat') {
      el.textContent = '';
      return;
    }
    const c = this.model.convs.get(cur.jid);
    const name = this.model.displayName(cur.jid);
    el.dataset.state = c && c.typing ? c.typing : '';
    el.textContent = !c || !c.typing ? '' : c.typing === 'composing' ? `${name} is typing…` : `${name} stopped typing.`;
  }

  markCurrentRead() {
    const cur = this.current;
    if (!cur || this.doc.hidden) return;
    if (cur.kind === 'room') this.model.markRoomRead(cur.jid);
    else this.model.markRead(cur.jid);
  }
}

export { PRESENCE_TEXT, TRANSPORT_TEXT };
