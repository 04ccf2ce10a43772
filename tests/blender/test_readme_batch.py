"""The README's batch command, run as written (with this test's bpy Python) on the shipped examples."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys

from blender_helpers import ROOT
from pose2rot_core.bvh import read_bvh

VENV_PYTHON = ".venv-bpy42/bin/python "


def readme_batch_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.startswith(VENV_PYTHON + "pose2rot_blender/batch.py")]


def test_readme_batch_command(tmp_path):
    commands = readme_batch_commands()
    assert len(commands) == 1
    for name in ("examples", "dist", "pose2rot_blender"):
        (tmp_path / name).symlink_to(ROOT / name)
    argv = shlex.split(commands[0][len(VENV_PYTHON):])
    proc = subprocess.run([sys.executable, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / argv[argv.index("--out") + 1]
    clips = [a for a in argv if a.startswith("examples/")]
    for clip in clips:
        stem = clip.rsplit("/", 1)[-1][:-4]
        assert (out / f"{stem}.blend").is_file()
        assert read_bvh(out / f"{stem}.bvh").orders == read_bvh(ROOT / clip).orders
    assert f"{len(clips)} of {len(clips)} clips converted" in proc.stdout
