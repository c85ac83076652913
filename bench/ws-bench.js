#!/usr/bin/env node
'use strict';
// xmppgw benchmark: the same Prosody reached three ways, side by side in one run.
//   gw   xmppgw WebSocket (RFC 7395) -> Prosody c2s TCP
//   pws  Prosody's own mod_websocket
//   c2s  plain c2s TCP straight to Prosody (the physical floor)
// For each path: a fresh Prosody (and, for gw, a fresh xmppgw); W warm-up sessions; N sessions
// logged in with SASL PLAIN (50 in flight); RSS before/after; then an open-loop message load
// between session pairs at a fixed offered rate; one-way latency, delivered/sent, CPU per message.
// See bench/README.md. Usage: node bench/ws-bench.js --help

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');
const { startGateway, REPO } = require('../tests/lib/gateway');
const { delay } = require('../tests/lib/ports');
const { startBenchProsody, accountFile } = require('./lib/prosody-bench');
const { RawSession } = require('./lib/xmpp-raw');
const { rssKb, cpuMs, machineBusyMs } = require('./lib/proc');

const PATHS = {
  gw: 'xmppgw WS → Prosody c2s',
  pws: 'Prosody mod_websocket',
  c2s: 'c2s TCP direct (floor)',
};

const DEFAULTS = {
  sessions: 500,
  rate: 400,
  duration: 20,
  inflight: 50,
  warmup: 10,
  settle: 2,
  drain: 10,
  loginTimeout: 30,
  loginPhaseLimit: 600,
  paths: 'gw,pws,c2s',
  bodyBytes: 0,
  presence: true,
  gwBin: path.join(REPO, 'build-release', 'xmppgw'),
  out: path.join(__dirname, 'results', 'latest.md'),
  save: true,
  waitIdle: 60,
};

function usage() {
  return `usage: node bench/ws-bench.js [options]
  --sessions N        sessions per path (even; default ${DEFAULTS.sessions})
  --rate R            offered message rate, total msg/s (default ${DEFAULTS.rate})
  --duration S        load phase length in seconds (default ${DEFAULTS.duration})
  --inflight K        concurrent logins (default ${DEFAULTS.inflight})
  --warmup W          warm-up sessions logged in before the RSS baseline (default ${DEFAULTS.warmup})
  --settle S          seconds to wait before each RSS reading (default ${DEFAULTS.settle})
  --drain S           max seconds to wait for in-flight messages after the load (default ${DEFAULTS.drain})
  --paths LIST        comma list of gw,pws,c2s (default ${DEFAULTS.paths})
  --body-bytes B      pad each message body with B extra bytes (default 0)
  --no-presence       do not send initial presence after binding
  --gw-bin FILE       xmppgw binary (default build-release/xmppgw)
  --out FILE          Markdown output (default bench/results/latest.md); JSON next to it
  --no-save           print only; write no files
  --wait-idle S       before each path, wait up to S s for other processes to use < 0.25 cores
                      (default ${DEFAULTS.waitIdle}; 0 = do not wait)`;
}

function parseArgs(argv) {
  const o = { ...DEFAULTS };
  const num = (a, v, min, max) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${a}: want a number in ${min}..${max}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    const val = () => {
      if (v !== undefined) return v;
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--sessions': o.sessions = Math.round(num(a, val(), 2, 20000)); break;
      case '--rate': o.rate = num(a, val(), 1, 100000); break;
      case '--duration': o.duration = num(a, val(), 1, 600); break;
      case '--inflight': o.inflight = Math.round(num(a, val(), 1, 1000)); break;
      case '--warmup': o.warmup = Math.round(num(a, val(), 0, 1000)); break;
      case '--settle': o.settle = num(a, val(), 0, 60); break;
      case '--drain': o.drain = num(a, val(), 0, 300); break;
      case '--paths': o.paths = val(); break;
      case '--body-bytes': o.bodyBytes = Math.round(num(a, val(), 0, 100000)); break;
      case '--no-presence': o.presence = false; break;
      case '--gw-bin': o.gwBin = path.resolve(val()); break;
      case '--out': o.out = path.resolve(val()); break;
      case '--no-save': o.save = false; break;
      case '--wait-idle': o.waitIdle = num(a, val(), 0, 3600); break;
      case '--help': case '-h': process.stdout.write(`${usage()}\n`); process.exit(0); break;
      default: throw new Error(`unknown argument ${a}\n${usage()}`);
    }
  }
  if (o.sessions % 2) { o.sessions += 1; }
  o.pathList = o.paths.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of o.pathList) if (!PATHS[p]) throw new Error(`--paths: unknown path ${p} (gw, pws, c2s)`);
  return o;
}

