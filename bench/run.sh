#!/usr/bin/env bash
# Build a release xmppgw in build-release/ and run a benchmark.
#   bench/run.sh [ARGS]         the WebSocket benchmark, bench/ws-bench.js ARGS
#   bench/run.sh ws [ARGS]      the same
#   bench/run.sh bosh [ARGS]    the BOSH benchmark, bench/bosh-bench.js ARGS
# e.g.
#   bench/run.sh                      # 500 sessions, 400 msg/s, 20 s, paths gw,pws,c2s
#   bench/run.sh --sessions 2000
#   bench/run.sh --sessions 50 --duration 5 --no-save     # quick check
#   bench/run.sh bosh                 # 500 BOSH sessions, 400 msg/s, 20 s, paths gw,pbosh,c2s
#   bench/run.sh bosh --sessions 2000
# Environment: XGW_BENCH_SKIP_BUILD=1 uses the existing build-release/xmppgw.
set -euo pipefail

bench=ws-bench
sub=""
case "${1:-}" in
  ws) bench=ws-bench; sub="ws "; shift ;;
  bosh) bench=bosh-bench; sub="bosh "; shift ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ "${XGW_BENCH_SKIP_BUILD:-0}" != 1 ]; then
  mkdir -p bench/results
  log="$(mktemp -t xgw-bench-build.XXXXXX)"
  echo "[run.sh] building build-release/xmppgw (Release; log $log)" >&2
  if ! { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DXGW_SANITIZE=OFF -DXGW_FUZZ=OFF &&
         cmake --build build-release --target xmppgw -j2; } >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "[run.sh] build failed (full log: $log)" >&2
    exit 2
  fi
  rm -f "$log"
fi
[ -x build-release/xmppgw ] || { echo "[run.sh] build-release/xmppgw missing" >&2; exit 2; }
[ -d node_modules/ws ] || { echo "[run.sh] node_modules missing: run npm ci" >&2; exit 2; }
command -v prosody >/dev/null || { echo "[run.sh] prosody missing (scripts/install-deps.sh)" >&2; exit 2; }

# Each session needs 1 fd in the client and Prosody, 2 in xmppgw (BOSH: up to 2 HTTP connections
# per session in the client and xmppgw, plus the c2s one): raise the soft limit.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard" 2>/dev/null || true

cmd="bench/run.sh ${sub}$*"
export BENCH_COMMAND="${cmd% }"
exec node "bench/$bench.js" "$@"
