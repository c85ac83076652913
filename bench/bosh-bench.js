#!/usr/bin/env node
'use strict';
// xmppgw BOSH benchmark: the same Prosody reached three ways, side by side in one run.
//   gw     BOSH (XEP-0124/0206) to xmppgw at /http-bind -> Prosody c2s TCP
//   pbosh  Prosody's own mod_bosh
//   c2s    plain c2s TCP straight to Prosody (the physical floor)
// The BOSH clients behave like a browser tab running Strophe.js (bench/lib/bosh-client.js):
// hold=1, requests=2, one request held at all times, stanzas sent on the second slot, at most
// two keep-alive TCP connections per session. Everything else (accounts, warm-up, logins with 50
// in flight, RSS, open-loop message load, CPU per message, latency, the table) is the machinery
// of bench/ws-bench.js: bench/lib/{harness,report,args}.js.
// See bench/README.md ("BOSH"). Usage: node bench/bosh-bench.js --help

const path = require('node:path');
const { RawSession } = require('./lib/xmpp-raw');
const { BoshBenchSession, newBoshStats } = require('./lib/bosh-client');
const { benchMain } = require('./lib/harness');
const { COMMON_OPTIONS, COMMON_DEFAULTS } = require('./lib/args');

const PATHS = {
  gw: 'xmppgw BOSH → Prosody c2s',
  pbosh: 'Prosody mod_bosh',
  c2s: 'c2s TCP direct (floor)',
};

const DEFAULTS = {
  ...COMMON_DEFAULTS,
  paths: 'gw,pbosh,c2s',
  out: path.join(__dirname, 'results', 'bosh-latest.md'),
  boshWait: 10,
};

// Prosody's mod_bosh limits, written into its config (tests/lib/prosody.js, which also sets
// consider_bosh_secure = true); the same values as xmppgw's defaults (bosh.max_wait_s 50,
// bosh.inactivity_s 60). mod_limits is not loaded, so nothing throttles.
const PROSODY_BOSH = { maxWait: 50, maxInactivity: 60 };

function usage() {
  return `usage: node bench/bosh-bench.js [options]
  --sessions N        sessions per path (even; default ${DEFAULTS.sessions})
  --rate R            offered message rate, total msg/s (default ${DEFAULTS.rate})
  --duration S        load phase length in seconds (default ${DEFAULTS.duration})
  --inflight K        concurrent logins (default ${DEFAULTS.inflight})
  --warmup W          warm-up sessions logged in before the RSS baseline (default ${DEFAULTS.warmup})
  --settle S          seconds to wait before each RSS reading (default ${DEFAULTS.settle})
  --drain S           max seconds to wait for in-flight messages after the load (default ${DEFAULTS.drain})
  --paths LIST        comma list of gw,pbosh,c2s (default ${DEFAULTS.paths})
  --bosh-wait S       the BOSH 'wait' the clients ask for (default ${DEFAULTS.boshWait}); hold is 1
  --body-bytes B      pad each message body with B extra bytes (default 0)
  --no-presence       do not send initial presence after binding
  --gw-bin FILE       xmppgw binary (default build-release/xmppgw)
  --out FILE          Markdown output (default bench/results/bosh-latest.md); JSON next to it
  --no-save           print only; write no files
  --wait-idle S       before each path, wait up to S s for other processes to use < 0.25 cores
                      (default ${DEFAULTS.waitIdle}; 0 = do not wait)`;
}

const isBosh = (p) => p === 'gw' || p === 'pbosh';

function summarise(stats, { atLogins, atLoad }, r, ctx) {
  const d = (k) => stats[k] - atLoad[k];
  const n = r.load.delivered;
  return {
    total: stats,
    perLogin: {
      requests: r.logins.ok ? (atLoad.requests - atLogins.requests) / r.logins.ok : NaN,
      connections: r.logins.ok ? (atLoad.connections - atLogins.connections) / r.logins.ok : NaN,
    },
    load: {
      requests: d('requests'),
      responses: d('responses'),
      emptyResponses: d('emptyResponses'),
      stanzaResponses: d('stanzaResponses'),
      multiStanzaResponses: d('multiStanzaResponses'),
      batchedRequests: d('batchedRequests'),
      connections: d('connections'),
      serverClosed: d('serverClosed'),
      kaRetries: d('kaRetries'),
      retries: d('retries'),
      httpErrors: d('httpErrors'),
      requestsPerMsg: n ? d('requests') / n : NaN,
      connectionsPerSession: d('connections') / ctx.sessions,
    },
    connectionsPerSession: stats.connections / (ctx.sessions + ctx.warmup),
    errorSamples: stats.errorSamples,
  };
}

