// Small XML toolkit for XMPP.
//
// Outbound: XmlElement trees built with el(), serialised with escaping (the only place
// that escapes). Inbound: parseXml() uses a DOMParser (the browser's, or one injected with
// setDOMParser() for Node tests) and the helpers below read DOM elements.
// This module touches no DOM global at import time.

export const NS = Object.freeze({
  CLIENT: 'jabber:client',
  STREAMS: 'http://etherx.jabber.org/streams',
  FRAMING: 'urn:ietf:params:xml:ns:xmpp-framing',
  SASL: 'urn:ietf:params:xml:ns:xmpp-sasl',
  BIND: 'urn:ietf:params:xml:ns:xmpp-bind',
  SESSION: 'urn:ietf:params:xml:ns:xmpp-session',
  STANZAS: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  STREAM_ERRORS: 'urn:ietf:params:xml:ns:xmpp-streams',
  SM: 'urn:xmpp:sm:3',
  HTTPBIND: 'http://jabber.org/protocol/httpbind',
  XBOSH: 'urn:xmpp:xbosh',
  ROSTER: 'jabber:iq:roster',
  CHATSTATES: 'http://jabber.org/protocol/chatstates',
  RECEIPTS: 'urn:xmpp:receipts',
  MUC: 'http://jabber.org/protocol/muc',
  MUC_USER: 'http://jabber.org/protocol/muc#user',
  MUC_OWNER: 'http://jabber.org/protocol/muc#owner',
  DATA: 'jabber:x:data',
  DELAY: 'urn:xmpp:delay',
  CARBONS: 'urn:xmpp:carbons:2',
  FORWARD: 'urn:xmpp:forward:0',
  HINTS: 'urn:xmpp:hints',
  PING: 'urn:xmpp:ping',
  DISCO_INFO: 'http://jabber.org/protocol/disco#info',
  XML: 'http://www.w3.org/XML/1998/namespace',
});

// Characters XML 1.0 cannot carry (controls, U+FFFE/U+FFFF, unpaired surrogates) become
// U+FFFD so a stanza is never malformed because of what a user typed.
const INVALID_XML_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function cleanText(s) {
  return String(s).replace(INVALID_XML_CHARS, '\uFFFD');
}

const TEXT_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };
const ATTR_ESCAPES = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;',
  '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};

/** Escape character data (a CR is kept as a reference so parsers do not fold it). */
export function escapeText(s) {
  return cleanText(s).replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]);
}

