#!/usr/bin/env bash
# Run every test of xmppgw: installs what is missing (Debian 12, root), builds the
# ASan+UBSan build in build-asan/, runs the unit tests (ctest), installs the pinned npm
# packages (npm ci) and runs the Node integration tests against a real Prosody.
#
#   scripts/test.sh                 everything
#   scripts/test.sh FILE...         only these test files (after build + unit tests): files under
#                                   tests/www/ and tests/browser/ go to those stages, the others
#                                   to the integration stage; stages with no file are skipped
#
# After the integration tests come the web client's stages: `www-unit` (node --test
# tests/www/, the client's pure modules) and `browser` (node --test tests/browser/: Debian's
# chromium driven by playwright-core against Prosody and build-asan/xmppgw; screenshots in
# build-asan/test-artifacts/).
#
# Environment:
#   XGW_SKIP_INSTALL=1      do not apt-get anything
#   XGW_SKIP_UNIT=1         skip ctest
#   XGW_SKIP_INTEGRATION=1  skip the integration tests (e.g. to run only the web client stages)
#   XGW_SKIP_WWW=1          skip the www-unit and browser stages
#   XGW_BROWSER_TIMEOUT_S   wall-clock limit for the browser stage (default 600)
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
WWW_PASS=0 WWW_FAIL=0 BROWSER_PASS=0 BROWSER_FAIL=0
BROWSER_TIMEOUT_S="${XGW_BROWSER_TIMEOUT_S:-600}"

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

