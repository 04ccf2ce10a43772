"""The solve plan: gather -> compute (no scene change) -> apply, for an armature and a collection of
track empties.

Used by the operator and by the batch entry point. :func:`compute_plan` reads the armature and the
tracks (empties named like the bones: :func:`gather_tracks`, or any empties through a bone map, the
table of :mod:`.mapping`: :func:`solve_mapped`) and runs the core; it raises :class:`Pose2RotError` on bad input and never changes the scene
(the scene frame is restored after reading). :func:`apply_plan` then writes one new action (the
previous one is kept by :mod:`.previous`).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

import bpy
import numpy as np

from pose2rot_core.blender_space import basis_quaternions, blocked_translations, location_channels, lost_between_keys
from pose2rot_core.bonemap import BoneMap, check_map, source_names
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.names import (NameMatch, ambiguity_warnings, further_tips, match_names, misspelt_warnings,
                                  numbered_copies)
from pose2rot_core.options import SolveOptions
from pose2rot_core.pointsets import PointSet
from pose2rot_core.retarget import retarget_tracks, solve_retargeted
from pose2rot_core.solution import Solution
from pose2rot_core.solvers import part_of, solve
from pose2rot_core.stacks import empty_vectors, frames_last, joint_planes
from pose2rot_core.tracks import Tracks, float32_step
from pose2rot_core.tracks_io import KEPT_AT_REFERENCE
from pose2rot_core.units import scale_problem
from pose2rot_core.safety import worst_joints
from pose2rot_core.wording import WARNING_PREFIX, counted, notes_for, split_warnings

from . import carry, empties, keys, previous, rig as rig_io, runtime
from .runtime import LearnedSettings

#: the parts of Solve Rotations' progress: reading the empties is this share of reading and
#: solving, which are this share of the whole (the rest is writing the keys)
READ_SHARE = 0.15
PLAN_SHARE = 0.7

#: a tip track staying within this fraction of the height of its bone's head gives no direction
ZERO_TIP_FRACTION = 1e-5
#: how to drive a rig with tracks made for another one, in each interface's words (the panel's; "cli": the batch's)
PAIR_UP = {"blender": "pair them up in a bone map (Automatic Map in the Bone Map panel)",
           "cli": "pair them up in a bone map (--map MAP.json, which Save Map in Blender's Bone Map panel or "
                  "`pose2rot map --skeleton RIG.bvh --source TRACKS --out MAP.json` writes)"}
#: a scene range inside the empties' keys is solved with the keyed frames up to this long around it
#: (their noise, gaps and smoothing; far enough that the range is solved as in the whole take)
AROUND_SECONDS = 10.0


@dataclass(frozen=True)
class SceneRange:
    """Which scene frames to solve (inclusive) and, when the options use a reference pose, the frame
    at which the tracks show the armature's current pose."""

    frame_start: int = 1
    frame_end: int = 250
    reference_frame: int = 1

    @property
    def frames(self) -> np.ndarray:
        return np.arange(self.frame_start, self.frame_end + 1)

    def reference_index(self, reference: np.ndarray | None) -> int | None:
        """The tracks' reference frame (counted from frame_start) when there is a ``reference`` pose."""
        return None if reference is None else self.reference_frame - self.frame_start


def frame_rate(scene: bpy.types.Scene) -> float:
    """The scene's frames per second (render.fps / render.fps_base)."""
    return scene.render.fps / scene.render.fps_base


@dataclass
class Plan:
    """Everything :func:`apply_plan` writes, computed up front.

    bone_names: [J] internal order; frames: [T] scene frames; quaternions: [T,J,4] pose-bone basis;
    location_bones: [K] indices with location keys; locations: [T,K,3]. warnings: joints far from
    their empties or flipping (the core's safety check), and what keeps the solved keys from showing
    as solved (bone constraints, drivers). solution: what the keys hold, as
    the core's solution in armature space (None only for plans built by hand). end_parents [E] /
    end_offsets [E,3]: the leaf bones' tails as End Sites (Rig.leaf_ends), for a written BVH.
    """

    armature: str
    bone_names: tuple[str, ...]
    frames: np.ndarray
    quaternions: np.ndarray
    location_bones: np.ndarray
    locations: np.ndarray
    report: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mean_error_pct: float = 0.0
    max_error_pct: float = 0.0
    matched: int = 0
    solution: Solution | None = None
    end_parents: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    end_offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    #: bones whose rotation no track tells (none of their own children's or tips' empties): the
    #: animation the replaced action gives them is carried over (see carry)
    free_bones: tuple[str, ...] = ()
    #: what the position errors are measured against, in words
    against: str = "their empties"
    #: whether bone constraints, drivers or NLA settings change the pose the keys hold (override_warnings):
    #: the errors are those of the keys, not of the pose shown
    overridden: bool = False
    #: the skeleton's height in armature units (Skeleton.height): what the errors are shares of
    height: float = 1.0


def track_objects(collection: bpy.types.Collection | None) -> list[bpy.types.Object]:
    """The empties of a tracks collection (children included), or a Pose2RotError."""
    if collection is None:
        raise Pose2RotError("no tracks collection: pick the collection of empties in the pose2rot panel")
    objs = [o for o in collection.all_objects if o.type == 'EMPTY']
    if not objs:
        raise Pose2RotError(f"collection '{collection.name}' has no empties: put one empty per tracked joint in it")
    return objs


def match_rig(rig: rig_io.Rig, objects: list[bpy.types.Object], collection: bpy.types.Collection | None = None
              ) -> NameMatch:
    """How the bones find the ``objects`` (names.match_names): a bone's tail is aimed by its tip's
    empty (``<bone>_end``) where it is a leaf, and where it has children when the tip is the one
    Import Tracks kept the rest offset of in ``collection`` (importing.TIPS_KEY) and that offset is
    the bone's tail (Blender's BVH importer makes a joint's End Site its tail even below a joint
    with children: an Xsens wrist holding a prop joint). Elsewhere a bone with children has its tail
    on a child or made up, which a tip's empty would aim the bone at in the wrong direction."""
    tracks = [o.name for o in objects]
    kept = _kept_tips(collection)
    if not kept:
        return match_names(rig.bone_names, tracks, rig.leaves)
    tried = match_names(rig.bone_names, tracks, rig.bone_names).end_to_track
    tails = [b for b, tip in tried.items() if b not in rig.leaves and _kept_tail(rig, b, kept, tip)]
    return match_names(rig.bone_names, tracks, rig.leaves + tuple(tails))


