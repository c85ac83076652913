#!/usr/bin/env bash
# Install what xmppgw needs to build, test and run its demo, on Debian 12, only if missing.
# Used by scripts/test.sh and scripts/demo.sh (source it or run it). Needs root for apt-get.
#
#   XGW_SKIP_INSTALL=1   do nothing (e.g. on a machine you manage yourself)
# When sourced it only defines functions and changes no shell options.

XGW_DEB_PACKAGES=(
  build-essential cmake pkg-config
  libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libexpat1-dev libssl-dev libjansson-dev
  libcmocka-dev
  prosody openssl
  nginx-light
  chromium
)
# chromium: Debian's browser for the web client's browser tests (driven by playwright-core;
# never a browser downloaded by npm).
# Node.js >= 20.10 is needed by the integration tests (@xmpp/client). A node that is
# already installed and new enough (e.g. from NodeSource) is kept as it is.
XGW_NODE_MIN_MAJOR=20
XGW_NODE_MIN_MINOR=10

xgw_log() { printf '[install-deps] %s\n' "$*"; }

xgw_pkg_installed() {
  dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

xgw_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local v major minor
  v="$(node -p 'process.versions.node' 2>/dev/null)" || return 1
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [ "$major" -gt "$XGW_NODE_MIN_MAJOR" ] ||
    { [ "$major" -eq "$XGW_NODE_MIN_MAJOR" ] && [ "$minor" -ge "$XGW_NODE_MIN_MINOR" ]; }
}

xgw_install_deps() {
  if [ "${XGW_SKIP_INSTALL:-0}" = 1 ]; then
    xgw_log "XGW_SKIP_INSTALL=1: not installing anything"
    return 0
  fi
  local missing=() p
  for p in "${XGW_DEB_PACKAGES[@]}"; do
    xgw_pkg_installed "$p" || missing+=("$p")
  done
  if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
  if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

  local prosody_was_installed=1
  xgw_pkg_installed prosody || prosody_was_installed=0

  if [ "${#missing[@]}" -eq 0 ]; then
    xgw_log "all packages present"
  else
    xgw_log "missing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
      xgw_log "ERROR: not root; install them with: sudo apt-get install ${missing[*]}"
      return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || { xgw_log "ERROR: apt-get update failed"; return 1; }
    apt-get install -y -q "${missing[@]}" || { xgw_log "ERROR: apt-get install ${missing[*]} failed"; return 1; }
  fi

  # Tests and the demo run their own private Prosody; the packaged system service
  # (started by the package's install scripts) would only hold port 5222.
  if [ "$prosody_was_installed" = 0 ]; then
    xgw_log "stopping the prosody system service started by the package install"
    service prosody stop >/dev/null 2>&1 || true
  fi

  if ! xgw_node_ok; then
    xgw_log "WARNING: node $(node -v 2>/dev/null || echo missing) is older than ${XGW_NODE_MIN_MAJOR}.${XGW_NODE_MIN_MINOR}; the integration tests need Node >= 20.10"
  fi
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  xgw_install_deps
fi
