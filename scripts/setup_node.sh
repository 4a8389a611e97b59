#!/usr/bin/env bash
# Installs the npm packages of the real servers the bridge suites start
# (tests/node/package.json, pinned by its package-lock.json) into tests/node/node_modules.
# Idempotent: a second run only checks the stamp. Needs node >= 18 and npm
# (Debian 12: apt-get install nodejs npm; scripts/setup.sh does it).
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/node" && pwd)"
stamp="$dir/node_modules/.oaio-lock.stamp"
if [[ -f "$stamp" ]] && cmp -s "$dir/package-lock.json" "$stamp"; then
  echo "setup_node: $dir/node_modules is up to date"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "setup_node: npm not found (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
echo "setup_node: installing $(cd "$dir" && node -e 'console.log(Object.keys(require("./package.json").dependencies).join(" "))')"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
cp "$dir/package-lock.json" "$stamp"
echo "setup_node: ready"
