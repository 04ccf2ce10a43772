#!/usr/bin/env bash
# Run every test: the headless core (with torch), then the extension in real Blender 4.2 LTS and 5.0.
# Creates the virtualenvs it needs (.venv, .venv-bpy42, .venv-bpy50) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_core.sh
.venv/bin/python -m pytest tests --ignore=tests/blender -q -p no:cacheprovider
status=0
for v in 4.2 5.0; do
  bash scripts/blender_tests.sh "$v" ".venv-bpy${v/./}" || status=1
done
exit $status