/** Escape an attribute value (whitespace kept as references, so it survives normalisation). */
export function escapeAttr(s) {
  return cleanText(s).replace(/[&<>"'\t\n\r]/g, (c) => ATTR_ESCAPES[c]);
}

const NAME_RE = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/;

/** An outbound element: name, attributes (strings) and children (XmlElement or string). */
export class XmlElement {
  constructor(name, attrs = {}, children = []) {
    if (!NAME_RE.test(name)) throw new TypeError(`invalid XML element name: ${name}`);
    this.name = name;
    this.attrs = {};
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (!NAME_RE.test(k)) throw new TypeError(`invalid XML attribute name: ${k}`);
      this.attrs[k] = String(v);
    }
    this.children = [];
    this.append(children);
  }

  /** Append children: XmlElement, string (text), arrays of them; null/undefined/false skipped. */
  append(...items) {
    for (const item of items.flat(Infinity)) {
      if (item === undefined || item === null || item === false) continue;
      if (item instanceof XmlElement) this.children.push(item);
      else this.children.push(String(item));
    }
    return this;
  }

  /** Add a child element and return it (builder style). */
  c(name, attrs, ...children) {
    const child = new XmlElement(name, attrs, children);
    this.children.push(child);
    return child;
  }

  getChild(name, xmlns) {
    return this.children.find((ch) => ch instanceof XmlElement && ch.name === name &&
      (xmlns === undefined || ch.attrs.xmlns === xmlns)) || null;
  }

  getText() {
    return this.children.filter((ch) => typeof ch === 'string').join('');
  }

  toString() {
    return serialize(this);
  }
}

/** el('message', { to, type: 'chat' }, el('body', {}, text)) */
export function el(name, attrs, ...children) {
  return new XmlElement(name, attrs, children);
}

export function serialize(node) {
  if (typeof node === 'string') return escapeText(node);
  let out = `<${node.name}`;
  for (const [k, v] of Object.entries(node.attrs)) out += ` ${k}='${escapeAttr(v)}'`;
  if (node.children.length === 0) return `${out}/>`;
  out += '>';
  for (const ch of node.children) out += serialize(ch);
  return `${out}</${node.name}>`;
}

// ---------------------------------------------------------------------------------------
// Parsing

let DOMParserImpl = null;

/** Use this DOMParser constructor (e.g. @xmldom/xmldom's in Node) instead of the global. */
export function setDOMParser(Impl) {
  DOMParserImpl = Impl;
}

export class XmlParseError extends Error {
  constructor(message) {
    super(message);
    this.name = 'XmlParseError';
  }
}

const PARSERERROR_NS = new Set([
  'http://www.w3.org/1999/xhtml', // Chromium, WebKit
  'http://www.mozilla.org/newlayout/xml/parsererror.xml', // Firefox
]);

function isParserError(node) {
  return node && node.localName === 'parsererror' && PARSERERROR_NS.has(node.namespaceURI);
}

/** Parse one XML document and return its root element; throws XmlParseError. */
export function parseXml(text) {
  const Impl = DOMParserImpl || globalThis.DOMParser;
  if (!Impl) throw new XmlParseError('no DOMParser available (call setDOMParser)');
  let doc;
  try {
    doc = new Impl().parseFromString(String(text), 'text/xml');
  } catch (e) {
    throw new XmlParseError(`not well-formed XML: ${e && e.message ? e.message : e}`);
  }
  const root = doc && doc.documentElement;
  if (!root) throw new XmlParseError('not well-formed XML: no root element');
  if (isParserError(root)) throw new XmlParseError(`not well-formed XML: ${root.textContent}`);
  if (typeof doc.getElementsByTagNameNS === 'function') {
    for (const ns of PARSERERROR_NS) {
      const found = doc.getElementsByTagNameNS(ns, 'parsererror');
      if (found && found.length > 0) throw new XmlParseError(`not well-formed XML: ${found[0].textContent}`);
    }
  }
  return root;
}

// ---------------------------------------------------------------------------------------
// Reading DOM elements (browser DOM and xmldom alike)

export function isElement(node) {
  return !!node && node.nodeType === 1;
}

/** Child elements, optionally filtered by local name and namespace. */
export function children(elem, name, xmlns) {
  const out = [];
  if (!elem) return out;
  for (let n = elem.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    if (name !== undefined && name !== null && n.localName !== name) continue;
    if (xmlns !== undefined && n.namespaceURI !== xmlns) continue;
    out.push(n);
  }
  return out;
}

export function child(elem, name, xmlns) {
  if (!elem) return null;
  for (let n = elem.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    if (name !== undefined && name !== null && n.localName !== name) continue;
    if (xmlns !== undefined && n.namespaceURI !== xmlns) continue;
    return n;
  }
  return null;
}

/** Text content of the first matching child, or null when there is none. */
export function childText(elem, name, xmlns) {
  const c = child(elem, name, xmlns);
  return c ? c.textContent : null;
}

/** Attribute value or null (xmldom and browsers differ on missing attributes). */
export function attr(elem, name) {
  if (!elem || typeof elem.hasAttribute !== 'function' || !elem.hasAttribute(name)) return null;
  return elem.getAttribute(name);
}

export function is(elem, name, xmlns) {
  return isElement(elem) && elem.localName === name && (xmlns === undefined || elem.namespaceURI === xmlns);
}

/** message/presence/iq in jabber:client (or unqualified inside a BOSH body). */
export function isStanza(elem) {
  if (!isElement(elem)) return false;
  if (!['message', 'presence', 'iq'].includes(elem.localName)) return false;
  const ns = elem.namespaceURI;
  return ns === NS.CLIENT || ns === NS.HTTPBIND || ns === null || ns === '';
}

/** Serialise a DOM element (for logs and storage). */
export function domToString(elem) {
  if (!elem) return '';
  if (globalThis.XMLSerializer) return new globalThis.XMLSerializer().serializeToString(elem);
  return String(elem); // xmldom nodes serialise themselves
}
