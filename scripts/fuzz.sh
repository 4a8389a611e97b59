#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cc) with clang in build-fuzz/ and runs
# each one for a bounded time. Exits non-zero if a build fails or any target finds a
# crash, leak, sanitizer report or broken property; the reproducer is written to
# build-fuzz/fuzz-artifacts/.
#
# Usage: scripts/fuzz.sh [seconds per target, default 30]
# Env:   OAIO_FUZZ_BUILD_DIR (default <repo>/build-fuzz), OAIO_FUZZ_JOBS (ninja -j, default 2),
#        OAIO_FUZZ_TARGETS (space-separated target names; default: every tests/fuzz/*_fuzz.cc)
set -euo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: $0 [seconds per target > 0]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OAIO_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${OAIO_FUZZ_JOBS:-2}"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
  -DOAIO_BUILD_FUZZ=ON -DOAIO_BUILD_TESTS=ON -DOAIO_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

targets=()
if [ -n "${OAIO_FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<< "$OAIO_FUZZ_TARGETS"
else
  for src in "$root"/tests/fuzz/*_fuzz.cc; do
    targets+=("$(basename "$src" .cc)")
  done
fi
if [ "${#targets[@]}" -eq 0 ]; then
  echo "no fuzz targets under tests/fuzz" >&2
  exit 1
fi
ninja -C "$build" -j "$jobs" "${targets[@]}"

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
status=0
for target in "${targets[@]}"; do
  name="${target%_fuzz}"
  seeds="$root/tests/fuzz/corpus/$name"
  corpus="$build/fuzz-corpus/$name"  # grows across runs; never written into the source tree
  mkdir -p "$corpus"
  args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/$name-")
  dict="$root/tests/fuzz/$target.dict"
  [ -f "$root/tests/fuzz/$name.dict" ] && dict="$root/tests/fuzz/$name.dict"
  [ -f "$dict" ] && args+=(-dict="$dict")
  dirs=("$corpus")
  [ -d "$seeds" ] && dirs+=("$seeds")
  echo "== $target: ${seconds}s"
  if ! "$build/tests/fuzz/$target" "${args[@]}" "${dirs[@]}"; then
    echo "!! $target failed; reproducer in $artifacts/" >&2
    status=1
  fi
done
exit "$status"
