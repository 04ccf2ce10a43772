"""What a solve carries over from the action it replaces: the animation the tracks say nothing about.

A bone's rotation is solved from the tracks of the points below it (its children's empties, its
tip's, a bone map's sources); a bone with none keeps its reference rotation. Where the replaced
action animates such a bone (fingers keyed by hand under a tracked hand), that animation is carried
into the new action instead (one an NLA strip animates is left to the strip: the new action does
not key it), and so is every channel the solve does not write: custom properties, constraint
influences, the armature object's own transform (the solve reads the armature where that puts it,
frame by frame, so the bones' keys are meant for it). The new action starts as a copy
of the replaced one (keys, modifiers and groups as they were) less the transforms of the bones the
solve keys (keys.ActionWriter). A solve of part of the shot replaces those bones' keys over its
frames only: their keys before and after stay, and their curves play the solved keys as a whole
shot's new curves do (unmuted; modifiers that would change them removed, Cycles kept: where the
solved frames lie past the keys it repeats, what the cycle played on the scene's other frames is
baked into keys first, so that they play as before); a bone
animated in Euler or axis-angle rotation, which the solve keys as quaternions, has its rotation
keys outside the solved frames turned into quaternion keys (the same pose on every key; a Cycles
modifier on them is kept on the quaternion curves, and where the solved frames lie past the keys it
repeats, every frame of the scene's range it played is keyed, as for a quaternion curve), since its
old curves no longer act once it rotates by quaternion; the solved quaternions take the sign of the
keys beside them (joined_signs), so that the bone does not turn the long way between them.
"""
from __future__ import annotations

import re

import bpy
import numpy as np
from mathutils import Euler, Quaternion

from .keys import BEZIER, append_keys, key_points, muted

#: pose-bone channels the solve writes (or resets) on the bones it solves
TRANSFORMS = ("location", "rotation_quaternion", "rotation_euler", "rotation_axis_angle", "scale")
_BONE_PATH = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]\.(\w+)$')


def transform_bone(data_path: str) -> str | None:
    """The bone whose transform (TRANSFORMS) an F-curve path animates, else None (custom properties,
    constraints, the object's own channels)."""
    m = _BONE_PATH.match(data_path)
    return unescaped(m.group(1)) if m is not None and m.group(2) in TRANSFORMS else None


def unescaped(name: str) -> str:
    """A name as written inside ``["..."]`` of an F-curve or driver path (backslash escapes) as it is."""
    return re.sub(r'\\(.)', r'\1', name)


def kept_bones(curves: list, free_bones: set[str]) -> set[str]:
    """The bones of ``free_bones`` whose transforms the F-curves ``curves`` (the armature's current
    action's and its NLA strips') animate: they keep those channels, rotation mode included (the
    new action does not key them, so the strips below it play)."""
    return {bone for bone in (transform_bone(fc.data_path) for fc in curves) if bone in free_bones}


def missing_bones(curves: list, obj: bpy.types.Object) -> set[str]:
    """The bones that the transform F-curves among ``curves`` name and the armature object ``obj`` has
    not (curves left by a bone renamed or deleted while their action was not its own: Blender shows
    them in red and plays nothing on them). The solve carries them over as they are, as it does the
    kept bones' (kept_bones), without naming them among the rig's bones."""
    return {bone for bone in (transform_bone(fc.data_path) for fc in curves)
            if bone is not None and bone not in obj.pose.bones}


def solved_channel(fc, kept: set[str]) -> bool:
    """Whether the F-curve ``fc`` of the replaced action is a transform of a bone the solve keys
    (every bone but the ``kept`` ones): the solve's own keys take its place over the solved frames."""
    bone = transform_bone(fc.data_path)
    return bone is not None and bone not in kept


def dropped_bones(curves: list, kept: set[str], written: set, height: float) -> list[str]:
    """The solved bones (all but the ``kept`` ones; sorted) whose location or scale the replaced
    action's F-curves ``curves`` key away from rest (beyond REST_NOISE; location in armature units,
    ``height`` the skeleton's) and the solve does not key (``written``: (path, index)): the new
    action holds them at rest over the solved frames, since the tracks place them."""
    tolerance = {"location": REST_NOISE * height, "scale": REST_NOISE}
    bones = set()
    for fc in curves:
        bone, channel = transform_bone(fc.data_path), fc.data_path.rsplit(".", 1)[-1]
        if bone is None or bone in kept or channel not in REST_VALUES:
            continue
        if (fc.data_path, fc.array_index) in written:
            continue
        if np.abs(key_points(fc)[1] - REST_VALUES[channel]).max(initial=0.0) > tolerance[channel]:
            bones.add(bone)
    return sorted(bones)


