'use strict';
// Start/stop the xmppgw binary for integration tests.
//
//   const gw = await startGateway({ routes: [{ domain: 'localhost', host: '127.0.0.1', port }] });
//   ... gw.wsUrl, gw.httpUrl, gw.port, gw.host, gw.stderr(), await gw.waitForLog(/re/, ms)
//   assertCleanExit(await gw.stop());
//
// Options (all optional):
//   routes  array of route objects (as in the JSON config) or 'domain=host:port' strings;
//           they become config.routes (appended after any config.routes given).
//   config  object deep-merged over the generated config ({listen, log_level: 'debug', routes}).
//           If config.listen is given it is used as is and the first entry gives the port.
//   args    extra command-line arguments appended after `--config FILE`.
//   env     extra environment variables (override the sanitizer defaults too).
//   host    listen address (default '127.0.0.1'; '::1' works too).
//   port    listen port (default: a free one).
//   startTimeoutMs  how long to wait for the port to accept (default 15000).
//   waitForReady    false to skip waiting for the port (e.g. to test config errors);
//                   then use gw.exited / gw.stop().
//   bin     path to the binary (default $XMPPGW_BIN or <repo>/build-asan/xmppgw).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');
const { getFreePort, waitForPort, settleWithin, trackChild } = require('./ports');

const REPO = path.resolve(__dirname, '..', '..');
const DEFAULT_BIN = path.join(REPO, 'build-asan', 'xmppgw');

const SANITIZER_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=23',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  LSAN_OPTIONS: 'exitcode=23',
};


function gatewayBinary() {
  return process.env.XMPPGW_BIN || DEFAULT_BIN;
}

