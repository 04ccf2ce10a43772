"""A skeleton from a layout and a clip: solve landmark or text-to-motion joints without a rig.

:func:`layout_tracks` turns a point set with a layout into :class:`~pose2rot_core.tracks.Tracks`
on the layout's own joint tree: joint positions from the layout's sources (points, or means of
points such as the pelvis between the hips), bone lengths measured on the clip (median over the
frames where both ends are known), and a T-pose rest (Y up, facing +Z, left at +X) built from the
layout's bone directions. :func:`leaf_tips` gives leaves a drawn tip along their bone for BVH files.
"""
from __future__ import annotations

import numpy as np

from .bonemap import evaluate_sources, source_names
from .errors import Pose2RotError
from .layouts import LayoutJoint
from .map_checks import report_layout_mirrored
from .pointsets import PointSet
from .rotations import best_fit_rotation, normalize
from .skeleton import Skeleton
from .noise_estimate import bone_lengths, column_nanmedian
from .tracks import Tracks

#: a leaf's drawn tip is this fraction of its own bone
TIP_FRACTION = 0.5
#: frames (evenly spread) that the rest shape of a branching joint's children is measured on
SHAPE_SAMPLES = 2000


def layout_tracks(points: PointSet, report: list[str] | None = None) -> Tracks:
    """Tracks [T,J,3] on the skeleton of ``points.layout`` (model frame, Y up)."""
    layout = points.layout
    if layout is None or not layout.joints:
        raise Pose2RotError("solving points on their own needs a layout with joints (--layout NAME); "
                            "to drive a rig give --skeleton RIG.bvh --map MAP.json")
    joints = layout.joints
    names = [j.name for j in joints]
    parents = [-1 if j.parent is None else names.index(j.parent) for j in joints]
    sources = {j.name: j.source for j in joints}
    positions = _joint_positions(points, sources)
    _check_root(points, joints[0], positions[:, 0])
    lengths, guessed = _bone_lengths(positions, parents)
    if guessed and report is not None:
        report.append(f"no data for {', '.join(names[j] for j in guessed[:8])}"
                      f"{' ...' if len(guessed) > 8 else ''}: "
                      f"{'its bone gets' if len(guessed) == 1 else 'their bones get'} a stand-in length")
    rest = _t_pose(joints, parents, lengths, positions)
    skeleton = Skeleton(tuple(names), np.asarray(parents), rest)
    if report is not None:
        report.append(f"skeleton from layout {layout.name}: {len(names)} joints, bone lengths from the clip, "
                      "T-pose rest")
        report.extend(_points_on_their_parent(names, parents, lengths))
        where = {layout.canonical.get(n, n): j for j, n in enumerate(names)}
        report_layout_mirrored(rest, positions, where, report)
    return Tracks(skeleton=skeleton, positions=positions, fps=points.fps, up_axis="y",
                  confidence=_joint_confidence(points, sources), first_frame=points.first_frame)


def _joint_positions(points: PointSet, sources: dict) -> np.ndarray:
    """[T,J,3] positions (Y up) of the joints ``sources`` names (in its order) from their points or means
    of points; joints on points are taken in one np.take (stacking columns is many times slower)."""
    X = points.oriented("y")
    index = {n: i for i, n in enumerate(points.names)}
    if all(isinstance(src, str) and src in index for src in sources.values()):
        return np.take(X, [index[src] for src in sources.values()], axis=1)
    values = evaluate_sources(sources, X, points.names)
    return np.stack(list(values.values()), axis=1)


def _check_root(points: PointSet, root: LayoutJoint, track: np.ndarray) -> None:
    """Refuse points whose layout root ``root`` has no position in any frame of its ``track`` [T,3],
    naming the points it comes from (an upper-body capture: no hips, so no pelvis)."""
    if np.isfinite(track).all(axis=-1).any():
        return
    used = source_names(root.source)
    where = (f"at point '{used[0]}', which has" if isinstance(root.source, str)
             else f"at the {next(iter(root.source))} of {' and '.join(used)}, which have")
    raise Pose2RotError(f"{points.source or 'the points'}: layout {points.layout.name} places its root '{root.name}' "
                        f"{where} no data in any frame (missing or NaN), and the root places the whole clip: give "
                        f"{'it' if len(used) == 1 else 'them'} data, or map the points onto a rig whose root a map "
                        "places from points that have some (--skeleton RIG.bvh --map MAP.json)")