def _tips_on_heads(tips: np.ndarray, heads: np.ndarray, height: float) -> np.ndarray:
    """[K] True for tip tracks [T,K,3] that never leave their bone's head track [T,K,3].

    Such a tip (a zero-length BVH End Site) shows no direction, while the bone's tail is one the
    importer made up (Blender lengthens zero-length bones): it must not aim the bone. The core
    skips zero-length End Sites the same way.
    """
    d = joint_planes(tips) - joint_planes(heads)        # [K,3,T], as the tracks are stored
    gap = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
    seen = np.isfinite(gap)
    return seen.any(axis=1) & (np.where(seen, gap, 0.0).max(axis=1) <= ZERO_TIP_FRACTION * height)


def read_inputs(obj: bpy.types.Object, collection: bpy.types.Collection | None,
                span: SceneRange) -> tuple[rig_io.Rig, list[bpy.types.Object]]:
    """(the armature as the core sees it, the empties of the tracks collection), checked."""
    rig = rig_io.read_rig(obj)
    previous.refuse_tweak_mode(obj)
    objects = track_objects(collection)
    if span.frame_end < span.frame_start:
        raise Pose2RotError(f"empty frame range {span.frame_start}..{span.frame_end}: "
                            "the end frame must not be before the start frame")
    return rig, objects


def reference_pose(obj: bpy.types.Object, rig: rig_io.Rig, span: SceneRange, use_reference: bool
                   ) -> np.ndarray | None:
    """The armature's current pose as the reference local rotations [J,3,3] (``use_reference``), else
    None (the rest pose); read it before any frame change."""
    if not use_reference:
        return None
    if not span.frame_start <= span.reference_frame <= span.frame_end:
        raise Pose2RotError(f"reference frame {span.reference_frame} is outside the frame range "
                            f"{span.frame_start}..{span.frame_end}: set 'Reference frame' in the pose2rot panel "
                            "to the frame where the tracks show the armature's current pose")
    return rig_io.current_local_rotations(obj, rig)


def gather_tracks(scene: bpy.types.Scene, obj: bpy.types.Object, collection: bpy.types.Collection | None,
                  span: SceneRange, use_reference: bool = False, progress=None, around_keys: bool = False
                  ) -> tuple[rig_io.Rig, Tracks, NameMatch]:
    """Read the armature and the tracks (armature space per frame, internal joint order); with
    ``use_reference`` the armature's current pose is the tracks' reference pose at span.reference_frame.
    With ``around_keys`` the tracks also cover the frames the empties are keyed on around the span
    (their first_frame says where they start)."""
    return _gather(scene, obj, collection, span, use_reference, progress, around_keys)[:3]


def _gather(scene: bpy.types.Scene, obj: bpy.types.Object, collection: bpy.types.Collection | None,
            span: SceneRange, use_reference: bool, progress, around_keys: bool, interface: str = "blender"
            ) -> tuple[rig_io.Rig, Tracks, NameMatch, tuple[float, float] | None | bool]:
    """gather_tracks, and the first and last keyed frame of the empties read (empties.keyed_range;
    False when not known: without ``around_keys``, or two empties share a name); a rig the empties do not
    fit is refused in ``interface``'s words."""
    rig, objects = read_inputs(obj, collection, span)
    match = match_rig(rig, objects, collection)
    alike = match.ambiguous_tracks
    if not match.bone_to_track and alike:
        raise Pose2RotError(
            f"the empties in '{collection.name}' match bones of '{obj.name}' only two or more alike ("
            + ", ".join(alike[:4]) + ("…" if len(alike) > 4 else "") + "): two sets of empties (two characters?) in "
            "one collection; keep one set per collection, or name each empty exactly as its bone")
    if not match.bone_to_track:
        raise Pose2RotError(
            f"no empty in '{collection.name}' matches a bone of '{obj.name}' "
            f"(empties: {', '.join(o.name for o in objects[:4])}…; bones: {', '.join(rig.bone_names[:4])}…); "
            "is it the armature the tracks were made for? To drive this one with them, name the empties after "
            f"its bones, or {PAIR_UP[interface]}")
    skel = rig.skeleton
    if skel.names[0] not in match.bone_to_track and not _root_at_floor(obj, skel):
        raise Pose2RotError(f"the root bone '{skel.names[0]}' has no track in '{collection.name}' "
                            f"({len(match.bone_to_track)} of {skel.num_joints} bones matched by name): "
                            f"add an empty named '{skel.names[0]}' (only a root bone at the rig's floor, such as "
                            "a control bone under the hips, may stay without one), or, for tracks made for "
                            f"another rig, {PAIR_UP[interface]}")
    reference = reference_pose(obj, rig, span, use_reference)          # before any frame_set
    by_name = {o.name: o for o in objects}
    joint_of = {name: j for j, name in enumerate(skel.names)}
    joint_idx = [joint_of[b] for b in match.bone_to_track]
    end_bones = list(match.end_to_track)
    more = _more_tips(rig, match, collection)
    tips = [match.end_to_track[b] for b in end_bones] + [t for _, t, _ in more]
    wanted = [by_name[t] for t in list(match.bone_to_track.values()) + tips]
    found = empties.vetted_curves(wanted)      # each empty vetted once, its keys read once, for the whole read
    curve_keys = empties.CurveKeys(empties.found_curves(found))
    keyed_frames = curve_keys.range() if around_keys else False
    read = _around_keys(span, keyed_frames, frame_rate(scene)) if around_keys else span
    frames = read.frames
    arm, set_there, step = armature_points(scene, obj, rig, wanted, frames, progress, found, curve_keys)
    T, J = len(frames), skel.num_joints
    pos = empty_vectors((T, J))                        # component-major, as the empties are read and the core works
    pos.fill(np.nan)
    pos[:, joint_idx] = arm[:, :len(joint_idx)]
    keyed = np.ones((T, J), bool)
    keyed[:, joint_idx] = set_there[:, :len(joint_idx)]
    if skel.names[0] not in match.bone_to_track:  # a control bone at the floor: it stays where the rig has it
        pos[:, 0] = skel.rest_positions[0]
    end_kw = {}
    if end_bones:
        parents = np.array([joint_of[b] for b in end_bones + [b for b, _, _ in more]], np.int64)
        end_pos = arm[:, len(joint_idx):]
        keep = ~_tips_on_heads(end_pos, pos[:, parents], skel.height)
        tailed = parents[:len(end_bones)]  # the tails, then the further End Sites Import Tracks kept
        offsets = np.concatenate([rig.tails[tailed] - skel.rest_positions[tailed],
                                  np.reshape([offset for _, _, offset in more], (-1, 3))])
        if keep.any():
            end_kw = dict(end_positions=end_pos[:, keep], end_parents=parents[keep], end_rest_offsets=offsets[keep],
                          end_names=tuple(t for t, k in zip(tips, keep) if k))
    tracks = Tracks(skeleton=skel, positions=pos, fps=frame_rate(scene), up_axis="z",
                    reference_frame=read.reference_index(reference), reference_rotations=reference,
                    first_frame=read.frame_start, keyed=keyed, coordinate_step=step, **end_kw)
    return rig, tracks, match, keyed_frames if len(by_name) == len(objects) else False


