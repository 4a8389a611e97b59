#!/usr/bin/env bash
# The test command (README, CI): set up, build, run every test suite, then run each
# fuzz target for a bounded time. Environment:
#   OAIO_BUILD_DIR   build directory (default: build)
#   OAIO_FUZZ_SECONDS seconds per fuzz target (default: 20; 0 skips fuzzing)
#   OAIO_SKIP_SETUP=1 skip the Debian packages of scripts/setup.sh (already installed)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${OAIO_BUILD_DIR:-build}"
jobs="$(nproc)"

if [[ "${OAIO_SKIP_SETUP:-0}" == 1 ]]; then
  scripts/setup_python.sh  # cheap when up to date; the interop and bridge suites need them
  scripts/setup_node.sh
else
  scripts/setup.sh
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOAIO_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$jobs"

# Unit tests are fast and parallel; suites that start servers run with less parallelism
# so 2-core CI machines keep timing margins.
ctest --test-dir "$build" -L unit -j "$jobs" --output-on-failure --timeout 120
ctest --test-dir "$build" -LE unit -j 2 --output-on-failure --timeout 300

fuzz_seconds="${OAIO_FUZZ_SECONDS:-20}"
if [[ "$fuzz_seconds" != 0 ]]; then
  scripts/fuzz.sh "$fuzz_seconds"
fi
echo "all tests passed"
