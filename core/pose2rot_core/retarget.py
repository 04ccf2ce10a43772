"""Drive a rig's own joints from points through a bone map (see pose2rot_core.bonemap).

:func:`retarget_tracks` turns a point set and a map into :class:`~pose2rot_core.tracks.Tracks` on the
rig, ready for the geometric solver (rigid bones, ``stretch="off"``):

1. **Targets.** Every mapped rig joint (or End Site) gets its point, or its virtual point (a mean or
   blend of points). A joint mapped straight to a point is *direct*; a virtual one is *soft*.
2. **Scale.** The rig keeps its bone lengths. The points are scaled (about the origin, so a floor
   under the feet stays under them) by the ratio of the rig's leg chains (direct joints on the paths
   from the root to the lowest direct joints, the feet's own bones left out) to the performer's, so
   the root's translation matches the rig's stride and the feet stay planted; without legs (capture
   from the waist up), by the ratio of the rig's bones whose ends both have points.
3. **Filling.** Rig joints without a point that lie between mapped joints get positions, top-down:
   - a *chain* of such joints between two placed joints (spines, necks, tails, twist segments) is
     the rig's reference chain, turned with the body around its start, bent evenly (every joint
     turning by the same angle) to the length the performer shows, about an axis the chain's
     frames have shown lately (a bend whose side is no longer seen fades out over a tenth of a
     second instead of jumping), then swung onto the chord; its free roll about the chord is chosen to bring soft targets on it closest to theirs.
     A chain ending in a hub that no point places rigidly (a chest between shoulder points a collar
     away) is not bent: that hub's distance is its fit's compromise, not a length the performer shows;
   - a *hub* (a joint with mapped joints below it along several children: a chest between neck and
     arms, an unmapped root) is placed by a weighted rigid fit of the rig's reference shape onto the
     direct joints around it (near ones weigh most; its own soft target weighs little);
   - a chain ending in a soft target with nothing mapped below is only aimed at it;
   - leaves and extras (fingers without points, eyes, face, twist leaves) stay without data and keep
     their reference pose.
A performer of other proportions bends a chain only by how much its length changes relative to the
rig's (the chain's median length is matched to the rig's when they differ by more than a few %).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .bonemap import BoneMap, check_map, evaluate_sources
from .chain_fill import fill_chains
from .errors import Pose2RotError
from .fk import end_site_positions, forward_kinematics
from .map_checks import report_map_against_points
from .automap import SHARED_APART
from .axes import AXES
from .options import SolveOptions
from .pointsets import PointSet
from .retarget_cleaning import denoise_targets
from .skeleton import Skeleton, marked_or_above, on_axis
from .solution import Solution
from .tracks import Tracks
from .tracks_io import fill_gaps

#: feet: direct joints within this fraction of the height above the lowest one
FOOT_FRACTION = 0.1


@dataclass
class Retargeted:
    """Tracks on the rig, how the points were placed on it (rig position = ``scale`` x point),
    ``twist_guess`` [T,J,3,3] (or None): local rotations that share each filled chain's bend and
    twist (the reference pose elsewhere), for the geometric solver's roll (:func:`solve_retargeted`),
    ``made_up`` [J]: the joints without a point of their own, whose tracks the fill placed, and
    ``noise`` [J]: the noise std per axis (fraction of the rig's height) that the cleaning of the
    points left in each mapped joint's track (0 for the others), ``stand_ins`` [J]: the joints whose
    point stands in for another place of the performer (automap.stand_in_joints: a toe base driven by
    a toe-tip landmark)."""

    tracks: Tracks
    scale: float
    twist_guess: np.ndarray | None = None
    made_up: np.ndarray | None = None
    noise: np.ndarray | None = None
    stand_ins: np.ndarray | None = None


def solve_retargeted(result: Retargeted, options: SolveOptions | None = None, *, progress=None,
                     frames: tuple[int, int] | None = None, **changes) -> Solution:
    """Solve retargeted tracks as ``options`` say (``changes``: fields applied on top), made fit for
    points by :meth:`SolveOptions.for_points` (geometric solver; "auto" stretch keeps the rig's bone
    lengths), with the chains' shared twist as the roll guess (which :func:`solvers.solve` leaves
    out when it smooths the tracks); ``frames`` (start, stop): the part returned (see solvers.solve)."""
    from .solvers import solve
    from .tracks_io import KEPT_AT_REFERENCE

    options = SolveOptions.of(options, **changes).for_points()
    sol = solve(result.tracks, options, progress=progress, twist_guess=result.twist_guess, made_up=result.made_up,
                points_noise=result.noise, frames=frames, stand_ins=result.stand_ins)
    sol.report = [n for n in sol.report if not n.endswith(KEPT_AT_REFERENCE)]  # the map's coverage names them
    return sol


@dataclass
class RigTargets:
    """What the map gives on the rig: ``positions`` [T,J+K,3] of rig joints then End Sites (NaN where
    unmapped), ``direct`` / ``soft`` [J+K] masks, the reference pose (global positions ``reference``
    [J+K,3], orientations ``frames`` [J+K,3,3] (an End Site has its joint's), local rotations
    ``local`` [J,3,3]), the rig extended by its End Sites as joints (``skeleton``), and ``gaps``
    [T,J+K]: the mapped samples whose points had no data there (filled)."""

    skeleton: Skeleton
    positions: np.ndarray
    direct: np.ndarray
    soft: np.ndarray
    reference: np.ndarray
    frames: np.ndarray
    local: np.ndarray
    gaps: np.ndarray


def retarget_tracks(points: PointSet, rig: Skeleton, bone_map: BoneMap, up: str = "y",
                    reference_rotations: np.ndarray | None = None, reference_frame: int | None = None,
                    end_parents: np.ndarray | None = None, end_offsets: np.ndarray | None = None,
                    end_names: tuple[str, ...] = (), rig_name: str = "the rig", smooth: str | float = "auto",
                    report: list[str] | None = None) -> Retargeted:
    """Tracks on ``rig`` (its up axis ``up``: "y" or "z") from ``points`` through ``bone_map``.

    reference_rotations [J,3,3]: the rig's reference pose (default its rest pose); reference_frame:
    the frame of the points that shows it, if any. end_parents [K] / end_offsets [K,3] / end_names:
    the rig's End Sites, which the map may drive too (names ``<joint>_end``). smooth: how the points
    are cleaned before the joints between them are placed ("auto", "off" or seconds, as the
    solver's: noise would otherwise be bent into those joints).
    """
    report = [] if report is None else report
    end_parents = np.zeros(0, np.int64) if end_parents is None else np.asarray(end_parents, np.int64)
    end_offsets = np.zeros((0, 3)) if end_offsets is None else np.asarray(end_offsets, np.float64)
    check_map(bone_map, list(rig.names) + list(end_names), points.names, rig=rig_name,
              tracks=points.source or "the points")
    targets = rig_targets(points, rig, bone_map, up, reference_rotations, end_parents, end_offsets,
                          tuple(end_names), report)
    check_shared_points(bone_map, targets)
    check_root(targets, rig.names[0], bone_map)
    if rig.num_joints > 1 and not (targets.direct | targets.soft)[1:].any():  # a rig of one joint: its place
        raise Pose2RotError(f"map: only the rig's root '{rig.names[0]}' is on points, so no bone is driven; map the "
                            "joints below it to points too")
    report_map_against_points(targets, np.asarray(AXES[up], np.float64), report)
    scale = rig_scale(targets, np.asarray(AXES[up], np.float64), report)
    keyed = _keyed_or_resampled(points, targets, report)
    scaled, noise = denoise_targets(targets, scale * targets.positions, points.fps, smooth, report, keyed,
                                    points.first_frame)
    filled, guesses = fill_chains(targets.skeleton, targets.reference, targets.frames, scaled, targets.direct,
                                  targets.soft, points.fps)
    J = rig.num_joints
    guess = None
    if guesses:
        guess = np.repeat(targets.local[None], points.num_frames, axis=0)
        for j, g in guesses.items():
            guess[:, j] = g
    ends = [k for k in range(len(end_parents)) if targets.direct[J + k] or targets.soft[J + k]]
    end_kw = {}
    if ends:
        columns = [J + k for k in ends]
        end_positions = np.where(targets.gaps[:, columns, None], np.nan, filled[:, columns])  # gaps, as the joints'
        end_kw = dict(end_positions=end_positions, end_parents=end_parents[ends],
                      end_rest_offsets=end_offsets[ends], end_names=tuple(end_names[k] for k in ends))
    _report_coverage(targets, rig, report)
    positions = filled[:, :J]
    no_data = targets.gaps[:, :J]          # the points' gaps stay gaps for the solve (it fills them, not checked)
    if no_data.any():                      # as missing values, not as a confidence the points did not give
        positions = positions.copy()
        positions[no_data] = np.nan
    tracks = Tracks(skeleton=rig, positions=positions, fps=points.fps, up_axis=up,
                    reference_rotations=reference_rotations, reference_frame=reference_frame,
                    keyed=None if keyed is None else np.repeat(keyed[:, None], J, axis=1),
                    first_frame=points.first_frame, **end_kw)
    stand_ins = stand_in_joints(rig.names, rig.parents, bone_map.bones, points)
    return Retargeted(tracks, scale, guess, ~(targets.direct | targets.soft)[:J], noise[:J] / rig.height, stand_ins)


def stand_in_joints(names: Sequence[str], parents: Sequence[int], bones: dict, points: PointSet) -> np.ndarray:
    """[J] the joints of a rig (``names``, ``parents``) whose point in ``bones`` stands in for another
    place of the performer (automap.stand_in_joints), the points named by their layout or, without
    one, as loose points, those with a layout's point name as that layout names them (MediaPipe's
    landmarks without the face are no layout)."""
    from .automap import canonical_names, stand_in_joints as standing_in
    from .layouts import LAYOUTS

    if points.layout is not None:
        return standing_in(names, parents, bones, points.layout.canonical)
    canon = canonical_names(points.names, [-1] * len(points.names))[0]
    for layout in LAYOUTS.values():
        canon.update({p: c for p, c in layout.canonical.items() if p in points.names and p not in canon})
    return standing_in(names, parents, bones, canon)


def _keyed_or_resampled(points: PointSet, targets: RigTargets, report: list[str]) -> np.ndarray | None:
    """[T] the points' keys (PointSet.keyed), or where none are told, the samples of points resampled
    to a higher rate by straight lines (smoothing.resampled_samples, with its note), read on the
    mapped targets with their gaps as gaps: read on the rig's tracks instead, the joints placed
    between the points (a spine between the hips and the chest) bend off the lines, and the points'
    noise went unsmoothed. None where neither."""
    from .smoothing import resampled_samples

    if points.keyed is not None:
        return points.keyed
    mapped = targets.direct | targets.soft
    on_points = np.where(targets.gaps[:, mapped, None], np.nan, targets.positions[:, mapped])
    return resampled_samples(on_points, points.first_frame, report, noun="points")


# ----------------------------------------------------------------------------- targets
def rig_targets(points: PointSet, rig: Skeleton, bone_map: BoneMap, up: str,
                reference_rotations: np.ndarray | None, end_parents: np.ndarray, end_offsets: np.ndarray,
                end_names: tuple[str, ...], report: list[str]) -> RigTargets:
    """Mapped positions on the rig extended by its End Sites, gaps filled; joints whose point has no
    data in any frame count as unmapped (with a note)."""
    J, K = rig.num_joints, len(end_parents)
    names = tuple(rig.names) + tuple(end_names)
    points = points_with_gaps(points, report)
    values = evaluate_sources(bone_map.bones, points.oriented(up), points.names, bone_map.points)
    T = points.num_frames
    X = np.full((T, J + K, 3), np.nan)
    direct, soft = np.zeros(J + K, bool), np.zeros(J + K, bool)
    empty = []
    for bone, value in values.items():
        j = names.index(bone)
        if np.isnan(value).any(axis=1).all():
            empty.append(bone)
            continue
        X[:, j] = value
        direct[j], soft[j] = bone_map.is_direct(bone), not bone_map.is_direct(bone)
    if empty:
        report.append(f"no data in any frame for the points of {', '.join(empty[:8])}"
                      f"{' ...' if len(empty) > 8 else ''}: they count as unmapped (the 'map:' line says which of "
                      "them are solved between the mapped joints and which keep the reference pose)")
    mapped = direct | soft
    gaps = np.isnan(X).any(-1) & mapped
    X[:, mapped], fill_report, _ = fill_gaps(X[:, mapped], [names[j] for j in np.flatnonzero(mapped)],
                                             points.first_frame)
    report.extend(fill_report)
    extended = rig.with_leaves(end_parents, end_offsets, names)
    R = np.eye(3)[None].repeat(J, 0) if reference_rotations is None else np.asarray(reference_rotations, np.float64)
    G, P = forward_kinematics(rig, R[None])
    reference = np.concatenate([P[0], end_site_positions(G, P, end_parents, end_offsets)[0]])
    return RigTargets(extended, X, direct, soft, reference, np.concatenate([G[0], G[0, end_parents]]), R, gaps)


def points_with_gaps(points: PointSet, report: list[str]) -> PointSet:
    """``points`` with what is no data set to NaN, as the solver does for tracks (a note for each):
    samples of confidence below placeholders.MIN_CONFIDENCE, and frames where the detector lost the
    person (every point at one place, see placeholders.lost_frames)."""
    from .placeholders import no_data_as_gaps

    notes: list[str] = []
    P, _ = no_data_as_gaps(points.positions, points.confidence, points.first_frame, notes)
    report.extend(f"points: {note}" for note in notes)
    return points if P is points.positions else replace(points, positions=P)


def check_shared_points(bone_map: BoneMap, targets: RigTargets) -> None:
    """Refuse (one line) a map that puts two joints on one point where the rig holds them apart
    (more than SHARED_APART of its reference pose's extent): a point used twice by mistake (a
    forearm and a hand both on the wrist) leaves one of them off its point and the rig folded.
    Joints the rig puts at one place (a root and the hips, a twist joint) may share a point."""
    names = list(targets.skeleton.names)
    by_source: dict[str, list[str]] = {}
    for bone, src in bone_map.bones.items():
        by_source.setdefault(json.dumps(src, sort_keys=True), []).append(bone)
    extent = max(float(np.ptp(targets.reference, axis=0).max()), 1e-300)
    for source, bones in by_source.items():
        where = targets.reference[[names.index(b) for b in bones]]
        apart = float(np.linalg.norm(where[:, None] - where[None], axis=-1).max())
        if apart > SHARED_APART * extent:
            which = f"{', '.join(repr(b) for b in bones[:-1])} and {bones[-1]!r}"
            raise Pose2RotError(f"map: {which} {'both' if len(bones) == 2 else 'all'} take {source}, where the rig "
                                f"holds them {100 * apart / extent:.3g} % of its size apart: give each its own point "
                                "(a joint without one is placed between its neighbours)")


def check_root(targets: RigTargets, root: str, bone_map: BoneMap | None = None) -> None:
    """Raise when the root has no point with data and no child with one, nor a joint of the root line
    (Skeleton.body_placers: nothing can place the rig); where the map gives them points that hold no
    data in any frame, say so."""
    mapped = targets.direct | targets.soft
    kids = list(targets.skeleton.body_placers)
    if mapped[0] or mapped[kids].any():
        return
    names = targets.skeleton.names
    given = [n for n in (root, *(names[k] for k in kids)) if bone_map is not None and n in bone_map.bones]
    if given:
        which = "; ".join(f"'{n}' takes {json.dumps(bone_map.bones[n])}" for n in given[:3])
        raise Pose2RotError(f"map: the rig's root '{root}' and its children have points with no data in any frame: "
                            f"{which} (all missing, NaN or of confidence below 0.1); give those points data, or map "
                            "the root or one of its children to points that have some")
    raise Pose2RotError(f"map: the rig's root '{root}' has no point and none of its children has one; map the "
                        f"root (e.g. \"{root}\": {{\"mean\": [\"left_hip\", \"right_hip\"]}}) or one of its children")


# ----------------------------------------------------------------------------- scale
def rig_scale(targets: RigTargets, up: np.ndarray, report: list[str]) -> float:
    """The ratio of the rig's leg chains to the performer's, without legs of its bones with points at
    both ends (see the module docstring); 1 where no two joints with points are a bone."""
    X = targets.positions
    pairs = _leg_pairs(targets, up)
    legs = bool(pairs)
    if not legs:  # waist-up capture: the other bones with a point at both ends
        parents = targets.skeleton.parents
        pairs = [(int(parents[b]), int(b)) for b in np.flatnonzero(targets.direct)
                 if parents[b] >= 0 and targets.direct[parents[b]]]
    rig = sum(np.linalg.norm(targets.reference[a] - targets.reference[b]) for a, b in pairs)
    seen = sum(float(np.median(np.linalg.norm(X[:, a] - X[:, b], axis=-1))) for a, b in pairs)
    if not (seen > 0 and rig > 0):
        report.append("no two joints with points are a bone of the rig: the points are not scaled")
        return 1.0
    scale = rig / seen
    if not legs:
        report.append(f"no chain of points runs from the root to the feet: the points are scaled by the rig's "
                      f"bones between points ({len(pairs)}), {scale:.4g} x the performer's")
    elif abs(scale - 1.0) > 1e-3:
        report.append(f"the rig's legs are {scale:.4g} x the performer's: the root's translation is scaled to match")
    return scale


def _one_bone(parents: np.ndarray, axial: np.ndarray, a: int, b: int) -> bool:
    """Whether joint b hangs from a by one bone, or by one bone split into segments on its axis (every
    joint between them on it, see skeleton.on_axis: twist segments, which only twist what is below)."""
    j = parents[b]
    while j != a and j >= 0 and axial[j]:
        j = parents[j]
    return j == a


def _leg_pairs(targets: RigTargets, up: np.ndarray) -> list[tuple[int, int]]:
    """(parent, child) bones with both ends direct on the paths from the root to the lowest direct
    joints (the rig's reference pose decides which are lowest): rigid in any clip; where there are
    none, consecutive direct joints on those paths. Bones within the feet (both ends near the
    lowest joint) are left out where others remain: they lie along the floor, so they do not set
    the hips' height, and their points often only stand in (a toe-tip landmark for a toe joint:
    the FreeMoCap walk came out 4 % small, its feet 9 cm through the rig's floor). A bone split into
    segments on its axis (twist segments, skeleton.on_axis) is one bone: read as none, the split legs
    left the feet's bones alone to scale the FreeMoCap walk onto the split Mixamo example (20 % small)."""
    direct = np.flatnonzero(targets.direct)
    if len(direct) < 2:
        return []
    height = targets.reference @ up
    extent = max(float(np.ptp(height)), 1e-12)
    feet = direct[height[direct] <= height[direct].min() + FOOT_FRACTION * extent]
    parents = targets.skeleton.parents
    pairs: set[tuple[int, int]] = set()
    for f in feet:
        below, j = f, parents[f]
        while j >= 0:
            if targets.direct[j]:
                pairs.add((int(j), int(below)))
                below = j
            j = parents[j]
    axial = on_axis(parents, targets.reference)
    bones = [(a, b) for a, b in pairs if _one_bone(parents, axial, a, b)] or list(pairs)
    low = height <= height[direct].min() + FOOT_FRACTION * extent
    legs = [(a, b) for a, b in bones if not (low[a] and low[b])]  # see the module docstring
    return sorted(legs or bones)


# ----------------------------------------------------------------------------- report
def _report_coverage(targets: RigTargets, rig: Skeleton, report: list[str]) -> None:
    J = rig.num_joints
    marked = targets.direct | targets.soft
    mapped = marked[:J]
    lead = marked_or_above(targets.skeleton.parents, marked)[:J]  # End Sites count
    between = [rig.names[j] for j in np.flatnonzero(lead & ~mapped)]
    kept = [rig.names[j] for j in np.flatnonzero(~lead)]
    report.append(f"map: {int(targets.direct[:J].sum())} joints on points, {int(targets.soft[:J].sum())} on virtual "
                  f"points, {len(between)} solved between them"
                  + (f" ({', '.join(between[:6])}{' ...' if len(between) > 6 else ''})" if between else "")
                  + f", {len(kept)} keep the reference pose"
                  + (f" (no point on or below them: {', '.join(kept[:6])}{' ...' if len(kept) > 6 else ''})"
                     if kept else ""))