# Test files named on the command line, by stage.
declare -a INT_FILES=() WWW_FILES=() BROWSER_FILES=()
SELECTED=0
if [ "$#" -gt 0 ]; then
  SELECTED=1
  for f in "$@"; do
    case "$f" in
      tests/www/*|./tests/www/*|"$ROOT"/tests/www/*) WWW_FILES+=("$f") ;;
      tests/browser/*|./tests/browser/*|"$ROOT"/tests/browser/*) BROWSER_FILES+=("$f") ;;
      *) INT_FILES+=("$f") ;;
    esac
  done
  set -- "${INT_FILES[@]}"
fi

# ---------------------------------------------------------------- integration tests
if [ "$SELECTED" = 1 ] && [ "${#INT_FILES[@]}" -eq 0 ]; then
  record integration "skipped (no integration test file named)"
elif [ "${XGW_SKIP_INTEGRATION:-0}" = 1 ]; then
  record integration "skipped (XGW_SKIP_INTEGRATION=1)"
elif [ "$BUILD_OK" != 1 ]; then
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

# ---------------------------------------------------------------- web client
# node_test_stage NAME TIMEOUT_S TAP_FILE PATH...: runs node --test, sets TAP_PASS/TAP_FAIL and
# records the stage with the reason when it fails (the failing tests are listed by the spec
# reporter above the summary).
node_test_stage() {
  local name="$1" limit="$2" tap="$3"; shift 3
  rm -f "$tap"
  timeout --kill-after=30 "$limit" \
    node --test --test-timeout="$TEST_TIMEOUT_MS" \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$tap" \
      "$@" </dev/null
  local rc=$? cancelled
  TAP_PASS=0 TAP_FAIL=0
  if [ -f "$tap" ]; then
    TAP_PASS="$(grep -E '^# pass [0-9]+' "$tap" | tail -1 | awk '{print $3}')"
    TAP_FAIL="$(grep -E '^# fail [0-9]+' "$tap" | tail -1 | awk '{print $3}')"
    cancelled="$(grep -E '^# cancelled [0-9]+' "$tap" | tail -1 | awk '{print $3}')"
    TAP_PASS="${TAP_PASS:-0}"; TAP_FAIL=$(( ${TAP_FAIL:-0} + ${cancelled:-0} ))
  fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    record "$name" "timed out after ${limit}s"
  elif [ "$rc" -ne 0 ]; then
    local failed
    failed="$(grep -E '^not ok [0-9]+ - ' "$tap" 2>/dev/null | sed -E 's/^not ok [0-9]+ - //' | head -5 | paste -sd ';' -)"
    record "$name" "node --test exited $rc ($TAP_FAIL failed or cancelled${failed:+: $failed})"
  elif [ "$TAP_PASS" -eq 0 ]; then
    record "$name" "node --test ran no test"
  else
    record "$name" ok
  fi
}

if [ "${XGW_SKIP_WWW:-0}" = 1 ]; then
  record www-unit "skipped (XGW_SKIP_WWW=1)"
  record browser "skipped (XGW_SKIP_WWW=1)"
else
  banner "web client unit tests: node --test tests/www/"
  if [ "$SELECTED" = 1 ] && [ "${#WWW_FILES[@]}" -eq 0 ]; then
    record www-unit "skipped (no tests/www file named)"
  elif [ "$NPM_OK" != 1 ]; then
    record www-unit "skipped: npm ci failed (the tests need @xmldom/xmldom)"
  else
    [ "$SELECTED" = 1 ] || WWW_FILES=(tests/www/)
    node_test_stage www-unit 300 "$LOGDIR/www-unit.tap" "${WWW_FILES[@]}"
    WWW_PASS=$TAP_PASS WWW_FAIL=$TAP_FAIL
  fi

  banner "browser tests: chromium + playwright-core, node --test tests/browser/"
  if [ "$SELECTED" = 1 ] && [ "${#BROWSER_FILES[@]}" -eq 0 ]; then
    record browser "skipped (no tests/browser file named)"
  elif [ "$BUILD_OK" != 1 ]; then
    record browser "skipped: build failed (the tests need build-asan/xmppgw)"
  elif [ "$NPM_OK" != 1 ]; then
    record browser "skipped: npm ci failed (the tests need playwright-core)"
  elif [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
    record browser "chromium not found at ${CHROMIUM_BIN:-/usr/bin/chromium} (apt-get install chromium)"
  else
    export XMPPGW_BIN="${XMPPGW_BIN:-$ROOT/build-asan/xmppgw}"
    mkdir -p "$ROOT/build-asan/test-artifacts"
    [ "$SELECTED" = 1 ] || BROWSER_FILES=(tests/browser/)
    node_test_stage browser "$BROWSER_TIMEOUT_S" "$LOGDIR/browser.tap" "${BROWSER_FILES[@]}"
    BROWSER_PASS=$TAP_PASS BROWSER_FAIL=$TAP_FAIL
    echo "screenshots: $ROOT/build-asan/test-artifacts/"
  fi
fi

# ---------------------------------------------------------------- summary
banner "summary"
for i in "${!STAGE_NAMES[@]}"; do
  printf '  %-12s %s\n' "${STAGE_NAMES[$i]}" "${STAGE_RESULTS[$i]}"
done
printf '  unit tests: %d passed, %d failed; integration tests: %d passed, %d failed\n' \
  "$UNIT_PASS" "$UNIT_FAIL" "$INT_PASS" "$INT_FAIL"
printf '  web client unit tests: %d passed, %d failed; browser tests: %d passed, %d failed\n' \
  "$WWW_PASS" "$WWW_FAIL" "$BROWSER_PASS" "$BROWSER_FAIL"
if [ "$FAILED" != 0 ]; then
  failed_stages=()
  for i in "${!STAGE_NAMES[@]}"; do
    case "${STAGE_RESULTS[$i]}" in ok|skipped*) ;; *) failed_stages+=("${STAGE_NAMES[$i]}") ;; esac
  done
  echo "FAILED stages: ${failed_stages[*]}"
fi
echo "tests: $((UNIT_PASS + INT_PASS + WWW_PASS + BROWSER_PASS)) passed, $((UNIT_FAIL + INT_FAIL + WWW_FAIL + BROWSER_FAIL)) failed"
exit "$FAILED"
