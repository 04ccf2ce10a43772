"""Joints with several aim targets: the best-fit rotation, trusted only where the targets fix it.

Several targets fix a joint's roll about their common direction only as far as they spread
around it. The spread is measured from the targets' rest offsets ``s_i`` (joint frame): for a
sum of outer products ``C`` with largest eigenvalue ``l1``, ``tr(C) - l1`` is the squared extent
across the principal axis. Two conditions must hold for the fit to decide the roll:

- geometry: the fit aligns unit directions, so their spread decides: with ``C`` over the unit
  directions, ``q = sqrt((tr(C) - l1) / l1)`` is the tangent of their angular spread (a short
  child a few degrees off a long one spreads as much as a long one would). Targets within SPREAD_LOW of one line (share bones at the same offset as the real
  child, twist joints on the bone axis, printed-offset rounding) never decide it; from
  SPREAD_HIGH on they decide it fully. On the rigs we have seen, helpers sit within 0.17 degrees
  of the real child and orientation cues (hips, clavicles, fingers, toes) spread by 7 degrees or
  more; from a quarter degree on, float32 positions fix the roll to within a few hundredths of a
  degree;
- noise: the roll read from targets whose offsets carry noise of variance ``sigma^2`` (per axis,
  both ends together) has variance ``sigma^2 / info``, ``info = tr(C) - l1`` with ``C`` over the
  offsets themselves (a short child is easily pushed around by noise); it is weighed against the reference roll
  known to about ROLL_PRIOR radians (the Bayesian weight of two Gaussian estimates).

The product of both weights blends (per frame, by slerp) the best fit with the single-aim
orientation of the twist policy, so nothing switches abruptly. In the first solve of noisy
tracks (the one smoothed over time) the roll is held instead (held_roll): the a priori
ROLL_PRIOR gives way to what the fit's roll shows beyond its noise, apart from the single aim's.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ...rotations import (axis_angle_to_matrix, best_fit_rotation, cross, matrix_to_quat, norm, normalize,
                           rotation_between, smoothstep, twist_angle)
from ...running import running_mean
from ...stacks import empty_vectors, mat_mul, mat_t_mul, mat_vec, outer_sum
from .lean import shown_per_axis

if TYPE_CHECKING:  # the problem's aim plan takes its fit weights from here
    from .problem import Target

#: angular spread (degrees) of the targets below which they never decide the roll ...
SPREAD_LOW_DEG = 0.25
#: ... and above which they decide it fully
SPREAD_HIGH_DEG = 1.0
#: how far (radians, one standard deviation) the roll may be from the reference's a priori
ROLL_PRIOR = 1.0
#: weight of the reference when a joint's only targets lie behind zero-length joints (those joints
#: aim themselves, so their targets need not be hit exactly)
CHAINED_WEIGHT = 0.1


def fit_weight(src: np.ndarray, noise_var: float | np.ndarray) -> np.ndarray:
    """[T] (or [1] when the sources are constant and the noise the same in every frame) trust in
    the best fit of targets with rest offsets ``src`` [T,n,3] ([1,n,3] when constant; joint
    frame), 0..1; ``noise_var``: noise variance (per axis) of the offsets, file units squared (one
    value, or [T] per frame)."""
    return fit_weights([src], [noise_var])[0]


def fit_weights(sources: list[np.ndarray], noise_vars: list[float | np.ndarray]) -> list[np.ndarray]:
    """fit_weight of several joints at once (their ``sources`` each [T,n,3] or [1,n,3], any n;
    ``noise_vars`` one each, one value or [T]): one eigenvalue call for all."""
    rows = np.cumsum([len(src) for src in sources])[:-1]
    lam_u = np.linalg.eigvalsh(np.concatenate([outer_sum(d, d) for d in map(normalize, sources)]))
    q = np.sqrt(np.maximum(lam_u[:, 0] + lam_u[:, 1], 0.0) / np.maximum(lam_u[:, 2], 1e-300))
    lo, hi = np.tan(np.radians(SPREAD_LOW_DEG)), np.tan(np.radians(SPREAD_HIGH_DEG))
    weights = np.split(smoothstep((q - lo) / (hi - lo)), rows)
    noise = [var * ROLL_PRIOR ** -2 for var in noise_vars]
    noisy = [i for i, n in enumerate(noise) if np.any(n > 0)]
    if not noisy:
        return weights
    units = [max(float(np.abs(sources[i]).max()), 1e-300) for i in noisy]  # eigenvalues in any unit
    lam = np.linalg.eigvalsh(np.concatenate([outer_sum(sources[i] / u, sources[i] / u) for i, u in zip(noisy, units)]))
    for i, u, lam_i in zip(noisy, units, np.split(lam, np.cumsum([len(sources[i]) for i in noisy])[:-1])):
        lam_i = lam_i * u * u
        info = np.maximum(lam_i[:, 0] + lam_i[:, 1], 0.0)
        weights[i] = weights[i] * (info / (info + noise[i]))  # a share of at most 1: never above the clean weight
    return weights


def best_fit(primary: list[Target], src: np.ndarray, obs: np.ndarray, desired: np.ndarray,
             weights: np.ndarray | None = None) -> np.ndarray:
    """[T,3,3] global orientation best taking the target offsets ``src`` (joint frame; [T,n,3], or
    [1,n,3] when constant) onto the observed ``obs`` (world, [T,n,3]); targets reached only through zero-length joints
    are steadied by the reference orientation ``desired`` [T,3,3]. ``weights`` [n]: each target's
    share (default: all the same)."""
    M = pairwise_alignment(*weighted_directions(obs, src, weights))
    if all(t.chain for t in primary):  # the reference counts as a share of what the targets count together
        M = M + chained_weight(len(primary), weights) * desired
    return best_fit_rotation(M)


def chained_weight(n: int, weights: np.ndarray | None) -> float:
    """The weight of the reference in the best fit of ``n`` targets reached only through zero-length
    joints (``weights`` [n]: theirs, None: 1 each): CHAINED_WEIGHT times what they count together."""
    return CHAINED_WEIGHT * (n if weights is None else float(np.sum(weights)))


def weighted_directions(obs: np.ndarray, src: np.ndarray, weights: np.ndarray | None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(obs, src) [T|1,n,3] as unit directions (the same weight in any unit), each scaled by the
    square root of its target's ``weights`` [n] (None: all 1)."""
    obs, src = normalize(obs), normalize(src)
    if weights is None:
        return obs, src
    root = np.sqrt(weights)[:, None]
    return obs * root, src * root