#: keys this close to rest hold it (a share of the skeleton's height for location, of 1 for scale): an
#: FBX import keys location and scale on every bone, off rest by the file's rounding (about 1e-7)
REST_NOISE = 1e-5
#: the rest value of the pose-bone channels a solved bone is held at where the solve keys none
REST_VALUES = {"location": 0.0, "scale": 1.0}


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


def _changes_keys(m, first: float, last: float) -> bool:
    """Whether the curve modifier ``m`` changes its curve's values on some frame from ``first`` to
    ``last``, which the curve's keys span: any acting modifier (not muted, of non-zero influence, its
    restricted range reaching those frames) but Cycles, which repeats the keys only past the first
    and the last."""
    return (m.type != 'CYCLES' and not m.mute and not (m.use_influence and m.influence <= 0)
            and not (m.use_restricted_range and (m.frame_start > last or m.frame_end < first)))


def names_list(names: list[str]) -> str:
    """The first eight ``names`` and how many more, for a report's line."""
    return ", ".join(names[:8]) + (f" … (+{len(names) - 8})" if len(names) > 8 else "")


def _cycled(fc) -> bool:
    """Whether F-curve ``fc`` has an acting Cycles modifier (not muted, of non-zero influence)."""
    return any(m.type == 'CYCLES' and not m.mute and not (m.use_influence and m.influence <= 0)
               for m in fc.modifiers)


def bake_cycles(curves: list, first: float, last: float, shot: tuple[int, int]) -> list[str]:
    """Bake what the F-curves ``curves`` (the solved channels' carried curves, before their keys over the
    solved frames ``first``..``last`` go) play on the frames of ``shot`` (start, end; the scene's range)
    outside the solved ones, as keys on those frames, where a Cycles modifier repeats their keys and
    the solved frames reach past them: the cycle would come to span the solved keys and play other
    poses on every frame around them (the period changes, and the handles of the keys with it). The
    modifier stays: past the baked frames it repeats them. Returns the report's line (none where
    nothing was baked)."""
    start, end = int(np.floor(min(shot[0], first))), int(np.ceil(max(shot[1], last)))
    bones, spans = set(), []
    for fc in curves:
        if not _cycled(fc) or not len(fc.keyframe_points):
            continue
        at = key_points(fc)[0]
        if first >= at[0] - 1e-3 and last <= at[-1] + 1e-3:
            continue                                   # within the cycle's keys: its span stays
        frames = np.arange(start, end + 1, dtype=np.float64)
        free = (frames < first - 1e-3) | (frames > last + 1e-3)
        free &= np.abs(frames[:, None] - at[None]).min(axis=1) > 1e-3  # keys there stay as they are
        frames = frames[free]
        co = np.stack([frames, [fc.evaluate(f) for f in frames]], axis=1).astype(np.float32).ravel()
        append_keys(fc.keyframe_points, co, np.full(len(frames), BEZIER, np.uint8))
        fc.update()
        bones.add(transform_bone(fc.data_path))
        spans.append((at[0], at[-1]))
    if not bones:
        return []
    around = [f"{a}..{b}" if b > a else f"{a}" for a, b in ((start, int(np.ceil(first)) - 1),
                                                           (int(np.floor(last)) + 1, end)) if b >= a]
    low, high = min(a for a, _ in spans), max(b for _, b in spans)
    played = f"{min(low, start):g}..{max(high, end):g}"          # the cycle's keys now
    return [f"Cycles modifiers repeated the keys (frames {low:g}..{high:g}) of the solved channels of "
            f"{names_list(sorted(bones))} past them, and the solved frames {first:g}..{last:g} lie outside those "
            f"keys: with the solved keys the cycle would span them too and change the frames around them, so the "
            f"frames {', '.join(around)} were baked into keys and play as before (past them the curves repeat frames "
            f"{played}); to keep the cycle instead, solve within its keys' frames (every repetition "
            "then plays the solved keys)"]


