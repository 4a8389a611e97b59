#!/usr/bin/env bash
# Sets up, builds and runs the host on the embedded default: the in-process bus, the
# plugins built with the project (build/plugins: the examples and the bridges) and the
# example manifests (manifests/), with the HTTP gateway on 127.0.0.1:7878 so you can
# call it from another terminal.
# Extra arguments go to `oaio run` (e.g. --nats nats://127.0.0.1:4222).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh --no-python
scripts/setup_node.sh  # the MCP server of manifests/mcp-everything.yaml
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOAIO_BUILD_BRIDGES=ON >/dev/null
cmake --build build -j "$(nproc)" --target oaio plugins
exec build/bin/oaio run --plugins build/plugins --manifests manifests --http "${OAIO_HTTP:-127.0.0.1:7878}" "$@"
