#!/usr/bin/env bash
# Run the real-Blender tests with the bpy module of one Blender version.
#   scripts/blender_tests.sh 4.2 .venv-bpy42      (or: 5.0 .venv-bpy50)
# Creates the venv when missing (scripts/blender_venv.sh), builds the extension zip
# with that venv's python (Blender's extension tool ships inside the bpy module), runs tests/blender.
set -euo pipefail
VERSION="${1:?usage: scripts/blender_tests.sh 4.2|5.0 VENV_DIR [pytest args...]}"
VENV="${2:?usage: scripts/blender_tests.sh 4.2|5.0 VENV_DIR [pytest args...]}"
shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/blender_venv.sh "$VERSION" "$VENV"
"$VENV/bin/python" -c "import bpy, sys; v = bpy.app.version; want = tuple(map(int, '$VERSION'.split('.'))); \
sys.exit(0 if v[:2] == want else f'{sys.argv[0]}: venv has bpy {v}, expected $VERSION')"

"$VENV/bin/python" build.py
"$VENV/bin/python" -m pytest tests/blender -q "$@"