def pairwise_alignment(obs: np.ndarray, src: np.ndarray) -> np.ndarray:
    """[T,3,3] Wahba matrix of targets ``src`` [T,n,3] (joint frame; [1,n,3] when constant) seen at
    ``obs`` [T,n,3] (world), plus the normals of every pair of targets: the same optimum when the
    targets are consistent, but full rank even for two (or coplanar) targets, so the fast polar fit
    applies. Summing over all pairs keeps the fit independent of the order of the children."""
    return outer_sum(with_pair_normals(obs), with_pair_normals(src))


def with_pair_normals(v: np.ndarray) -> np.ndarray:
    """[T, n + n(n-1)/2, 3]: the vectors v [T,n,3] and the cross products of every pair of them."""
    n = v.shape[1]
    a, b = _pairs(n)
    out = empty_vectors((v.shape[0], n + len(a)))
    out[:, :n] = v
    out[:, n:] = cross(v[:, a], v[:, b])
    return out


@lru_cache(maxsize=None)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(first, second) indices [n(n-1)/2] of every pair among n (np.triu_indices(n, 1), kept)."""
    return np.triu_indices(n, 1)


def slerp(A: np.ndarray, B: np.ndarray, w: np.ndarray) -> np.ndarray:
    """[T,3,3] rotations a fraction ``w`` [T] (or [1]) of the way from A to B (shortest arc)."""
    q = matrix_to_quat(mat_t_mul(A, B))  # w >= 0: the shorter way
    angle = 2.0 * np.arctan2(norm(q[..., 1:]), q[..., 0])
    return mat_mul(A, axis_angle_to_matrix(q[..., 1:], w * angle))


def roll_var(src: np.ndarray, noise_var: float | np.ndarray) -> np.ndarray:
    """[T] (or [1]) variance (radians squared) of the roll a best fit reads from targets with rest
    offsets ``src`` [T|1,n,3] whose vectors carry noise of variance ``noise_var`` (per axis, one
    value or [T]): the noise over ``info`` (see the module note); infinite where they do not
    spread."""
    lam = np.linalg.eigvalsh(outer_sum(src, src))
    info = np.maximum(lam[:, 0] + lam[:, 1], 0.0)
    with np.errstate(divide="ignore"):
        return np.where(info > 0.0, np.asarray(noise_var, np.float64) / np.maximum(info, 1e-300), np.inf)


def roll_gap(along: np.ndarray, fit: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The turn from ``along`` to ``fit`` (both [T,3,3]) split into a swing [T,3,3] of the aim
    ``axis`` [T,3] (joint frame) and the roll about it [T] (radians): (swing, roll)."""
    rel = mat_t_mul(along, fit)
    swing = rotation_between(axis, mat_vec(rel, axis))  # takes the aim where the fit puts it
    return swing, twist_angle(mat_t_mul(swing, rel), axis)  # what is left turns about the axis


