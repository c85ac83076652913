#!/usr/bin/env bash
# Build a release xmppgw in build-release/ and run the benchmark (bench/ws-bench.js).
# All arguments go to ws-bench.js, e.g.
#   bench/run.sh                      # 500 sessions, 400 msg/s, 20 s, paths gw,pws,c2s
#   bench/run.sh --sessions 2000
#   bench/run.sh --sessions 50 --duration 5 --no-save     # quick check
# Environment: XGW_BENCH_SKIP_BUILD=1 uses the existing build-release/xmppgw.
set -euo pipefail

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

# Each session needs 1 fd in the client and Prosody, 2 in xmppgw: raise the soft limit.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard" 2>/dev/null || true

export BENCH_COMMAND="bench/run.sh${*:+ $*}"
exec node bench/ws-bench.js "$@"
