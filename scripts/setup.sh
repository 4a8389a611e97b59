#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian 12 machine:
# the Debian packages (compilers, nats-server, libraries) and the Python virtualenv
# with the reference OpenAgentIO SDK used by the interop tests, and the real servers
# (npm, PyPI) the bridge suites start. Idempotent: a second
# run only checks. Usage: scripts/setup.sh [--no-python]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl
  clang libclang-rt-14-dev                       # libFuzzer targets
  nats-server libnats-dev                        # the bus transport and its test server
  nlohmann-json3-dev libfmt-dev libvalijson-dev  # JSON, formatting, JSON Schema
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libcurl4-openssl-dev libcpp-httplib-dev libssl-dev
  libboost-dev libboost-filesystem-dev libyaml-cpp-dev libcli11-dev prometheus-cpp-dev
  python3 python3-venv python3-pip
)

# Node.js and npm run the real MCP / OpenAI-compatible servers the bridge suites start.
# Any node >= 18 with npm will do: a machine that already has one (e.g. a NodeSource
# build, whose nodejs package includes npm and conflicts with Debian's npm) keeps it.
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" != "--no-python" ]]; then
  "$here/setup_python.sh"
  "$here/setup_node.sh"
fi
echo "setup: done"