def show_solved(curves: list, first: float, last: float) -> list[str]:
    """Make the F-curves ``curves`` the solve writes (carried ones keep their keys outside frames
    ``first``..``last``) play its keys there as a whole-shot solve's new curves do: unmute them and
    their channel groups (a muted group mutes the new curves that join it too) and remove the
    modifiers that change values there (_changes_keys). Returns the report's lines on what changed."""
    unmuted, changed = set(), {}
    for fc in curves:
        bone = transform_bone(fc.data_path)
        if muted(fc):                                  # a muted channel group mutes its curves (4.2)
            fc.mute = False
            if fc.group is not None:
                fc.group.mute = False
            unmuted.add(bone)
        for m in [m for m in fc.modifiers if _changes_keys(m, first, last)]:
            changed.setdefault(m.type.replace("_", " ").title(), set()).add(bone)
            fc.modifiers.remove(m)
    where = f"frames {first:g}..{last:g}"
    out = [f"the solved channels of {', '.join(sorted(unmuted))} were muted: they are unmuted, so the solved keys "
           f"play (their keys outside {where} play again too)"] if unmuted else []
    out += [f"{kind} modifiers removed from the solved channels of {', '.join(sorted(bones))}: they changed the "
            f"solved keys (their keys outside {where} stay as they were, without the modifier)"
            for kind, bones in sorted(changed.items())]
    return out


def other_rotations_outside(obj: bpy.types.Object, curves: list, kept: set[str], first: float, last: float,
                            shot: tuple[int, int] | None = None
                            ) -> dict[str, tuple[np.ndarray, np.ndarray, dict | None]]:
    """{bone: (frames [n], quaternions [n,4] w-first, continuous; the settings of the Cycles modifier that
    repeated its rotation, else None)} for the solved bones (all but ``kept``) whose rotation mode is
    Euler or axis-angle and whose Euler or axis-angle curves among ``curves`` have keys before frame
    ``first`` or after ``last``, or a Cycles modifier: the rotation there as a quaternion, on every frame
    one of those curves has a key, and where a cycle repeats them and the solved frames reach past its
    keys, on every frame of ``shot`` (the scene's range; default: the solved frames) outside the solved
    ones that it played (see _cycled_frames). Read before the solve switches the bones to quaternions."""
    by_channel: dict[tuple[str, str], dict[int, object]] = {}
    for fc in curves:
        bone = transform_bone(fc.data_path)
        if bone is not None:
            by_channel.setdefault((bone, fc.data_path.rsplit(".", 1)[-1]), {})[fc.array_index] = fc
    out = {}
    for pb in obj.pose.bones:
        if pb.name in kept or pb.rotation_mode == 'QUATERNION':
            continue
        path = 'rotation_axis_angle' if pb.rotation_mode == 'AXIS_ANGLE' else 'rotation_euler'
        own = by_channel.get((pb.name, path), {})
        frames = np.unique(np.concatenate([key_points(fc)[0] for fc in own.values()] or [np.zeros(0)]))
        cycles = next((_cycles_settings(fc) for fc in own.values() if _cycled(fc)), None)
        if cycles is not None:
            frames = np.union1d(frames, _cycled_frames(frames, first, last, shot or (int(first), int(last))))
        frames = frames[(frames < first - 1e-3) | (frames > last + 1e-3)]
        if len(frames):
            out[pb.name] = (frames, _as_quaternions(pb, path, own, frames), cycles)
    return out


def _cycled_frames(keyed: np.ndarray, first: float, last: float, shot: tuple[int, int]) -> np.ndarray:
    """The frames of ``shot`` (start, end) and of the solved frames ``first``..``last`` on which a cycle of the
    keys on frames ``keyed`` played what the solve's quaternion keys must hold (as bake_cycles bakes them):
    every whole frame, where the solved frames reach past those keys (a cycle spanning the solved keys
    would play other poses around them); none where they lie within (the cycle then repeats the solved
    keys, as it does on a quaternion curve)."""
    if not len(keyed) or (first >= keyed[0] - 1e-3 and last <= keyed[-1] + 1e-3):
        return np.zeros(0)
    start, end = int(np.floor(min(shot[0], first))), int(np.ceil(max(shot[1], last)))
    return np.arange(start, end + 1, dtype=np.float64)


#: the settings of a Cycles modifier that the quaternion curves of a bone turned from Euler take over
CYCLES_SETTINGS = ("mode_before", "mode_after", "cycles_before", "cycles_after", "use_restricted_range",
                   "frame_start", "frame_end", "blend_in", "blend_out", "use_influence", "influence")


def _cycles_settings(fc) -> dict:
    """{setting: value} of the first acting Cycles modifier of F-curve ``fc`` (see _cycled)."""
    m = next(m for m in fc.modifiers if m.type == 'CYCLES' and not m.mute
             and not (m.use_influence and m.influence <= 0))
    return {name: getattr(m, name) for name in CYCLES_SETTINGS}


