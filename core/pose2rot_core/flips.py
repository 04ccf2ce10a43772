"""Flips: sudden turns of a joint that its tracks do not call for.

A flip is a local turn of more than FLIP_DEGREES in one frame that is more than FLIP_MARGIN beyond
how far the points around the joint (children, grandchildren and their bone tips) turn, seen from
its parent; none across a cut (the whole body jumps, as from a bind pose into the motion), and
none called for by a joint's own filled gap. ``safety.check_solution`` reports them; ``evaluate``
counts them against a clip's own rotations.
"""
from __future__ import annotations

from typing import Collection

import numpy as np

from .rotations import best_fit_rotation, geodesic_angle, normalize
from .skeleton import has_length
from .smoothing import find_cuts
from .solution import Solution
from .tracks import Tracks

#: a flip: a local turn of more than FLIP_DEGREES in one frame, FLIP_MARGIN beyond what is called for
FLIP_DEGREES = 30.0
FLIP_MARGIN = 15.0


def points_around(tracks: Tracks, j: int, through: Collection[int] = (), grandchildren: bool = True
                  ) -> tuple[list[int], np.ndarray]:
    """(joints, bone tips [K]) whose directions from joint j tell how it turns: its children and
    grandchildren, each child of no length looked through to the first joints below it with a
    length (a chain of zero-length joints sits at j's place and shows no direction; the tips of
    those joints count as j's), and the bone tips of j and of those children. Joints ``through``
    (a bone's twist segments, Solution.segments) are looked through as well, to the joints past
    them: on the bone's axis, they show its direction but not its turn about itself. Without
    ``grandchildren``: the children (and tips) alone, the points the joint aims its own bones at."""
    children, long = tracks.skeleton.children, tracks.skeleton.bone_has_length  # [J] per joint
    at_place = [j]

    def below(k: int, at_j: bool) -> list[int]:
        """The first joints with a length at or under k, not ``through`` (the ones of no length passed on
        the way, when at j's place, noted)."""
        if long[k] and k not in through:
            return [k]
        if at_j and not long[k]:
            at_place.append(k)
        return [x for c in children[k] for x in below(c, at_j and not long[k])]

    kids = [x for c in children[j] for x in below(c, True)]
    joints = kids + ([x for c in kids for g in children[c] for x in below(g, False)] if grandchildren else [])
    tips = np.flatnonzero(np.isin(tracks.end_parents, at_place + kids)) if tracks.has_ends else np.zeros(0, np.int64)
    return joints, tips


def vectors_around(tracks: Tracks, j: int, through: Collection[int] = (), grandchildren: bool = True
                   ) -> tuple[np.ndarray, list[int]]:
    """([T,n,3] the vectors from joint j's track to the points around it (points_around: the joints,
    then the bone tips; world axes; joints ``through`` looked through; ``grandchildren`` as there), [n]
    the joint whose track each point is or hangs from: a tip's, its joint)."""
    joints, tips = points_around(tracks, j, through, grandchildren)
    points = np.concatenate([tracks.positions[:, joints], tracks.end_positions[:, tips]], axis=1) \
        if len(tips) else tracks.positions[:, joints]
    return points - tracks.positions[:, j, None], joints + [int(tracks.end_parents[e]) for e in tips]


def _made_up_steps(no_data: np.ndarray | None, j: int) -> np.ndarray | None:
    """[T-1] steps into or out of a frame where joint j itself was no data (``no_data`` [T,J]:
    filled gaps): directions seen from a filled position call for nothing. (Where only points
    around it were filled, the fill runs smoothly between data and the others still tell.)"""
    if no_data is None:
        return None
    filled = no_data[:, j]
    return filled[1:] | filled[:-1]


