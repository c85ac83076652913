'use strict';
// Browser-test helpers: a private Prosody + the xmppgw binary serving www/, and Debian's
// chromium driven by playwright-core (never a downloaded browser). Loopback only.
//
//   const env = await startEnv({ users: ['alice', 'bob'], roster: 'mutual', muc: true });
//   const page = await env.newPage();            // fresh browser context, CSP watched
//   await login(page, env, 'alice', { transport: 'websocket' });
//   ...
//   await env.stop();                             // browser, gateway (clean exit), Prosody
//
// CSP: every page is checked for `securitypolicyviolation` events and CSP console errors
// (assertNoCspViolations). If the gateway does not send a Content-Security-Policy header for
// the page yet, the helper adds the policy of the gateway contract to the document response,
// so the client is always tested under it (env.cspInjected tells whether that happened).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const { startProsody } = require('../lib/prosody');
const { startGateway, assertCleanExit, REPO } = require('../lib/gateway');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO, 'build-asan', 'test-artifacts');
const DOMAIN = 'localhost';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--mute-audio', '--no-default-browser-check',
  '--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication',
];

function chromiumAvailable() {
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
    require.resolve('playwright-core');
    return true;
  } catch {
    return false;
  }
}

function contractCsp(gwOrigin) {
  const u = new URL(gwOrigin);
  const ws = `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}`;
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; ` +
    `connect-src 'self' ${ws} ${u.origin}; manifest-src 'self'; base-uri 'none'; ` +
    "form-action 'none'; frame-ancestors 'none'";
}

/** Start Prosody (+ accounts), the gateway serving www/, and chromium. */
async function startEnv(opts = {}) {
  const names = opts.users || ['alice', 'bob'];
  const users = {};
  for (const n of names) users[n] = `pw-${n}-${crypto.randomBytes(4).toString('hex')}`;
  const env = { users, pages: [], contexts: [], cspInjected: false, problems: [] };
  const stoppers = [];
  // Stops everything (browser, gateway with a clean-exit check, Prosody), even when one step
  // fails. Throws the first problem, unless the test already failed (env.failed): then the
  // problems are printed and the test's own error is the one reported.
  env.stop = async () => {
    const errors = [];
    for (const fn of stoppers.reverse()) {
      try { await fn(); } catch (e) { errors.push(e); }
    }
    stoppers.length = 0;
    if (errors.length && env.failed) {
      for (const e of errors) console.error(`[browser test clean-up] ${e.message.slice(0, 4000)}`);
    } else if (errors.length) {
      throw errors[0];
    }
  };
  try {
    env.prosody = await startProsody({
      hosts: [{ domain: DOMAIN, users }],
      websocket: false,
      muc: !!opts.muc,
      smacks: opts.smacks !== false,
      carbons: !!opts.carbons,
    });
    stoppers.push(() => env.prosody.stop());
    if (opts.roster === 'mutual') {
      for (const a of names) {
        const items = {};
        for (const b of names) {
          if (b !== a) items[`${b}@${DOMAIN}`] = { subscription: 'both', name: b[0].toUpperCase() + b.slice(1) };
        }
        env.prosody.writeRoster(a, DOMAIN, items);
      }
    }
    await startGatewayInto(env, opts, stoppers);
    const { chromium } = require('playwright-core');
    env.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30000,
    });
    stoppers.push(() => env.browser.close());
  } catch (e) {
    await env.stop().catch(() => {});
    throw e;
  }
  env.newPage = (pageOpts) => newPage(env, pageOpts);
  env.jid = (name) => `${name}@${DOMAIN}`;
  return env;
}

async function startGatewayInto(env, opts, stoppers) {
  const config = {
    www_root: path.join(REPO, 'www'),
    log_level: 'info',
    bosh: { max_wait_s: 20 },
    ...(opts.gatewayConfig || {}),
  };
  if (opts.gatewayConfig && opts.gatewayConfig.bosh) config.bosh = { max_wait_s: 20, ...opts.gatewayConfig.bosh };
  env.gw = await startGateway({
    routes: [{ domain: DOMAIN, host: '127.0.0.1', port: opts.routePort || env.prosody.c2sPort }],
    config,
    port: opts.port,
  });
  env.url = `${env.gw.httpUrl}/`;
  env.gwResult = null;
  const head = await httpGet(env.url);
  env.gatewayCsp = head.headers['content-security-policy'] || null;
  const gw = env.gw;
  stoppers.push(async () => {
    const r = await gw.stop();
    env.gwResult = r;
    assertCleanExit(r, 'gateway exit');
  });
  env.stopGateway = async () => {
    const r = await gw.stop();
    assertCleanExit(r, 'gateway exit');
    return r;
  };
}

/** A fresh browser context and page, watched for CSP violations and page errors. */
async function newPage(env, { viewport = { width: 1100, height: 760 }, blockWebSocket = false } = {}) {
  const context = await env.browser.newContext({ viewport, locale: 'en-US' });
  env.contexts.push(context);
  const origin = new URL(env.url).origin;
  const policy = contractCsp(origin);
  if (!env.gatewayCsp) {
    // Only when the gateway sends no policy: a fulfilled document loses its loopback address
    // space in Chromium, whose Local Network Access checks then block the WebSocket.
    await context.route((u) => u.origin === origin && (u.pathname === '/' || u.pathname.endsWith('.html')), async (route) => {
      const res = await route.fetch();
      const headers = res.headers();
      if (!headers['content-security-policy']) {
        headers['content-security-policy'] = policy;
        env.cspInjected = true;
      }
      await route.fulfill({ response: res, headers });
    });
  }
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  const page = watchPage(await context.newPage());
  if (blockWebSocket) {
    // Any WebSocket to the gateway is "blocked": accepted by a fake, then closed at once,
    // before an XMPP <open/> could come back (what a proxy that kills upgrades looks like).
    page.wsAttempts = 0;
    await page.routeWebSocket(/.*/, (ws) => {
      page.wsAttempts += 1;
      ws.close({ code: 1011, reason: 'blocked by test' });
    });
  }
  env.pages.push(page);
  return page;
}

/** Collect CSP console errors and uncaught page errors in page.problems. */
function watchPage(page) {
  page.problems = [];
  page.on('console', (msg) => {
    const t = msg.text();
    if (/Content[- ]Security[- ]Policy|Refused to (load|execute|apply|connect)/i.test(t)) page.problems.push(`console CSP: ${t}`);
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  return page;
}

async function assertNoCspViolations(page, what = 'page') {
  let events = [];
  try {
    events = await page.evaluate(() => window.__cspViolations || []);
  } catch { /* page gone */ }
  const all = [...events, ...page.problems];
  assert.deepEqual(all, [], `${what}: CSP violations or page errors`);
}

// ----------------------------------------------------------------------------- actions

async function login(page, env, name, { transport = 'auto', password, expectOnline = true } = {}) {
  await page.goto(env.url);
  await page.locator('#login-view:not([hidden])').waitFor({ timeout: 10000 });
  await page.getByLabel('XMPP address').fill(env.jid(name));
  await page.getByLabel('Password').fill(password === undefined ? env.users[name] : password);
  await page.locator(`input[name="transport"][value="${transport}"]`).check();
  await page.getByRole('button', { name: 'Log in' }).click();
  if (expectOnline) await waitOnline(page);
}

async function waitOnline(page, timeout = 20000) {
  await page.locator('#conn[data-state="online"]').waitFor({ timeout });
  return page.locator('#conn').getAttribute('data-transport');
}

function contactItem(page, jid) {
  return page.locator(`#roster li[data-jid="${jid}"]`);
}