function extraRows(row, f) {
  const t = (r, fn) => (r.transport ? fn(r.transport) : 'n/a');
  row('HTTP requests per login / per delivered message', (r) => t(r, (x) => `${f(x.perLogin.requests, 1)} / ${f(x.load.requestsPerMsg, 2)}`));
  row('responses during load: empty / with stanzas / with >1 stanza', (r) => t(r, (x) =>
    `${x.load.emptyResponses} / ${x.load.stanzaResponses} / ${x.load.multiStanzaResponses}`));
  row('TCP connections opened per session: whole run / during load', (r) => t(r, (x) =>
    `${f(x.connectionsPerSession, 2)} / ${f(x.load.connectionsPerSession, 2)}`));
  row('connections closed by the server, keep-alive resets retried', (r) => t(r, (x) =>
    `${x.total.serverClosed} / ${x.total.kaRetries}`));
  row('HTTP errors (non-200, network), whole run', (r) => t(r, (x) => {
    const kinds = Object.entries(x.total.httpErrorKinds);
    return `${x.total.httpErrors}${kinds.length ? ` (${kinds.map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`;
  }));
}

function notes(opts) {
  return `BOSH clients (bench/lib/bosh-client.js) behave like a browser tab running Strophe.js: ` +
    `node:http with a keep-alive Agent of at most 2 sockets per session, session creation with ` +
    `ver='1.11' wait='${opts.boshWait}' hold='1', SASL PLAIN, xmpp:restart, bind, presence; afterwards exactly ` +
    'one request is held at the server at all times (the next rid goes out as soon as a response leaves none ' +
    'open) and messages go out on the second request slot (queued and sent together while both slots are ' +
    'busy). Responses are processed in rid order. Latency runs from the moment the message is handed to the ' +
    'client (queueing for a free slot included) to the parse of the response that carries it. Every column ' +
    `gets the same Prosody configuration (c2s, mod_bosh with bosh_max_wait ${PROSODY_BOSH.maxWait}, ` +
    `bosh_max_inactivity ${PROSODY_BOSH.maxInactivity}, consider_bosh_secure); xmppgw runs with its default BOSH ` +
    'settings (max_wait_s 50, max_hold 1, inactivity_s 60).';
}

benchMain({
  name: 'bosh-bench',
  paths: PATHS,
  defaults: DEFAULTS,
  options: { ...COMMON_OPTIONS, '--bosh-wait': { key: 'boshWait', type: 'int', min: 1, max: 60 } },
  usage,
  resultsPrefix: 'bosh-',
  usesGateway: (p) => p === 'gw',
  prosodyOptions: () => ({ websocket: false, bosh: PROSODY_BOSH }),
  gatewayConfig: (p, prosody) => (p !== 'gw' ? null : {
    log_level: 'warn',
    routes: [{ domain: prosody.domain, host: '127.0.0.1', port: prosody.c2sPort }],
  }),
  endpoint: (p, prosody, gw) => (p === 'gw' ? { kind: 'bosh', url: `${gw.httpUrl}/http-bind` }
    : p === 'pbosh' ? { kind: 'bosh', url: prosody.boshUrl }
      : { kind: 'tcp', host: '127.0.0.1', port: prosody.c2sPort }),
  makeSession: (endpoint, common, ctx) => (endpoint.kind === 'bosh'
    ? new BoshBenchSession({ ...common, url: endpoint.url, wait: ctx.opts.boshWait, stats: ctx.stats })
    : new RawSession({ ...endpoint, ...common })),
  newStats: () => newBoshStats(),
  summarise: (stats, snaps, r, ctx) => (isBosh(ctx.pathKey) ? summarise(stats, snaps, r, ctx) : undefined),
  report: {
    title: (opts) => `xmppgw BOSH benchmark — ${opts.sessions} sessions, ${opts.rate} msg/s offered for ${opts.duration} s`,
    extraRows,
    notes,
    problemLines: (r) => (r.transport && r.transport.errorSamples.length
      ? [`HTTP errors, first ones: ${r.transport.errorSamples.map((s) => `\`${s.replace(/`/g, "'")}\``).join('; ')}`] : []),
    machineNote: `, mod_bosh: bosh_max_wait ${PROSODY_BOSH.maxWait}, bosh_max_inactivity ${PROSODY_BOSH.maxInactivity}, consider_bosh_secure`,
    extraOptions: (opts) => ({ boshWait: opts.boshWait, hold: 1 }),
  },
});