def _turn_between_frames(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """[K] degrees that unit directions turn from ``before`` to ``after`` (both [K,n,3], one step
    each): the largest change of one of them, or of the rotation best taking them all across."""
    change = np.degrees(np.arccos(np.clip((after * before).sum(-1), -1.0, 1.0))).max(axis=1)
    if before.shape[1] < 2:
        return change
    from .solvers.geometric.fit import pairwise_alignment

    turn = np.degrees(geodesic_angle(best_fit_rotation(pairwise_alignment(after, before)), np.eye(3)))
    return np.maximum(change, turn)


def rotation_steps(rotations: np.ndarray) -> np.ndarray:
    """[T-1,J] degrees turned by each joint between consecutive frames."""
    return np.degrees(geodesic_angle(rotations[1:], rotations[:-1]))


def steps_within_pieces(positions: np.ndarray, height: float) -> np.ndarray:
    """[T-1] True for the steps between consecutive frames of positions [T,J,3] that do not cross
    a cut (smoothing.find_cuts: the whole body jumps, as from a bind pose into the motion). Across
    a cut the tracks call for any turn, so no turn there is a flip."""
    keep = np.ones(max(len(positions) - 1, 0), bool)
    keep[[c - 1 for c in find_cuts(positions, height)]] = False
    return keep


#: how far below FLIP_DEGREES the trace screen of find_flips lets joints through: near 30 degrees
#: 0.01 degrees moves the trace by 1.7e-4, far above its rounding (about 1e-15)
_SCREEN_MARGIN_DEGREES = 0.01


def find_flips(tracks: Tracks, sol: Solution, G: np.ndarray, no_data: np.ndarray | None = None) -> np.ndarray:
    """[T-1,J] local turns over FLIP_DEGREES between frames that exceed by FLIP_MARGIN how far
    the points around the joint turn, seen from its parent (what the tracks call for; nothing
    where the joint's own track was a filled gap, ``no_data`` [T,J]); none across a cut (see
    steps_within_pieces)."""
    skel = tracks.skeleton
    R = sol.rotations
    T, J = R.shape[:2]
    flips = np.zeros((max(T - 1, 0), J), bool)
    if T < 2:
        return flips
    # only joints that turn by about FLIP_DEGREES or more somewhere need their angles: the trace of
    # R_t^T R_t+1 (the sum of the elementwise products, 1 + 2 cos of the angle) finds them, with a
    # margin far above its rounding so that no joint the exact angle would flag is screened out
    entries = R.reshape(T, J, 9)
    trace = np.einsum("tjk,tjk->tj", entries[1:], entries[:-1])  # [T-1,J], in place (no [J,3,3,T] copy)
    screen = 1.0 + 2.0 * np.cos(np.radians(FLIP_DEGREES - _SCREEN_MARGIN_DEGREES))
    turning = np.flatnonzero((trace < screen).any(axis=0))
    within = steps_within_pieces(tracks.positions, skel.height) if turning.size else None
    for j in turning:
        step = rotation_steps(R[:, j]) * within
        over = np.flatnonzero(step > FLIP_DEGREES)  # the steps a flip can be on: what the tracks call for there
        if over.size:
            called = _called_turn(tracks, G, j, over)
            if called is not None:
                made_up = _made_up_steps(no_data, j)
                if made_up is not None:
                    called[made_up[over]] = 0.0
                flips[over, j] = step[over] > called + FLIP_MARGIN
    return flips


def _called_turn(tracks: Tracks, G: np.ndarray, j: int, steps: np.ndarray
                 ) -> np.ndarray | None:
    """[K] degrees the points around joint j (vectors_around; those with finite tracks in every frame) turn,
    seen from its parent's frame in ``G`` [T,J,3,3], over the ``steps`` [K] (step t: frame t to
    t+1); None when no point is seen. A point at the joint's own place in a frame of the steps (a
    child of no length: a helper's socket, a zero-length finger base or End Site) shows no
    direction and tells nothing (read as one, it called for a quarter turn in every step, so a hand
    over such a child turned 90 degrees in a frame without a word)."""
    ends = np.concatenate([steps, steps + 1])
    frame = G[ends, tracks.skeleton.parents[j]] if j > 0 else np.broadcast_to(np.eye(3), (len(ends), 3, 3))
    rel = vectors_around(tracks, j)[0]  # [T,n,3]
    away = [rel[ends, i] for i in range(rel.shape[1]) if np.isfinite(rel[:, i]).all()]
    seen = [normalize(np.einsum("tba,tb->ta", frame, v)) for v in away if has_length(v, tracks.skeleton.height).all()]
    if not seen:
        return None
    d = np.stack(seen, 1)  # [2K,n,3]
    return _turn_between_frames(d[:len(steps)], d[len(steps):])
