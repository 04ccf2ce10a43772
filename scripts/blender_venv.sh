#!/usr/bin/env bash
# Create (once) a Python 3.11 virtualenv with Blender as a module: blender_venv.sh VERSION VENV_DIR
# VERSION 4.2 installs bpy 4.2 LTS with numpy<2 (as Blender 4.2 ships); 5.0 installs bpy 5.0.
set -euo pipefail
version=${1:?usage: blender_venv.sh 4.2|5.0 VENV_DIR}
venv=${2:?usage: blender_venv.sh 4.2|5.0 VENV_DIR}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import bpy, pytest" 2>/dev/null; then
  source "$(dirname "${BASH_SOURCE[0]}")/python.sh"
  "$PY" -m venv "$venv"
  case "$version" in
    4.2) "$venv/bin/pip" install -q --disable-pip-version-check "bpy==4.2.*" "numpy<2" pytest ;;
    5.0) "$venv/bin/pip" install -q --disable-pip-version-check "bpy==5.0.*" pytest ;;
    *) echo "blender_venv.sh: unknown Blender version '$version' (use 4.2 or 5.0)" >&2; exit 2 ;;
  esac
fi
