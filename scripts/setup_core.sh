#!/usr/bin/env bash
# Create (once) the Python 3.11 virtualenv .venv with pose2rot-core and its test/learned extras.
# torch is pinned to 2.13.0 (the CPU build); pass --no-torch to skip the learned extras.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  source scripts/python.sh
  "$PY" -m venv .venv
fi
if [ "${1:-}" = "--no-torch" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e "core[dev]"
else
  .venv/bin/pip install -q --disable-pip-version-check -e "core[dev,learned]" "torch==2.13.0"
fi
