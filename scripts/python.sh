# Sourced by the set-up scripts: PY is the Python 3.11 that every virtualenv is made from.
# Set PYTHON to choose it (default: python3.11, else python3 when that is 3.11).
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
  if ! command -v "$PY" >/dev/null 2>&1; then
    echo "pose2rot: PYTHON=$PYTHON: no such program; set PYTHON to a Python 3.11 interpreter" >&2
    exit 2
  fi
else
  PY=python3.11
  command -v "$PY" >/dev/null 2>&1 || PY=python3
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "pose2rot: needs Python 3.11 (the bpy wheels are built for it); set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
