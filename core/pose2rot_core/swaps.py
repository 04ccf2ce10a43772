"""Left and right put back where a tracker swapped them.

Trackers that read a body from video mix up its sides now and then: for a few frames the left knee's
track holds the right knee and the other way round, then they trade back. Bone lengths do not show
it (both legs are alike), and solved as given the rig crosses its legs and uncrosses them. What
shows it is continuity: at the frame a swap starts or ends, both tracks of a mirror pair
(``LeftKnee`` and ``RightKnee``, by name: names.mirror_pairs) jump by the distance between them, while with the two
exchanged each moves as usual (where it was, or where it was heading: legs passing close by in a
walk are told by their velocities) and the rest of the body moves as usual too. Real motion never does
that: a foot that steps across the other moves while the other stands, and a spin or a cut between
takes moves the whole body. Such frames come in pairs, a swap's start and end; the frames between
are swapped back, and a note names them. Pairs are read one by one, so a whole leg or only a foot
may be swapped.
"""
from __future__ import annotations

import numpy as np

from .names import mirror_pairs
from .rotations import norm
from .smoothing import column_nanmedian

#: at a swap's first and last frame, exchanging the pair's two points must take more than this many
#: times the sum of their usual squared misses (their medians over the clip, see _traded) off the sum
#: of their squared misses ...
GAIN = 9.0
#: ... leaving that sum at most this many times the usual one (each, exchanged, moves as usual) ...
CROSSED = 9.0
#: ... while the points of the body move as usual: the median over them of their misses against their
#: own usual ones at most this (a paired point's miss as given or exchanged, whichever is less: a
#: whole body's sides may swap at once, while a spin or a cut between takes moves the body)
BODY_STEPS = 3.0
#: a usual step is read as at least this fraction of the skeleton height (a point that holds still)
MIN_STEP = 1e-4


def swapped_frames(points: np.ndarray, pairs: list[tuple[int, int]], height: float) -> np.ndarray:
    """[T,n] bool: the frames in which each of the n ``pairs`` of ``points`` [T,N,3] (NaN: no data)
    holds its two points the other way round: between two frames where they trade places (see the
    module), the first, third ... such frames starting a swap and the next ones ending it. A pair
    with an odd number of such frames is left as it is: which side is which cannot be told."""
    T = points.shape[0]
    if not pairs or T < 3:
        return np.zeros((T, len(pairs)), bool)
    a, b = np.array(pairs).T
    flips = np.zeros((T, len(pairs)), bool)
    flips[1:] = _traded(points, a, b, height, 1)
    flips[2:] |= _traded(points, a, b, height, 2)
    flipped = np.cumsum(flips, axis=0) % 2 == 1
    return flipped & (flips.sum(axis=0) % 2 == 0)


def _traded(points: np.ndarray, a: np.ndarray, b: np.ndarray, height: float, order: int) -> np.ndarray:
    """[T-order,n] bool: at which frames (from ``order`` on) each pair (``a``, ``b`` [n]) of
    ``points`` [T,N,3] trades places as a swap does. Each point's miss is how far it is from where
    it was in the frame before (``order`` 1) or from where it was heading over the two before (2):
    a pair passing close by (legs in a walk) is told by where each was heading. Exchanged, the two
    must miss far less than as given and no more than usual, in a frame the body moves as usual."""
    last = points[order - 1:-1]
    guess = last if order == 1 else 2.0 * last - points[:-2]  # [T-order,N,3]
    miss = norm(points[order:] - guess)  # [T-order,N]
    usual = np.maximum(np.nan_to_num(column_nanmedian(miss)), MIN_STEP * height)  # [N]
    now = points[order:]
    exchanged = norm(now[:, a] - guess[:, b]), norm(now[:, b] - guess[:, a])  # [T-order,n] each
    least = miss.copy()  # each point's miss, a paired point's as given or exchanged, whichever is less
    least[:, a], least[:, b] = np.fmin(miss[:, a], exchanged[0]), np.fmin(miss[:, b], exchanged[1])
    body = column_nanmedian((least / usual).T)  # [T-order]
    typical = usual[a] ** 2 + usual[b] ** 2  # [n]
    given = miss[:, a] ** 2 + miss[:, b] ** 2  # [T-order,n]
    crossed = exchanged[0] ** 2 + exchanged[1] ** 2
    with np.errstate(invalid="ignore"):
        return (given - crossed > GAIN * typical) & (crossed <= CROSSED * typical) & (body <= BODY_STEPS)[:, None]


def swap_back(points: np.ndarray, confidence: np.ndarray | None, names: tuple[str, ...] | list[str],
              height: float, first_frame: int, report: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """(points [T,N,3], confidence [T,N] or None) with the mirror pairs' swapped frames (see
    swapped_frames) put back, and a note in ``report`` naming them; the inputs themselves where
    none is."""
    from .tracks_io import describe_names, describe_spans, frame_spans

    pairs = mirror_pairs(names)
    swapped = swapped_frames(points, pairs, height)
    if not swapped.any():
        return points, confidence
    points = points.copy()
    confidence = None if confidence is None else confidence.copy()
    by_span: dict[str, list[str]] = {}
    for k in np.flatnonzero(swapped.any(axis=0)):
        (i, j), rows = pairs[k], swapped[:, k]
        points[rows, i], points[rows, j] = points[rows, j], points[rows, i]
        if confidence is not None:
            confidence[rows, i], confidence[rows, j] = confidence[rows, j], confidence[rows, i]
        spans = frame_spans(rows)
        spans = describe_spans(spans, len(spans), first_frame)
        by_span.setdefault(spans, []).append(f"'{names[i]}'/'{names[j]}'")
    for spans, named in by_span.items():
        report.append(f"left and right swapped back in {spans}: {describe_names(named, 6, 'pair')} (their "
                      "tracks traded places there, as a tracker mixing up the sides does)")
    return points, confidence