// ---------------------------------------------------------------------------------------------
function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return '?';
  }
}

function machineInfo(opts) {
  const cpuModel = (os.cpus()[0] || {}).model || '?';
  const dpkg = (pkg) => sh('dpkg-query', ['-W', '-f=${Version}', pkg]);
  const lwsPkg = sh('sh', ['-c', "dpkg-query -W -f='${Package} ${Version}\\n' 'libwebsockets[0-9]*' 2>/dev/null | head -1"]);
  const uvPkg = sh('sh', ['-c', "dpkg-query -W -f='${Package} ${Version}\\n' 'libuv1' 2>/dev/null | head -1"]);
  let debian = '?';
  try { debian = fs.readFileSync('/etc/debian_version', 'utf8').trim(); } catch { /* not Debian */ }
  const git = sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no', '--', 'src', 'include', 'CMakeLists.txt']);
  return {
    nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    cpu: cpuModel,
    memTotalMb: Math.round(os.totalmem() / 1048576),
    kernel: `${os.type()} ${os.release()}`,
    debian,
    node: process.version,
    ws: require('ws/package.json').version,
    prosody: dpkg('prosody'),
    lua: dpkg('lua5.4'),
    libwebsockets: lwsPkg,
    libuv: uvPkg,
    xmppgw: `${sh(opts.gwBin, ['--version'])} (${path.relative(REPO, opts.gwBin)}, git ${git}${dirty && dirty !== '?' ? ', src/include/CMakeLists.txt modified in the working tree' : ''})`,
    gwBuildType: (() => {
      try {
        const m = /^CMAKE_BUILD_TYPE:[A-Z]+=(.*)$/m.exec(fs.readFileSync(path.join(path.dirname(opts.gwBin), 'CMakeCache.txt'), 'utf8'));
        return m ? m[1] : '?';
      } catch { return '?'; }
    })(),
    ulimitN: sh('sh', ['-c', 'ulimit -n']),
  };
}

function loadavg() {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

function percentile(sorted, n, q) {
  if (n === 0) return NaN;
  const idx = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[idx];
}

function procSnap(pids) {
  const out = {};
  for (const [k, pid] of Object.entries(pids)) out[k] = { rss: rssKb(pid), cpu: cpuMs(pid) };
  return out;
}

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
async function loginAll(sessions, { inflight, deadlineMs, presence }) {
  let next = 0;
  const times = [];
  const failures = [];
  const t0 = performance.now();
  const worker = async () => {
    while (next < sessions.length) {
      if (performance.now() - t0 > deadlineMs) {
        failures.push(`login phase limit (${deadlineMs / 1000} s) reached`);
        return;
      }
      const s = sessions[next++];
      const ts = performance.now();
      try {
        await s.login({ presence });
        times.push(performance.now() - ts);
      } catch (e) {
        failures.push(e.message.split('\n')[0].slice(0, 400));
        s.failed = true;
        s.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, sessions.length) }, worker));
  const elapsed = performance.now() - t0;
  times.sort((a, b) => a - b);
  return { elapsed, times, failures, ok: times.length };
}

async function closeAll(sessions, ms) {
  await Promise.all(sessions.map((s) => s.close(ms).catch(() => {})));
}

/** Wait (up to waitS) until the machine's busy CPU over 1 s is below 0.25 cores; returns the last level. */
async function waitIdle(waitS) {
  const deadline = performance.now() + waitS * 1000;
  let said = false;
  for (;;) {
    const b0 = machineBusyMs();
    const t0 = performance.now();
    await delay(1000);
    const busy = b0 == null ? 0 : (machineBusyMs() - b0) / (performance.now() - t0);
    if (busy < 0.25 || performance.now() >= deadline) return busy;
    if (!said) { log(`machine busy (${busy.toFixed(2)} cores used by other processes); waiting up to ${waitS} s`); said = true; }
  }
}

