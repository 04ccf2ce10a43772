"""Reading and writing point tracks as empties (bulk F-curve access where possible).

Reading: an object whose world location is simply its own ``location`` (no parent, no constraints,
no delta location, no drivers or NLA, plain unmuted F-curves without modifiers) is read straight
from its F-curves: keys on every requested frame are taken in bulk with ``foreach_get``, other
curves are evaluated with ``FCurve.evaluate``. Everything else is read in one pass over the frames
(``frame_set`` once per frame, then ``matrix_world`` of every such object); the scene frame is
restored afterwards. The same pass can also follow a moving armature. Every object read must be in
the view layer and evaluated (where Blender shows it: not only through a collection instance), and
the scene must play every action's frame at the same scene frame (no Time Stretching).
"""
from __future__ import annotations

from typing import Sequence

import bpy
import numpy as np

from pose2rot_core.errors import Pose2RotError

from . import keys


def _location_curves(obj: bpy.types.Object):
    """The object's location F-curves as a list of 3 (None = channel not animated), or None when
    its world location is not simply its ``location`` channels."""
    if obj.parent is not None or any(obj.delta_location):
        return None
    return _own_location_curves(obj)


def _own_location_curves(obj: bpy.types.Object, cycles: bool = False):
    """The object's location F-curves as a list of 3 (None = channel not animated), or None when
    anything else animates its ``location`` (constraints, drivers, NLA, blending, curve modifiers, muting,
    delta_location curves; with ``cycles``, a plain Cycles modifier is allowed: see _repeats); a
    parent may still place it. A curve without keys (FCurve.is_empty) animates nothing: Blender
    skips it, as it does here."""
    if len(obj.constraints):
        return None
    ad = obj.animation_data
    if ad is None:
        return [None, None, None]
    if len(ad.drivers) or any(not t.mute for t in ad.nla_tracks):
        return None
    action = ad.action
    if action is None:
        return [None, None, None]
    if ad.action_influence != 1.0 or ad.action_blend_type != 'REPLACE':
        return None
    out = [None, None, None]
    for fc in keys.action_fcurves(action, ad):
        path = fc.data_path
        if fc.is_empty:                                # no keys: Blender skips it, the channel keeps its value
            continue
        if path == "location":
            index = fc.array_index
            if keys.muted(fc) or not 0 <= index < 3 or (len(fc.modifiers) and not (cycles and _repeats(fc))):
                return None
            out[index] = fc
        elif path == "delta_location":
            return None
    return out


#: Cycles modes that repeat a curve's keys (shifted in value or not) before and after its range
_REPEATING = frozenset({'REPEAT', 'REPEAT_OFFSET'})


def _repeats(fc) -> bool:
    """Whether F-curve ``fc``'s only modifier is a Cycles modifier that repeats its keys without end
    on both sides, in full (a looping walk): its keys then fall on the same frames of every cycle."""
    if len(fc.modifiers) != 1:
        return False
    m = fc.modifiers[0]
    return (m.type == 'CYCLES' and not m.mute and not m.use_restricted_range and not m.use_influence
            and m.mode_before in _REPEATING and m.mode_after in _REPEATING and m.cycles_before == 0
            and m.cycles_after == 0)


def _keys_on(fc, frames: np.ndarray) -> np.ndarray:
    """[T] _set_on for F-curve ``fc`` at ``frames`` [T]; a repeating curve (_repeats) is read with
    each frame taken into its first cycle."""
    x = keys.key_points(fc)[0]
    if len(fc.modifiers) and len(x) > 1 and x[-1] > x[0]:
        frames = x[0] + np.mod(frames - x[0], x[-1] - x[0])
    return _set_on(x, frames)


