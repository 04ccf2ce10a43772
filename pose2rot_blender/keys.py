"""Writing keyframes in bulk on every supported Blender version.

4.2/4.3 keep F-curves on ``action.fcurves``; 4.4+ (and 5.0, which removed ``action.fcurves``) keep
them in a channelbag of a keyframe strip on a layer, per action slot. :class:`ActionWriter` creates a
new action for an object and hides that difference; every channel is written with
``keyframe_points.add`` + ``foreach_set`` (never ``keyframe_insert``), interpolation LINEAR.
"""
from __future__ import annotations

import bpy
import numpy as np

#: enum value of 'LINEAR' in ``Keyframe.interpolation`` (foreach_set takes the integer)
_LINEAR = 1


def has_layered_actions() -> bool:
    return bpy.app.version >= (4, 4, 0)


def object_fcurves(obj: bpy.types.Object) -> list:
    """F-curves that animate ``obj`` through its active action (and slot on 4.4+)."""
    ad = obj.animation_data
    action = ad.action if ad else None
    if action is None:
        return []
    if not has_layered_actions():
        return list(action.fcurves)
    slot = ad.action_slot
    if slot is None:
        return []
    out = []
    for layer in action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(slot)
            if bag is not None:
                out.extend(bag.fcurves)
    return out


class ActionWriter:
    """A new action assigned to ``obj`` (the previous one is left as it is) plus bulk channel writes."""

    def __init__(self, obj: bpy.types.Object, name: str):
        ad = obj.animation_data or obj.animation_data_create()
        self.action = bpy.data.actions.new(name)
        self.curves = []
        if has_layered_actions():
            slot = self.action.slots.new(id_type='OBJECT', name=obj.name)
            ad.action = self.action
            ad.action_slot = slot
            strip = self.action.layers.new("Layer").strips.new(type='KEYFRAME')
            self._bag = strip.channelbag(slot, ensure=True)
        else:
            ad.action = self.action
            self._bag = None

    @property
    def fcurves(self):
        """The F-curves of the new action's channels (``action.fcurves``, a channelbag's on 4.4+)."""
        return self.action.fcurves if self._bag is None else self._bag.fcurves

    def _new_fcurves(self, path: str, count: int, group: str) -> list:
        """F-curves ``path[0..count-1]`` in the channel group ``group``."""
        if self._bag is None:
            return [self.fcurves.new(path, index=c, action_group=group) for c in range(count)]
        grp = self._bag.groups.get(group) or self._bag.groups.new(group)
        out = [self.fcurves.new(path, index=c) for c in range(count)]
        for fc in out:
            fc.group = grp
        return out

    def write_channels(self, path: str, group: str, frames: np.ndarray, values: np.ndarray) -> None:
        """Keys for channels ``path[0..C-1]``: frames [T], values [T,C]."""
        frames = np.asarray(frames, np.float32)
        values = np.asarray(values, np.float32)
        n = len(frames)
        co = np.empty(2 * n, np.float32)
        co[0::2] = frames
        interp = np.full(n, _LINEAR, np.int32)
        for c, fc in enumerate(self._new_fcurves(path, values.shape[1], group)):
            fc.keyframe_points.add(n)
            co[1::2] = values[:, c]
            fc.keyframe_points.foreach_set("co", co)
            fc.keyframe_points.foreach_set("interpolation", interp)
            self.curves.append(fc)

    def finish(self) -> bpy.types.Action:
        for fc in self.curves:
            fc.update()
        return self.action
