#!/usr/bin/env bash
# Run the real-Blender tests with the bpy module of one Blender version.
#   scripts/blender_tests.sh 4.2 .venv-bpy42      (or: 5.0 .venv-bpy50)
# Creates the venv when missing (Python 3.11: bpy wheels are cp311-only), builds the extension zip
# with that venv's python (Blender's extension tool ships inside the bpy module), runs tests/blender.
set -euo pipefail
VERSION="${1:?usage: scripts/blender_tests.sh 4.2|5.0 VENV_DIR [pytest args...]}"
VENV="${2:?usage: scripts/blender_tests.sh 4.2|5.0 VENV_DIR [pytest args...]}"
shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ ! -x "$VENV/bin/python" ]; then
  PY311="${PYTHON311:-python3.11}"
  "$PY311" -m venv "$VENV"
  case "$VERSION" in
    4.2) "$VENV/bin/pip" install -q "bpy==4.2.*" "numpy<2" pytest ;;
    *)   "$VENV/bin/pip" install -q "bpy==${VERSION}.*" pytest ;;
  esac
fi
"$VENV/bin/python" -c "import bpy, sys; v = bpy.app.version; want = tuple(map(int, '$VERSION'.split('.'))); \
sys.exit(0 if v[:2] == want else f'{sys.argv[0]}: venv has bpy {v}, expected $VERSION')"

"$VENV/bin/python" build.py
"$VENV/bin/python" -m pytest tests/blender -q "$@"
