#!/usr/bin/env bash
# Run every test of xmppgw: installs what is missing (Debian 12, root), builds the
# ASan+UBSan build in build-asan/, runs the unit tests (ctest), installs the pinned npm
# packages (npm ci) and runs the Node integration tests against a real Prosody.
#
#   scripts/test.sh                 everything
#   scripts/test.sh FILE...         only these integration test files (after build + unit tests)
#
# Environment:
#   XGW_SKIP_INSTALL=1      do not apt-get anything
#   XGW_SKIP_UNIT=1         skip ctest
#   XGW_TEST_TIMEOUT_MS     per-test timeout for node --test (default 120000)
#   XGW_SUITE_TIMEOUT_S     wall-clock limit for the whole integration run (default 900)
#   JOBS                    build parallelism (default: nproc)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
TEST_TIMEOUT_MS="${XGW_TEST_TIMEOUT_MS:-120000}"
SUITE_TIMEOUT_S="${XGW_SUITE_TIMEOUT_S:-900}"
LOGDIR="$ROOT/build-asan/test-logs"

declare -a STAGE_NAMES=() STAGE_RESULTS=()
FAILED=0
UNIT_PASS=0 UNIT_FAIL=0 INT_PASS=0 INT_FAIL=0

banner() { printf '\n==== %s ====\n' "$*"; }
record() { # name result
  STAGE_NAMES+=("$1"); STAGE_RESULTS+=("$2")
  case "$2" in
    ok) printf '==== stage %s: ok\n' "$1" ;;
    skipped*) printf '==== stage %s: %s\n' "$1" "$2" ;;
    *) printf '==== stage %s: FAILED (%s)\n' "$1" "$2"; FAILED=1 ;;
  esac
}

# ---------------------------------------------------------------- install
banner "install: Debian packages (only what is missing)"
# shellcheck source=scripts/install-deps.sh
source "$ROOT/scripts/install-deps.sh"
if xgw_install_deps; then record install ok; else record install "apt-get could not install the missing packages"; fi

# ---------------------------------------------------------------- build
BUILD_OK=0
banner "build: cmake build-asan (-DXGW_WERROR=ON -DXGW_SANITIZE=ON)"
if ! cmake -S . -B build-asan -DXGW_WERROR=ON -DXGW_SANITIZE=ON; then
  record build "cmake configure failed"
elif ! cmake --build build-asan -j"$JOBS"; then
  record build "compile/link failed (see the compiler errors above)"
elif [ ! -x build-asan/xmppgw ]; then
  record build "build-asan/xmppgw was not produced"
else
  BUILD_OK=1
  record build ok
fi
mkdir -p "$LOGDIR"

# ---------------------------------------------------------------- unit tests
if [ "${XGW_SKIP_UNIT:-0}" = 1 ]; then
  record unit-tests "skipped (XGW_SKIP_UNIT=1)"
elif [ "$BUILD_OK" != 1 ]; then
  record unit-tests "skipped: build failed"
else
  banner "unit tests: ctest"
  ctest --test-dir build-asan --output-on-failure --timeout 300 2>&1 | tee "$LOGDIR/ctest.log"
  rc=${PIPESTATUS[0]}
  line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$LOGDIR/ctest.log" | tail -1)"
  if [ -n "$line" ]; then
    total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")"
    UNIT_FAIL="$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")"
    UNIT_PASS=$((total - UNIT_FAIL))
  fi
  if [ "$rc" -ne 0 ]; then
    record unit-tests "ctest exited $rc ($UNIT_FAIL failed)"
  elif [ -z "$line" ]; then
    record unit-tests "ctest ran no test"
  else
    record unit-tests ok
  fi
fi

# ---------------------------------------------------------------- npm ci
NPM_OK=0
banner "npm ci (pinned client libraries from package-lock.json)"
if ! command -v npm >/dev/null 2>&1; then
  record npm-ci "npm not found"
elif npm ci --no-audit --no-fund; then
  NPM_OK=1
  record npm-ci ok
else
  record npm-ci "npm ci failed (registry unreachable or package-lock.json out of date?)"
fi

# ---------------------------------------------------------------- integration tests
if [ "$BUILD_OK" != 1 ]; then
  record integration "skipped: build failed (the tests need build-asan/xmppgw)"
elif [ "$NPM_OK" != 1 ]; then
  record integration "skipped: npm ci failed"
else
  banner "integration tests: node --test (per-test timeout ${TEST_TIMEOUT_MS} ms)"
  if [ "$#" -gt 0 ]; then files=("$@"); else files=(tests/integration/); fi
  export XMPPGW_BIN="${XMPPGW_BIN:-$ROOT/build-asan/xmppgw}"
  rm -f "$LOGDIR/integration.tap"
  timeout --kill-after=30 "$SUITE_TIMEOUT_S" \
    node --test --test-timeout="$TEST_TIMEOUT_MS" \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$LOGDIR/integration.tap" \
      "${files[@]}" </dev/null
  rc=$?
  if [ -f "$LOGDIR/integration.tap" ]; then
    INT_PASS="$(grep -E '^# pass [0-9]+' "$LOGDIR/integration.tap" | tail -1 | awk '{print $3}')"
    INT_FAIL="$(grep -E '^# fail [0-9]+' "$LOGDIR/integration.tap" | tail -1 | awk '{print $3}')"
    cancelled="$(grep -E '^# cancelled [0-9]+' "$LOGDIR/integration.tap" | tail -1 | awk '{print $3}')"
    INT_PASS="${INT_PASS:-0}"; INT_FAIL=$(( ${INT_FAIL:-0} + ${cancelled:-0} ))
  fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    record integration "timed out after ${SUITE_TIMEOUT_S}s"
  elif [ "$rc" -ne 0 ]; then
    record integration "node --test exited $rc ($INT_FAIL failed or cancelled)"
  elif [ "$INT_PASS" -eq 0 ]; then
    record integration "node --test ran no test"
  else
    record integration ok
  fi
fi

# ---------------------------------------------------------------- summary
banner "summary"
for i in "${!STAGE_NAMES[@]}"; do
  printf '  %-12s %s\n' "${STAGE_NAMES[$i]}" "${STAGE_RESULTS[$i]}"
done
printf '  unit tests: %d passed, %d failed; integration tests: %d passed, %d failed\n' \
  "$UNIT_PASS" "$UNIT_FAIL" "$INT_PASS" "$INT_FAIL"
if [ "$FAILED" != 0 ]; then
  failed_stages=()
  for i in "${!STAGE_NAMES[@]}"; do
    case "${STAGE_RESULTS[$i]}" in ok|skipped*) ;; *) failed_stages+=("${STAGE_NAMES[$i]}") ;; esac
  done
  echo "FAILED stages: ${failed_stages[*]}"
fi
echo "tests: $((UNIT_PASS + INT_PASS)) passed, $((UNIT_FAIL + INT_FAIL)) failed"
exit "$FAILED"