function gatewayAvailable() {
  try {
    fs.accessSync(gatewayBinary(), fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function deepMerge(base, over) {
  const out = { ...base };
  for (const [k, v] of Object.entries(over || {})) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out;
}

function normaliseRoute(r) {
  if (typeof r !== 'string') return r;
  const m = /^([^=]+)=(\[[^\]]+\]|[^:]+):(\d+)$/.exec(r);
  if (!m) throw new Error(`bad route string: ${r}`);
  return { domain: m[1], host: m[2].replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}

function formatListen(host, port) {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function parseListen(s) {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(String(s));
  if (!m) return null;
  return { host: m[1] || m[2], port: Number(m[3]) };
}

// Bounded stderr capture: keep the head (start-up messages) and a long tail
// (sanitizer reports come last).
class OutputBuffer {
  constructor(headMax = 1 << 20, tailMax = 8 << 20) {
    this.headMax = headMax;
    this.tailMax = tailMax;
    this.head = '';
    this.tail = '';
    this.dropped = 0;
    this.listeners = new Set();
  }
  push(chunk) {
    const s = chunk.toString('utf8');
    if (this.head.length < this.headMax && this.dropped === 0 && this.tail === '') {
      const room = this.headMax - this.head.length;
      this.head += s.slice(0, room);
      if (s.length > room) this.tail += s.slice(room);
    } else {
      this.tail += s;
    }
    if (this.tail.length > this.tailMax * 2) {
      const cut = this.tail.length - this.tailMax;
      this.dropped += cut;
      this.tail = this.tail.slice(cut);
    }
    for (const fn of this.listeners) fn();
  }
  text() {
    if (this.dropped === 0) return this.head + this.tail;
    return `${this.head}\n[... ${this.dropped} chars dropped ...]\n${this.tail}`;
  }
}

async function startGateway(opts = {}) {
  const bin = opts.bin || gatewayBinary();
  if (!fs.existsSync(bin)) {
    throw new Error(`xmppgw binary not found at ${bin} (build it with: cmake -S . -B build-asan ` +
      `-DXGW_WERROR=ON -DXGW_SANITIZE=ON && cmake --build build-asan --target xmppgw, or set XMPPGW_BIN)`);
  }

  const cfgIn = opts.config || {};
  let host = opts.host || '127.0.0.1';
  let port = opts.port;
  let listen;
  if (Array.isArray(cfgIn.listen) && cfgIn.listen.length > 0) {
    listen = cfgIn.listen;
    const first = parseListen(listen[0]);
    if (first) { host = first.host; port = first.port; }
  } else {
    if (!port) port = await getFreePort(host);
    listen = [formatListen(host, port)];
  }

  const routes = [...(cfgIn.routes || []), ...(opts.routes || []).map(normaliseRoute)];
  const config = deepMerge({ listen, log_level: 'debug' }, { ...cfgIn, listen, routes });
  if (routes.length === 0) delete config.routes;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-gw-'));
  const configPath = path.join(dir, 'xmppgw.json');
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));

  const args = ['--config', configPath, ...(opts.args || [])];
  const env = { ...process.env, ...SANITIZER_ENV, ...(opts.env || {}) };
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);

  const err = new OutputBuffer();
  const out = new OutputBuffer(1 << 16, 1 << 20);
  const verbose = !!process.env.XGW_TEST_VERBOSE;
  child.stderr.on('data', (d) => { err.push(d); if (verbose) process.stderr.write(d); });
  child.stdout.on('data', (d) => { out.push(d); if (verbose) process.stderr.write(d); });

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    let spawnError = null;
    child.once('error', (e) => { spawnError = e; });
    child.once('close', (code, signal) => {
      if (spawnError) err.push(`\n[spawn error: ${spawnError.message}]\n`);
      exitInfo = { code, signal };
      for (const fn of err.listeners) fn();
      resolve({ code, signal, stderr: err.text(), stdout: out.text() });
    });
  });

  const cleanupDir = () => {
    if (!process.env.XGW_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  };
  exited.then(cleanupDir);

  let stopping = null;
  async function stop({ timeoutMs = 15000, signal = 'SIGTERM' } = {}) {
    if (stopping) return stopping;
    stopping = (async () => {
      if (!exitInfo) {
        try { child.kill(signal); } catch { /* gone */ }
        const t = await settleWithin(exited, timeoutMs);
        if (!t) {
          err.push(`\n[gateway.js: no exit ${timeoutMs} ms after ${signal}; sent SIGKILL]\n`);
          try { child.kill('SIGKILL'); } catch { /* gone */ }
          const r = await exited;
          return { ...r, timedOut: true };
        }
      }
      return exited;
    })();
    return stopping;
  }

  function waitForLog(regex, ms = 5000) {
    const re = typeof regex === 'string' ? new RegExp(regex.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : regex;
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(err.text());
        if (m) { finish(); resolve(m); return true; }
        if (exitInfo) {
          finish();
          reject(new Error(`gateway exited (code=${exitInfo.code} signal=${exitInfo.signal}) ` +
            `before logging ${re}\n--- stderr tail ---\n${tail(err.text())}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`gateway did not log ${re} within ${ms} ms\n--- stderr tail ---\n${tail(err.text())}`));
      }, ms);
      const finish = () => { clearTimeout(timer); err.listeners.delete(check); };
      if (!check()) err.listeners.add(check);
    });
  }

  const gw = {
    port,
    host,
    configPath,
    config,
    pid: child.pid,
    process: child,
    exited,
    wsUrl: `ws://${host.includes(':') ? `[${host}]` : host}:${port}${(config.websocket && config.websocket.path) || '/xmpp-websocket'}`,
    httpUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    stderr: () => err.text(),
    stdout: () => out.text(),
    waitForLog,
    stop,
  };

  if (opts.waitForReady === false) return gw;

  try {
    await waitForPort(port, {
      host,
      timeoutMs: opts.startTimeoutMs || 15000,
      isAlive: () => (exitInfo ? `gateway exited during start-up (code=${exitInfo.code} signal=${exitInfo.signal})` : true),
    });
  } catch (e) {
    await stop({ timeoutMs: 3000 });
    e.message += `\n--- gateway stderr ---\n${tail(err.text())}`;
    throw e;
  }
  return gw;
}

function tail(s, n = 6000) {
  return s.length > n ? `...${s.slice(-n)}` : s;
}

const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'LeakSanitizer', 'runtime error:'];

/** Fail unless the gateway exited with code 0 and no sanitizer report. */
function assertCleanExit(result, message = 'gateway exit') {
  assert.ok(result, `${message}: no result (did you await gw.stop()?)`);
  const stderr = result.stderr || '';
  const found = SANITIZER_MARKERS.filter((m) => stderr.includes(m));
  const problems = [];
  if (result.timedOut) problems.push('did not exit after SIGTERM (killed)');
  if (result.code !== 0) problems.push(`exit code ${result.code}, signal ${result.signal}`);
  if (found.length) problems.push(`sanitizer report (${found.join(', ')})`);
  if (problems.length) {
    assert.fail(`${message}: ${problems.join('; ')}\n--- gateway stderr (tail) ---\n${tail(stderr, 12000)}`);
  }
}

module.exports = {
  startGateway,
  assertCleanExit,
  gatewayBinary,
  gatewayAvailable,
  SANITIZER_ENV,
  REPO,
};
