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
from ..tracks_io import describe_names, describe_spans, frame_spans, hermite_interpolate


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


def through_gaps_note(free: np.ndarray, joints: np.ndarray, names: tuple[str, ...], first_frame: int = 0,
                      shown: tuple[int, int] | None = None, groups: int = 4) -> str:
    """The note for the ``joints`` [n] whose rotations rotations_through_gaps drew across their
    ``free`` [T,J] frames: joints whose gaps are the same frames share a part (a hand and its
    fingers), each with its own frames and what its rotation does there (a turn from the frame before
    to the frame after, or the rotation held from the first frame after a gap that opens the clip or
    the last before one that closes it); frames from ``first_frame``, those in ``shown`` = [start,
    stop) only (see tracks_io.shown_only); past ``groups`` parts the rest are counted."""
    T = free.shape[0]
    start, stop = shown if shown is not None else (0, T)
    by_spans: dict[tuple, list[str]] = {}
    for j in joints:
        spans = tuple((a, last) for a, last in frame_spans(free[:, j]) if a < stop and last >= start)
        by_spans.setdefault(spans, []).append(f"'{names[j]}'")
    parts = []
    for spans, labels in list(by_spans.items())[:groups]:
        cut = [(max(a, start), min(last, stop - 1)) for a, last in spans]
        one = len(labels) == 1
        parts.append(f"{describe_names(labels, noun='joint')} ({describe_spans(cut, first_frame=first_frame)}) "
                     + _what_the_rotation_does(spans, T, first_frame, one))
    left = sum(len(labels) for labels in list(by_spans.values())[groups:])
    n = len(joints)
    return (f"{n} {'joint has' if n == 1 else 'joints have'} no data below {'it' if n == 1 else 'them'} in some "
            f"frames (gaps), so {'its rotation does' if n == 1 else 'their rotations do'} not follow the filled "
            f"points: {'; '.join(parts)}" + (f"; and {left} more joint{'s' if left != 1 else ''}" if left else ""))


def _what_the_rotation_does(spans: tuple, T: int, first_frame: int, one: bool) -> str:
    """What rotations_through_gaps does across the gaps ``spans`` [(first, last)] of a clip of ``T``
    frames, for one joint (``one``) or several: held where a gap opens or closes the clip (naming the
    frame held, counted from ``first_frame``), a smooth turn between the frames around it elsewhere."""
    s = "s" if one else ""
    words = []
    if spans and spans[0][0] == 0:
        words.append(f"hold{s} the rotation of frame {spans[0][1] + 1 + first_frame}, the first after the gap")
    if any(0 < a and last < T - 1 for a, last in spans):
        words.append(f"turn{s} smoothly from the frame before the gap to the frame after")
    if spans and spans[-1][1] == T - 1:
        words.append(f"hold{s} the rotation of frame {spans[-1][0] - 1 + first_frame}, the last before the gap")
    return ", and ".join(words)