def add_cycles(curves: list, settings: dict) -> None:
    """Give each F-curve of ``curves`` a Cycles modifier with ``settings`` (see _cycles_settings): the
    quaternion curves of a bone whose Euler or axis-angle curves a cycle repeated go on repeating."""
    for fc in curves:
        m = fc.modifiers.new('CYCLES')
        for name in ("use_restricted_range", "use_influence"):    # before the values they enable
            setattr(m, name, settings[name])
        for name, value in settings.items():
            setattr(m, name, value)


def _as_quaternions(pb, path: str, curves: dict, frames: np.ndarray) -> np.ndarray:
    """[n,4] pose bone ``pb``'s rotation at ``frames`` [n] from its ``curves`` {array index: F-curve}
    of channel ``path`` (its own value where a channel has no curve), as continuous quaternions."""
    held = list(getattr(pb, path))
    values = [[curves[i].evaluate(float(f)) if i in curves else held[i] for i in range(len(held))] for f in frames]
    if path == 'rotation_euler':
        q = np.array([tuple(Euler(v[:3], pb.rotation_mode).to_quaternion()) for v in values])
    else:
        q = np.array([tuple(Quaternion(v[1:4], v[0])) for v in values])
    flip = np.cumsum(np.concatenate([[0], (q[1:] * q[:-1]).sum(-1) < 0])) % 2 == 1
    return np.where(flip[:, None], -q, q)


def rotation_curve(fc, bones: set[str]) -> bool:
    """Whether ``fc`` animates the rotation of one of ``bones`` (in any rotation mode)."""
    return transform_bone(fc.data_path) in bones and fc.data_path.rsplit(".", 1)[-1].startswith("rotation_")


def joined_signs(curves: list, bones: tuple[str, ...], quaternions: np.ndarray, first: float, last: float
                 ) -> tuple[np.ndarray, list[str]]:
    """Signs [J] (+1 or -1) for the solved quaternions [T,J,4] (w first) of ``bones`` [J] of frames
    ``first``..``last``, and the bones whose keys after ``last`` were negated, so that the solved
    keys join the keys kept either side of them (the quaternion F-curves among ``curves``, holding
    keys outside those frames only). q and -q are the same pose, but Blender interpolates the
    components, so keys of opposite signs next to each other (hand keys, an import's or the Euler
    keys carried as quaternions) turned the bone nearly a full turn between them. The solved keys
    take the sign of the key before them (else of the one after); keys after them of the other sign
    are negated (each holds the same pose, handles too)."""
    by_bone: dict[str, dict[int, object]] = {}
    for fc in curves:
        if fc.data_path.endswith(".rotation_quaternion"):
            by_bone.setdefault(transform_bone(fc.data_path), {})[fc.array_index] = fc
    signs, negated = np.ones(len(bones)), []
    for j, bone in enumerate(bones):
        own = by_bone.get(bone)
        frames = np.concatenate([key_points(fc)[0] for fc in own.values()]) if own else np.zeros(0)
        before, after = frames[frames < first - 1e-3], frames[frames > last + 1e-3]
        if len(before):
            signs[j] = _agreeing(own, before.max(), quaternions[0, j])
        elif len(after):
            signs[j] = _agreeing(own, after.min(), quaternions[-1, j])
        if len(before) and len(after) and _agreeing(own, after.min(), signs[j] * quaternions[-1, j]) < 0:
            for fc in own.values():
                _negate_after(fc, last)
            negated.append(bone)
    return signs, negated


def _agreeing(curves: dict, frame: float, quaternion: np.ndarray) -> float:
    """+1 when the quaternion the ``curves`` {array index: F-curve} hold at ``frame`` lies on the side
    of ``quaternion`` [4] (a channel without a curve counts 0), else -1."""
    held = np.array([curves[i].evaluate(frame) if i in curves else 0.0 for i in range(4)])
    return 1.0 if held @ quaternion >= 0 else -1.0


def _negate_after(fc, last: float) -> None:
    """Negate the values (and handles) of the keys of ``fc`` after frame ``last``."""
    points = fc.keyframe_points
    after = key_points(fc)[0] > last + 1e-3
    for attr in ("co", "handle_left", "handle_right"):
        xy = np.empty(2 * len(points), np.float32)
        points.foreach_get(attr, xy)
        xy[1::2][after] *= -1
        points.foreach_set(attr, xy)