#: a tail's rest offset kept by Import Tracks is its bone's when within this share of its length
SAME_TIP_FRACTION = 1e-3


def _more_tips(rig: rig_io.Rig, match: NameMatch, collection: bpy.types.Collection | None
               ) -> list[tuple[str, str, np.ndarray]]:
    """[(bone, tip empty, rest offset from the bone's head [3], armature space)] of a joint's End
    Sites beyond the one its bone's tail aims at (see names.further_tips), from the rest offsets
    Import Tracks kept of a BVH (importing.TIPS_KEY): only where the tail's own kept offset is the
    bone's, so the armature is that file's skeleton (Blender's BVH importer keeps one End Site a
    joint, as its tail: a hand over a fan of three then knew its direction but not its roll)."""
    kept = _kept_tips(collection)
    out = []
    for bone, others in further_tips(match, kept).items():
        if _kept_tail(rig, bone, kept, match.end_to_track[bone]):
            out += [(bone, t, rig.world_inv[:3, :3] @ np.array(kept[t])) for t in others]
    return out


def solve_match(rig: rig_io.Rig, objects: list[bpy.types.Object], collection: bpy.types.Collection | None = None
                ) -> NameMatch:
    """match_rig as the solve reads it: the empties of a joint's further End Sites that aim it
    (_more_tips) are used, not among the unmatched tracks (what the panel lists)."""
    match = match_rig(rig, objects, collection)
    more = {tip for _, tip, _ in _more_tips(rig, match, collection)}
    return replace(match, unmatched_tracks=[t for t in match.unmatched_tracks if t not in more])


def _kept_tips(collection: bpy.types.Collection | None) -> dict:
    """{tip empty: its rest offset from its joint [3], world axes} that Import Tracks kept of a BVH's
    End Sites in ``collection`` (importing.TIPS_KEY); empty for none."""
    from .importing import TIPS_KEY

    kept = collection.get(TIPS_KEY) if collection is not None else None
    return kept.to_dict() if kept else {}


def _kept_tail(rig: rig_io.Rig, bone: str, kept: dict, tip: str) -> bool:
    """Whether the rest offset Import Tracks kept of the ``tip`` (_kept_tips) is ``bone``'s tail, in
    armature space (the world turned as the empties are read) within SAME_TIP_FRACTION of its length."""
    if tip not in kept:
        return False
    j = rig.bone_names.index(bone)
    own = rig.tails[j] - rig.skeleton.rest_positions[j]
    return bool(np.linalg.norm(rig.world_inv[:3, :3] @ np.array(kept[tip]) - own)
                <= SAME_TIP_FRACTION * np.linalg.norm(own))


def _around_keys(span: SceneRange, keyed: tuple[float, float] | None, fps: float) -> SceneRange:
    """The span widened to the frames the empties are ``keyed`` on (first, last; None: no keys) up to
    AROUND_SECONDS before and after it (a stray key far away neither slows the solve nor widens its
    smoothing)."""
    if keyed is None:
        return span
    reach = int(np.ceil(AROUND_SECONDS * fps))
    first = min(span.frame_start, max(int(np.floor(keyed[0])), span.frame_start - reach))
    last = max(span.frame_end, min(int(np.ceil(keyed[1])), span.frame_end + reach))
    return replace(span, frame_start=first, frame_end=last)


def _root_at_floor(obj: bpy.types.Object, skel) -> bool:
    """Whether the armature's root bone rests at its floor (within 2 % of the height of its lowest
    bone head, along the world's up axis): a control bone (Unreal, Rigify, Character Creator) that
    places the body and needs no track of its own, unlike hips at the root."""
    m = np.array(obj.matrix_world)
    up = skel.rest_positions @ m[2, :3]
    return bool(up[0] <= up.min() + 0.02 * max(float(np.ptp(up)), 1e-12))


def solve_mapped(scene: bpy.types.Scene, obj: bpy.types.Object, collection: bpy.types.Collection | None,
                 span: SceneRange, options: SolveOptions, bone_map: BoneMap, progress=None
                 ) -> tuple[rig_io.Rig, Tracks, NameMatch, Solution, str]:
    """(rig, tracks on the rig, NameMatch of the bones on empties, Solution, what the tracks are in
    words): the empties ``bone_map`` names, read in armature space over ``span`` and the keys around
    it (as by name: a part of the shot solves as the whole does there), drive the rig through it (the
    points scaled to the rig: retarget.rig_scale), solved as ``options`` say (made fit for points:
    SolveOptions.for_points)."""
    options = options.for_points()
    rig, objects = read_inputs(obj, collection, span)
    named = {n for src in list(bone_map.bones.values()) + list(bone_map.points.values()) for n in source_names(src)}
    by_name = {o.name: o for o in objects}
    copies = numbered_copies(tuple(by_name), named)   # a second take's 'left_hip.001' for the map's 'left_hip'
    by_name.update({point: by_name.pop(empty) for point, empty in copies.items()})
    ends = rig.end_sites()                             # the map may drive a leaf bone's tail: '<bone>_end'
    absent = _points_without_data(collection, by_name)
    check_map(bone_map, list(rig.bone_names) + list(ends.names), list(by_name) + absent,
              rig=f"armature '{obj.name}'", tracks=f"collection '{collection.name}'")
    used, blank = sorted(named.intersection(by_name)), sorted(named.intersection(absent))
    reference = reference_pose(obj, rig, span, options.use_reference)
    wanted = [by_name[n] for n in used]
    found = empties.vetted_curves(wanted)
    curve_keys = empties.CurveKeys(empties.found_curves(found))
    read = _around_keys(span, curve_keys.range(), frame_rate(scene))
    positions, keyed, _ = armature_points(scene, obj, rig, wanted, read.frames, part_of(progress, 0.0, READ_SHARE),
                                          found, curve_keys)
    if blank:                                          # no data in any frame: the core counts their bones unmapped
        positions = np.concatenate([positions, np.full((len(positions), len(blank), 3), np.nan)], axis=1)
    points = PointSet(tuple(used + blank), positions, frame_rate(scene), "z", source=f"collection '{collection.name}'",
                      first_frame=read.frame_start, keyed=keyed.all(axis=1))
    report = [_copies_note(copies)] if copies else []
    result = retarget_tracks(points, rig.skeleton, bone_map, "z", reference_rotations=reference,
                             reference_frame=read.reference_index(reference), end_parents=ends.parents,
                             end_offsets=ends.offsets, end_names=ends.names, rig_name=f"armature '{obj.name}'",
                             smooth=options.smooth, report=report)
    start = span.frame_start - read.frame_start
    solved = (start, start + len(span.frames))  # solved with the keys around it, kept on the span
    sol = solve_retargeted(result, options, progress=part_of(progress, READ_SHARE, 1.0), frames=solved)
    sol.report[:0] = report
    direct = {b: s for b, s in bone_map.bones.items() if bone_map.is_direct(b) and b in rig.bone_names}
    match = NameMatch(bone_to_track=direct, unmatched_bones=[], unmatched_tracks=[n for n in by_name if n not in used])
    scaled = "" if abs(result.scale - 1.0) <= 1e-3 else f", scaled ×{result.scale:.4g} to the rig"
    return rig, result.tracks.frames(*solved), match, sol, f"the points the map places (from their empties{scaled})"