def leaf_tips(skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """(leaf joint indices [K], tip offsets [K,3]): End Sites along every leaf's own bone, for BVH
    files (viewers draw a leaf only up to its tip)."""
    leaves = np.asarray([j for j, c in enumerate(skeleton.children) if not c and j > 0], np.int64)
    return leaves, TIP_FRACTION * skeleton.offsets[leaves].reshape(-1, 3)


def _bone_lengths(positions: np.ndarray, parents: list[int]) -> tuple[np.ndarray, list[int]]:
    """([J] median distance of every joint to its parent over the clip (0 for the root), joints whose
    length had to be guessed: a tenth of the median known bone)."""
    lengths = np.zeros(positions.shape[1])
    lengths[1:] = column_nanmedian(bone_lengths(positions, np.arange(1, len(parents)), parents[1:]))
    guessed = [int(j) for j in np.flatnonzero(np.isnan(lengths))]
    known = lengths[1:][lengths[1:] > 0]
    stand_in = 0.1 * float(np.median(known)) if known.size else 1.0
    lengths[guessed] = stand_in
    return lengths, guessed


def _points_on_their_parent(names: list[str], parents: list[int], lengths: np.ndarray) -> list[str]:
    """A note on joints that sit on their parent's point in most frames (a median bone length of 0: a
    point copied from another, a tracker holding a lost point on its neighbour); the bone between
    them has no length, so its parent's turn is left to the reference pose."""
    size = float(lengths.max()) if lengths.size else 0.0
    on = [j for j in range(1, len(names)) if lengths[j] <= 1e-6 * size]
    if not on or size <= 0:
        return []
    pairs = ", ".join(f"'{names[j]}' on '{names[parents[j]]}'" for j in on[:4]) + (" ..." if len(on) > 4 else "")
    return [f"{pairs}: the point lies on its parent's in most frames, so that bone has no length and "
            "does not turn its parent (check the points: one may be a copy of the other)"]


def _t_pose(joints, parents: list[int], lengths: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """[J,3] rest positions: every bone along its layout direction at its length, except that the
    children of a branching joint keep the shape they have in the clip (see :func:`_group_shape`);
    the lowest joint at height 0."""
    J = len(joints)
    offsets = np.array([lengths[j] * normalize(joints[j].direction) for j in range(J)])
    offsets[0] = 0.0
    children: list[list[int]] = [[] for _ in range(J)]
    for j in range(1, J):
        children[parents[j]].append(j)
    for j, kids in enumerate(children):
        if sum(lengths[c] > 0 for c in kids) >= 2:
            offsets[kids] = _group_shape(positions[:, kids] - positions[:, j, None], offsets[kids])
    rest = np.zeros((J, 3))
    for j in range(1, J):
        rest[j] = rest[parents[j]] + offsets[j]
    rest[:, 1] -= rest[:, 1].min()
    return rest


def _group_shape(seen: np.ndarray, declared: np.ndarray) -> np.ndarray:
    """Rest offsets [n,3] of the children of one joint: their offsets ``seen`` [T,n,3] in the clip,
    turned per frame by the rotation that best fits the ``declared`` T-pose offsets [n,3] onto them,
    then the median over frames (at the declared lengths). A branching joint is fitted to all its
    children at once, so their rest shape must be the one the clip shows."""
    ok = np.isfinite(seen).all(axis=(1, 2))
    if not ok.any():
        return declared
    obs = seen[ok][::max(1, int(ok.sum()) // SHAPE_SAMPLES)]            # a median needs no more frames
    M = np.einsum("tni,nj->tij", obs, declared)
    M = M + 1e-9 * np.einsum("nj,nj->", declared, declared) * np.eye(3)   # ties: the declared orientation
    R = best_fit_rotation(M)
    local = np.median(np.einsum("tji,tnj->tni", R, obs), axis=0)       # R^T seen
    length = np.linalg.norm(declared, axis=-1, keepdims=True)
    scale = np.where(length > 0, length / np.maximum(np.linalg.norm(local, axis=-1, keepdims=True), 1e-12), 0.0)
    return local * scale


def _joint_confidence(points: PointSet, sources: dict) -> np.ndarray | None:
    """[T,J] confidence of every joint: the lowest of the points it is made of."""
    if points.confidence is None:
        return None
    index = {n: i for i, n in enumerate(points.names)}
    cols = [points.confidence[:, [index[n] for n in source_names(src)]].min(axis=1) for src in sources.values()]
    return np.stack(cols, axis=1)