def _curve_values(fc, x: np.ndarray, y: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values [T] of F-curve ``fc`` with keys at frames ``x`` [n] holding ``y`` [n], at ``frames`` [T],
    whether each is data: see _set_on)."""
    n = len(x)
    if n:
        idx = np.clip(np.searchsorted(x, frames), 0, n - 1)
        if np.all(x[idx] == frames) and np.all(np.diff(x) > 0):
            return y[idx], np.ones(len(frames), bool)
    return np.array([fc.evaluate(float(f)) for f in frames], np.float64), _set_on(x, frames)


def _set_on(x: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """[T] whether a curve with keys at frames ``x`` [n] (ascending) holds data at each of
    ``frames`` [T]: a key there, or keys on both sides at most a frame apart (a clip retimed onto
    sub-frames is sampled as densely as the frames); elsewhere Blender's interpolation fills in."""
    n = len(x)
    if n == 0:
        return np.zeros(len(frames), bool)
    after = np.searchsorted(x, frames)  # the first key at or after each frame
    on = x[np.minimum(after, n - 1)] == frames
    inside = (after > 0) & (after < n)
    dense = inside & (x[np.minimum(after, n - 1)] - x[np.maximum(after - 1, 0)] <= 1.0 + 1e-6)
    return on | dense


