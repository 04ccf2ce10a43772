"""Reading and writing point tracks as empties (bulk F-curve access where possible).

Reading: an object whose world location is simply its own ``location`` (no parent, no constraints,
no delta location, no drivers or NLA, plain unmuted F-curves without modifiers) is read straight
from its F-curves: keys on every requested frame are taken in bulk with ``foreach_get``, other
curves are evaluated with ``FCurve.evaluate``. Everything else is read in one pass over the frames
(``frame_set`` once per frame, then ``matrix_world`` of every such object); the scene frame is
restored afterwards.
"""
from __future__ import annotations

from typing import Sequence

import bpy
import numpy as np

from . import keys


def _location_curves(obj: bpy.types.Object):
    """The object's location F-curves as a list of 3 (None = channel not animated), or None when
    its world location is not simply its ``location`` channels."""
    if obj.parent is not None or len(obj.constraints) or any(abs(v) > 0 for v in obj.delta_location):
        return None
    ad = obj.animation_data
    if ad is None:
        return [None, None, None]
    if len(ad.drivers) or any(not t.mute for t in ad.nla_tracks):
        return None
    if ad.action is None:
        return [None, None, None]
    if getattr(ad, "action_influence", 1.0) != 1.0 or getattr(ad, "action_blend_type", "REPLACE") != 'REPLACE':
        return None
    out = [None, None, None]
    for fc in keys.object_fcurves(obj):
        if fc.data_path == "delta_location":
            return None
        if fc.data_path != "location":
            continue
        if fc.mute or len(fc.modifiers) or not 0 <= fc.array_index < 3:
            return None
        out[fc.array_index] = fc
    return out


def _curve_values(fc, frames: np.ndarray) -> np.ndarray:
    n = len(fc.keyframe_points)
    if n:
        co = np.empty(2 * n, np.float32)
        fc.keyframe_points.foreach_get("co", co)
        x, y = co[0::2].astype(np.float64), co[1::2].astype(np.float64)
        idx = np.clip(np.searchsorted(x, frames), 0, n - 1)
        if np.all(x[idx] == frames) and np.all(np.diff(x) > 0):
            return y[idx]
    return np.array([fc.evaluate(float(f)) for f in frames], np.float64)


def _all_curve_values(curves: list, frames: np.ndarray) -> np.ndarray:
    """Values [C,T] of F-curves at ``frames`` [T]. Curves with the same number of keys are read into
    one buffer and, when they have keys on all of ``frames`` (the usual case), taken from it at
    once; the others go through :func:`_curve_values`."""
    want = frames.astype(np.float32)
    out = np.empty((len(curves), len(frames)), np.float64)
    counts = np.array([len(fc.keyframe_points) for fc in curves], np.int64)
    left = np.ones(len(curves), bool)
    for n in np.unique(counts[counts >= len(frames)]):
        ks = np.flatnonzero(counts == n)
        co = np.empty((len(ks), 2 * n), np.float32)
        for row, k in zip(co, ks):
            curves[k].keyframe_points.foreach_get("co", row)
        x = co[:, 0::2]
        idx = np.clip(np.searchsorted(x[0], want), 0, n - 1)
        hit = (x[:, idx] == want).all(axis=1) & (np.diff(x, axis=1) > 0).all(axis=1)
        out[ks[hit]] = co[hit, 1::2][:, idx]
        left[ks[hit]] = False
    for k in np.flatnonzero(left):
        out[k] = _curve_values(curves[k], frames)
    return out


def read_world_positions(scene: bpy.types.Scene, objects: Sequence[bpy.types.Object],
                         frames: np.ndarray) -> np.ndarray:
    """World locations [T,N,3] of ``objects`` at integer scene ``frames`` [T]."""
    frames = np.asarray(frames, np.float64)
    out = np.empty((len(frames), len(objects), 3), np.float64)
    slow, animated, curves = [], [], []
    for i, obj in enumerate(objects):
        found = _location_curves(obj)
        if found is None:
            slow.append(i)
            continue
        for c, fc in enumerate(found):
            if fc is None:
                out[:, i, c] = obj.location[c]
            else:
                animated.append((i, c))
                curves.append(fc)
    if curves:
        i, c = np.array(animated).T
        out[:, i, c] = _all_curve_values(curves, frames).T
    if slow:
        current = (scene.frame_current, scene.frame_subframe)
        try:
            for t, f in enumerate(frames):
                scene.frame_set(int(f))
                for i in slow:
                    out[t, i] = objects[i].matrix_world.translation
        finally:
            scene.frame_set(current[0], subframe=current[1])
    return out


def write_empties(collection: bpy.types.Collection, names: Sequence[str], positions: np.ndarray,
                  frame_start: int, size: float) -> list[bpy.types.Object]:
    """Create one empty per name in ``collection`` with location keys [T,N,3] from ``frame_start``."""
    T = positions.shape[0]
    frames = np.arange(frame_start, frame_start + T, dtype=np.float64)
    made = []
    for i, name in enumerate(names):
        obj = bpy.data.objects.new(name, None)
        obj.empty_display_type = 'SPHERE'
        obj.empty_display_size = size
        collection.objects.link(obj)
        p = positions[:, i]
        finite = np.isfinite(p).all(axis=1)
        obj.location = p[np.argmax(finite)] if finite.any() else (0.0, 0.0, 0.0)
        if finite.any():
            writer = keys.ActionWriter(obj, f"{name}_track")
            writer.write_channels("location", "Location", frames[finite], p[finite])
            writer.finish()
        made.append(obj)
    return made
