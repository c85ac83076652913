'use strict';
// The report shared by the benchmarks: machine description, the Markdown table (one column per
// path), the "Problems seen" and "Machine" sections, and the result files.
//
//   report(results, opts, info, command, startedAt, {
//     title,        (opts) => heading text (default: 'xmppgw benchmark — N sessions, ...')
//     extraRows,    (row, f) => void: transport-specific rows, inserted after "session problems"
//     notes,        (opts, info) => extra paragraph after the standard explanation (or null)
//     problemLines, (r) => extra "Problems seen" lines for a path (strings)
//     machineNote,  text appended to the Prosody line of the Machine section
//   })

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { REPO } = require('../../tests/lib/gateway');

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

const f = (x, d = 1) => (x == null || Number.isNaN(x) ? '–' : Number(x).toFixed(d));

function table(results, opts, extraRows) {
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
  if (extraRows) extraRows(row, f);
  row('load generator (Node) CPU per message (ms)', (r) => f(r.load.clientCpuPerMsg, 3));
  row('load generator event-loop delay p99 / max (ms)', (r) => `${f(r.load.clientLoopDelayP99, 1)} / ${f(r.load.clientLoopDelayMax, 1)}`);
  row('machine busy during load, all / other processes (cores)', (r) => `${f(r.load.machineBusyCores, 2)} / ${f(r.load.otherCores, 2)}`);
  row('machine busy before the path (cores)', (r) => f(r.busyBefore, 2));
  row('load average at start → end of path', (r) => `${r.loadavgStart} → ${r.loadavgEnd}`);
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(['', ...cols]), line(['---', ...cols.map(() => '---')]), ...rows.map(line)].join('\n');
}

function report(results, opts, info, command, startedAt, ro = {}) {
  const out = [];
  const title = ro.title ? ro.title(opts)
    : `xmppgw benchmark — ${opts.sessions} sessions, ${opts.rate} msg/s offered for ${opts.duration} s`;
  out.push(`# ${title}`);
  out.push('');
  out.push(`Run ${startedAt} — \`${command}\``);
  out.push('');
  out.push(table(results, opts, ro.extraRows));
  out.push('');
  out.push('Each column is a fresh Prosody (and, for xmppgw, a fresh gateway) run one after the other in ' +
    `the same invocation. ${opts.warmup} warm-up sessions are logged in before the RSS baseline; RSS per session = ` +
    `(VmRSS with the sessions up − baseline) / sessions, read ${opts.settle} s after the logins. CPU per message = ` +
    'utime+stime delta over the load phase (plus drain) / messages delivered. Latency is one-way, sender ' +
    'timestamp in the body, measured in the same Node process. The load generator runs on the same ' +
    `${info.nproc}-core machine and competes for the CPUs (its own cost is in the table); "other processes" ` +
    'is CPU used during the load phase by anything but xmppgw, Prosody and the load generator (/proc/stat).');
  out.push('');
  const notes = ro.notes ? ro.notes(opts, info) : null;
  if (notes) {
    out.push(notes);
    out.push('');
  }
  const extraProblems = (r) => (ro.problemLines ? ro.problemLines(r) : []);
  const problems = results.filter((r) => r.error || r.problemSamples.length || r.logins?.failures
    || (r.gwExit && (r.gwExit.code !== 0 || r.gwExit.unexpected)) || r.gwStderrLines || r.load?.errorSamples?.length
    || extraProblems(r).length);
  if (problems.length) {
    out.push('## Problems seen');
    out.push('');
    for (const r of problems) {
      out.push(`- **${r.label}**`);
      if (r.error) out.push(`  - aborted in phase \`${r.errorPhase}\`: \`${r.error.split('\n')[0]}\``);
      if (r.logins?.failures) out.push(`  - ${r.logins.failures} login failures, e.g. ${r.logins.failureSamples.map((s) => `\`${s}\``).join('; ')}`);
      for (const s of r.problemSamples) out.push(`  - \`${s.replace(/`/g, "'")}\``);
      for (const s of r.load?.errorSamples || []) out.push(`  - error stanza: \`${s.replace(/`/g, "'")}\``);
      for (const s of extraProblems(r)) out.push(`  - ${s}`);
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
  out.push(`- Node ${info.node}, ws ${info.ws}; Prosody ${info.prosody} (Lua ${info.lua}, epoll backend, log level warn, no mod_limits${ro.machineNote || ''})`);
  out.push(`- xmppgw ${info.xmppgw}, CMAKE_BUILD_TYPE=${info.gwBuildType}, log_level warn; ${info.libwebsockets}; ${info.libuv}`);
  out.push(`- options: ${JSON.stringify({
    sessions: opts.sessions, rate: opts.rate, duration: opts.duration, inflight: opts.inflight, warmup: opts.warmup,
    settle: opts.settle, drain: opts.drain, paths: opts.pathList, bodyBytes: opts.bodyBytes, presence: opts.presence,
    ...(ro.extraOptions ? ro.extraOptions(opts) : {}),
  })}`);
  out.push('');
  return out.join('\n');
}

/**
 * Write the Markdown to opts.out and the JSON next to it; when opts.out is the default
 * `<prefix>latest.md`, also copy both to `<prefix>sessions-N-rate-R-dur-D.{md,json}`.
 */
function saveResults(md, json, opts, prefix, log) {
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, `${md}\n`);
  fs.writeFileSync(opts.out.replace(/\.md$/, '') + '.json', `${JSON.stringify(json, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), opts.out)} (+ .json)`);
  // A copy named after the scale, so runs at different sizes can sit side by side.
  if (path.basename(opts.out) === `${prefix}latest.md`) {
    const named = path.join(path.dirname(opts.out), `${prefix}sessions-${opts.sessions}-rate-${opts.rate}-dur-${opts.duration}.md`);
    fs.copyFileSync(opts.out, named);
    fs.copyFileSync(opts.out.replace(/\.md$/, '.json'), named.replace(/\.md$/, '.json'));
    log(`copied to ${path.relative(process.cwd(), named)} (+ .json)`);
  }
}

module.exports = { machineInfo, table, report, saveResults, f };
