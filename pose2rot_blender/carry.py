"""What a solve carries over from the action it replaces: the animation the tracks say nothing about.

A bone's rotation is solved from the tracks of the points below it (its children's empties, its
tip's, a bone map's sources); a bone with none keeps its reference rotation. Where the replaced
action animates such a bone (fingers keyed by hand under a tracked hand), that animation is carried
into the new action instead, and so is every channel the solve does not write: custom properties,
constraint influences, the armature object's own transform (the solve reads the armature where
that puts it, frame by frame, so the bones' keys are meant for it). The new action starts as a copy
of the replaced one (keys, modifiers and groups as they were) less the transforms of the bones the
solve keys (keys.ActionWriter). A solve of part of the shot replaces those bones' keys over its
frames only: their keys before and after stay.
"""
from __future__ import annotations

import re

import bpy
import numpy as np

from .keys import key_points

#: pose-bone channels the solve writes (or resets) on the bones it solves
TRANSFORMS = ("location", "rotation_quaternion", "rotation_euler", "rotation_axis_angle", "scale")
_BONE_PATH = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]\.(\w+)$')


def transform_bone(data_path: str) -> str | None:
    """The bone whose transform (TRANSFORMS) an F-curve path animates, else None (custom properties,
    constraints, the object's own channels)."""
    m = _BONE_PATH.match(data_path)
    return re.sub(r'\\(.)', r'\1', m.group(1)) if m is not None and m.group(2) in TRANSFORMS else None


def kept_bones(curves: list, free_bones: set[str]) -> set[str]:
    """The bones of ``free_bones`` whose transforms the F-curves ``curves`` (the armature's current
    action's) animate: they keep those channels, rotation mode included."""
    return {bone for bone in (transform_bone(fc.data_path) for fc in curves) if bone in free_bones}


def solved_channel(fc, kept: set[str]) -> bool:
    """Whether the F-curve ``fc`` of the replaced action is a transform of a bone the solve keys
    (every bone but the ``kept`` ones): the solve's own keys take its place over the solved frames."""
    bone = transform_bone(fc.data_path)
    return bone is not None and bone not in kept


def keyed_outside(fc, first: float, last: float) -> bool:
    """Whether the F-curve ``fc`` has keys before frame ``first`` or after ``last`` (a solve of part
    of the shot keeps them). Blender keeps a curve's keys in time order (keyframe_insert and
    FCurve.update sort them), so the first and the last tell: every solved curve of a re-solve is
    asked, and reading all their keys cost about 20 ms on 700 curves of 300 keys."""
    points = fc.keyframe_points
    return len(points) > 0 and (points[0].co[0] < first - 1e-3 or points[-1].co[0] > last + 1e-3)


def _within(fc, first: float, last: float) -> np.ndarray:
    """[n] whether each key of the F-curve ``fc`` lies from frame ``first`` to ``last``."""
    frames = key_points(fc)[0]
    return (frames >= first - 1e-3) & (frames <= last + 1e-3)


def replaced(fc, kept: set[str], first: float, last: float) -> bool:
    """Whether the solve replaces the F-curve ``fc`` whole: a solved channel with no keys outside the
    solved frames ``first``..``last``."""
    return solved_channel(fc, kept) and not keyed_outside(fc, first, last)


def carried_action(obj: bpy.types.Object, curves: list, kept: set[str], first: float, last: float
                   ) -> bpy.types.Action | None:
    """``obj``'s current action when some of its F-curves ``curves`` are not replaced whole by the
    solve of frames ``first``..``last`` (see replaced; the new action then starts as its copy), else
    None (a fresh action: copying a solved clip only to remove every curve would cost as much as
    writing it)."""
    return obj.animation_data.action if any(not replaced(fc, kept, first, last) for fc in curves) else None


def clear_frames(fc, first: float, last: float) -> None:
    """Remove the keys of ``fc`` from frame ``first`` to ``last`` (the solve writes its own there)."""
    points = fc.keyframe_points
    for k in np.flatnonzero(_within(fc, first, last))[::-1]:
        points.remove(points[int(k)], fast=True)