async function waitPresence(page, jid, presence, timeout = 15000) {
  await page.locator(`#roster li[data-jid="${jid}"][data-presence="${presence}"]`).waitFor({ timeout });
}

async function openChat(page, jid) {
  await contactItem(page, jid).locator('button').click();
  await page.locator('#compose:not([hidden])').waitFor({ timeout: 5000 });
}

async function sendMessage(page, text) {
  const input = page.locator('#compose-input');
  await input.fill(text);
  await input.press('Enter');
}

/** Wait for an incoming message whose body is exactly `text` (byte for byte). */
async function waitIncoming(page, text, timeout = 15000) {
  await page.waitForFunction((want) => [...document.querySelectorAll('#messages .msg-in .msg-body')]
    .some((e) => e.textContent === want), text, { timeout });
}

async function bodies(page, selector) {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent));
}

// --------------------------------------------------------------------------- screenshots

/** Decode an 8-bit non-interlaced PNG (what Chromium writes) to { width, height, rgba }. */
function decodePng(buf) {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      colorType = data[9];
      assert.equal(data[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = { 2: 3, 6: 4 }[colorType];
  assert.ok(bpp, `colour type ${colorType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[y * stride + x - bpp] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? out[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, bpp, pixels: out };
}

/** Colour statistics: distinct colours and the share of the most common one. */
function pngStats(buf) {
  const { width, height, bpp, pixels } = decodePng(buf);
  const counts = new Map();
  for (let i = 0; i < pixels.length; i += bpp) {
    const key = pixels.readUIntBE(i, 3);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const top = Math.max(...counts.values());
  return { width, height, colours: counts.size, dominantShare: top / (width * height) };
}

/** Save a screenshot under build-asan/test-artifacts/ and check it shows something. */
async function saveScreenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  const buf = await page.screenshot({ path: file, fullPage: false });
  const stats = pngStats(buf);
  const vp = page.viewportSize();
  assert.equal(stats.width, vp.width, 'screenshot width');
  assert.equal(stats.height, vp.height, 'screenshot height');
  assert.ok(stats.colours >= 16, `screenshot has ${stats.colours} colours: looks blank (${file})`);
  assert.ok(stats.dominantShare < 0.97, `screenshot is ${(stats.dominantShare * 100).toFixed(1)} % one colour (${file})`);
  return { file, stats, bytes: buf.length };
}

/** GET a URL on loopback: { status, headers, body }. */
function httpGet(url, headers = {}) {
  const http = require('node:http');
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
  });
}

function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

module.exports = {
  DOMAIN, ARTIFACTS, CHROMIUM, chromiumAvailable, startEnv, newPage, watchPage, contractCsp,
  assertNoCspViolations, login, waitOnline, contactItem, waitPresence, openChat, sendMessage,
  waitIncoming, bodies, saveScreenshot, pngStats, decodePng, tmpDir, startGatewayInto, httpGet,
};
