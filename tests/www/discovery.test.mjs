// XEP-0156 discovery (www/js/discovery.js) with a fake fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './setup.mjs';
import {
  parseHostMetaJson, parseHostMetaXrd, pickEndpoints, defaultEndpoints, discover, REL_WEBSOCKET, REL_BOSH,
} from '../../www/js/discovery.js';

const XRD = "<?xml version='1.0' encoding='utf-8'?><XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>" +
  `<Link rel='${REL_BOSH}' href='https://chat.example/http-bind'/>` +
  `<Link rel='${REL_WEBSOCKET}' href='wss://chat.example/xmpp-websocket'/>` +
  "<Link rel='lrdd' href='https://chat.example/x'/></XRD>";
const JSON_DOC = JSON.stringify({ links: [
  { rel: REL_WEBSOCKET, href: 'ws://127.0.0.1:5280/ws' },
  { rel: 'other', href: 'x' },
  { rel: REL_BOSH, href: 'http://127.0.0.1:5280/bind' },
] });

function fakeFetch(routes, calls = []) {
  return async (url) => {
    calls.push(url);
    const r = routes[new URL(url).pathname];
    if (r instanceof Error) throw r;
    if (!r) return { ok: false, status: 404, text: async () => 'not found' };
    return { ok: r[0] === 200, status: r[0], text: async () => r[1] };
  };
}

test('host-meta documents are parsed (order does not matter, other rels ignored)', () => {
  assert.deepEqual(parseHostMetaXrd(XRD), { websocket: ['wss://chat.example/xmpp-websocket'], bosh: ['https://chat.example/http-bind'] });
  assert.deepEqual(parseHostMetaJson(JSON_DOC), { websocket: ['ws://127.0.0.1:5280/ws'], bosh: ['http://127.0.0.1:5280/bind'] });
  assert.deepEqual(parseHostMetaJson('not json'), { websocket: [], bosh: [] });
  assert.deepEqual(parseHostMetaJson('{"links": 3}'), { websocket: [], bosh: [] });
  assert.deepEqual(parseHostMetaXrd('<XRD/>'), { websocket: [], bosh: [] }, 'wrong namespace');
  assert.deepEqual(parseHostMetaXrd('<broken'), { websocket: [], bosh: [] });
});

test('same-origin defaults follow the page scheme', () => {
  assert.deepEqual(defaultEndpoints('http://127.0.0.1:5280'), { websocket: 'ws://127.0.0.1:5280/xmpp-websocket', bosh: 'http://127.0.0.1:5280/http-bind' });
  assert.deepEqual(defaultEndpoints('https://chat.example'), { websocket: 'wss://chat.example/xmpp-websocket', bosh: 'https://chat.example/http-bind' });
});

test('an https page never picks ws:/http: links (mixed content); relative links resolve', () => {
  const links = { websocket: ['ws://chat.example/ws', 'wss://chat.example/ws'], bosh: ['http://x/b', '/bind'] };
  assert.deepEqual(pickEndpoints(links, 'https://chat.example'), { websocket: 'wss://chat.example/ws', bosh: 'https://chat.example/bind' });
  assert.deepEqual(pickEndpoints(links, 'http://chat.example'), { websocket: 'ws://chat.example/ws', bosh: 'http://x/b' });
  assert.deepEqual(pickEndpoints({ websocket: ['javascript:alert(1)', 'ftp://x'], bosh: [] }, 'http://a'), { websocket: null, bosh: null });
});

test('discover: JSON first', async () => {
  const calls = [];
  const r = await discover({ origin: 'http://127.0.0.1:5280', fetchImpl: fakeFetch({ '/.well-known/host-meta.json': [200, JSON_DOC] }, calls) });
  assert.equal(r.source, 'host-meta.json');
  assert.equal(r.websocket, 'ws://127.0.0.1:5280/ws');
  assert.equal(r.bosh, 'http://127.0.0.1:5280/bind');
  assert.deepEqual(calls, ['http://127.0.0.1:5280/.well-known/host-meta.json']);
});

test('discover: XRD when the JSON document is missing', async () => {
  const r = await discover({ origin: 'https://chat.example', fetchImpl: fakeFetch({ '/.well-known/host-meta': [200, XRD] }) });
  assert.equal(r.source, 'host-meta');
  assert.equal(r.websocket, 'wss://chat.example/xmpp-websocket');
  assert.match(r.note, /discovered from \/\.well-known\/host-meta\./);
});

test('discover: a document with one transport fills the other with the default', async () => {
  const doc = JSON.stringify({ links: [{ rel: REL_WEBSOCKET, href: 'wss://chat.example/alt' }] });
  const r = await discover({ origin: 'https://chat.example', fetchImpl: fakeFetch({ '/.well-known/host-meta.json': [200, doc] }) });
  assert.equal(r.websocket, 'wss://chat.example/alt');
  assert.equal(r.bosh, 'https://chat.example/http-bind');
  assert.match(r.note, /no BOSH link there/);
});

test('discover: nothing usable -> same-origin defaults and a note saying why', async () => {
  const r = await discover({
    origin: 'http://127.0.0.1:5280',
    fetchImpl: fakeFetch({ '/.well-known/host-meta.json': [200, '{"links":[]}'], '/.well-known/host-meta': new TypeError('Failed to fetch') }),
  });
  assert.equal(r.source, 'default');
  assert.equal(r.websocket, 'ws://127.0.0.1:5280/xmpp-websocket');
  assert.equal(r.bosh, 'http://127.0.0.1:5280/http-bind');
  assert.match(r.note, /host-meta\.json: no usable XMPP links; \/\.well-known\/host-meta: Failed to fetch/);
  const r404 = await discover({ origin: 'http://a', fetchImpl: fakeFetch({}) });
  assert.match(r404.note, /HTTP 404.*HTTP 404/);
});

test('discover: a hanging server does not block the login forever', async () => {
  const never = (url, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  const t0 = Date.now();
  const r = await discover({ origin: 'http://a', fetchImpl: never, timeoutMs: 50 });
  assert.equal(r.source, 'default');
  assert.ok(Date.now() - t0 < 2000);
});
