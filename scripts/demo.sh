#!/usr/bin/env bash
# Try xmppgw in one command: installs what is missing (Debian 12, root), builds a release
# build in build/, starts a private Prosody on loopback (domain "localhost", data in
# ./.demo/) with two demo accounts, and runs build/xmppgw in front of it on
# 127.0.0.1:5280, serving ./www. Runs in the foreground; Ctrl-C stops both.
#
# Environment:
#   XGW_DEMO_PORT      gateway port (default 5280)
#   XGW_DEMO_C2S_PORT  Prosody c2s port (default 5222 if free, else a free one)
#   XGW_SKIP_INSTALL=1 do not apt-get anything
#   XGW_SKIP_BUILD=1   use the existing build/xmppgw
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEMO="$ROOT/.demo"
GW_HOST=127.0.0.1
GW_PORT="${XGW_DEMO_PORT:-5280}"

say() { printf '[demo] %s\n' "$*"; }
die() { printf '[demo] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { # host port
  node -e "require('./tests/lib/ports').canConnect(+process.argv[2], process.argv[1]).then(ok => process.exit(ok ? 0 : 1))" "$1" "$2"
}
wait_port() { # host port pid what
  node -e "
    const { waitForPort } = require('./tests/lib/ports');
    const pid = +process.argv[3];
    const alive = () => { try { process.kill(pid, 0); return true; } catch { return process.argv[4] + ' exited'; } };
    waitForPort(+process.argv[2], { host: process.argv[1], timeoutMs: 20000, isAlive: alive })
      .catch((e) => { console.error(e.message); process.exit(1); });" "$1" "$2" "$3" "$4"
}

# ------------------------------------------------------------------ install + build
# shellcheck source=scripts/install-deps.sh
source "$ROOT/scripts/install-deps.sh"
xgw_install_deps || die "could not install the required packages"

if [ "${XGW_SKIP_BUILD:-0}" != 1 ]; then
  say "building build/xmppgw (release; log in .demo/build.log)"
  mkdir -p "$DEMO"
  if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXGW_SANITIZE=OFF -DXGW_WERROR=OFF &&
         cmake --build build --target xmppgw -j"$(nproc 2>/dev/null || echo 2)"; } >"$DEMO/build.log" 2>&1; then
    tail -40 "$DEMO/build.log" >&2
    die "build failed (full log: $DEMO/build.log)"
  fi
fi
[ -x build/xmppgw ] || die "build/xmppgw not found"

# ------------------------------------------------------------------ ports
if port_open "$GW_HOST" "$GW_PORT"; then
  die "$GW_HOST:$GW_PORT is already in use (stop what listens there, or set XGW_DEMO_PORT)"
fi
if [ -n "${XGW_DEMO_C2S_PORT:-}" ]; then
  C2S_PORT="$XGW_DEMO_C2S_PORT"
elif ! port_open 127.0.0.1 5222; then
  C2S_PORT=5222
else
  C2S_PORT="$(node -e "require('./tests/lib/ports').getFreePort().then((p) => console.log(p))")"
  say "port 5222 is busy; Prosody will use $C2S_PORT"
fi

# ------------------------------------------------------------------ Prosody
mkdir -p "$DEMO"
# A Prosody left over from an earlier demo run (killed without cleanup)?
if [ -f "$DEMO/prosody.pid" ]; then
  old="$(cat "$DEMO/prosody.pid" 2>/dev/null || true)"
  if [ -n "$old" ] && grep -q "$DEMO/prosody.cfg.lua" "/proc/$old/cmdline" 2>/dev/null; then
    say "stopping the Prosody of an earlier demo run (pid $old)"
    kill "$old" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$DEMO/prosody.pid"
fi

gen_pw() { tr -dc 'A-Za-z0-9' </dev/urandom | head -c 12 || true; }
ALICE_PW="$(gen_pw)"
BOB_PW="$(gen_pw)"
# The same config generator as the integration tests (tests/lib/prosody.js).
# --muc: a room service at conference.localhost; --smacks: XEP-0198 so the web client resumes
# after a reload or a dropped connection; --carbons: XEP-0280 for several open tabs.
node tests/lib/prosody.js write-config --dir "$DEMO" --domain localhost --c2s-port "$C2S_PORT" \
  --no-http --user "alice:$ALICE_PW" --user "bob:$BOB_PW" --muc --smacks --carbons >/dev/null ||
  die "could not write the Prosody config or register the demo accounts"

PROSODY_PID=""
GW_PID=""
cleanup() {
  trap - EXIT INT TERM
  say "stopping"
  for pid in $GW_PID $PROSODY_PID; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $GW_PID $PROSODY_PID; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

prosody --config "$DEMO/prosody.cfg.lua" -F >"$DEMO/prosody.out" 2>&1 &
PROSODY_PID=$!
wait_port 127.0.0.1 "$C2S_PORT" "$PROSODY_PID" prosody ||
  { tail -20 "$DEMO/prosody.log" "$DEMO/prosody.out" 2>/dev/null; die "Prosody did not start"; }

# ------------------------------------------------------------------ gateway
build/xmppgw --listen "$GW_HOST:$GW_PORT" --route "localhost=127.0.0.1:$C2S_PORT" \
  --www "$ROOT/www" --log-level info &
GW_PID=$!
wait_port "$GW_HOST" "$GW_PORT" "$GW_PID" xmppgw || die "xmppgw did not start"

cat <<EOF

  xmppgw demo is running.

    chat page:  http://$GW_HOST:$GW_PORT/   (the bundled web client; open it in two browsers)
    WebSocket:  ws://$GW_HOST:$GW_PORT/xmpp-websocket   (sub-protocol "xmpp", domain "localhost")
    BOSH:       http://$GW_HOST:$GW_PORT/http-bind
    rooms:      any name @conference.localhost, e.g. lobby@conference.localhost

    accounts:   alice@localhost   password: $ALICE_PW
                bob@localhost     password: $BOB_PW

    Prosody (c2s on 127.0.0.1:$C2S_PORT) keeps its data and log in $DEMO/
    Press Ctrl-C to stop both.

EOF

# Stay in the foreground until Ctrl-C or until either process exits.
set +e
wait -n "$PROSODY_PID" "$GW_PID"
rc=$?
if kill -0 "$GW_PID" 2>/dev/null; then
  say "Prosody exited (status $rc); see $DEMO/prosody.log"
else
  say "xmppgw exited (status $rc)"
fi
exit "$rc"