async function runPath(pathKey, opts, accounts) {
  const r = { path: pathKey, label: PATHS[pathKey], problems: {}, problemSamples: [], notes: [] };
  r.busyBefore = await waitIdle(opts.waitIdle);
  const problem = (kind, detail) => {
    r.problems[kind] = (r.problems[kind] || 0) + 1;
    if (r.problemSamples.length < 8) r.problemSamples.push(`${kind}: ${String(detail).slice(0, 500)}`);
  };
  r.loadavgStart = loadavg();
  log(`[${pathKey}] starting Prosody (load average ${r.loadavgStart})`);
  const prosody = await startBenchProsody({
    users: accounts.users, password: accounts.password, accountText: accounts.text, websocket: true,
  });
  let gw = null;
  let gwExit = null;
  let gwStopping = false;
  const sessions = [];
  const warm = [];
  try {
    if (pathKey === 'gw') {
      gw = await startGateway({
        bin: opts.gwBin,
        config: {
          log_level: 'warn',
          routes: [{ domain: prosody.domain, host: '127.0.0.1', port: prosody.c2sPort }],
        },
      });
      gw.process.once('close', (code, signal) => {
        if (!gwStopping) gwExit = { code, signal, phase: r.phase, unexpected: true };
      });
    }
    const pids = { prosody: prosody.pid };
    if (gw) pids.gw = gw.pid;
    const endpoint = pathKey === 'gw' ? { kind: 'ws', url: gw.wsUrl }
      : pathKey === 'pws' ? { kind: 'ws', url: prosody.wsUrl }
        : { kind: 'tcp', host: '127.0.0.1', port: prosody.c2sPort };
    r.endpoint = endpoint.url || `tcp://127.0.0.1:${endpoint.port}`;

    // Message accounting (shared by all sessions of this path).
    const total = Math.max(1, Math.round(opts.rate * opts.duration));
    const lat = new Float64Array(total);
    const seen = new Uint8Array(total);
    const st = { delivered: 0, dup: 0, errors: 0, foreign: 0, errorSamples: [] };
    const BODY_RE = /<body>(\d+\.\d+) (\d+)/;
    const onStanza = (el) => {
      if (!el.startsWith('<message')) return;
      const head = el.slice(0, el.indexOf('>'));
      if (/type=["']error["']/.test(head)) {
        st.errors++;
        if (st.errorSamples.length < 3) st.errorSamples.push(el.slice(0, 400));
        return;
      }
      const m = BODY_RE.exec(el);
      if (!m) { st.foreign++; return; }
      const n = Number(m[2]);
      if (n >= total || seen[n]) { st.dup++; return; }
      seen[n] = 1;
      lat[st.delivered++] = performance.now() - Number(m[1]);
    };
    const mk = (u) => new RawSession({
      ...endpoint, domain: prosody.domain, user: u, password: accounts.password, resource: 'b',
      timeoutMs: opts.loginTimeout * 1000, onStanza, onProblem: problem,
    });

    // Warm-up sessions: stay connected, not part of the load; they absorb one-off allocations.
    r.phase = 'warm-up';
    for (let i = 0; i < opts.warmup; i++) warm.push(mk(accounts.users[opts.sessions + i]));
    const wl = await loginAll(warm, { inflight: opts.inflight, deadlineMs: 60000, presence: opts.presence });
    if (wl.failures.length) throw new Error(`warm-up logins failed: ${wl.failures.slice(0, 3).join(' | ')}`);
    await delay(opts.settle * 1000);
    const s0 = procSnap(pids);

    // Logins.
    r.phase = 'logins';
    log(`[${pathKey}] logging in ${opts.sessions} sessions, ${opts.inflight} in flight`);
    for (let i = 0; i < opts.sessions; i++) sessions.push(mk(accounts.users[i]));
    const li = await loginAll(sessions, {
      inflight: opts.inflight, deadlineMs: opts.loginPhaseLimit * 1000, presence: opts.presence,
    });
    const s1 = procSnap(pids);
    r.logins = {
      ok: li.ok,
      requested: opts.sessions,
      perSec: li.ok / (li.elapsed / 1000),
      elapsedS: li.elapsed / 1000,
      p50: percentile(li.times, li.times.length, 0.5),
      p99: percentile(li.times, li.times.length, 0.99),
      failures: li.failures.length,
      failureSamples: [...new Set(li.failures)].slice(0, 5),
      cpuPerLogin: {},
    };
    for (const k of Object.keys(pids)) {
      r.logins.cpuPerLogin[k] = li.ok ? (s1[k].cpu - s0[k].cpu) / li.ok : NaN;
    }
    log(`[${pathKey}] ${li.ok}/${opts.sessions} logged in in ${r.logins.elapsedS.toFixed(1)} s ` +
      `(${r.logins.perSec.toFixed(0)}/s)${li.failures.length ? `, ${li.failures.length} failed: ${li.failures[0]}` : ''}`);
    await delay(opts.settle * 1000);
    const s2 = procSnap(pids);
    r.rss = {};
    for (const k of Object.keys(pids)) {
      r.rss[k] = {
        beforeKb: s0[k].rss, afterKb: s2[k].rss,
        perSessionKb: li.ok && s2[k].rss != null ? (s2[k].rss - s0[k].rss) / li.ok : NaN,
      };
    }

    // Message load: open loop, message j goes from session j mod N to its pair partner.
    r.phase = 'load';
    const N = sessions.length;
    const pad = opts.bodyBytes ? ` ${'x'.repeat(opts.bodyBytes)}` : '';
    const partnerJid = sessions.map((s, i) => sessions[i ^ 1].jid);
    let sent = 0;
    let sendFailed = 0;
    log(`[${pathKey}] load: ${opts.rate} msg/s for ${opts.duration} s (${total} messages)`);
    const ELD_RES = 10;
    const eld = monitorEventLoopDelay({ resolution: ELD_RES });
    eld.enable();
    const c0 = process.cpuUsage();
    const s3 = procSnap(pids);
    const busy0 = machineBusyMs();
    const tStart = performance.now();
    await new Promise((resolve) => {
      const tick = () => {
        const now = performance.now();
        const target = Math.min(total, Math.floor(((now - tStart) / 1000) * opts.rate));
        while (sent < target) {
          const i = sent % N;
          const s = sessions[i];
          const t = performance.now().toFixed(3);
          const ok = !s.failed && !sessions[i ^ 1].failed && s.send(
            `<message xmlns='jabber:client' to='${partnerJid[i]}' type='chat' id='m${sent}'>` +
            `<body>${t} ${sent}${pad}</body></message>`);
          if (!ok) sendFailed++;
          sent++;
        }
        if (sent >= total) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
    const tSent = performance.now();
    const attempted = sent;
    sent = attempted - sendFailed;
    const drainDeadline = performance.now() + opts.drain * 1000;
    while (st.delivered < sent && performance.now() < drainDeadline) await delay(20);
    const tEnd = performance.now();
    const s4 = procSnap(pids);
    const busy1 = machineBusyMs();
    const c1 = process.cpuUsage(c0);
    eld.disable();
    const lsorted = lat.subarray(0, st.delivered).sort();
    const n = st.delivered;
    r.load = {
      offeredRate: opts.rate,
      sendSeconds: (tSent - tStart) / 1000,
      achievedSendRate: sent / ((tSent - tStart) / 1000),
      attempted,
      sent,
      sendFailed,
      delivered: n,
      duplicates: st.dup,
      errorStanzas: st.errors,
      errorSamples: st.errorSamples,
      drainS: (tEnd - tSent) / 1000,
      lat: {
        p50: percentile(lsorted, n, 0.5),
        p90: percentile(lsorted, n, 0.9),
        p99: percentile(lsorted, n, 0.99),
        max: n ? lsorted[n - 1] : NaN,
      },
      cpuPerMsg: {},
      cpuMs: {},
      clientCpuPerMsg: n ? (c1.user + c1.system) / 1000 / n : NaN,
      // The histogram holds timer intervals (resolution + lag): subtract the resolution.
      clientLoopDelayP99: Math.max(0, eld.percentile(99) / 1e6 - ELD_RES),
      clientLoopDelayMax: Math.max(0, eld.max / 1e6 - ELD_RES),
      clientCpuMs: (c1.user + c1.system) / 1000,
      wallS: (tEnd - tStart) / 1000,
    };
    // CPU used during the load phase by processes other than ours (other users of the machine).
    const ours = Object.keys(pids).reduce((acc, k) => acc + (s4[k].cpu - s3[k].cpu), 0) + r.load.clientCpuMs;
    r.load.otherCores = busy0 != null ? Math.max(0, (busy1 - busy0 - ours) / (tEnd - tStart)) : NaN;
    r.load.machineBusyCores = busy0 != null ? (busy1 - busy0) / (tEnd - tStart) : NaN;
    for (const k of Object.keys(pids)) {
      r.load.cpuMs[k] = s4[k].cpu - s3[k].cpu;
      r.load.cpuPerMsg[k] = n ? (s4[k].cpu - s3[k].cpu) / n : NaN;
      r.rss[k].afterLoadKb = s4[k].rss;
    }
    log(`[${pathKey}] delivered ${n}/${sent}; latency p50 ${r.load.lat.p50.toFixed(2)} ms ` +
      `p99 ${r.load.lat.p99.toFixed(2)} ms max ${r.load.lat.max.toFixed(2)} ms`);
  } catch (e) {
    r.error = e.message.slice(0, 3000);
    r.errorPhase = r.phase;
    log(`[${pathKey}] ERROR in phase ${r.phase}: ${e.message.split('\n')[0]}`);
  } finally {
    r.phase = 'close';
    await closeAll([...sessions, ...warm], 10000);
    if (gw) {
      gwStopping = !gwExit;
      const res = await gw.stop({ timeoutMs: 15000 });
      r.gwExit = gwExit || { code: res.code, signal: res.signal, timedOut: !!res.timedOut };
      const lines = (res.stderr || '').split('\n').filter((l) => l.trim());
      r.gwStderrLines = lines.length;
      r.gwStderrSample = lines.slice(0, 10);
      if (res.code !== 0 || gwExit) problem('gw-exit', `xmppgw exit code=${res.code} signal=${res.signal}`);
    }
    const pr = await prosody.stop();
    const plines = (pr.log || '').split('\n').filter((l) => l.trim());
    r.prosodyLogLines = plines.length;
    r.prosodyLogSample = plines.slice(0, 5);
    r.loadavgEnd = loadavg();
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
const f = (x, d = 1) => (x == null || Number.isNaN(x) ? '–' : Number(x).toFixed(d));

function table(results, opts) {
  const cols = results.map((r) => r.label);
  const rows = [];
  const row = (name, fn) => rows.push([name, ...results.map((r) => {
    try { return fn(r); } catch { return '–'; }
  })]);
  row('sessions logged in', (r) => `${r.logins.ok} / ${r.logins.requested}`);
  row(`logins/s (${opts.inflight} in flight)`, (r) => f(r.logins.perSec, 0));
  row('login time p50 / p99 (ms)', (r) => `${f(r.logins.p50)} / ${f(r.logins.p99)}`);
  row('RSS per session, xmppgw (kB)', (r) => (r.rss.gw ? f(r.rss.gw.perSessionKb) : 'n/a'));
  row('RSS per session, Prosody (kB)', (r) => f(r.rss.prosody.perSessionKb));
  row('RSS per session, server side total (kB)', (r) => f(r.rss.prosody.perSessionKb + (r.rss.gw ? r.rss.gw.perSessionKb : 0)));
  row('RSS xmppgw: idle → sessions up → after load (MB)', (r) => (r.rss.gw
    ? `${f(r.rss.gw.beforeKb / 1024)} → ${f(r.rss.gw.afterKb / 1024)} → ${f(r.rss.gw.afterLoadKb / 1024)}` : 'n/a'));
  row('RSS Prosody: idle → sessions up → after load (MB)', (r) => `${f(r.rss.prosody.beforeKb / 1024)} → ` +
    `${f(r.rss.prosody.afterKb / 1024)} → ${f(r.rss.prosody.afterLoadKb / 1024)}`);
  row('CPU per login, xmppgw / Prosody (ms)', (r) => `${r.logins.cpuPerLogin.gw != null ? f(r.logins.cpuPerLogin.gw, 2) : 'n/a'} / ${f(r.logins.cpuPerLogin.prosody, 2)}`);
  row('CPU per message, xmppgw (ms)', (r) => (r.load.cpuPerMsg.gw != null ? f(r.load.cpuPerMsg.gw, 3) : 'n/a'));
  row('CPU per message, Prosody (ms)', (r) => f(r.load.cpuPerMsg.prosody, 3));
  row('CPU per message, server side total (ms)', (r) => f(r.load.cpuPerMsg.prosody + (r.load.cpuPerMsg.gw || 0), 3));
  row('delivered / sent', (r) => `${r.load.delivered} / ${r.load.sent}${r.load.sendFailed ? ` (+${r.load.sendFailed} not sent: session down)` : ''}`);
  row('offered / achieved send rate (msg/s)', (r) => `${f(r.load.offeredRate, 0)} / ${f(r.load.achievedSendRate, 0)}`);
  row('latency p50 / p99 (ms)', (r) => `${f(r.load.lat.p50, 2)} / ${f(r.load.lat.p99, 2)}`);
  row('latency p90 / max (ms)', (r) => `${f(r.load.lat.p90, 2)} / ${f(r.load.lat.max, 2)}`);
  row('error stanzas / duplicates', (r) => `${r.load.errorStanzas} / ${r.load.duplicates}`);
  row('session problems (stream errors, peer closes)', (r) => {
    const e = Object.entries(r.problems);
    return e.length ? e.map(([k, v]) => `${k} ${v}`).join(', ') : '0';
  });
  row('load generator (Node) CPU per message (ms)', (r) => f(r.load.clientCpuPerMsg, 3));
  row('load generator event-loop delay p99 / max (ms)', (r) => `${f(r.load.clientLoopDelayP99, 1)} / ${f(r.load.clientLoopDelayMax, 1)}`);
  row('machine busy during load, all / other processes (cores)', (r) => `${f(r.load.machineBusyCores, 2)} / ${f(r.load.otherCores, 2)}`);
  row('machine busy before the path (cores)', (r) => f(r.busyBefore, 2));
  row('load average at start → end of path', (r) => `${r.loadavgStart} → ${r.loadavgEnd}`);
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(['', ...cols]), line(['---', ...cols.map(() => '---')]), ...rows.map(line)].join('\n');
}

function report(results, opts, info, command, startedAt) {
  const out = [];
  out.push(`# xmppgw benchmark — ${opts.sessions} sessions, ${opts.rate} msg/s offered for ${opts.duration} s`);
  out.push('');
  out.push(`Run ${startedAt} — \`${command}\``);
  out.push('');
  out.push(table(results, opts));
  out.push('');
  out.push('Each column is a fresh Prosody (and, for xmppgw, a fresh gateway) run one after the other in ' +
    `the same invocation. ${opts.warmup} warm-up sessions are logged in before the RSS baseline; RSS per session = ` +
    `(VmRSS with the sessions up − baseline) / sessions, read ${opts.settle} s after the logins. CPU per message = ` +
    'utime+stime delta over the load phase (plus drain) / messages delivered. Latency is one-way, sender ' +
    'timestamp in the body, measured in the same Node process. The load generator runs on the same ' +
    `${info.nproc}-core machine and competes for the CPUs (its own cost is in the table); "other processes" ` +
    'is CPU used during the load phase by anything but xmppgw, Prosody and the load generator (/proc/stat).');
  out.push('');
  const problems = results.filter((r) => r.error || r.problemSamples.length || r.logins?.failures
    || (r.gwExit && (r.gwExit.code !== 0 || r.gwExit.unexpected)) || r.gwStderrLines || r.load?.errorSamples?.length);
  if (problems.length) {
    out.push('## Problems seen');
    out.push('');
    for (const r of problems) {
      out.push(`- **${r.label}**`);
      if (r.error) out.push(`  - aborted in phase \`${r.errorPhase}\`: \`${r.error.split('\n')[0]}\``);
      if (r.logins?.failures) out.push(`  - ${r.logins.failures} login failures, e.g. ${r.logins.failureSamples.map((s) => `\`${s}\``).join('; ')}`);
      for (const s of r.problemSamples) out.push(`  - \`${s.replace(/`/g, "'")}\``);
      for (const s of r.load?.errorSamples || []) out.push(`  - error stanza: \`${s.replace(/`/g, "'")}\``);
      if (r.gwExit) out.push(`  - xmppgw exit: code ${r.gwExit.code}, signal ${r.gwExit.signal}${r.gwExit.unexpected ? ` (unexpected, during ${r.gwExit.phase})` : ''}${r.gwExit.timedOut ? ' (no exit after SIGTERM; killed)' : ''}`);
      if (r.gwStderrLines) {
        out.push(`  - xmppgw stderr (log_level warn): ${r.gwStderrLines} lines, first ones:`);
        for (const l of r.gwStderrSample) out.push(`    - \`${l.slice(0, 300).replace(/`/g, "'")}\``);
      }
    }
    out.push('');
  }
  out.push('## Machine');
  out.push('');
  out.push(`- ${info.nproc} CPUs (${info.cpu}), ${info.memTotalMb} MB RAM, ${info.kernel}, Debian ${info.debian}, ulimit -n ${info.ulimitN}`);
  out.push(`- Node ${info.node}, ws ${info.ws}; Prosody ${info.prosody} (Lua ${info.lua}, epoll backend, log level warn, no mod_limits)`);
  out.push(`- xmppgw ${info.xmppgw}, CMAKE_BUILD_TYPE=${info.gwBuildType}, log_level warn; ${info.libwebsockets}; ${info.libuv}`);
  out.push(`- options: ${JSON.stringify({
    sessions: opts.sessions, rate: opts.rate, duration: opts.duration, inflight: opts.inflight, warmup: opts.warmup,
    settle: opts.settle, drain: opts.drain, paths: opts.pathList, bodyBytes: opts.bodyBytes, presence: opts.presence,
  })}`);
  out.push('');
  return out.join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const command = process.env.BENCH_COMMAND || `node bench/ws-bench.js ${process.argv.slice(2).join(' ')}`.trim();
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  if (opts.pathList.includes('gw') && !fs.existsSync(opts.gwBin)) {
    throw new Error(`xmppgw binary not found: ${opts.gwBin} (bench/run.sh builds build-release/)`);
  }
  const info = machineInfo(opts);
  log(`machine: ${info.nproc} CPUs, ${info.kernel}; xmppgw ${info.xmppgw} (${info.gwBuildType})`);
  const total = opts.sessions + opts.warmup;
  const users = Array.from({ length: total }, (_, i) => `bench${String(i).padStart(5, '0')}`);
  const password = `pw-${Math.random().toString(36).slice(2, 10)}`;
  const accounts = { users, password, text: accountFile(password) };

  const results = [];
  for (const p of opts.pathList) {
    results.push(await runPath(p, opts, accounts));
  }
  const md = report(results, opts, info, command, startedAt);
  process.stdout.write(`${md}\n`);
  if (opts.save) {
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, `${md}\n`);
    const json = { startedAt, command, machine: info, options: opts, results };
    fs.writeFileSync(opts.out.replace(/\.md$/, '') + '.json', `${JSON.stringify(json, null, 2)}\n`);
    log(`wrote ${path.relative(process.cwd(), opts.out)} (+ .json)`);
    // A copy named after the scale, so runs at different sizes can sit side by side.
    if (path.basename(opts.out) === 'latest.md') {
      const named = path.join(path.dirname(opts.out), `sessions-${opts.sessions}-rate-${opts.rate}-dur-${opts.duration}.md`);
      fs.copyFileSync(opts.out, named);
      fs.copyFileSync(opts.out.replace(/\.md$/, '.json'), named.replace(/\.md$/, '.json'));
      log(`copied to ${path.relative(process.cwd(), named)} (+ .json)`);
    }
  }
  const bad = results.some((r) => r.error || (r.logins && r.logins.failures) || (r.load && r.load.delivered < r.load.sent));
  process.exitCode = bad ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`ws-bench: ${e.stack || e.message}\n`);
  process.exit(2);
});