def _copies_note(copies: dict[str, str]) -> str:
    """The report line naming the empties read for the map's points ({point: empty}, numbered copies)."""
    pairs = [f"'{point}' from '{empty}'" for point, empty in sorted(copies.items())]
    return (f"the map's points read from their numbered copies in the collection (a take imported again): "
            f"{carry.names_list(pairs)}")


def _points_without_data(collection: bpy.types.Collection | None, present) -> list[str]:
    """The points Import Tracks read with no data in any frame (importing.NO_DATA_KEY: it made no empty
    for them) that are not among the ``present`` empties' names."""
    from .importing import NO_DATA_KEY

    kept = collection.get(NO_DATA_KEY) if collection is not None else None
    return [str(n) for n in (kept or []) if str(n) not in present]


def armature_points(scene: bpy.types.Scene, obj: bpy.types.Object, rig: rig_io.Rig, objects: list,
                    frames: np.ndarray, progress=None, found: list | None = None,
                    read: empties.CurveKeys | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(positions [T,N,3] of ``objects`` at scene ``frames`` in the armature's space (per frame when
    the armature itself moves: a parent or constraints; NaN where an empty keyed on nearly every frame
    has no key: lost_between_keys), [T,N] whether each is keyed there rather than interpolated, see
    empties.read_world, and the step of the numbers they were read from in armature units
    (Tracks.coordinate_step): Blender's float32 step at the largest world coordinate, stretched by
    the most the armature's inverse transform stretches (its inverse scale), as far as rounding then
    moves a position; ``found``: the objects' empties.vetted_curves, ``read`` their keys)."""
    world, mats, keyed = empties.read_world(scene, objects, frames, follow=obj if empties.moves(obj) else None,
                                            progress=progress, found=found, read=read)
    world = lost_between_keys(world, keyed)
    step = float32_step(world)
    if mats is None:
        if np.array_equal(rig.world_inv, np.eye(4)):   # the armature object at the world origin
            return world, keyed, step
        turn = rig.world_inv[:3, :3]
        return world @ turn.T + rig.world_inv[:3, 3], keyed, step * float(np.linalg.norm(turn, 2))
    rig_io.check_matrices(obj, mats)              # parented or constrained armature: its frame moves
    inv = np.linalg.inv(mats)
    stretch = float(np.linalg.norm(inv[:, :3, :3], 2, axis=(1, 2)).max())
    return np.einsum("tij,tnj->tni", inv[:, :3, :3], world) + inv[:, None, :3, 3], keyed, step * stretch


def override_warnings(obj: bpy.types.Object, frames: np.ndarray | None = None,
                      quaternion: set[str] = frozenset()) -> list[str]:
    """Bone constraints, drivers and NLA settings that change the pose after the solved keys on some
    of the solved scene ``frames`` [T] (so the bones will not follow their tracks exactly; default:
    the scene's frame range), and an armature shown in its rest position. The bones named in
    ``quaternion`` are taken to rotate by quaternion (as the solve leaves them), the others by their
    rotation mode now: a driver on a rotation channel their mode does not use changes nothing."""
    out = _nla_warnings(obj.animation_data)
    if obj.data.pose_position == 'REST':
        out.append(f"the armature '{obj.data.name}' shows its Rest Position, so the viewport shows no pose: "
                   "switch it to Pose Position (Armature properties > Pose)")
    if frames is None:
        scene = bpy.context.scene
        frames = np.arange(scene.frame_start, scene.frame_end + 1)
    channels = _constraint_channels(obj)
    constrained = [pb.name for pb in obj.pose.bones
                   if any(not _inert(c) and _constraint_acts(pb.name, c, channels, frames) for c in pb.constraints)]
    if constrained:
        out.append(f"bone constraints change the solved pose of {carry.names_list(constrained)}: "
                   "mute them (or set their influence to 0, on every solved frame where it is keyed or driven) "
                   "for the bones to follow their tracks")
    ad = obj.animation_data
    driven = []
    for fc in (ad.drivers if ad else ()):
        name = carry.transform_bone(fc.data_path)
        if (name is not None and not fc.mute and name not in driven
                and _driver_acts(obj, name, fc.data_path, quaternion)):
            driven.append(name)
    if driven:
        out.append(f"drivers override the solved keys of {carry.names_list(driven)}: "
                   "delete the drivers on their rotation/location/scale")
    return out


def _driver_acts(obj: bpy.types.Object, bone: str, path: str, quaternion: set[str]) -> bool:
    """Whether a driver on ``path``, a transform channel of ``bone``, moves it: a rotation channel
    only where the bone's rotation mode (QUATERNION for the bones in ``quaternion``) uses it."""
    channel = path.rsplit(".", 1)[-1]
    pb = obj.pose.bones.get(bone)
    if not channel.startswith("rotation_") or pb is None:
        return True
    mode = 'QUATERNION' if bone in quaternion else pb.rotation_mode
    used = {'QUATERNION': "rotation_quaternion", 'AXIS_ANGLE': "rotation_axis_angle"}.get(mode, "rotation_euler")
    return channel == used


_CONSTRAINT_CHANNEL = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]\.constraints\["((?:[^"\\]|\\.)*)"\]'
                                 r'\.(influence|mute|enabled)$')
#: what a constraint channel's values [T] say of the constraint acting on each frame
_ACTS = {"influence": lambda v: v > 0, "mute": lambda v: v < 0.5, "enabled": lambda v: v >= 0.5}


