#!/usr/bin/env bash
# Creates or updates the virtualenv <repo>/.venv that the interop tests
# (tests/interop/python_sdk_interop_test.cc) run the reference Python SDK from.
#
#   scripts/setup_python.sh            # idempotent; quick when nothing changed
#   PYTHON=python3.12 scripts/setup_python.sh
#
# Needs Python >= 3.11 with the venv module (Debian 12: apt-get install python3-venv)
# and access to PyPI. The installed pins live in tests/interop/python/requirements.txt;
# a stamp file inside the venv records what was installed, so a second run only checks
# that the stamp still matches and the packages still import.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
requirements="$repo/tests/interop/python/requirements.txt"
stamp="$venv/.oaio-requirements.stamp"
python="${PYTHON:-python3}"

venv_works() {
  [[ -x "$venv/bin/python" ]] &&
    "$venv/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

if venv_works && cmp -s "$requirements" "$stamp" &&
   "$venv/bin/python" -c 'import openagentio, nats' 2>/dev/null; then
  echo "setup_python: $venv is up to date"
  exit 0
fi

if ! venv_works; then
  if ! command -v "$python" >/dev/null; then
    echo "setup_python: '$python' not found; install Python >= 3.11 (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
  fi
  if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "setup_python: $("$python" --version 2>&1) is too old; openagentio 0.3.0 needs Python >= 3.11" >&2
    exit 1
  fi
  # A venv whose interpreter vanished (e.g. a removed pyenv version) is rebuilt.
  rm -rf "$venv"
  echo "setup_python: creating $venv with $("$python" --version 2>&1)"
  if ! "$python" -m venv "$venv"; then
    rm -rf "$venv"
    echo "setup_python: '$python -m venv' failed (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
fi

rm -f "$stamp"
echo "setup_python: installing $(grep -v '^#' "$requirements" | xargs)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/python" -c 'import openagentio, nats'
cp "$requirements" "$stamp"
echo "setup_python: $venv is ready"