def held_roll(weight: np.ndarray, var: np.ndarray, gap: np.ndarray, width: int, samples: float) -> np.ndarray:
    """[T] the roll (radians) to add to the single-aim orientation, of a best fit whose roll is
    ``gap`` [T] from it (roll_gap) with noise of variance ``var`` [T|1] (roll_var), trusted at
    most ``weight`` [T|1] (fit_weight), ``samples`` of its T frames independent: the gap's mean
    over the ``width`` frames around each frame, kept as far as it shows beyond that mean's own
    noise (what the single aim misses for a while), and the gap's change about that mean as far
    as it shows beyond the noise (lean.shown_per_axis), each weighed against the noise as two
    Gaussian estimates are. A roll cue that only noise moves (a helper bone a little off a short
    bone) adds no noise to the roll; one the single aim misses steadily is kept. A roll's noise
    counts at most as much as an angle spread evenly around the circle (pi^2 / 3)."""
    spread = weight * (1.0 + var / ROLL_PRIOR ** 2)  # the geometry's share of fit_weight (before its noise share)
    var = np.broadcast_to(np.minimum(var, np.pi ** 2 / 3.0), gap.shape)
    turn = np.exp(1j * gap)
    mean = np.angle(running_mean(turn.real, width) + 1j * running_mean(turn.imag, width))
    mean_var = running_mean(var, width) / max(1.0, samples * width / len(gap))  # the noise of that mean
    change = np.angle(turn * np.exp(-1j * mean))
    return spread * (_trusted(mean * mean - mean_var, mean_var) * mean
                     + _trusted(shown_per_axis(change * change, var, width), var) * change)


def _trusted(shown: np.ndarray, var: np.ndarray) -> np.ndarray:
    """[T] the share kept of a roll that shows a variance ``shown`` [T] beyond its noise ``var``
    [T]: shown / (shown + var), ``shown`` taken at most ROLL_PRIOR^2 (the a priori uncertainty
    of the single aim's roll), so never more than fit_weight's."""
    prior = np.clip(shown, 0.0, ROLL_PRIOR ** 2)
    return prior / np.maximum(prior + var, 1e-300)


def blend_roll(along: np.ndarray, fit: np.ndarray, axis: np.ndarray, w: np.ndarray,
               gap: tuple[np.ndarray, np.ndarray] | None = None, roll: np.ndarray | None = None) -> np.ndarray:
    """[T,3,3] between the single-aim orientation ``along`` and the best fit ``fit`` (both [T,3,3])
    with trust ``w`` [T] (or [1]) in the fit: the turn from one to the other split into a swing of
    the aim ``axis`` [T,3] (joint frame), taken in the fraction w, and a roll about it, averaged as
    angles (weights 1-w and w on the circle: the most likely roll of two estimates of it), so a
    fit that says the opposite roll with little trust moves it little. ``gap``: their roll_gap,
    when known; ``roll`` [T]: the roll to take instead of that mean (held_roll)."""
    swing, angle = roll_gap(along, fit, axis) if gap is None else gap
    mean = np.angle((1.0 - w) + w * np.exp(1j * angle)) if roll is None else roll
    turned = mat_mul(along, slerp(np.broadcast_to(np.eye(3), swing.shape), swing, w))
    return mat_mul(turned, axis_angle_to_matrix(axis, mean))
