// XEP-0156: find the gateway's WebSocket and BOSH endpoints from /.well-known/host-meta.json
// and /.well-known/host-meta (XRD). When neither answers, fall back to the same-origin
// defaults /xmpp-websocket and /http-bind. Pure functions plus one fetch-driven discover().

import { parseXml, children, attr } from './xml.js';

export const REL_WEBSOCKET = 'urn:xmpp:alt-connections:websocket';
export const REL_BOSH = 'urn:xmpp:alt-connections:xbosh';
export const NS_XRD = 'http://docs.oasis-open.org/ns/xri/xrd-1.0';
export const DEFAULT_WS_PATH = '/xmpp-websocket';
export const DEFAULT_BOSH_PATH = '/http-bind';

function normaliseUrl(href, base, schemes) {
  let u;
  try {
    u = new URL(String(href), base);
  } catch {
    return null;
  }
  if (!schemes.includes(u.protocol)) return null;
  u.hash = '';
  return u.href;
}

/** Links from XEP-0156 JSON: { websocket: [urls], bosh: [urls] } (unvalidated hrefs). */
export function parseHostMetaJson(text) {
  const out = { websocket: [], bosh: [] };
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    return out;
  }
  const links = doc && Array.isArray(doc.links) ? doc.links : [];
  for (const l of links) {
    if (!l || typeof l.href !== 'string') continue;
    if (l.rel === REL_WEBSOCKET) out.websocket.push(l.href);
    else if (l.rel === REL_BOSH) out.bosh.push(l.href);
  }
  return out;
}

/** Links from an XRD document. */
export function parseHostMetaXrd(text) {
  const out = { websocket: [], bosh: [] };
  let root;
  try {
    root = parseXml(text);
  } catch {
    return out;
  }
  if (root.localName !== 'XRD' || root.namespaceURI !== NS_XRD) return out;
  for (const link of children(root, 'Link', NS_XRD)) {
    const rel = attr(link, 'rel');
    const href = attr(link, 'href');
    if (!href) continue;
    if (rel === REL_WEBSOCKET) out.websocket.push(href);
    else if (rel === REL_BOSH) out.bosh.push(href);
  }
  return out;
}

/** Same-origin defaults for a page at `origin` (e.g. "https://chat.example:8443"). */
export function defaultEndpoints(origin) {
  const u = new URL(origin);
  const wsScheme = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    websocket: `${wsScheme}//${u.host}${DEFAULT_WS_PATH}`,
    bosh: `${u.protocol}//${u.host}${DEFAULT_BOSH_PATH}`,
  };
}

/**
 * Choose one URL per transport from discovered links. A page served over https cannot use
 * ws:/http: (mixed content), so those are skipped there. Returns {websocket, bosh} (null when
 * none usable).
 */
export function pickEndpoints(links, origin) {
  const secure = new URL(origin).protocol === 'https:';
  const pick = (hrefs, schemes) => {
    for (const h of hrefs) {
      const u = normaliseUrl(h, origin, secure ? schemes.slice(0, 1) : schemes);
      if (u) return u;
    }
    return null;
  };
  return {
    websocket: pick(links.websocket, ['wss:', 'ws:']),
    bosh: pick(links.bosh, ['https:', 'http:']),
  };
}

async function fetchText(fetchImpl, url, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetchImpl(url, { cache: 'no-store', credentials: 'omit', signal: controller.signal });
    if (!res.ok) return { status: res.status, text: null };
    return { status: res.status, text: await res.text() };
  } catch (e) {
    return { status: 0, text: null, error: e && e.message ? e.message : String(e) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Discover the endpoints for a page at `origin`.
 * Returns { websocket, bosh, source, note } where source is 'host-meta.json', 'host-meta' or
 * 'default', and note a short human-readable explanation.
 */
export async function discover({ origin, fetchImpl = (...a) => globalThis.fetch(...a), timeoutMs = 5000 }) {
  const defaults = defaultEndpoints(origin);
  const tries = [
    ['host-meta.json', '/.well-known/host-meta.json', parseHostMetaJson],
    ['host-meta', '/.well-known/host-meta', parseHostMetaXrd],
  ];
  const problems = [];
  for (const [source, path, parse] of tries) {
    const url = new URL(path, origin).href;
    const r = await fetchText(fetchImpl, url, timeoutMs);
    if (r.text === null) {
      problems.push(`${path}: ${r.status ? `HTTP ${r.status}` : r.error || 'no answer'}`);
      continue;
    }
    const picked = pickEndpoints(parse(r.text), origin);
    if (!picked.websocket && !picked.bosh) {
      problems.push(`${path}: no usable XMPP links`);
      continue;
    }
    const missing = [];
    if (!picked.websocket) { picked.websocket = defaults.websocket; missing.push('WebSocket'); }
    if (!picked.bosh) { picked.bosh = defaults.bosh; missing.push('BOSH'); }
    return {
      ...picked,
      source,
      note: `Endpoints discovered from ${path}` +
        (missing.length ? ` (no ${missing.join(' or ')} link there; using the default path)` : '') + '.',
    };
  }
  return {
    ...defaults,
    source: 'default',
    note: `No endpoint discovery on this server (${problems.join('; ')}); using the default paths on this host.`,
  };
}
