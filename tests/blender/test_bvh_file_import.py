"""Blender's own BVH importer (io_anim_bvh) reads what pose2rot_core.bvh reads and writes.

Independent check of the Euler convention (Blender reads the original file) and of the written
layout (Blender reads our file): bone heads must match our FK in every checked frame.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
import pytest

from pose2rot_core.bvh import read_bvh, write_bvh

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cmu_08_01.bvh"  # mixed ZYX / ZXY orders


def _blender_heads(path: Path, names: tuple[str, ...], frames: list[int]) -> np.ndarray:
    """World bone heads [F,J,3] after Blender's importer, in BVH axes (Blender x, z, -y)."""
    bpy.ops.import_anim.bvh(filepath=str(path), update_scene_fps=False, update_scene_duration=True)
    arm = next(o for o in bpy.context.selected_objects if o.type == "ARMATURE")
    out = np.empty((len(frames), len(names), 3))
    for i, t in enumerate(frames):
        bpy.context.scene.frame_set(t + 1)  # the importer keys frame 0 of the file at scene frame 1
        for j, n in enumerate(names):
            h = arm.matrix_world @ arm.pose.bones[n].head
            out[i, j] = (h.x, h.z, -h.y)
    return out


@pytest.mark.parametrize("rewrite", [False, True], ids=["original", "written_by_write_bvh"])
def test_blender_importer_matches_our_fk(tmp_path, rewrite):
    clip = read_bvh(EXAMPLE)
    path = EXAMPLE
    if rewrite:
        path = tmp_path / "rewritten.bvh"
        write_bvh(path, clip.skeleton, clip.rotations, clip.root_translation, clip.local_offsets,
                  clip.has_position_channels, clip.fps, "YZX", clip.end_parents, clip.end_offsets)
    frames = [0, clip.num_frames // 2, clip.num_frames - 1]
    heads = _blender_heads(path, clip.skeleton.names, frames)
    err = np.abs(heads - clip.fk()[frames]).max() / clip.skeleton.height
    assert err < 1e-5, err
