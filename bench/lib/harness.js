'use strict';
// The measurement machinery shared by bench/ws-bench.js and bench/bosh-bench.js.
//
// runPath(pathKey, opts, accounts, spec) measures one column: a fresh Prosody (and xmppgw if the
// spec asks for one), warm-up sessions, the RSS baseline, N logins with K in flight, RSS with the
// sessions up, an open-loop message load between session pairs, CPU per login and per message,
// one-way latency, then every session closed and the servers stopped. What differs between the
// benchmarks (the transport) comes from `spec`:
//
//   spec.paths                      { key: column label }
//   spec.prosodyOptions(pathKey, opts)   extra startBenchProsody() options (websocket, bosh)
//   spec.gatewayConfig(pathKey, prosody, opts)   xmppgw config for this path, or null (no xmppgw)
//   spec.endpoint(pathKey, prosody, gw, opts)    what makeSession() needs; .url or .port for the report
//   spec.makeSession(endpoint, common, ctx)      a session: login({presence}), send(text) -> bool,
//                                   close(ms), destroy(), jid, failed (set here on login failure).
//                                   common: domain, user, password, resource, timeoutMs, onStanza,
//                                   onProblem; ctx.stats is spec.newStats()'s object for the path.
//   spec.newStats()                 optional per-path transport counters (plain numbers/objects)
//   spec.summarise(stats, atLoadStart, r, ctx)   optional; its value becomes r.transport
//
// runMain(spec) parses the options, runs every path, prints and saves the report (report.js).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');
const { startGateway } = require('../../tests/lib/gateway');
const { delay } = require('../../tests/lib/ports');
const { startBenchProsody, accountFile } = require('./prosody-bench');
const { rssKb, cpuMs, machineBusyMs } = require('./proc');
const { parseArgs } = require('./args');
const { machineInfo, report, saveResults } = require('./report');

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

/** A deep-enough copy of a counters object (numbers and one level of nested objects). */
function snapshot(stats) {
  if (!stats) return null;
  const out = {};
  for (const [k, v] of Object.entries(stats)) {
    out[k] = v && typeof v === 'object' ? (Array.isArray(v) ? [...v] : { ...v }) : v;
  }
  return out;
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

// ---------------------------------------------------------------------------------------------
async function runPath(pathKey, opts, accounts, spec) {
  const r = { path: pathKey, label: spec.paths[pathKey], problems: {}, problemSamples: [], notes: [] };
  r.busyBefore = await waitIdle(opts.waitIdle);
  const problem = (kind, detail) => {
    r.problems[kind] = (r.problems[kind] || 0) + 1;
    if (r.problemSamples.length < 8) r.problemSamples.push(`${kind}: ${String(detail).slice(0, 500)}`);
  };
  r.loadavgStart = loadavg();
  log(`[${pathKey}] starting Prosody (load average ${r.loadavgStart})`);
  const prosody = await startBenchProsody({
    users: accounts.users, password: accounts.password, accountText: accounts.text,
    ...spec.prosodyOptions(pathKey, opts),
  });
  let gw = null;
  let gwExit = null;
  let gwStopping = false;
  const sessions = [];
  const warm = [];
  const stats = spec.newStats ? spec.newStats() : null;
  const ctx = { stats, prosody, opts, pathKey };
  try {
    const gwConfig = spec.gatewayConfig(pathKey, prosody, opts);
    if (gwConfig) {
      gw = await startGateway({ bin: opts.gwBin, config: gwConfig });
      gw.process.once('close', (code, signal) => {
        if (!gwStopping) gwExit = { code, signal, phase: r.phase, unexpected: true };
      });
    }
    ctx.gw = gw;
    const pids = { prosody: prosody.pid };
    if (gw) pids.gw = gw.pid;
    const endpoint = spec.endpoint(pathKey, prosody, gw, opts);
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
    const mk = (u) => spec.makeSession(endpoint, {
      domain: prosody.domain, user: u, password: accounts.password, resource: 'b',
      timeoutMs: opts.loginTimeout * 1000, onStanza, onProblem: problem,
    }, ctx);

    // Warm-up sessions: stay connected, not part of the load; they absorb one-off allocations.
    r.phase = 'warm-up';
    for (let i = 0; i < opts.warmup; i++) warm.push(mk(accounts.users[opts.sessions + i]));
    const wl = await loginAll(warm, { inflight: opts.inflight, deadlineMs: 60000, presence: opts.presence });
    if (wl.failures.length) throw new Error(`warm-up logins failed: ${wl.failures.slice(0, 3).join(' | ')}`);
    await delay(opts.settle * 1000);
    const s0 = procSnap(pids);
    const statsAtLogins = snapshot(stats);

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
    const statsAtLoad = snapshot(stats);
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
    if (spec.summarise) {
      r.transport = spec.summarise(stats, { atLogins: statsAtLogins, atLoad: statsAtLoad }, r,
        { ...ctx, sessions: N, warmup: warm.length });
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
/**
 * The whole benchmark: options, machine info, accounts, every path in turn, report, files.
 * spec adds to runPath's hooks: name (for messages), defaults, usage(), options (args.js),
 * validate(opts) (optional), report options (see report.js), resultsPrefix ('' or 'bosh-').
 */
async function runMain(spec) {
  const opts = parseArgs(process.argv.slice(2), {
    defaults: spec.defaults, options: spec.options, paths: spec.paths, usage: spec.usage,
  });
  if (spec.validate) spec.validate(opts);
  const command = process.env.BENCH_COMMAND || `node bench/${spec.name}.js ${process.argv.slice(2).join(' ')}`.trim();
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  if (opts.pathList.some((p) => spec.usesGateway(p)) && !fs.existsSync(opts.gwBin)) {
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
    results.push(await runPath(p, opts, accounts, spec));
  }
  const md = report(results, opts, info, command, startedAt, spec.report || {});
  process.stdout.write(`${md}\n`);
  if (opts.save) {
    saveResults(md, { startedAt, command, machine: info, options: opts, results }, opts, spec.resultsPrefix || '', log);
  }
  const bad = results.some((r) => r.error || (r.logins && r.logins.failures) || (r.load && r.load.delivered < r.load.sent));
  process.exitCode = bad ? 1 : 0;
}

/** Entry point for a benchmark script: runMain(spec), exit 2 with the stack on a fatal error. */
function benchMain(spec) {
  runMain(spec).catch((e) => {
    process.stderr.write(`${spec.name}: ${e.stack || e.message}\n`);
    process.exit(2);
  });
}

module.exports = {
  runPath, runMain, benchMain, loginAll, closeAll, waitIdle, percentile, procSnap, loadavg, log, snapshot,
  REPO_RESULTS: path.join(__dirname, '..', 'results'),
};
