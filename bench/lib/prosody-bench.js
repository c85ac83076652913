'use strict';
// A Prosody for the benchmark: the same generated config as the integration tests
// (tests/lib/prosody.js prosodyConfig()), but
//   - log level "warn" (startProsody() needs "info" to see its listener announcement;
//     here ownership of the ports is checked in /proc instead),
//   - thousands of accounts written straight into the data directory instead of one
//     prosodyctl process per account (same file format and the same SCRAM-SHA-1
//     derivation and iteration count (10000) that prosodyctl / mod_auth_internal_hashed use,
//     so a PLAIN login costs Prosody exactly what it costs for a prosodyctl-made account).
// mod_limits is not loaded (prosodyConfig() never enables it), so Prosody does not throttle.

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { prosodyConfig } = require('../../tests/lib/prosody');
const { getFreePort, waitForPort, waitFor, settleWithin, trackChild } = require('../../tests/lib/ports');
const { ownsListener } = require('./proc');

const PROSODY_BIN = process.env.PROSODY_BIN || '/usr/bin/prosody';
const ITERATIONS = 10000; // mod_auth_internal_hashed default_iteration_count in Prosody 0.12

/** The account file text for `password` (one salt for all accounts: the cost at login is the same). */
function accountFile(password, salt = crypto.randomUUID()) {
  const salted = crypto.pbkdf2Sync(password, salt, ITERATIONS, 20, 'sha1');
  const clientKey = crypto.createHmac('sha1', salted).update('Client Key').digest();
  const storedKey = crypto.createHash('sha1').update(clientKey).digest('hex');
  const serverKey = crypto.createHmac('sha1', salted).update('Server Key').digest('hex');
  return 'return {\n' +
    `\t["stored_key"] = "${storedKey}";\n` +
    `\t["iteration_count"] = ${ITERATIONS};\n` +
    `\t["server_key"] = "${serverKey}";\n` +
    `\t["salt"] = "${salt}";\n` +
    '};\n';
}

/**
 * Start Prosody on loopback with c2s and (optionally) mod_websocket and/or mod_bosh.
 * opts: users (array of names, all with `password`), password, domain ('localhost'),
 *       websocket (default true), bosh (default false; true or { maxWait, maxInactivity,
 *       maxPolling } in seconds, passed to prosodyConfig(), which also sets
 *       consider_bosh_secure), logLevel ('warn'), startTimeoutMs.
 * The http port (mod_http) is opened when websocket or bosh is on.
 */
async function startBenchProsody(opts) {
  const domain = opts.domain || 'localhost';
  if (!/^[a-z0-9.]+$/.test(domain)) throw new Error(`bench domain must be plain ASCII: ${domain}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xgw-bench-prosody-'));
  const c2sPort = await getFreePort();
  const httpPort = opts.websocket === false && !opts.bosh ? null : await getFreePort();
  const configPath = path.join(dir, 'prosody.cfg.lua');
  const logFile = path.join(dir, 'prosody.log');
  fs.mkdirSync(path.join(dir, 'certs'), { recursive: true, mode: 0o700 });
  const acctDir = path.join(dir, 'data', domain.replace(/\./g, '%2e'), 'accounts');
  fs.mkdirSync(acctDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(configPath, prosodyConfig({
    dir, hosts: [{ domain }], c2sPort, httpPort, logLevel: opts.logLevel || 'warn',
    websocket: opts.websocket !== false, bosh: opts.bosh || false,
  }));
  const text = opts.accountText || accountFile(opts.password);
  for (const u of opts.users) {
    if (!/^[A-Za-z0-9]+$/.test(u)) throw new Error(`bench user names must be alphanumeric: ${u}`);
    fs.writeFileSync(path.join(acctDir, `${u}.dat`), text);
  }

  const readLog = () => { try { return fs.readFileSync(logFile, 'utf8'); } catch { return ''; } };
  let output = '';
  let exitInfo = null;
  const child = spawn(PROSODY_BIN, ['--config', configPath, '-F'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  child.stdout.on('data', (d) => { if (output.length < 1e6) output += d; });
  child.stderr.on('data', (d) => { if (output.length < 1e6) output += d; });
  const exited = new Promise((resolve) => {
    child.once('error', (e) => { output += `\n[spawn error: ${e.message}]`; });
    child.once('close', (code, signal) => { exitInfo = { code, signal }; resolve(exitInfo); });
  });
  const cleanup = () => { if (!process.env.XGW_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true }); };

  async function stop({ timeoutMs = 10000 } = {}) {
    if (!exitInfo) {
      child.kill('SIGTERM');
      if (!(await settleWithin(exited, timeoutMs))) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    const r = { ...exitInfo, log: readLog(), output };
    cleanup();
    return r;
  }

  try {
    const isAlive = () => (exitInfo ? `prosody exited during start-up (code=${exitInfo.code})` : true);
    const timeoutMs = opts.startTimeoutMs || 20000;
    await waitForPort(c2sPort, { timeoutMs, isAlive });
    if (httpPort) await waitForPort(httpPort, { timeoutMs, isAlive });
    await waitFor(() => ownsListener(child.pid, c2sPort) && (!httpPort || ownsListener(child.pid, httpPort)), {
      timeoutMs: 5000, message: `prosody (pid ${child.pid}) owning ports ${c2sPort}/${httpPort}`,
    });
    const bad = /Failed to open server port|error/i.exec(readLog());
    if (bad) throw new Error(`prosody start-up problem: ${readLog().slice(-2000)}`);
  } catch (e) {
    await stop({ timeoutMs: 3000 });
    e.message += `\n--- prosody output ---\n${output}\n--- prosody log ---\n${readLog().slice(-4000)}`;
    throw e;
  }

  return {
    pid: child.pid,
    dir,
    domain,
    c2sPort,
    httpPort,
    wsUrl: httpPort && opts.websocket !== false ? `ws://127.0.0.1:${httpPort}/xmpp-websocket` : null,
    boshUrl: httpPort && opts.bosh ? `http://127.0.0.1:${httpPort}/http-bind` : null,
    log: readLog,
    output: () => output,
    alive: () => !exitInfo,
    stop,
  };
}

module.exports = { startBenchProsody, accountFile, ITERATIONS };
