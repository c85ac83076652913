'use strict';
// Free-port and readiness helpers for the integration tests. Loopback only.

const net = require('node:net');

// Ports handed out by this process, so two concurrent getFreePort() calls in
// one test file never return the same number before either is bound.
const handedOut = new Set();

/**
 * Ask the kernel for a free TCP port on `host` (default 127.0.0.1).
 * The port is released before returning, so there is a small race with other
 * processes; callers that spawn a server should poll with waitForPort().
 */
async function getFreePort(host = '127.0.0.1') {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen({ host, port: 0, exclusive: true }, () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('getFreePort: could not find an unused port in 50 attempts');
}

/** Several distinct free ports. */
async function getFreePorts(n, host = '127.0.0.1') {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await getFreePort(host));
  return out;
}

/** True if a TCP connection to host:port succeeds within `timeoutMs`. */
function canConnect(port, host = '127.0.0.1', timeoutMs = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
  });
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolve to the promise's value, or to `fallback` after `ms` (the timer is cleared). */
function settleWithin(promise, ms, fallback = null) {
  let timer;
  return Promise.race([
    promise,
    new Promise((r) => { timer = setTimeout(() => r(fallback), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Poll until host:port accepts a TCP connection, or throw after `timeoutMs`.
 * `isAlive` (optional) is called between attempts; if it returns a string the
 * wait is aborted with that message (e.g. the server process already exited).
 */
async function waitForPort(port, { host = '127.0.0.1', timeoutMs = 10000, intervalMs = 25, isAlive } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (isAlive) {
      const why = isAlive();
      if (typeof why === 'string') throw new Error(`waitForPort ${host}:${port}: ${why}`);
    }
    if (await canConnect(port, host, Math.min(500, Math.max(50, deadline - Date.now())))) return;
    if (Date.now() >= deadline) {
      throw new Error(`waitForPort: ${host}:${port} did not accept connections within ${timeoutMs} ms`);
    }
    await delay(intervalMs);
  }
}

/**
 * Poll `fn` (sync or async) until it returns a truthy value; returns that value.
 * Throws `message` after `timeoutMs`.
 */
async function waitFor(fn, { timeoutMs = 5000, intervalMs = 20, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`waitFor: ${message} not met within ${timeoutMs} ms`);
    await delay(intervalMs);
  }
}

// Child processes (servers) started by the test helpers. They are killed if this
// process exits or is interrupted without stopping them, so no server outlives a test run.
const children = new Set();
let hooksInstalled = false;
function killChildren() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
  children.clear();
}
function trackChild(child) {
  if (!hooksInstalled) {
    hooksInstalled = true;
    process.on('exit', killChildren);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.once(sig, () => {
        killChildren();
        process.kill(process.pid, sig);
      });
    }
  }
  children.add(child);
  child.once('close', () => children.delete(child));
  return child;
}

module.exports = {
  getFreePort, getFreePorts, canConnect, waitForPort, waitFor, delay, settleWithin, trackChild,
};