def _constraint_channels(obj: bpy.types.Object) -> dict[tuple[str, str, str], object]:
    """{(bone, constraint, 'influence' or 'on'): whether the constraint acts by that channel, as a
    function of scene frames [T] -> [T] bool (an unmuted F-curve of the active action), or None (a
    driver, or a strip of the NLA, whose values are not told here)} for the animated bone
    constraints of ``obj``; the active action wins over the NLA, a driver over both."""
    ad = obj.animation_data
    if ad is None:
        return {}
    out = {}
    for fc, told in ([(fc, False) for fc in keys.nla_fcurves(ad)] + [(fc, True) for fc in keys.object_fcurves(obj)]
                     + [(fc, False) for fc in ad.drivers]):
        m = _CONSTRAINT_CHANNEL.match(fc.data_path)
        if m is None or fc.mute:
            continue
        bone, constraint = (carry.unescaped(m.group(k)) for k in (1, 2))
        prop = m.group(3)
        out[bone, constraint, "influence" if prop == "influence" else "on"] = (
            (lambda frames, fc=fc, test=_ACTS[prop]: test(np.array([fc.evaluate(float(f)) for f in frames])))
            if told else None)
    return out


_XYZ = ("use_x", "use_y", "use_z")
_MIN_MAX = tuple(f"use_{end}_{axis}" for end in ("min", "max") for axis in "xyz")
#: the switches of a constraint type of which one at least must be on for it to change the pose
#: (a Limit Rotation that limits no axis, a Copy Rotation that copies none: Blender leaves the pose)
_SWITCHES = {
    'LIMIT_ROTATION': ("use_limit_x", "use_limit_y", "use_limit_z"), 'LIMIT_LOCATION': _MIN_MAX,
    'LIMIT_SCALE': _MIN_MAX, 'COPY_LOCATION': _XYZ, 'COPY_ROTATION': _XYZ, 'COPY_SCALE': _XYZ,
    'CHILD_OF': tuple(f"use_{what}_{axis}" for what in ("location", "rotation", "scale") for axis in "xyz"),
}


def _inert(c: bpy.types.Constraint) -> bool:
    """Whether bone constraint ``c`` leaves the pose as it is, whatever its influence: invalid (red in
    the Bone Constraints tab), its target slot empty (the target deleted since: Blender skips it
    at once, though it reads it valid until its relations are next rebuilt), or none of its
    _SWITCHES on (read as they are now)."""
    if not c.is_valid:
        return True
    if _needs_target(c) and c.target is None:
        return True
    switches = _SWITCHES.get(c.type)
    return switches is not None and not any(getattr(c, name) for name in switches)


def _needs_target(c: bpy.types.Constraint) -> bool:
    """Whether constraint ``c`` acts only with a target: it has a target slot and is neither a Pivot
    nor an Action constraint run by its Evaluation Time."""
    if "target" not in c.bl_rna.properties or c.type == 'PIVOT':
        return False
    return not (c.type == 'ACTION' and c.use_eval_time)


def _constraint_acts(bone: str, c: bpy.types.Constraint, channels: dict, frames: np.ndarray) -> bool:
    """Whether bone constraint ``c`` of ``bone`` acts on some of ``frames`` [T]: on and of non-zero
    influence there, by its animated ``channels`` (_constraint_channels; one not told acts), else
    by its values now."""
    acts = np.ones(len(frames), bool)
    for prop, now in (("on", not c.mute), ("influence", c.influence > 0)):
        key = (bone, c.name, prop)
        if key not in channels:
            acts &= now
        elif channels[key] is not None:
            acts &= channels[key](frames)
    return bool(acts.any())


def _nla_warnings(ad: bpy.types.AnimData | None) -> list[str]:
    """A soloed NLA track hides the armature's action; an action that blends other than Replace at
    full influence mixes the solved keys with the strips of the NLA tracks below."""
    if ad is None:
        return []
    out = [f"the NLA track '{t.name}' is soloed, so the solved action does not play: turn its Solo (star) off "
           "in the NLA editor" for t in ad.nla_tracks if t.is_solo]
    below = any(not t.mute and len(t.strips) for t in ad.nla_tracks)   # else there is nothing to blend with
    if below and (ad.action_blend_type != 'REPLACE' or ad.action_influence < 1.0):
        out.append(f"the armature's action blends into the NLA (Blending {ad.action_blend_type.title()}, influence "
                   f"{ad.action_influence:.3g}), so the bones do not show the solved keys as they are: set "
                   "Blending to Replace and Influence to 1 (NLA editor > Sidebar > Edited Action)")
    return out


def check_scale(tracks: Tracks, obj: bpy.types.Object, interface: str = "blender") -> list[str]:
    """Refuse empties whose bones are uniformly far off the armature's (other units); a note when
    they are somewhat off (another performer's size: the armature keeps its bone lengths), a
    warning when the armature object's own scale makes them so (its bones then miss the empties).
    The fix is told in ``interface``'s words (the batch's, "cli": its --scale)."""
    problem = scale_problem(tracks, "the empties' bones", f"the bones of '{obj.name}'")
    if problem is None:
        return []
    scale = _uniform_scale(obj.matrix_world)
    own = abs(scale - 1.0) > 0.01 and abs(problem.factor * scale - 1.0) < 0.05  # its scale makes the difference
    fix = f"; {_scaled_by(obj, scale)}, or scale the empties with it" if own else ""
    if problem.refused:
        factor = f"{1 / problem.factor:.4g}"
        if interface == "cli":
            raise Pose2RotError(f"{problem.what}: the track files use other units than the rig: give --scale "
                                f"{factor} (times any --scale given) to convert them{fix}")
        raise Pose2RotError(f"{problem.what}: scale the empties by {factor} (or the armature by {problem.factor:.4g}) "
                            f"so that both use the same units: import the tracks again with Import Tracks' Scale at "
                            f"{factor}, or parent the empties to an empty at the world origin scaled by {factor} "
                            f"(scaling the keyed empties themselves does not move them){fix}")
    return [f"{WARNING_PREFIX if own else ''}{problem.what}: the armature keeps its own bone lengths{fix}"]


def _uniform_scale(matrix) -> float:
    """The uniform scale of a 4x4 (or 3x3) Blender matrix: the cube root of its determinant's size."""
    return float(np.cbrt(abs(np.linalg.det(np.array(matrix.to_3x3())))))


def _scaled_by(obj: bpy.types.Object, scale: float) -> str:
    """What scales ``obj`` by ``scale`` in the world, and the fix: its own scale (deltas included),
    its parent (with none: its constraints), or both."""
    own = _uniform_scale(obj.matrix_basis)
    if abs(own - scale) <= 0.01 * scale:
        return f"the armature object is scaled by {scale:.4g}: set its scale to 1"
    if abs(own - 1.0) > 0.01:
        return f"the armature object's own scale ({own:.4g}) and what it hangs from scale it by {scale:.4g}: undo both"
    if obj.parent:
        return f"its parent '{obj.parent.name}' scales the armature by {scale:.4g}: set the parent's scale to 1"
    return f"its constraints scale the armature by {scale:.4g}: take the scale out of them"


