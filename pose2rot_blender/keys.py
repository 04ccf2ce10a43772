"""Writing keyframes in bulk on every supported Blender version.

4.2/4.3 keep F-curves on ``action.fcurves``; 4.4+ (and 5.0, which removed ``action.fcurves``) keep
them in a channelbag of a keyframe strip on a layer, per action slot. :class:`ActionWriter` creates a
new action for an object and hides that difference; every channel is written with
``keyframe_points.add`` + ``foreach_set`` (never ``keyframe_insert``), interpolation LINEAR (BEZIER
where asked).
"""
from __future__ import annotations

import bpy
import numpy as np

#: 'LINEAR' in ``Keyframe.interpolation``, written from a uint8 buffer: foreach_set copies that
#: straight into the keys (Blender stores the enum in one byte) and converts any other buffer key by
#: key, about 8x slower
_LINEAR = 1
#: 'BEZIER', the same way
BEZIER = 2


def key_points(fc) -> tuple[np.ndarray, np.ndarray]:
    """(frames [n], values [n]) of the keys of F-curve ``fc``, read in bulk (float32, as Blender
    stores them, widened to float64)."""
    co = np.empty(2 * len(fc.keyframe_points), np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co[0::2].astype(np.float64), co[1::2].astype(np.float64)


def muted(fc) -> bool:
    """Whether F-curve ``fc`` is muted, itself or through its channel group (which Blender 4.2 honours)."""
    return fc.mute or (fc.group is not None and fc.group.mute)


#: 4.4+ keep F-curves in layered actions (slots, layers, keyframe strips, channelbags)
LAYERED_ACTIONS = bpy.app.version >= (4, 4, 0)


def object_fcurves(obj: bpy.types.Object) -> list:
    """F-curves that animate ``obj`` through its active action (and slot on 4.4+)."""
    ad = obj.animation_data
    action = ad.action if ad is not None else None
    return [] if action is None else action_fcurves(action, ad)


def action_fcurves(action: bpy.types.Action, ad: bpy.types.AnimData) -> list:
    """F-curves of ``action`` that animate through ``ad`` (its active slot's on 4.4+)."""
    return _slot_fcurves(action, getattr(ad, "action_slot", None))


def nla_fcurves(ad: bpy.types.AnimData | None) -> list:
    """F-curves of the actions of ``ad``'s NLA strips that play (not muted, nor on a muted track;
    inside meta strips too), each through its strip's slot on 4.4+."""
    out = []
    strips = [s for track in (ad.nla_tracks if ad is not None else ()) if not track.mute for s in track.strips]
    while strips:
        strip = strips.pop()
        if not strip.mute:
            strips += list(strip.strips)
            if strip.action is not None:
                out += _slot_fcurves(strip.action, getattr(strip, "action_slot", None))
    return out


def _slot_fcurves(action: bpy.types.Action, slot) -> list:
    """F-curves of ``action`` (through ``slot`` on 4.4+, where None animates nothing)."""
    if not LAYERED_ACTIONS:
        return list(action.fcurves)
    if slot is None:
        return []
    out = []
    for layer in action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(slot)
            if bag is not None:
                out += bag.fcurves
    return out


class ActionWriter:
    """A new action assigned to ``obj`` (the previous one is left as it is) plus bulk channel writes.

    With ``base`` (the action being replaced) the new action starts as a copy of it, less the
    F-curves ``drop`` picks: what it keeps stays exactly as it was (keys, modifiers, groups). On 4.4+
    the copy keeps only the slot ``obj`` plays: the slots (and keys) of the other objects that share
    ``base`` stay in ``base``, which they go on playing, and are not duplicated for ``obj``."""

    def __init__(self, obj: bpy.types.Object, name: str, base: bpy.types.Action | None = None, drop=None):
        ad = obj.animation_data or obj.animation_data_create()
        old_slot = getattr(ad, "action_slot", None)
        self.action = bpy.data.actions.new(name) if base is None else base.copy()
        self.action.name = name
        self.action.use_frame_range = self.action.use_cyclic = False  # the old clip's range: not the solve's
        if LAYERED_ACTIONS:
            slot = next((s for s in self.action.slots if old_slot is not None and s.identifier == old_slot.identifier),
                        None) or self.action.slots.new(id_type='OBJECT', name=obj.name)
            for other in [s for s in self.action.slots if s != slot]:   # other IDs play ``base``, not its copy
                self.action.slots.remove(other)
            ad.action = self.action
            ad.action_slot = slot
            if not self.action.layers:
                self.action.layers.new("Layer").strips.new(type='KEYFRAME')
            bags = [b for layer in self.action.layers for strip in layer.strips
                    for b in [strip.channelbag(slot)] if b is not None]
            self._bag = self.action.layers[0].strips[0].channelbag(slot, ensure=True)
            new = self._bag.fcurves.bl_rna.functions["new"]
            self._new_takes_group = "group_name" in new.parameters          # 5.0+
        else:
            ad.action = self.action
            self._bag = None
            self._new_takes_group = False
            bags = [self.action]
        for bag in bags if drop is not None else []:
            for fc in [fc for fc in bag.fcurves if drop(fc)]:
                bag.fcurves.remove(fc)

    def existing(self, pick) -> list:
        """The new action's F-curves (carried from ``base``) that ``pick`` selects."""
        return [fc for fc in self.fcurves if pick(fc)]

    @property
    def fcurves(self):
        """The F-curves of the new action's channels (``action.fcurves``, a channelbag's on 4.4+)."""
        return self.action.fcurves if self._bag is None else self._bag.fcurves

    def _new_fcurves(self, channels: list[tuple[str, int, str]]) -> list:
        """F-curves for ``channels`` (data path, array index, channel group), in that order: new ones,
        or those carried from ``base`` (keys outside the solved frames, see carry)."""
        carried = {(fc.data_path, fc.array_index): fc for fc in self.fcurves} if len(self.fcurves) else {}
        made = iter(self._created([ch for ch in channels if (ch[0], ch[1]) not in carried]))
        return [carried.get((path, c)) or next(made) for path, c, _ in channels]

    def _created(self, channels: list[tuple[str, int, str]]) -> list:
        """New F-curves for ``channels`` (data path, array index, channel group), in that order."""
        if self._bag is None:
            return [self.fcurves.new(path, index=c, action_group=group) for path, c, group in channels]
        if self._new_takes_group:
            return [self.fcurves.new(path, index=c, group_name=group) for path, c, group in channels]
        groups = {}
        out = []
        for path, c, group in channels:
            fc = self.fcurves.new(path, index=c)
            if group and group not in groups:
                groups[group] = self._bag.groups.get(group) or self._bag.groups.new(group)
            if group:
                fc.group = groups[group]
            out.append(fc)
        return out

    def write_curves(self, channels: list[tuple[str, int, str]], frames: np.ndarray, values: np.ndarray,
                     interpolation: int = _LINEAR, progress=None) -> None:
        """Keys for ``channels`` (data path, array index, channel group) [C]: frames [T], values [T,C];
        one ``add``, two ``foreach_set`` (co, interpolation) and ``update()`` (sorts the keys, sets the
        handles) per curve, the update right after the curve's keys are written, while they are still
        in the processor's cache (updating every curve at the end cost about 7 % more on long clips).
        ``progress(fraction, message)`` hears of every twentieth of the curves written."""
        n = len(frames)
        co = np.empty((len(channels), n, 2), np.float32)
        co[:, :, 0] = frames
        co[:, :, 1] = np.asarray(values).T
        linear = np.full(n, interpolation, np.uint8)
        step = max(1, len(channels) // 20)
        for i, (fc, keys_co) in enumerate(zip(self._new_fcurves(channels), co.reshape(len(channels), 2 * n))):
            if progress is not None and i % step == 0:
                progress(i / len(channels), f"writing keys: {i}/{len(channels)} curves")
            points = fc.keyframe_points
            if len(points):                   # carried keys outside the solved frames: kept as they are
                append_keys(points, keys_co, linear)
            else:
                points.add(n)
                points.foreach_set("co", keys_co)
                points.foreach_set("interpolation", linear)
            fc.update()

    def write_channels(self, path: str, group: str, frames: np.ndarray, values: np.ndarray,
                       interpolation: int = _LINEAR) -> None:
        """Keys for channels ``path[0..C-1]`` in channel group ``group``: frames [T], values [T,C]."""
        self.write_curves([(path, c, group) for c in range(values.shape[1])], frames, values, interpolation)


def append_keys(points, keys_co: np.ndarray, interpolation: np.ndarray) -> None:
    """Add keys (``keys_co`` [2n] frame, value pairs; ``interpolation`` [n] uint8) after the existing
    ``points``, whose own values stay as they are (foreach_set writes every key of a curve at once)."""
    m, n = len(points), len(interpolation)
    co, mode = np.empty(2 * (m + n), np.float32), np.empty(m + n, np.uint8)
    points.foreach_get("co", co[:2 * m])
    points.foreach_get("interpolation", mode[:m])
    co[2 * m:], mode[m:] = keys_co, interpolation
    points.add(n)
    points.foreach_set("co", co)
    points.foreach_set("interpolation", mode)
