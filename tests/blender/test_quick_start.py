"""The README's Blender quick start, step by step in bpy: the extension installed from the built zip into
an isolated user folder (conftest), the demo file made by the demo script, opened, and Solve Rotations
run with the panel's settings."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import bpy
import numpy as np

from blender_helpers import EXT_NAME, ROOT, pose_points, scene_frames

panel = importlib.import_module(EXT_NAME + ".panel")


def test_demo_file_solves_from_the_panel(tmp_path):
    demo = tmp_path / "demo.blend"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "blender_demo.py"), "--out", str(demo)],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"saved {demo}" in proc.stdout
    installed = Path(importlib.import_module(EXT_NAME).__file__)
    assert installed.is_relative_to(os.environ["BLENDER_USER_RESOURCES"])          # isolated user folder
    bpy.ops.wm.open_mainfile(filepath=str(demo))
    scene = bpy.context.scene
    rig, tracks = scene.pose2rot.armature, scene.pose2rot.tracks
    assert rig is not None and rig.name == "Rig" and tracks is not None and tracks.name == "tracks"
    assert rig.animation_data is None or rig.animation_data.action is None          # at rest until solved
    args = panel.solve_arguments(bpy.context)
    assert args["armature"] == "Rig" and args["tracks_collection"] == "tracks"
    assert (args["frame_start"], args["frame_end"]) == (1, 268)
    assert bpy.ops.pose2rot.solve_rotations(**args) == {'FINISHED'}
    assert rig.animation_data.action.name == "Rig_pose2rot"
    frames = scene_frames()[::20]
    clip = next(o for o in bpy.data.objects if o.type == 'ARMATURE' and o is not rig)
    offset = np.array(clip.matrix_world.translation)
    want = pose_points(clip, frames) - offset                 # the clip stands aside: compare poses
    got = pose_points(rig, frames) - np.array(rig.matrix_world.translation)
    height = np.ptp(want.reshape(-1, 3), axis=0).max()
    assert 100 * np.abs(got - want).max() / height < 0.01
