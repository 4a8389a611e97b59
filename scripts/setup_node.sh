#!/usr/bin/env bash
# Installs the npm packages of the real servers and tools the bridge suites start, each
# directory pinned by its package-lock.json:
#   tests/node                      server-everything (MCP), mock-llm (OpenAI-compatible)
#   tests/bridges/mcp/conformance   the MCP conformance suite, with the Node 22 it needs
# Idempotent: a directory whose lock file matches its stamp is skipped. Needs node >= 18
# and npm (scripts/setup.sh installs Debian's when there is none).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v npm >/dev/null; then
  echo "setup_node: npm not found (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
for rel in tests/node tests/bridges/mcp/conformance; do
  dir="$root/$rel"
  [[ -f "$dir/package-lock.json" ]] || continue
  stamp="$dir/node_modules/.oaio-lock.stamp"
  if [[ -f "$stamp" ]] && cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "setup_node: $rel is up to date"
    continue
  fi
  echo "setup_node: installing $rel: $(cd "$dir" && node -e 'console.log(Object.keys(require("./package.json").dependencies).join(" "))')"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$stamp"
done
echo "setup_node: ready"
