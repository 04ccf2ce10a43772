"""The batch entry point, run as a script under the bpy module in a fresh process."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import bpy
import numpy as np

from blender_helpers import EXT_NAME, clip_path, import_clip, rest_copy
from pose2rot_core.bvh import read_bvh
from pose2rot_core.tracks_io import save_tracks, tracks_from_bvh

BATCH = Path(importlib.import_module(EXT_NAME).__file__).parent / "batch.py"


def _run(*args):
    return subprocess.run([sys.executable, str(BATCH), *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)


def _rig_file(tmp_path: Path) -> Path:
    src = import_clip()
    rest_copy(src, "Rig")
    bpy.data.objects.remove(src)
    path = tmp_path / "rig.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    return path


def test_batch_converts_a_folder(tmp_path):
    rig = _rig_file(tmp_path)
    clip = read_bvh(clip_path())
    tracks = tracks_from_bvh(clip)
    clips = tmp_path / "clips"
    clips.mkdir()
    save_tracks(clips / "a.npz", tracks.frames(0, 30))
    save_tracks(clips / "b.npz", replace(tracks.frames(30, 50)))
    out = tmp_path / "out"
    proc = _run("--rig", rig, clips, "--out", out, "--bvh")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "a.npz: 43 bones x 30 frames" in proc.stdout
    assert {p.name for p in out.iterdir()} == {"a.blend", "a.bvh", "b.blend", "b.bvh"}
    exported = read_bvh(out / "b.bvh")                   # Blender's exporter writes Blender (Z-up) axes
    assert exported.num_frames == 20
    order = [exported.skeleton.names.index(n) for n in clip.skeleton.names]
    height = clip.skeleton.height
    C = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    err = np.abs(exported.fk()[:, order] - clip.fk()[30:50] @ C.T).max() / height
    assert err < 1e-4, err
    bpy.ops.wm.open_mainfile(filepath=str(out / "a.blend"))
    assert bpy.data.objects["Rig"].animation_data.action.get("pose2rot")


def test_batch_bad_input_exits_with_one_line(tmp_path):
    rig = _rig_file(tmp_path)
    proc = _run("--rig", rig, tmp_path / "missing.npz", "--out", tmp_path / "out")
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("pose2rot batch: error: tracks file") and "does not exist" in lines[-1]
    proc = _run(tmp_path / "missing.npz")
    assert proc.returncode == 2 and "--out" in proc.stderr.strip().splitlines()[-1]
