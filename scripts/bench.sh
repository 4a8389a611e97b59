#!/usr/bin/env bash
# Builds and runs the benchmarks (Release build in build-bench), printing each figure
# next to its baseline measured in the same run. Usage: scripts/bench.sh [--quick]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DOAIO_BUILD_BENCH=ON -DOAIO_BUILD_TESTS=ON >/dev/null
cmake --build build-bench -j "$(nproc)" --target bus_bench host_bench sse_bench matrix_relay_bench mcp_bench
build-bench/bench/bus_bench "$@"
build-bench/bench/host_bench "$@"
build-bench/bench/sse_bench "$@"
# Matrix relay latency and throughput against a real Synapse (needs .venv-matrix,
# scripts/setup_python.sh); a minute or two.
build-bench/tests/bridges/matrix/matrix_relay_bench
# MCP: a tool call through the host vs the MCP client calling the server directly.
build-bench/tests/bridges/mcp/mcp_bench
