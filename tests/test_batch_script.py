"""pose2rot_blender/batch.py started with a Python that has no bpy module (the core's venv, a system
Python): one line saying how to run it, never a traceback."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BATCH = ROOT / "pose2rot_blender" / "batch.py"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("bpy") is not None,
                                reason="this Python has bpy (tests/blender run the batch with it)")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BATCH), *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


def test_without_bpy_the_batch_says_how_to_run_it(tmp_path):
    proc = _run("examples/arm.bvh", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pose2rot batch: error: ") and "bpy" in lines[0]
    assert "blender -b" in lines[0]
    assert not (tmp_path / "out").exists()


def test_help_without_bpy_describes_the_batch():
    proc = _run("--help")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "--extension-zip" in proc.stdout and "--rig" in proc.stdout and "bpy" in proc.stdout