def compute_plan(scene: bpy.types.Scene, obj: bpy.types.Object, collection: bpy.types.Collection | None,
                 span: SceneRange, options: SolveOptions, learned: LearnedSettings | None = None,
                 progress=None, bone_map: BoneMap | None = None, interface: str = "blender") -> Plan:
    """Read, solve as ``options`` say (the learned model where ``learned`` says; through ``bone_map``
    when one is given), and convert; raises Pose2RotError and leaves the scene as it was on failure.
    The solver's notes name the options as ``interface`` does (wording.INTERFACES: the panel's labels,
    or the flags of the command line, which the batch takes)."""
    playhead = scene.frame_current
    rig, tracks, match, sol, report, keyed, against = _read_and_solve(scene, obj, collection, span, options,
                                                                      learned, progress, bone_map, interface)
    reference_warnings = _playhead_off_reference(playhead, obj, span, options.use_reference)
    skel = rig.skeleton
    tol = 1e-6 * skel.height
    notes, far_or_flipped = split_warnings(notes_for(sol.report, interface))
    if match.unmatched_bones:  # said below in the rig's words, with the animation a bone may keep instead
        notes = [n for n in notes if not n.endswith(KEPT_AT_REFERENCE)]
    report, scaled = split_warnings(report)
    report += notes
    written, held = _held_at_length(sol, rig, tracks, tol, options.max_position_error, report)  # the keys'
    err = _off_tracks(written, sol, tracks)
    err = err[np.isfinite(err)]
    height = skel.height
    loc_idx, locs = location_channels(sol, rig.rest, tol)
    end_parents, end_offsets = rig.leaf_ends()
    used = set(match.bone_to_track.values()) | set(match.end_to_track.values())
    if keyed is False:                                 # not known from the read
        keyed = empties.keyed_range([o for o in track_objects(collection) if o.name in used])
    range_warnings = _range_past_keys(span, keyed, report)
    if match.unmatched_bones:
        report.append(f"{len(match.unmatched_bones)} bone{'s' if len(match.unmatched_bones) != 1 else ''} without a track: "
                      + ", ".join(match.unmatched_bones[:8]) + ("…" if len(match.unmatched_bones) > 8 else "")
                      + " (those between tracked bones are placed between them, or carried with the body on the "
                      "root line; the others keep their reference rotation, or the animation they had where no "
                      "track below them tells it)")
    if bone_map is None and rig.skeleton.names[0] in match.unmatched_bones:
        report.append(f"the root bone '{rig.skeleton.names[0]}' has no track: it stays at its rest place and the "
                      "bones below it carry the motion")
    free = _free_bones(skel, match, bone_map, loc_idx)
    kept = carry.kept_bones(keys.object_fcurves(obj) + keys.nla_fcurves(obj.animation_data), set(free))
    overrides = override_warnings(obj, span.frames, set(skel.names) - kept)   # as apply_plan will leave it
    return Plan(armature=obj.name, bone_names=skel.names, free_bones=free,
                frames=span.frames,
                quaternions=basis_quaternions(sol, rig.rest), location_bones=loc_idx, locations=locs,
                report=report, warnings=range_warnings + reference_warnings + scaled + far_or_flipped + held
                + overrides + ambiguity_warnings(match, skel.names) + misspelt_warnings(match),
                overridden=bool(overrides),
                mean_error_pct=float(100 * err.mean() / height) if err.size else 0.0,
                max_error_pct=float(100 * err.max() / height) if err.size else 0.0,
                matched=len(match.bone_to_track), solution=written, against=against, height=height,
                end_parents=end_parents, end_offsets=end_offsets)


def _off_tracks(written: Solution, sol: Solution, tracks: Tracks) -> np.ndarray:
    """[T,J] how far the joints of ``written`` (what the keys hold of the solution ``sol``) end from
    their tracks (file units) as ``sol``'s check reads them (SafetyCheck.targets: left and right
    swaps traded back, as the solve and the command line take them; ``tracks`` without a check),
    NaN where that check reads none: the tracks' gaps (lost, filled)."""
    if sol.check is None:
        return np.linalg.norm(written.positions - tracks.positions, axis=-1)
    targets = tracks.positions if sol.check.targets is None else sol.check.targets
    error = np.linalg.norm(written.positions - targets, axis=-1)
    return np.where(np.isnan(sol.check.error), np.nan, error)


def _held_at_length(sol: Solution, rig: rig_io.Rig, tracks: Tracks, tol: float, limit: float | None,
                    report: list[str]) -> tuple[Solution, list[str]]:
    """(what the keys hold: ``sol`` with the connected bones it translates (past ``tol``) kept at their rest
    offsets, as Blender keeps a connected bone's head on its parent's tail; the warning when that takes
    joints further from ``tracks`` than the solution by more than its check allows), the bones named in
    ``report``. Raises a Pose2RotError, nothing written, when it leaves a joint further than ``limit``
    percent of the height (None: no limit), as the core refuses a solution past it."""
    skel = rig.skeleton
    blocked = blocked_translations(sol, rig.rest, tol)
    if not blocked:
        return sol, []
    bones = carry.names_list([skel.names[j] for j in blocked])
    report.append(f"connected bones cannot translate, their heads stay at bone length: {bones}")
    offsets = sol.local_offsets.copy()
    offsets[:, blocked] = skel.offsets[blocked]
    written = replace(sol, local_offsets=offsets)
    if sol.check is None:
        return written, []
    error = _off_tracks(written, sol, tracks) / skel.height
    why = f"connected bones cannot translate ({bones}), while the solve moves their heads onto the empties"
    fix = ("turn Connected off for those bones (Edit Mode: Bone properties > Relations) so that they can "
           "follow their empties")
    if limit is not None and 100 * np.nanmax(error, initial=0.0) > limit:
        check = replace(sol.check, error=error, tips=None)
        point, t, far = check.worst(skel.names)
        raise Pose2RotError(f"the keys would hold the bones {100 * far:.3g} % of the skeleton height from the tracks "
                            f"at {point}, frame {t + check.first_frame} (allowed: {limit:g} %): {why}; "
                            f"{check.past(limit / 100, skel.names)}; {fix}; nothing was written")
    added = error - np.nan_to_num(sol.check.error, nan=0.0)        # how much further than the solution
    far = np.nan_to_num(added, nan=0.0) > np.nan_to_num(sol.check.allowed, nan=np.inf)
    if not far.any():
        return written, []
    n, listed = worst_joints(far, error, skel.names, sol.check.first_frame)
    return written, [f"{why}, so {counted(n, 'joint ends', 'joints end')} further from their empties than the "
                     f"solution, by more than the noise and bone lengths explain: {listed} (percent of the skeleton "
                     f"height): {fix}"]


