#!/usr/bin/env node
'use strict';
// How much CPU xmppgw spends per BOSH request as a function of the number of sessions, with no
// messages at all: N BOSH sessions (bench/lib/bosh-client.js) log in through xmppgw and then only
// keep their request held, which the gateway answers empty every `wait` seconds; the client posts
// the next one. Prints xmppgw's CPU per second and per HTTP request over the idle window.
// `--ws` does the same with N WebSocket sessions (no requests; pings only) for comparison.
//
//   XGW_BENCH_SKIP_BUILD=1 node bench/bosh-idle-cpu.js --sessions 500 --sessions 2000
//   node bench/bosh-idle-cpu.js --sessions 2000 --bosh-wait 50     # no expiries in the window
//
// Needs build-release/xmppgw (bench/run.sh builds it) and `ulimit -n` of a few thousand. Loopback
// only; everything stops by itself. See bench/README.md ("BOSH").

const path = require('node:path');
const { startGateway, REPO } = require('../tests/lib/gateway');
const { delay } = require('../tests/lib/ports');
const { startBenchProsody, accountFile } = require('./lib/prosody-bench');
const { BoshBenchSession, newBoshStats } = require('./lib/bosh-client');
const { RawSession } = require('./lib/xmpp-raw');
const { cpuMs, rssKb } = require('./lib/proc');
const { loginAll, closeAll, log } = require('./lib/harness');

function parse(argv) {
  const o = { sessions: [], wait: 10, seconds: 20, ws: false, gwBin: path.join(REPO, 'build-release', 'xmppgw') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    const int = (v, min, max) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${a}: want an integer in ${min}..${max}, got ${v}`);
      return n;
    };
    if (a === '--sessions') o.sessions.push(int(val(), 2, 20000));
    else if (a === '--bosh-wait') o.wait = int(val(), 1, 60);
    else if (a === '--seconds') o.seconds = int(val(), 5, 120);
    else if (a === '--ws') o.ws = true;
    else if (a === '--gw-bin') o.gwBin = path.resolve(val());
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node bench/bosh-idle-cpu.js [--sessions N]... [--bosh-wait S (10)] ' +
        '[--seconds S (20)] [--ws] [--gw-bin FILE]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!o.sessions.length) o.sessions = [500, 2000];
  return o;
}

async function one(n, o) {
  const users = Array.from({ length: n }, (_, i) => `bench${String(i).padStart(5, '0')}`);
  const prosody = await startBenchProsody({ users, password: 'pw', accountText: accountFile('pw'), websocket: false });
  let gw = null;
  const sessions = [];
  const problems = [];
  try {
    gw = await startGateway({
      bin: o.gwBin,
      config: { log_level: 'warn', routes: [{ domain: prosody.domain, host: '127.0.0.1', port: prosody.c2sPort }] },
    });
    const stats = newBoshStats();
    const onProblem = (k, d) => { if (problems.length < 5) problems.push(`${k}: ${d}`); };
    for (const u of users) {
      sessions.push(o.ws
        ? new RawSession({ kind: 'ws', url: gw.wsUrl, domain: prosody.domain, user: u, password: 'pw', resource: 'b', onProblem })
        : new BoshBenchSession({ url: `${gw.httpUrl}/http-bind`, domain: prosody.domain, user: u, password: 'pw', resource: 'b',
          wait: o.wait, stats, onProblem }));
    }
    const li = await loginAll(sessions, { inflight: 50, deadlineMs: 300000, presence: true });
    await delay(3000);
    const c0 = cpuMs(gw.pid);
    const r0 = stats.requests;
    await delay(o.seconds * 1000);
    const cpu = cpuMs(gw.pid) - c0;
    const req = stats.requests - r0;
    return `${o.ws ? 'WebSocket' : `BOSH wait=${o.wait}`}, ${li.ok}/${n} sessions: xmppgw ${(cpu / o.seconds).toFixed(1)} ms CPU/s ` +
      `over ${o.seconds} s idle, ${(req / o.seconds).toFixed(0)} HTTP requests/s` +
      `${req ? `, ${(cpu / req).toFixed(3)} ms per request` : ''}; RSS ${(rssKb(gw.pid) / 1024).toFixed(1)} MB` +
      `${li.failures.length ? `; ${li.failures.length} logins failed: ${li.failures[0]}` : ''}` +
      `${problems.length ? `; problems: ${problems.join(' | ')}` : ''}`;
  } finally {
    await closeAll(sessions, 10000);
    if (gw) await gw.stop();
    await prosody.stop();
  }
}

(async () => {
  const o = parse(process.argv.slice(2));
  for (const n of o.sessions) {
    log(`${n} sessions...`);
    process.stdout.write(`${await one(n, o)}\n`);
  }
})().catch((e) => {
  process.stderr.write(`bosh-idle-cpu: ${e.stack || e.message}\n`);
  process.exit(2);
});
