"""Left and right put back where a tracker swapped them.

Trackers that read a body from video mix up its sides now and then: for a few frames the left
knee's track holds the right knee and the other way round, then they trade back. Bone lengths do
not show it (both legs are alike), and solved as given the rig crosses its legs and uncrosses them.
What shows it is continuity: at the frame a swap starts or ends, both tracks of a mirror pair
(``LeftKnee`` and ``RightKnee``, by name: names.mirror_pairs) jump by the distance between them,
while with the two exchanged each moves as usual (from where it was, or was heading: legs passing
close by in a walk are told by their velocities; across a gap, from where it was last seen) and the
rest of the body moves as usual too. Real motion never does that: a foot that steps across the
other moves while the other stands, and a spin or a cut between takes moves the whole body. Where
one guess calls for the exchange and the other as clearly against it, nothing is told: feet
brought together fast and stopped head past each other's places at a low frame rate, while each
stays by its own. Such frames come in pairs, a swap's start and end; the frames between are swapped
back, and a note names them. Pairs are read one by one, so a whole leg or only a foot may be swapped;
a swap with one end in the clip is told by the limb's pairs across a rigid part of the body (see
swapped_frames).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .names import mirror_pairs
from .rotations import norm
from .running import running_median
from .noise_estimate import column_nanmedian
from .wording import WARNING_PREFIX

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


class Swaps(NamedTuple):
    """What swapped_frames finds for n mirror pairs over T frames: ``swapped`` [T,n] the frames that
    hold a pair the other way round; ``unsure`` [T,n] those of a gap where a swap began or ended
    (either point may hold either side); ``untold`` the limbs (UNTOLD_PAIRS pairs or more, by index)
    that trade places at some frames (by index) and not back, where nothing tells which side is which."""

    swapped: np.ndarray
    unsure: np.ndarray
    untold: list[tuple[list[int], list[int]]]


#: a limb of this many pairs or more that trades places and not back, untold, is named in a warning
UNTOLD_PAIRS = 3


def swapped_frames(points: np.ndarray, pairs: list[tuple[int, int]], height: float) -> Swaps:
    """Swaps of the n ``pairs`` of ``points`` [T,N,3] (NaN: no data). A pair trades places at its
    flips (see the module): the first, third ... start a swap and the next ones end it. A pair with
    an odd number of flips (a swap from the clip's start or to its end) is swapped where its
    left-to-right direction runs against the body's, read from the pairs that never flip, in the
    frames on one side of its flips and along it on the other, as told by its limb's pairs across a
    rigid part of the body (hips, shoulders); else it is left as it is."""
    T, n = points.shape[0], len(pairs)
    if not pairs or T < 3:
        return Swaps(np.zeros((T, n), bool), np.zeros((T, n), bool), [])
    a, b = np.array(pairs).T
    flips, unsure = _flips(points, a, b, height)
    flipped = np.cumsum(flips, axis=0) % 2 == 1
    count = flips.sum(axis=0)
    swapped = flipped & (count % 2 == 0)
    odd = [k for k in np.flatnonzero(count % 2 == 1) if not _like_a_partner(k, flips, swapped, count)]
    untold = []
    if odd:
        across = points[:, a] - points[:, b]  # [T,n,3] each pair's left-to-right direction
        body = _body_across(across[:, count == 0])
        rigid = _across_a_rigid_part(across)
        for group in _same_flips(odd, flips):
            sides = {_against_the_body(across[:, k], body, flipped[:, k]) for k in group if rigid[k]} - {0}
            if len(sides) == 1:  # the pairs that tell agree
                swapped[:, group] = (flipped[:, group[0]] if sides == {1} else ~flipped[:, group[0]])[:, None]
            elif len(group) >= UNTOLD_PAIRS:
                untold.append((group, np.flatnonzero(flips[:, group[0]]).tolist()))
    return Swaps(swapped, unsure & ((count % 2 == 0) | swapped.any(axis=0))[None], untold)


#: a pair lies across a rigid part of the body (hips, shoulders) where the distance between its points,
#: (its running median: noise aside) varies by at most this share of its mean
RIGID_SPREAD = 0.1


def _across_a_rigid_part(across: np.ndarray) -> np.ndarray:
    """[n] bool: the pairs whose two points keep one distance apart (``across`` [T,n,3], their
    left-to-right vectors), the std over the clip of its running median over 9 frames (which noise
    does not move) at most RIGID_SPREAD of its mean: hips, shoulders, eyes. They tell the body's left
    from its right; feet and hands, which come together and part, and may cross, do not."""
    distance = norm(across)  # [T,n]
    rigid = np.zeros(distance.shape[1], bool)
    for k in range(distance.shape[1]):
        seen = distance[np.isfinite(distance[:, k]), k]
        if len(seen) >= 9:
            steady = running_median(seen, 9)
            rigid[k] = steady.std() <= RIGID_SPREAD * max(steady.mean(), 1e-300)
    return rigid


def _like_a_partner(k: int, flips: np.ndarray, swapped: np.ndarray, count: np.ndarray) -> bool:
    """Give pair ``k`` (an odd number of ``flips`` [T,n]) the ``swapped`` frames [T,n] (in place) of
    the pairs with an even number of them that flip wherever it does, when they agree: a joint whose
    swap ended in a gap (a knee lost for a few frames) goes with its limb. Whether it found them."""
    mine = flips[:, k]
    partners = [j for j in np.flatnonzero((count % 2 == 0) & (count > 0)) if not (mine & ~flips[:, j]).any()]
    if not partners or any((swapped[:, j] != swapped[:, partners[0]]).any() for j in partners):
        return False
    swapped[:, k] = swapped[:, partners[0]]
    return True


def _same_flips(pairs: list[int], flips: np.ndarray) -> list[list[int]]:
    """``pairs`` grouped by the frames they flip at (``flips`` [T,n]): a limb that traded places at
    one frame, decided as one."""
    groups: dict[bytes, list[int]] = {}
    for k in pairs:
        groups.setdefault(flips[:, k].tobytes(), []).append(k)
    return list(groups.values())


def _flips(points: np.ndarray, a: np.ndarray, b: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray]:
    """([T,n] bool, [T,n] bool): the frames at which each pair (``a``, ``b`` [n]) trades places, read
    from where each point was last seen (across gaps) or from where it was heading over the two
    frames before, where the other guess does not fit the pair as given by as much better (feet
    closing fast and stopping at a low frame rate head past each other's places, yet each stays by
    its own); and the frames of a gap before such a frame, where either may hold either side."""
    T = points.shape[0]
    seen = np.isfinite(points).all(axis=-1)  # [T,N]
    last = np.where(seen, np.arange(T)[:, None], -1)
    last = np.maximum.accumulate(last, axis=0)[:-1]  # [T-1,N] the last frame with data before each of 1..T-1
    gap = np.where(last >= 0, np.arange(1, T)[:, None] - last, 0)  # frames since it
    before = np.take_along_axis(points, np.maximum(last, 0)[..., None], axis=0)  # [T-1,N,3]
    flips, against = np.zeros((T, len(a)), bool), np.zeros((T, len(a)), bool)
    flips[1:], against[1:] = _traded(points[1:], before, np.maximum(gap, 1), a, b, height)
    heading = 2.0 * points[1:-1] - points[:-2]
    ahead, not_ahead = _traded(points[2:], heading, np.ones((T - 2, points.shape[1])), a, b, height)
    flips[2:] = (flips[2:] & ~not_ahead) | (ahead & ~against[2:])  # the two guesses at odds: nothing told
    unsure = np.zeros_like(flips)
    start = np.minimum(last[:, a], last[:, b])  # [T-1,n]
    for t, k in zip(*np.nonzero(flips[1:] & ((gap[:, a] > 1) | (gap[:, b] > 1)))):
        unsure[max(start[t, k], 0) + 1:t + 1, k] = True
    return flips, unsure


def _traded(now: np.ndarray, guess: np.ndarray, steps: np.ndarray, a: np.ndarray, b: np.ndarray,
            height: float) -> tuple[np.ndarray, np.ndarray]:
    """([F,n] bool, [F,n] bool): in which of F frames each pair (``a``, ``b`` [n]) of points ``now``
    [F,N,3] trades places as a swap does, each point's miss being its distance from ``guess`` [F,N,3]
    (where it was, or was heading), over ``steps`` [F,N] frames: exchanged, the two must miss far less
    than as given and no more than usual, in a frame the body moves as usual (usual: the median miss
    over one step, ``steps`` times it); and in which the guess speaks as clearly against it: as given,
    the two miss far less than exchanged."""
    miss = norm(now - guess)  # [F,N]
    one = np.where(steps == 1, miss, np.nan)
    usual = np.maximum(np.nan_to_num(column_nanmedian(one)), MIN_STEP * height) * steps  # [F,N]
    exchanged = norm(now[:, a] - guess[:, b]), norm(now[:, b] - guess[:, a])  # [F,n] each
    least = miss.copy()  # each point's miss, a paired point's as given or exchanged, whichever is less
    least[:, a], least[:, b] = np.fmin(miss[:, a], exchanged[0]), np.fmin(miss[:, b], exchanged[1])
    body = column_nanmedian((least / usual).T)  # [F]
    typical = usual[:, a] ** 2 + usual[:, b] ** 2  # [F,n]
    given = miss[:, a] ** 2 + miss[:, b] ** 2
    crossed = exchanged[0] ** 2 + exchanged[1] ** 2
    with np.errstate(invalid="ignore"):
        traded = (given - crossed > GAIN * typical) & (crossed <= CROSSED * typical) & (body <= BODY_STEPS)[:, None]
        return traded, crossed - given > GAIN * typical


def _body_across(across: np.ndarray) -> np.ndarray:
    """[T,3] the body's left-to-right direction: the sum of the unit directions ``across`` [T,m,3]
    of m pairs (none where they have no data)."""
    length = norm(across)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where((length > 0)[..., None], across / length[..., None], 0.0)
    return np.nan_to_num(unit).sum(axis=1)


#: a side of a pair's odd flips is swapped where the mean cosine of its left-to-right direction with
#: the body's is at most minus this there and at least this on the other side (a hip pair lies across
#: the body; feet in a walk lie mostly one ahead of the other, and tell nothing)
ACROSS_COSINE = 0.5


def _against_the_body(across: np.ndarray, body: np.ndarray, flipped: np.ndarray) -> int:
    """Which side of a pair's odd flips holds it swapped: 1 the frames after an odd number of them
    (``flipped`` [T]), -1 the others, where its left-to-right direction ``across`` [T,3] runs
    against the ``body``'s [T,3] on that side and along it on the other; 0 where that is not clear."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.einsum("ti,ti->t", across, body) / (norm(across) * norm(body))
    told = np.isfinite(cosine)
    mean = [cosine[told & side].mean() if (told & side).any() else np.nan for side in (~flipped, flipped)]
    if mean[0] >= ACROSS_COSINE and mean[1] <= -ACROSS_COSINE:
        return 1
    if mean[1] >= ACROSS_COSINE and mean[0] <= -ACROSS_COSINE:
        return -1
    return 0


def swap_back(points: np.ndarray, confidence: np.ndarray | None, names: tuple[str, ...] | list[str],
              height: float, first_frame: int, report: list[str], *, shown: tuple[int, int] | None = None,
              follow: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """(points [T,N,3], confidence [T,N] or None) with the mirror pairs' swapped frames (see
    swapped_frames) put back, and a note in ``report`` naming them (those ``shown`` only, see
    tracks_io.shown_only); the inputs themselves where none is. With ``follow`` (smooth='off': the
    tracks as given) nothing is put back and a warning names them instead."""
    from .tracks_io import describe_names, describe_spans

    pairs = mirror_pairs(names)
    swapped, unsure, untold = swapped_frames(points, pairs, height)
    start, stop = (0, len(points)) if shown is None else shown
    for group, frames in untold:
        frames = [f for f in frames if start <= f < stop]
        if not frames:
            continue
        named = describe_names([f"'{names[pairs[k][0]]}'/'{names[pairs[k][1]]}'" for k in group], 6, "pair")
        where = describe_spans([(f, f) for f in frames], len(frames), first_frame)
        report.append(f"{WARNING_PREFIX}left and right trade places at {where} and not back: {named} (a tracker "
                      "mixing up the sides?); which side is which cannot be told from the tracks: check those frames")
    if not swapped.any() and not unsure.any():
        return points, confidence
    if follow:
        report += _followed_warnings(swapped | unsure, pairs, names, first_frame, shown)
        return points, confidence
    points = points.copy()
    confidence = None if confidence is None else confidence.copy()
    for k in np.flatnonzero((swapped | unsure).any(axis=0)):
        (i, j), rows = pairs[k], swapped[:, k]
        points[rows, i], points[rows, j] = points[rows, j], points[rows, i]
        points[unsure[:, k], i] = points[unsure[:, k], j] = np.nan  # a gap: which side is which is not known
        if confidence is not None:
            confidence[rows, i], confidence[rows, j] = confidence[rows, j], confidence[rows, i]
    for spans, named in _pairs_by_span(swapped, pairs, names, first_frame, shown).items():
        report.append(f"left and right swapped back in {spans}: {named} (their tracks traded places there, as "
                      "a tracker mixing up the sides does)")
    return points, confidence


def _followed_warnings(swapped: np.ndarray, pairs: list[tuple[int, int]], names: tuple[str, ...] | list[str],
                       first_frame: int, shown: tuple[int, int] | None) -> list[str]:
    """Warnings naming the mirror pairs' frames ``swapped`` [T,P] that smooth='off' follows as given
    (those ``shown`` only): the rig crosses its limbs there and back, as the tracks do."""
    return [f"{WARNING_PREFIX}left and right trade places in {spans} and back: {named} (as a tracker mixing up "
            "the sides does); followed as given with smooth='off', smooth='auto' puts them back"
            for spans, named in _pairs_by_span(swapped, pairs, names, first_frame, shown).items()]


def _pairs_by_span(swapped: np.ndarray, pairs: list[tuple[int, int]], names: tuple[str, ...] | list[str],
                   first_frame: int, shown: tuple[int, int] | None) -> dict[str, str]:
    """{the frames as words: the mirror pairs ('left'/'right', as words) whose ``swapped`` [T,P] frames
    are those}, of the frames ``shown`` only (tracks_io.shown_only), pairs in their order."""
    from .tracks_io import describe_names, describe_spans, frame_spans, shown_only

    by_span: dict[str, list[str]] = {}
    for k in np.flatnonzero(swapped.any(axis=0)):
        seen = shown_only(swapped[:, k], shown)
        if seen.any():
            spans = frame_spans(seen)
            i, j = pairs[k]
            by_span.setdefault(describe_spans(spans, len(spans), first_frame), []).append(f"'{names[i]}'/'{names[j]}'")
    return {spans: describe_names(named, 6, "pair") for spans, named in by_span.items()}