def _range_past_keys(span, keyed: tuple[float, float] | None, report: list[str]) -> list[str]:
    """The warnings of a solved range ``span`` that lies wholly outside the tracks' ``keyed`` frames
    (every frame then solves one held pose: a range set for another clip); a range reaching past
    them in part is noted in ``report``."""
    if keyed is None or (span.frame_start >= keyed[0] and span.frame_end <= keyed[1]):
        return []
    where = f"frames {span.frame_start}..{span.frame_end}"
    if span.frame_end < keyed[0] or span.frame_start > keyed[1]:
        return [f"{where} lie outside the tracks' keys ({keyed[0]:g}..{keyed[1]:g}): every frame holds the same "
                "pose; set the scene's frame range (or Start and End) to the keys"]
    report.append(f"{where} reach past the tracks' keys ({keyed[0]:g}..{keyed[1]:g}): there the tracks hold still")
    return []


def _free_bones(skel, match: NameMatch, bone_map: BoneMap | None, moving: np.ndarray) -> tuple[str, ...]:
    """Bones whose pose no track tells: no empty (or bone map source) on a joint below them or on a
    tip on or below them, and not translated (``moving``: indices of bones with location keys)."""
    driven = set(match.bone_to_track) | (set(bone_map.bones) if bone_map is not None else set())
    tipped = [n in match.end_to_track or f"{n}_end" in driven for n in skel.names]
    free = skel.untargeted(np.isin(skel.names, list(driven)), np.asarray(tipped))
    free[np.asarray(moving, np.int64)] = False
    return tuple(n for n, f in zip(skel.names, free) if f)


def _playhead_off_reference(playhead: int, obj: bpy.types.Object, span: SceneRange, use_reference: bool
                            ) -> list[str]:
    """A warning when the reference is the armature's current pose while its animation puts it
    somewhere else than the reference frame (the ``playhead`` on another frame), else none."""
    ad = obj.animation_data
    animated = ad is not None and (ad.action is not None or len(ad.nla_tracks) > 0)
    if not (use_reference and animated and playhead != span.reference_frame):
        return []
    return [f"the reference is the armature's current pose, which its animation puts at frame {playhead}, "
            f"not at the reference frame {span.reference_frame}: go to frame {span.reference_frame} (or set the "
            f"reference frame to {playhead}) and solve again"]


def _read_and_solve(scene: bpy.types.Scene, obj: bpy.types.Object, collection: bpy.types.Collection | None,
                    span: SceneRange, options: SolveOptions, learned: LearnedSettings | None, progress,
                    bone_map: BoneMap | None, interface: str = "blender"
                    ) -> tuple[rig_io.Rig, Tracks, NameMatch, Solution, list[str], tuple[float, float] | None | bool,
                               str]:
    """(rig, tracks, how bones found their empties, the solution, notes on the tracks' scale, the
    first and last keyed frame of the empties read, False when not known, what the bone heads are
    measured against in words): the empties drive the bones of the same name, or the bones
    ``bone_map`` maps them to; a fix is told in ``interface``'s words (check_scale)."""
    if bone_map is not None:
        rig, tracks, match, sol, against = solve_mapped(scene, obj, collection, span, options, bone_map, progress)
        return rig, tracks, match, sol, [], False, against  # the map scales the points to the rig itself
    rig, around, match, keyed = _gather(scene, obj, collection, span, options.use_reference,
                                        part_of(progress, 0.0, READ_SHARE), True, interface)
    start = span.frame_start - around.first_frame
    solved = (start, start + len(span.frames))  # solved with the keys around it, kept on the span
    tracks = around.frames(*solved)
    scale_note = check_scale(tracks, obj, interface)
    sol = solve(around, options, progress=part_of(progress, READ_SHARE, 1.0),
                network=runtime.network(options, learned or LearnedSettings()),
                frames=solved, units_checked=True)
    return rig, tracks, match, sol, scale_note, keyed, "their empties"


def _plan_channels(plan: Plan, kept: set[str], signs: np.ndarray
                   ) -> tuple[list[tuple[str, int, str]], np.ndarray, np.ndarray]:
    """(channels (data path, index, group = bone name) [C], frames [T], values [T,C]) of ``plan``:
    per bone (but the ``kept`` ones) its quaternion curves, each bone's times its sign in ``signs`` [J]
    (carry.joined_signs), then its location curves where it has them.
    The values are a view of one [C,T] array (a curve's keys one contiguous row, as they are written)."""
    T, J = plan.quaternions.shape[:2]
    loc_of = {int(j): k for k, j in enumerate(plan.location_bones)}
    channels, rows = [], []                            # rows of [quaternion components 4J, then locations 3K]
    for j, name in enumerate(plan.bone_names):
        if name in kept:
            continue
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"]'
        channels += [(path + ".rotation_quaternion", c, name) for c in range(4)]
        rows += range(4 * j, 4 * j + 4)
        if j in loc_of:
            channels += [(path + ".location", c, name) for c in range(3)]
            rows += range(4 * J + 3 * loc_of[j], 4 * J + 3 * loc_of[j] + 3)
    rows = np.array(rows, np.int64)
    quats = rows < 4 * J
    values = np.empty((len(rows), T))
    values[quats] = frames_last(plan.quaternions * signs[:, None]).reshape(4 * J, T)[rows[quats]]
    values[~quats] = frames_last(plan.locations).reshape(-1, T)[rows[~quats] - 4 * J]
    return channels, plan.frames, values.T


#: ``PoseBone.rotation_mode``'s number for 'QUATERNION', as foreach_get/foreach_set take it
_QUATERNION_MODE = bpy.types.PoseBone.bl_rna.properties["rotation_mode"].enum_items["QUATERNION"].value


def _reset_pose(pbones, kept: set[str]) -> None:
    """Quaternion rotation (the mode's setter turns the current rotation into one), no location and
    unit scale on every pose bone but the ``kept`` ones, written in bulk."""
    solved = np.array([name not in kept for name in pbones.keys()], bool)
    if not solved.any():
        return
    modes = np.empty(len(pbones), np.int32)
    pbones.foreach_get("rotation_mode", modes)
    modes[solved] = _QUATERNION_MODE
    pbones.foreach_set("rotation_mode", modes)
    for channel, value in carry.REST_VALUES.items():
        buf = np.empty((len(pbones), 3), np.float32)
        pbones.foreach_get(channel, buf.ravel())
        buf[solved] = value
        pbones.foreach_set(channel, buf.ravel())


