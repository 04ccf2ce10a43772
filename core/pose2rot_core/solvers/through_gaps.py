"""Joints the tracks say nothing about for a while: where every point below a joint (its
descendants and their bone tips) was a gap, filled by interpolating each track on its own, the
joint's rotation was aimed at those made-up positions. Such a stretch is better given the rig's own
motion: the joint's local rotation runs smoothly from the frame before the stretch to the frame
after it (on clean tracks a cubic Hermite curve of rotation vectors that keeps the rate of turn at
either end, as the tracks' gaps are filled; on noisy ones the even turn), or holds the one it has
at the clip's start or end."""
from __future__ import annotations

import numpy as np

from ..skeleton import Skeleton
from ..rotations import from_rotation_vector, rotation_vector
from ..stacks import mat_mul, mat_t_mul
from ..tracks_io import frame_spans, hermite_interpolate


def subtree_without_data(skeleton: Skeleton, gaps: np.ndarray, end_parents: np.ndarray | None = None,
                         end_gaps: np.ndarray | None = None) -> np.ndarray:
    """[T,J] True where every point below a joint (its descendants and their bone tips: ``gaps``
    [T,J] and ``end_gaps`` [T,K] on joints ``end_parents`` [K]) is a gap; False for a joint with
    nothing below it (its rotation never followed a track)."""
    T, J = gaps.shape
    below = np.ones((T, J), bool)  # every point below is a gap (so far)
    has_points = np.zeros(J, bool)
    if end_gaps is not None and end_parents is not None:
        for k, p in enumerate(end_parents):
            below[:, p] &= end_gaps[:, k]
            has_points[p] = True
    for j in range(J - 1, 0, -1):  # children before parents
        p = skeleton.parents[j]
        below[:, p] &= gaps[:, j] & below[:, j]
        has_points[p] = True
    return below & has_points


def rotations_through_gaps(rotations: np.ndarray, free: np.ndarray, with_rates: bool = True) -> np.ndarray:
    """Local rotations [T,J,3,3] with each stretch of ``free`` [T,J] frames replaced by a smooth
    turn from the frames before it to the frames after it (held where the stretch reaches the
    clip's start or end; untouched where it covers the whole clip): with ``with_rates``, a curve
    that also keeps the rate of turn at either end (as the turn between the two frames there shows
    it: only rotations of clean tracks tell it), else the even turn between the two frames."""
    out = rotations.copy()
    T = rotations.shape[0]
    for j in np.flatnonzero(free.any(axis=0) & ~free.all(axis=0)):
        for a, last in frame_spans(free[:, j]):
            b = last + 1  # frames a..b-1
            if a == 0 or b == T:
                out[a:b, j] = rotations[b if a == 0 else a - 1, j]
                continue
            around = (a - 2, a - 1, b, b + 1) if with_rates else (a - 1, b)
            known = [k for k in around if 0 <= k < T and not free[k, j]]
            out[a:b, j] = _hermite_turn(rotations[:, j], np.array(known), np.arange(a, b), a - 1)
    return out


def _hermite_turn(R: np.ndarray, known: np.ndarray, frames: np.ndarray, anchor: int) -> np.ndarray:
    """[n,3,3] rotations at ``frames`` [n] on the Hermite curve through ``R`` [T,3,3] at frames
    ``known`` [k] (ascending), drawn as rotation vectors relative to ``R[anchor]``."""
    base = R[anchor]
    values = rotation_vector(mat_t_mul(np.broadcast_to(base, (len(known), 3, 3)), R[known]))
    turn = from_rotation_vector(hermite_interpolate(known, values, frames))
    return mat_mul(np.broadcast_to(base, turn.shape), turn)
