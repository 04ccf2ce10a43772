#!/usr/bin/env bash
# The main job on the shipped CMU clip: joint positions -> rotations with the command line
# (accuracy printed), then the same in Blender (bpy 4.2 LTS as a module): build and install the
# extension from its zip, solve the clip's tracks onto its armature, save out/demo.blend.
set -euo pipefail
case "${1:-}" in
  ""|--no-blender) ;;
  *) echo "usage: bash scripts/demo.sh [--no-blender]   (set PYTHON=/path/to/python3.11 to choose the Python)"; exit 2 ;;
esac
cd "$(dirname "$0")/.."
mkdir -p out
bash scripts/setup_core.sh --no-torch
CLIP=examples/cmu_08_01.bvh
echo "== command line: round trip of $CLIP (FK positions -> solve -> compare with the clip's rotations)"
.venv/bin/pose2rot eval "$CLIP" --protocol both
.venv/bin/pose2rot tracks "$CLIP" --out out/cmu_08_01_tracks.npz
.venv/bin/pose2rot solve out/cmu_08_01_tracks.npz --out out/cmu_08_01_solved.bvh
if [ "${1:-}" != "--no-blender" ]; then
  echo "== Blender 4.2 (bpy module): Solve Rotations from the extension zip"
  bash scripts/blender_venv.sh 4.2 .venv-bpy42
  .venv-bpy42/bin/python build.py
  .venv-bpy42/bin/python examples/blender_demo.py
  echo "== next: install dist/pose2rot-0.1.0.zip in Blender (Edit > Preferences > Get Extensions > Install from Disk),"
  echo "   open out/demo.blend, Sidebar (N) > pose2rot > Solve Rotations (README: Blender quick start)"
fi