def _rest_over_frames(writer: keys.ActionWriter, curves: list, written: set, frames: np.ndarray) -> list:
    """Rest-value keys (location 0, scale 1) over the solved ``frames`` on the solved bones' location and
    scale channels that ``curves`` animate and the solve does not write (``written``: (path, index)):
    the carried curves' keys either side of a part of the shot, and the NLA strips' curves under the
    new action (which play wherever it keys nothing), would still move or scale the bone there, while
    the solve places it at rest. Returns the new action's curves of those channels."""
    rest = carry.REST_VALUES
    stale = {}
    for fc in curves:
        key = (fc.data_path, fc.array_index)
        if key not in written and fc.data_path.rsplit(".", 1)[-1] in rest:
            stale.setdefault(key, (fc.data_path, fc.array_index, carry.transform_bone(fc.data_path)))
    if stale:
        channels = list(stale.values())
        values = np.tile([rest[path.rsplit(".", 1)[-1]] for path, _, _ in channels], (len(frames), 1))
        writer.write_curves(channels, frames, values)
    return writer.existing(lambda fc: (fc.data_path, fc.array_index) in stale)


def apply_plan(obj: bpy.types.Object, plan: Plan, progress=None, shot: tuple[int, int] | None = None
               ) -> bpy.types.Action:
    """Write ``plan`` as a new action on ``obj`` (quaternion keys on every bone, location keys where
    needed; unkeyed channels are reset to rest), carrying over from the replaced action what the
    solve does not write and the solved bones' keys outside its frames (see carry; ``shot``: the
    scene's frame range, the frames a cycle carried past the solved ones is baked over; None: the
    solved frames'), reporting the solved keys' writing to ``progress(fraction, message)``. Returns
    the new action."""
    kept_earlier = previous.remember(obj)
    curves = keys.object_fcurves(obj)
    below = keys.nla_fcurves(obj.animation_data)       # the NLA strips' curves, playing under the new action
    kept = carry.kept_bones(curves + below, set(plan.free_bones))
    left = kept | carry.missing_bones(curves + below, obj)   # and the curves of bones the armature has not
    first, last = float(plan.frames[0]), float(plan.frames[-1])
    turned = carry.other_rotations_outside(obj, curves, kept, first, last, shot)
    _reset_pose(obj.pose.bones, kept)
    base = carry.carried_action(obj, curves, left, first, last)
    turned_bones = set(turned)
    writer = keys.ActionWriter(obj, f"{obj.name}_pose2rot", base,
                               lambda fc: (carry.replaced(fc, left, first, last)
                                           or carry.rotation_curve(fc, turned_bones)))
    writer.action[previous.MADE_BY_KEY] = True
    if kept_earlier:
        plan.report.append(kept_earlier)
    for bone, (frames, quaternions, cycles) in turned.items():  # their rotation outside the solved frames
        path = f'pose.bones["{bpy.utils.escape_identifier(bone)}"].rotation_quaternion'
        writer.write_channels(path, bone, frames, quaternions, keys.BEZIER)
        if cycles is not None:
            carry.add_cycles(writer.existing(lambda fc: fc.data_path == path), cycles)
    carried = writer.existing(lambda fc: carry.solved_channel(fc, left))  # keys outside the solved frames
    plan.report += carry.bake_cycles(carried, first, last, shot or (int(first), int(last)))
    for fc in carried:
        carry.clear_frames(fc, first, last)
    signs, negated = carry.joined_signs(carried, plan.bone_names, plan.quaternions, first, last)
    channels, frames, values = _plan_channels(plan, kept, signs)
    writer.write_curves(channels, frames, values, progress=progress)
    written = {(path, c) for path, c, _ in channels}
    rested = _rest_over_frames(writer, carried + [fc for fc in below if carry.solved_channel(fc, left)], written,
                               frames)
    plan.report += carry.show_solved(writer.existing(lambda fc: (fc.data_path, fc.array_index) in written) + rested,
                                     first, last)
    dropped = carry.dropped_bones(curves + below, left, written, plan.height)
    if dropped:
        plan.report.append(f"{carry.names_list(dropped)} had location or scale keys, which the new action holds at "
                           "rest over the solved frames (the tracks place the bones): Restore Previous Action gives "
                           "them back")
    if kept:
        one = len(kept) == 1
        plan.report.append(", ".join(sorted(kept)) + (" keeps the animation it had: no track below it tells its pose"
                                                       if one else " keep the animation they had: no track below "
                                                       "them tells their pose"))
    if negated:
        plan.report.append(f"the quaternion keys of {carry.names_list(negated)} after frame {last:g} were negated "
                           "(each holds the same pose), so that the solved keys join them without a turn the other way")
    if turned:
        plan.report.append(f"{len(turned)} bone{'s' if len(turned) != 1 else ''} animated in Euler or axis-angle "
                           "rotation now rotate by quaternion: their keys outside the solved frames became "
                           "quaternion keys (the same pose on every key)")
    cycled = sorted(bone for bone, (_, _, cycles) in turned.items() if cycles is not None)
    if cycled:
        plan.report.append(f"the Cycles modifiers of {carry.names_list(cycled)}'s Euler or axis-angle curves now "
                           "repeat their quaternion keys; where the solved frames reach past the keys they repeated, "
                           "every frame of the scene's range that the cycle played became a key too and plays as "
                           "before")
    return writer.action


def show_current_frame(scene: bpy.types.Scene) -> None:
    """Evaluate the scene again where its playhead stands, subframe included (new keys show)."""
    scene.frame_set(scene.frame_current, subframe=scene.frame_subframe)


def solve_armature(scene: bpy.types.Scene, obj: bpy.types.Object, collection: bpy.types.Collection | None,
                   span: SceneRange, options: SolveOptions, learned: LearnedSettings,
                   progress=None, bone_map: BoneMap | None = None, interface: str = "blender"
                   ) -> tuple[Plan, float]:
    """compute_plan + apply_plan (its notes in ``interface``'s words); returns (plan, seconds).
    ``progress(fraction, message)`` hears of the reading, the solve and the writing of the keys, each in its
    part of the way."""
    t0 = time.perf_counter()
    plan = compute_plan(scene, obj, collection, span, options, learned, part_of(progress, 0.0, PLAN_SHARE), bone_map,
                        interface)
    apply_plan(obj, plan, part_of(progress, PLAN_SHARE, 1.0), (scene.frame_start, scene.frame_end))
    show_current_frame(scene)
    if progress is not None:
        progress(1.0, "keys written")
    return plan, time.perf_counter() - t0
