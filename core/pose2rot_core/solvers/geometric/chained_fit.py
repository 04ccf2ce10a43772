"""A joint whose targets all lie behind zero-length joints: its best fit, handed over where it jumps.

The zero-length children aim themselves at the targets, so the targets fix only the joint's turn
times its children's, never how that turn is split; best_fit weighs the joint's reference in
(CHAINED_WEIGHT per target) and takes the optimum between the targets' own fit (the joint taking
the whole turn) and the reference (the children taking it all). Where those two come near a half
turn apart, that optimum can leap from one side of the turn to the other between frames: a
video-estimated hand whose zero-length finger base turned 170 degrees from its reference flipped
47 and 84 degrees in a frame. Only across such a jump is the fit handed over, along the share of
the turn carried continuously from frame to frame (shared_turn, after helper h254's), and back
to the fit on either side where the fit is nearest to it; everywhere else the fit stays as it is.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...flips import FLIP_DEGREES
from ...rotations import (best_fit_rotation, from_rotation_vector, geodesic_angle, matrix_to_quat, norm, normalize,
                          quat_continuity, smoothstep)
from ...stacks import mat_mul, mat_t_mul, mat_vec
from .fit import best_fit, chained_weight, pairwise_alignment, slerp, weighted_directions

if TYPE_CHECKING:
    from .problem import Target

#: a fit handed over across a jump departs from the carried share of the turn at most this much
#: more per frame (radians): half the turn the safety check calls a flip, as roll.py's hand-overs
HAND_OVER_STEP = np.radians(FLIP_DEGREES / 2.0)


def continuous_best_fit(primary: list[Target], src: np.ndarray, obs: np.ndarray, desired: np.ndarray,
                        weights: np.ndarray | None = None, tied: np.ndarray | None = None) -> np.ndarray:
    """[T,3,3] best_fit (same arguments) over a clip's consecutive frames; where the targets all lie
    behind zero-length joints and the fit jumps (chained_jumps over the ``tied`` [T-1] steps,
    None: all), handed over along the carried share of the turn (steady_jumps)."""
    if len(obs) < 2 or not all(t.chain for t in primary):
        return best_fit(primary, src, obs, desired, weights)
    M = pairwise_alignment(*weighted_directions(obs, src, weights))  # the targets' own, as best_fit reads them
    reference = chained_weight(len(primary), weights)
    fit = best_fit_rotation(M + reference * desired)                  # best_fit's
    desired = np.broadcast_to(desired, fit.shape)
    exact = best_fit_rotation(M)
    jumps = chained_jumps(fit, exact, desired, tied)
    if not jumps.any():
        return fit
    return steady_jumps(fit, shared_turn(M, exact, desired, reference, tied), jumps, tied)


def chained_jumps(fit: np.ndarray, exact: np.ndarray, desired: np.ndarray, tied: np.ndarray | None) -> np.ndarray:
    """[T-1] the tied steps where the weighed ``fit`` [T,3,3] turns faster than a joint taking a
    share of the turn from ``desired`` to ``exact`` (both [T,3,3]) could: the reference's own step
    plus the targets' step magnified by (t/2)/sin(t/2), t the larger of the two frames' turns
    between them (how fast a turn's axis, and so a share of it, swings as the turn nears a half
    turn: 1 for small turns, pi/2 at a half turn); and by more than a hand-over may turn in a
    frame (HAND_OVER_STEP), so that a still pose's rounding is no jump."""
    step = geodesic_angle(fit[1:], fit[:-1])
    turn = geodesic_angle(exact, desired)
    half = 0.5 * np.maximum(turn[1:], turn[:-1])
    swing = np.where(half > 1e-6, half / np.maximum(np.sin(half), 1e-12), 1.0)
    bound = geodesic_angle(desired[1:], desired[:-1]) + swing * geodesic_angle(exact[1:], exact[:-1])
    jumps = (step > bound) & (step > HAND_OVER_STEP)
    return jumps if tied is None else jumps & tied


def steady_jumps(fit: np.ndarray, carried: np.ndarray, jumps: np.ndarray, tied: np.ndarray | None) -> np.ndarray:
    """[T,3,3] ``fit`` [T,3,3] kept except around each step of ``jumps`` [T-1]: there it follows
    ``carried`` [T,3,3] (a continuous path), departing from it as the fit does at the stretch's
    ends and turning that departure evenly in between, the shorter way (hand_over_stretch); a
    stretch that runs to the clip's end or to an untied step keeps the other end's departure."""
    T = len(fit)
    tied = np.ones(T - 1, bool) if tied is None else tied
    off = mat_t_mul(carried, fit)  # [T,3,3] the fit's departure from the carried path
    apart = geodesic_angle(carried, fit)
    out, done = fit.copy(), 0
    for k in np.flatnonzero(jumps).tolist():
        if k < done:  # inside the stretch handed over before
            continue
        a, b, ends = hand_over_stretch(apart, off, tied, k, done)
        if ends is None:
            continue
        u = (np.arange(a, b + 1) - a) / (b - a)
        out[a:b + 1] = mat_mul(carried[a:b + 1], slerp(off[[ends[0]]], off[[ends[1]]], u))
        done = b
    return out