class CurveKeys:
    """Every key of F-curves [C], read once in bulk: the curves with the same number of keys n share
    one float32 buffer [k, 2n] of (frame, value) pairs, as Blender stores them."""

    def __init__(self, curves: list):
        self.curves = curves
        counts = np.array([len(fc.keyframe_points) for fc in curves], np.int64)
        self.groups = []                               # (curve indices [k], keys [k, 2n])
        for n in np.unique(counts):
            ks = np.flatnonzero(counts == n)
            co = np.empty((len(ks), 2 * n), np.float32)
            for row, k in zip(co, ks.tolist()):
                curves[k].keyframe_points.foreach_get("co", row)
            self.groups.append((ks, co))

    def range(self) -> tuple[float, float] | None:
        """(first, last) keyed frame over the curves, as ``FCurve.range()`` gives them (a curve's
        first and last key; 0, 0 without keys); None without curves."""
        if not self.curves:
            return None
        ends = [(co[:, 0].min(), co[:, -2].max()) if co.shape[1] else (0.0, 0.0) for _, co in self.groups]
        return float(min(e[0] for e in ends)), float(max(e[1] for e in ends))

    def values(self, frames: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Fill ``out`` [T,C] with the curves' values at ``frames`` [T]; returns [T,C] whether each
        value is a key (else Blender interpolated it). Curves with keys on all of ``frames`` (the
        usual case) are taken from their buffer at once; the others go through :func:`_curve_values`."""
        want = frames.astype(np.float32)
        keyed = np.ones(out.shape, bool)
        for ks, co in self.groups:
            n = co.shape[1] // 2
            x = co[:, 0::2]
            if n == len(frames) and (x == want).all():     # keys on exactly the frames: the values as they are
                out[:, ks] = co[:, 1::2].T
                continue
            hit = np.zeros(len(ks), bool)
            if n >= len(frames):
                idx = np.clip(np.searchsorted(x[0], want), 0, n - 1)
                hit = (x[:, idx] == want).all(axis=1) & (np.diff(x, axis=1) > 0).all(axis=1)
                out[:, ks[hit]] = co[hit, 1::2][:, idx].T
            for k, keys_co in zip(ks[~hit].tolist(), co[~hit]):
                out[:, k], keyed[:, k] = _curve_values(self.curves[k], keys_co[0::2].astype(np.float64),
                                                       keys_co[1::2].astype(np.float64), frames)
        return keyed


#: object channels that move an object (its world matrix is not constant when any is animated)
TRANSFORM_PATHS = frozenset(f"{d}{c}" for d in ("", "delta_") for c in (
    "location", "rotation_euler", "rotation_quaternion", "rotation_axis_angle", "scale"))


def vetted_curves(objects: Sequence[bpy.types.Object]) -> list:
    """Per object of ``objects``, its location F-curves as read_world and keyed_range take them (a
    list of 3, None per channel not animated), or None when its world location is more than them:
    found once, so that one solve asks each empty's parent, constraints, drivers and curves once."""
    return [_location_curves(obj) for obj in objects]


def found_curves(found: list) -> list:
    """The F-curves of ``found`` (vetted_curves of some objects), object by object and channel by
    channel: the order read_world reads them in."""
    return [fc for own in found if own is not None for fc in own if fc is not None]


def keyed_range(objects: Sequence[bpy.types.Object]) -> tuple[float, float] | None:
    """(first, last) keyed frame over the location curves of ``objects``, from each curve's
    ``range()`` without reading its keys (a solve that read them takes CurveKeys.range); None when
    none is keyed."""
    ranges = [tuple(fc.range()) for fc in found_curves(vetted_curves(objects))]
    if not ranges:
        return None
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


def transform_curves(obj: bpy.types.Object) -> list[str]:
    """Data paths of the F-curves and drivers that animate ``obj``'s own transform."""
    ad = obj.animation_data
    if ad is None:
        return []
    curves = list(keys.object_fcurves(obj)) + list(ad.drivers)
    return sorted({fc.data_path for fc in curves if fc.data_path in TRANSFORM_PATHS})


def moves(obj: bpy.types.Object) -> bool:
    """True when ``obj``'s world matrix may change from frame to frame (parent, constraints,
    transform animation, NLA)."""
    ad = obj.animation_data
    return (obj.parent is not None or len(obj.constraints) > 0 or bool(transform_curves(obj))
            or (ad is not None and any(not t.mute for t in ad.nla_tracks)))


def time_stretching(scene: bpy.types.Scene) -> str:
    """What the ``scene``'s Time Stretching does, in the Properties editor's words; '' when it is off
    (Old = New: every action's frame f plays at scene frame f)."""
    old, new = scene.render.frame_map_old, scene.render.frame_map_new
    if old == new:
        return ""
    return (f"the scene's Time Stretching (Output Properties > Frame Range > Time Stretching: Old {old}, New {new}) "
            f"plays frame f of every action at scene frame f × {new}/{old}")


def check_time(scene: bpy.types.Scene) -> None:
    """Refuse a ``scene`` whose Time Stretching remaps its frames: the frame range, the frames read and
    the keys written would each count frames differently (scene frames, remapped times, action frames),
    so the bones would land off the empties they show."""
    stretched = time_stretching(scene)
    if stretched:
        raise Pose2RotError(
            f"{stretched}, while the solve reads the tracks and writes the keys on the actions' own frames: set Old "
            "and New to the same value to solve, and back afterwards (the solved keys then stretch with the tracks)")


def check_shown(objects: Sequence[bpy.types.Object]) -> None:
    """Every object read must be in the view layer and enabled in viewports: the solve reads each
    where Blender shows it, and frame_set never moves an object it does not evaluate (its matrix
    stays where it was last evaluated). An empty seen only through a collection instance, or in a
    collection excluded from the view layer, is not where the user sees it."""
    layer = bpy.context.view_layer
    depsgraph = bpy.context.evaluated_depsgraph_get()    # also syncs the view layer's objects
    missing = [o for o in objects if layer.objects.get(o.name) != o]
    if missing:
        raise Pose2RotError(f"{_some([o.name for o in missing])} are not in the view layer '{layer.name}', so the "
                            f"solve would read them where Blender does not show them: {_bring_in(missing)}")
    disabled = [o.name for o in objects if not o.evaluated_get(depsgraph).is_evaluated]
    if disabled:
        raise Pose2RotError(
            f"{_some(disabled)} are disabled in viewports, so Blender does not move them between frames: enable "
            "them in viewports (the monitor icon in the Outliner, on the objects or their collection; the eye "
            "icon may stay off)")


def _bring_in(missing: Sequence[bpy.types.Object]) -> str:
    """How to bring objects that are not in the view layer into it, naming their collections: tick an
    excluded collection, link one not in the scene (seen, if at all, through a collection instance)."""
    in_scene = set(bpy.context.scene.collection.children_recursive)
    homes = sorted({c.name: c for o in missing for c in o.users_collection}.items())
    excluded = [name for name, c in homes if c in in_scene]
    outside = [name for name, c in homes if c not in in_scene and c != bpy.context.scene.collection]
    fixes = []
    if excluded:
        fixes.append(f"{_collections(excluded)} excluded from the view layer: tick the checkbox by {'it' if len(excluded) == 1 else 'each'} "
                     "in the Outliner (Exclude from View Layer off)")
    if outside:
        fixes.append(f"{_collections(outside)} not in the scene: link {'it' if len(outside) == 1 else 'them'} into "
                     "the scene")
    fixes.append("a collection instance shows only copies of the empties, placed by the instance, which the solve "
                 "does not read: to solve on those places, move the empties themselves there")
    return "; ".join(fixes)


def _some(names: list[str]) -> str:
    """'N objects (a, b, c, d…)': the first four names."""
    return f"{len(names)} objects ({', '.join(names[:4])}{'…' if len(names) > 4 else ''})"


def _collections(names: list[str]) -> str:
    """"the collection 'a' is" or "the collections 'a', 'b' … are" (the first three names)."""
    quoted = ", ".join(f"'{n}'" for n in names[:3]) + (" …" if len(names) > 3 else "")
    return f"the collection {quoted} is" if len(names) == 1 else f"the collections {quoted} are"


def read_world(scene: bpy.types.Scene, objects: Sequence[bpy.types.Object], frames: np.ndarray,
               follow: bpy.types.Object | None = None, progress=None, found: list | None = None,
               read: CurveKeys | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """World locations [T,N,3] of ``objects`` at integer scene ``frames`` [T], the world matrices
    [T,4,4] of ``follow`` (None when not asked for), read in the same pass over the frames, and
    [T,N] whether each location is set there (every animated location channel keyed on the frame,
    see _set_on, or not animated; a parent does not change which frames are keys) rather than
    interpolated between keys (Tracks.keyed; locations animated by other means, such as
    constraints, drivers, NLA or curve modifiers, count as set). ``progress(fraction, message)``
    is told how the per-frame pass goes; ``found``: the objects' vetted_curves, when already known,
    and ``read`` their curves' keys (CurveKeys of found_curves(found)), when already read. A Pose2RotError
    when the scene stretches time (check_time) or an object is not shown where it is (check_shown)."""
    frames = np.asarray(frames, np.float64)
    check_time(scene)
    check_shown(list(objects) + ([follow] if follow is not None else []))
    vetted = vetted_curves(objects) if found is None else found
    channels = np.empty((3 * len(objects), len(frames)))  # channel c of object i in row 3i + c: a curve together
    out = channels.reshape(len(objects), 3, len(frames)).transpose(2, 0, 1)  # [T,N,3] view, as core.stacks stores it
    keyed = np.ones((len(frames), len(objects)), bool)
    slow, animated, curves = [], [], []
    for i, (obj, own) in enumerate(zip(objects, vetted)):
        if own is None:
            slow.append(i)
            for fc in _own_location_curves(obj, cycles=True) or []:  # a parent moves the points, keys stay keys
                if fc is not None:
                    keyed[:, i] &= _keys_on(fc, frames)
            continue
        for c, fc in enumerate(own):
            if fc is None:
                out[:, i, c] = obj.location[c]
            else:
                animated.append((i, c))
                curves.append(fc)
    if curves:
        read = CurveKeys(curves) if read is None else read
        flat = channels.T                              # [T,3N] view: channel c of object i is column 3i+c
        if len(curves) == flat.shape[1]:               # every channel animated (in column order)
            on_key = read.values(frames, flat)
        else:
            values = np.empty((len(frames), len(curves)), np.float64)
            on_key = read.values(frames, values)
            i, c = np.array(animated).T
            flat[:, 3 * i + c] = values
        if not on_key.all():  # some curve has no key on some frame (usually every frame is keyed)
            np.logical_and.at(keyed.T, np.array(animated)[:, 0], on_key.T)
    mats = None if follow is None else np.empty((len(frames), 4, 4), np.float64)
    if slow or follow is not None:
        current = (scene.frame_current, scene.frame_subframe)
        try:
            for t, f in enumerate(frames):
                if progress is not None and t % 50 == 0:
                    progress(t / len(frames), f"reading tracks per frame ({len(slow)} evaluated): frame {int(f)}")
                scene.frame_set(int(f))
                for i in slow:
                    out[t, i] = objects[i].matrix_world.translation
                if follow is not None:
                    mats[t] = follow.matrix_world
        finally:
            scene.frame_set(current[0], subframe=current[1])
    return out, mats, keyed


def read_world_positions(scene: bpy.types.Scene, objects: Sequence[bpy.types.Object],
                         frames: np.ndarray) -> np.ndarray:
    """World locations [T,N,3] of ``objects`` at integer scene ``frames`` [T]."""
    return read_world(scene, objects, frames)[0]


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
        made.append(obj)
    return made
