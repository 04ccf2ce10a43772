"""Helpers for the real-Blender tests: clips, rigs, empties, reading poses in bulk."""
from __future__ import annotations

import importlib
from pathlib import Path

import bpy
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXT_NAME = "bl_ext.user_default.pose2rot"
empties = importlib.import_module(EXT_NAME + ".empties")
keys = importlib.import_module(EXT_NAME + ".keys")
CLIP_NAME = "cmu_08_01.bvh"


def clip_path() -> Path:
    """The dev clip: examples/ first, then the shared data folder; skip when neither has it."""
    for p in (ROOT / "examples" / CLIP_NAME, ROOT.parent / "shared" / "data" / "bvh" / CLIP_NAME):
        if p.is_file():
            return p
    pytest.skip(f"{CLIP_NAME} not found in examples/ or ../shared/data/bvh")


def import_clip(path: Path | None = None, frames: int | None = None) -> bpy.types.Object:
    """Blender's own BVH import; sets the scene range to the clip (or its first ``frames``)."""
    scene = bpy.context.scene
    assert bpy.ops.import_anim.bvh(filepath=str(path or clip_path()), update_scene_fps=True) == {'FINISHED'}
    obj = bpy.context.active_object
    last = int(round(obj.animation_data.action.frame_range[1]))
    scene.frame_start, scene.frame_end = 1, last if frames is None else min(last, frames)
    return obj


def scene_frames() -> np.ndarray:
    scene = bpy.context.scene
    return np.arange(scene.frame_start, scene.frame_end + 1)


def pose_points(obj: bpy.types.Object, frames: np.ndarray, attr: str = "head") -> np.ndarray:
    """World positions [T,N,3] of every pose bone's head (or tail), in pose.bones order."""
    scene = bpy.context.scene
    n = len(obj.pose.bones)
    buf = np.empty(3 * n, np.float32)
    mw = np.array(obj.matrix_world)
    out = np.empty((len(frames), n, 3))
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        obj.pose.bones.foreach_get(attr, buf)
        out[t] = buf.reshape(n, 3) @ mw[:3, :3].T + mw[:3, 3]
    return out


def basis_rotations(obj: bpy.types.Object, frames: np.ndarray) -> np.ndarray:
    """Pose-bone matrix_basis rotations [T,N,3,3] (pose.bones order)."""
    scene = bpy.context.scene
    n = len(obj.pose.bones)
    buf = np.empty(16 * n, np.float32)
    out = np.empty((len(frames), n, 3, 3))
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        obj.pose.bones.foreach_get("matrix_basis", buf)
        out[t] = buf.reshape(n, 4, 4).transpose(0, 2, 1)[:, :3, :3]
    return out


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c = (np.einsum("...ij,...ij->...", a, b) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def track_empties(src: bpy.types.Object, name: str = "tracks", ends: bool = True,
                  frames: np.ndarray | None = None) -> bpy.types.Collection:
    """Empties keyed at ``src``'s bone heads (and leaf tails as ``<bone>_end``) over the scene range."""
    scene = bpy.context.scene
    frames = scene_frames() if frames is None else frames
    heads = pose_points(src, frames, "head")
    names = [pb.name for pb in src.pose.bones]
    pts, labels = [heads], list(names)
    if ends:
        leaves = [i for i, pb in enumerate(src.pose.bones) if not pb.children]
        pts.append(pose_points(src, frames, "tail")[:, leaves])
        labels += [names[i] + "_end" for i in leaves]
    col = bpy.data.collections.new(name)
    scene.collection.children.link(col)
    empties.write_empties(col, labels, np.concatenate(pts, axis=1), int(frames[0]), 1.0)
    return col


def rest_copy(src: bpy.types.Object, name: str = "Rig") -> bpy.types.Object:
    """An unanimated copy of ``src`` (own armature data), active and selected."""
    obj = bpy.data.objects.new(name, src.data.copy())
    bpy.context.scene.collection.objects.link(obj)
    obj.matrix_world = src.matrix_world.copy()
    bpy.context.view_layer.objects.active = obj
    bpy.context.view_layer.update()                     # builds obj.pose
    return obj


def action_fcurves(action: bpy.types.Action) -> list:
    """Every F-curve of ``action``: its own list before Blender 4.4, its layers' channelbags' after."""
    if not keys.LAYERED_ACTIONS:
        return list(action.fcurves)
    return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves]


def action_fingerprint(action: bpy.types.Action) -> dict:
    """data_path/index -> keyframe co array, for 'unchanged' checks."""
    out = {}
    for fc in action_fcurves(action):
        co = np.empty(2 * len(fc.keyframe_points), np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(fc.data_path, fc.array_index)] = co
    return out


def scene_state() -> tuple:
    """Counts and assignments that a failed solve must leave as they were."""
    return (len(bpy.data.actions), sorted(o.name for o in bpy.data.objects),
            [(o.name, o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
             for o in bpy.data.objects], bpy.context.scene.frame_current)


def fails_cleanly(match: str, **kwargs) -> None:
    """Solve Rotations fails with one line matching ``match`` and changes nothing."""
    before = scene_state()
    with pytest.raises(RuntimeError, match=match) as err:
        bpy.ops.pose2rot.solve_rotations(**kwargs)
    message = str(err.value).strip().splitlines()
    assert len(message) == 1, message
    assert scene_state() == before


def world_heads(obj: bpy.types.Object, frames: np.ndarray) -> np.ndarray:
    """Like :func:`pose_points` (heads) but with the object's world matrix of every frame."""
    scene = bpy.context.scene
    n = len(obj.pose.bones)
    buf = np.empty(3 * n, np.float32)
    out = np.empty((len(frames), n, 3))
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        obj.pose.bones.foreach_get("head", buf)
        mw = np.array(obj.matrix_world)
        out[t] = buf.reshape(n, 3) @ mw[:3, :3].T + mw[:3, 3]
    return out
