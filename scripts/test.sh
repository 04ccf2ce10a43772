#!/usr/bin/env bash
# Run every test: the headless core (with torch), then the extension in real Blender 4.2 LTS and 5.0
# (each run whatever the others gave; the exit status fails if any did). Tests that need the
# development clips (../shared, not shipped) say so in the skip summary (-rs).
# Creates the virtualenvs it needs (.venv, .venv-bpy42, .venv-bpy50) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_core.sh
status=0
echo "== core"
.venv/bin/python -m pytest tests --ignore=tests/blender -q -rs -p no:cacheprovider || status=1
for v in 4.2 5.0; do
  echo "== Blender $v"
  bash scripts/blender_tests.sh "$v" ".venv-bpy${v/./}" -rs || status=1
done
exit $status
