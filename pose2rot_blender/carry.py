"""What a solve carries over from the action it replaces: the animation the tracks say nothing about.

A bone's rotation is solved from the tracks of the points below it (its children's empties, its
tip's, a bone map's sources); a bone with none keeps its reference rotation. Where the replaced
action animates such a bone (fingers keyed by hand under a tracked hand), that animation is carried
into the new action instead, and so is every channel the solve does not write: custom properties,
constraint influences, the armature object's own transform (the solve reads the armature where
that puts it, frame by frame, so the bones' keys are meant for it). The new action starts as a copy of the replaced one (keys, modifiers and
groups as they were) less the transforms of the bones the solve keys (keys.ActionWriter).
"""
from __future__ import annotations

import re

import bpy

from . import keys

#: pose-bone channels the solve writes (or resets) on the bones it solves
TRANSFORMS = ("location", "rotation_quaternion", "rotation_euler", "rotation_axis_angle", "scale")
_BONE_PATH = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]\.(\w+)$')


def bone_channel(data_path: str) -> tuple[str, str] | None:
    """(bone name, property) of a pose-bone property's F-curve path, else None (custom properties,
    constraints, the object's own channels)."""
    m = _BONE_PATH.match(data_path)
    if m is None:
        return None
    return re.sub(r'\\(.)', r'\1', m.group(1)), m.group(2)


def kept_bones(obj: bpy.types.Object, free_bones: set[str]) -> set[str]:
    """The bones of ``free_bones`` whose transforms ``obj``'s current action animates: they keep
    those channels, rotation mode included."""
    kept = set()
    for fc in keys.object_fcurves(obj):
        channel = bone_channel(fc.data_path)
        if channel is not None and channel[1] in TRANSFORMS and channel[0] in free_bones:
            kept.add(channel[0])
    return kept


def solved_channel(fc, kept: set[str]) -> bool:
    """Whether the F-curve ``fc`` of the replaced action is a transform of a bone the solve keys
    (every bone but the ``kept`` ones): the solve's own curve takes its place."""
    channel = bone_channel(fc.data_path)
    return channel is not None and channel[1] in TRANSFORMS and channel[0] not in kept


def carried_action(obj: bpy.types.Object, kept: set[str]) -> bpy.types.Action | None:
    """``obj``'s current action when it has F-curves the solve would not replace (see
    solved_channel; the new action then starts as its copy), else None (a fresh action: copying a
    solved clip only to remove every curve would cost as much as writing it)."""
    curves = keys.object_fcurves(obj)
    return obj.animation_data.action if any(not solved_channel(fc, kept) for fc in curves) else None