def hand_over_stretch(apart: np.ndarray, off: np.ndarray, tied: np.ndarray, k: int, lowest: int
                      ) -> tuple[int, int, tuple[int, int] | None]:
    """(a, b, ends): the frames a..b handed over across the jump over step ``k`` (frames k, k+1):
    those where the fit is further from the carried path (``apart`` [T], radians) than on the
    jump's nearer side, and the frames beyond them where the fit's departure from it (``off``
    [T,3,3]) turns faster than HAND_OVER_STEP a frame (the fit leaving or rejoining the path as
    it nears the jump); then widened a frame on either side at a time while the departures at a
    and b differ by more than HAND_OVER_STEP a frame. Never below ``lowest`` nor across an untied
    step of ``tied`` [T-1]. ``ends``: the frames whose departures a and b take, the same one
    where a side runs out before the fit comes back near the path; None where both do."""
    level, last = min(apart[k], apart[k + 1]), len(apart) - 1
    a, b = k, k + 1
    while apart[a] > level and a > lowest and tied[a - 1]:
        a -= 1
    while apart[b] > level and b < last and tied[b]:
        b += 1
    held_a, held_b = apart[a] <= level, apart[b] <= level
    while a > lowest and tied[a - 1] and geodesic_angle(off[a - 1], off[a]) > HAND_OVER_STEP:
        a -= 1
    while b < last and tied[b] and geodesic_angle(off[b], off[b + 1]) > HAND_OVER_STEP:
        b += 1
    while geodesic_angle(off[a], off[b]) > HAND_OVER_STEP * (b - a):
        left, right = a > lowest and tied[a - 1], b < last and tied[b]
        if not (left or right):
            break
        a, b = a - int(left), b + int(right)
    if not (held_a or held_b):
        return a, b, None
    return a, b, (a if held_a else b, b if held_b else a)


def shared_turn(M: np.ndarray, fit: np.ndarray, desired: np.ndarray, reference: float, tied: np.ndarray | None
                ) -> np.ndarray:
    """[T,3,3] the joint taking, about each axis, the share of the turn from ``desired`` [T,3,3]
    (its reference) to the targets' own ``fit`` [T,3,3] (the best rotation of their Wahba matrix ``M``
    [T,3,3]) that a fit weighing a
    reference of weight ``reference`` gives a small turn (turn_shares), the turn carried on from
    frame to frame over the ``tied`` [T-1] steps (carried_quats, each piece read the short way at
    its first frame), so it passes a half turn without a jump; beyond a half turn the share grows
    smoothly to the whole turn as it nears a whole one, where the turn's axis is lost."""
    q = carried_quats(matrix_to_quat(mat_t_mul(desired, fit)), tied)
    angle = 2.0 * np.arctan2(norm(q[:, 1:]), q[:, 0])  # in [0, 2 pi]: past a half turn where w < 0
    beyond = smoothstep(angle / np.pi - 1.0)[:, None, None]  # 0 up to a half turn, 1 at a whole one
    share = turn_shares(mat_t_mul(fit, M), reference) * (1.0 - beyond) + beyond * np.eye(3)
    return mat_mul(desired, from_rotation_vector(mat_vec(share, normalize(q[:, 1:]) * angle[:, None])))


def turn_shares(aligned: np.ndarray, reference: float) -> np.ndarray:
    """[T,3,3] the share of a small turn (rotation vector, joint frame) that a best fit takes
    against a ``reference`` orientation of that weight: with the targets' Wahba stiffness about
    their optimum K = tr(N) I - (N + N^T) / 2 (``aligned``: N [T,3,3], the fit's transpose times
    their Wahba matrix), (K + 2 reference I)^-1 K: little of a turn about a line they lie near."""
    spread = np.trace(aligned, axis1=-2, axis2=-1)[:, None, None] * np.eye(3)
    K = spread - 0.5 * (aligned + np.swapaxes(aligned, -1, -2))
    return np.linalg.solve(K + 2.0 * reference * np.eye(3), K)


def carried_quats(q: np.ndarray, tied: np.ndarray | None) -> np.ndarray:
    """Quaternions q [T,4] (w >= 0, matrix_to_quat's) with signs flipped so that consecutive ones
    over ``tied`` [T-1] steps (None: all) agree (dot >= 0), each piece between untied steps keeping
    the sign of its first frame (rotations.quat_continuity, piece by piece)."""
    if tied is None:
        return quat_continuity(q)
    return np.concatenate([quat_continuity(piece) for piece in np.split(q, np.flatnonzero(~tied) + 1)])
