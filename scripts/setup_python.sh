#!/usr/bin/env bash
# Creates or updates the virtualenvs the test suites run real Python programs from.
# One venv per requirements file, so packages with conflicting pins never meet:
#
#   venv          requirements                                 used by
#   .venv         tests/interop/python/requirements.txt        the OpenAgentIO SDK interop suite
#   .venv-mcp     tests/bridges/mcp/python/requirements.txt    MCP servers on the Python mcp SDK
#   .venv-matrix  tests/bridges/matrix/python/requirements.txt the Synapse homeserver
#   .venv-sse     tests/bridges/sse/python/requirements.txt    the LiteLLM proxy
#
#   scripts/setup_python.sh            # idempotent; quick when nothing changed
#   PYTHON=python3.12 scripts/setup_python.sh
#
# Needs Python >= 3.11 with the venv module (Debian 12: apt-get install python3-venv)
# and access to PyPI. A stamp file inside each venv records what was installed, so a
# second run only checks that the stamp still matches and the packages still import.
# Entries whose requirements file does not exist are skipped.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

# venv directory | requirements file | modules that must import afterwards
venvs=(
  ".venv|tests/interop/python/requirements.txt|openagentio nats"
  ".venv-mcp|tests/bridges/mcp/python/requirements.txt|mcp"
  ".venv-matrix|tests/bridges/matrix/python/requirements.txt|synapse"
  ".venv-sse|tests/bridges/sse/python/requirements.txt|litellm"
)

python_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

imports_ok() {  # venv_python "mod1 mod2"
  local code="" m
  for m in $2; do code+="import $m;"; done
  "$1" -c "$code" 2>/dev/null
}

setup_one() {  # venv_dir requirements_file modules
  local venv="$repo/$1" requirements="$repo/$2" modules="$3"
  local stamp="$venv/.oaio-requirements.stamp"
  [[ -f "$requirements" ]] || return 0
  if [[ -x "$venv/bin/python" ]] && python_ok "$venv/bin/python" && cmp -s "$requirements" "$stamp" &&
     imports_ok "$venv/bin/python" "$modules"; then
    echo "setup_python: $1 is up to date"
    return 0
  fi
  if ! [[ -x "$venv/bin/python" ]] || ! python_ok "$venv/bin/python"; then
    if ! command -v "$python" >/dev/null; then
      echo "setup_python: '$python' not found; install Python >= 3.11 (Debian: apt-get install python3 python3-venv)" >&2
      exit 1
    fi
    if ! python_ok "$python"; then
      echo "setup_python: $("$python" --version 2>&1) is too old; Python >= 3.11 is needed" >&2
      exit 1
    fi
    # A venv whose interpreter vanished (e.g. a removed pyenv version) is rebuilt.
    rm -rf "$venv"
    echo "setup_python: creating $1 with $("$python" --version 2>&1)"
    if ! "$python" -m venv "$venv"; then
      rm -rf "$venv"
      echo "setup_python: '$python -m venv' failed (Debian: apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
  rm -f "$stamp"
  echo "setup_python: installing into $1: $(grep -v '^#' "$requirements" | xargs)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  if ! imports_ok "$venv/bin/python" "$modules"; then
    echo "setup_python: $1 installed but '$modules' does not import" >&2
    exit 1
  fi
  cp "$requirements" "$stamp"
  echo "setup_python: $1 is ready"
}

for entry in "${venvs[@]}"; do
  IFS='|' read -r dir req mods <<< "$entry"
  setup_one "$dir" "$req" "$mods"
done
