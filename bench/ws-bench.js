#!/usr/bin/env node
'use strict';
// xmppgw benchmark: the same Prosody reached three ways, side by side in one run.
//   gw   xmppgw WebSocket (RFC 7395) -> Prosody c2s TCP
//   pws  Prosody's own mod_websocket
//   c2s  plain c2s TCP straight to Prosody (the physical floor)
// For each path: a fresh Prosody (and, for gw, a fresh xmppgw); W warm-up sessions; N sessions
// logged in with SASL PLAIN (50 in flight); RSS before/after; then an open-loop message load
// between session pairs at a fixed offered rate; one-way latency, delivered/sent, CPU per message.
// The machinery is shared with bench/bosh-bench.js: bench/lib/{harness,report,args}.js.
// See bench/README.md. Usage: node bench/ws-bench.js --help

const path = require('node:path');
const { COMMON_DEFAULTS } = require('./lib/args');
const { RawSession } = require('./lib/xmpp-raw');
const { benchMain } = require('./lib/harness');

const PATHS = {
  gw: 'xmppgw WS → Prosody c2s',
  pws: 'Prosody mod_websocket',
  c2s: 'c2s TCP direct (floor)',
};

const DEFAULTS = {
  ...COMMON_DEFAULTS,
  paths: 'gw,pws,c2s',
  out: path.join(__dirname, 'results', 'latest.md'),
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

benchMain({
  name: 'ws-bench',
  paths: PATHS,
  defaults: DEFAULTS,
  usage,
  resultsPrefix: '',
  usesGateway: (p) => p === 'gw',
  // Every path gets the same Prosody config: c2s + mod_websocket on the http port.
  prosodyOptions: () => ({ websocket: true }),
  gatewayConfig: (p, prosody) => (p !== 'gw' ? null : {
    log_level: 'warn',
    routes: [{ domain: prosody.domain, host: '127.0.0.1', port: prosody.c2sPort }],
  }),
  endpoint: (p, prosody, gw) => (p === 'gw' ? { kind: 'ws', url: gw.wsUrl }
    : p === 'pws' ? { kind: 'ws', url: prosody.wsUrl }
      : { kind: 'tcp', host: '127.0.0.1', port: prosody.c2sPort }),
  makeSession: (endpoint, common) => new RawSession({ ...endpoint, ...common }),
});
