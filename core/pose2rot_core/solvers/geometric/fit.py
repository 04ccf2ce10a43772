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

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ...rotations import (axis_angle_to_matrix, best_fit_rotation, cross, matrix_to_quat, norm, normalize,
                           rotation_between, smoothstep, twist_angle)
from ...running import running_mean, running_median, window_frames
from ...stacks import empty_vectors, mat_mul, mat_t_mul, mat_t_vec, mat_vec, outer_sum
if TYPE_CHECKING:  # the problem's aim plan takes its fit weights from here
    from .problem import Problem, Target

#: a bone short against the noise keeps more of its change where it moves more, over this long
#: around a frame, than over the clip (lean_on_parent) ...
LEAN_SECONDS = 0.5
#: ... beyond this many stds of the scatter the noise alone gives the window's median
LOCAL_STDS = 3.0
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
    obs, src = normalize(obs), normalize(src)  # directions: the same weight in any unit
    if weights is not None:
        root = np.sqrt(weights)[:, None]
        obs, src = obs * root, src * root
    M = pairwise_alignment(obs, src)
    if all(t.chain for t in primary):  # the reference counts as a share of what the targets count together
        M = M + CHAINED_WEIGHT * (len(primary) if weights is None else float(np.sum(weights))) * desired
    return best_fit_rotation(M)


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
    as it shows beyond the noise (_roll_shown), each weighed against the noise as two Gaussian
    estimates are. A roll cue that only noise moves (a helper bone a little off a short bone)
    adds no noise to the roll; one the single aim misses steadily is kept. A roll's noise counts
    at most as much as an angle spread evenly around the circle (pi^2 / 3)."""
    spread = weight * (1.0 + var / ROLL_PRIOR ** 2)  # the geometry's share of fit_weight (before its noise share)
    var = np.broadcast_to(np.minimum(var, np.pi ** 2 / 3.0), gap.shape)
    turn = np.exp(1j * gap)
    mean = np.angle(running_mean(turn.real, width) + 1j * running_mean(turn.imag, width))
    mean_var = running_mean(var, width) / max(1.0, samples * width / len(gap))  # the noise of that mean
    change = np.angle(turn * np.exp(-1j * mean))
    return spread * (_trusted(mean * mean - mean_var, mean_var) * mean
                     + _trusted(_roll_shown(change * change, var, width), var) * change)


def _trusted(shown: np.ndarray, var: np.ndarray) -> np.ndarray:
    """[T] the share kept of a roll that shows a variance ``shown`` [T] beyond its noise ``var``
    [T]: shown / (shown + var), ``shown`` taken at most ROLL_PRIOR^2 (the a priori uncertainty
    of the single aim's roll), so never more than fit_weight's."""
    prior = np.clip(shown, 0.0, ROLL_PRIOR ** 2)
    return prior / np.maximum(prior + var, 1e-300)


def _roll_shown(squared: np.ndarray, var: np.ndarray, width: int) -> np.ndarray:
    """[T] the variance beyond noise ``var`` [T] of rolls with squares ``squared`` [T]: over the
    clip or, where more, over the ``width`` frames around each (beyond LOCAL_STDS of the scatter
    the noise alone gives that window's mean)."""
    return np.maximum(float(np.mean(squared)) - float(np.mean(var)),
                      running_mean(squared, width) - running_mean(var, width) * (1.0 + LOCAL_STDS * np.sqrt(2.0 / width)))


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


def lean_on_parent(problem: Problem, j: int, targets: list[Target], src: np.ndarray, obs: np.ndarray,
                   desired: np.ndarray, parent_frame: np.ndarray | None) -> np.ndarray:
    """Observed target vectors [T,n,3] of joint ``j`` whose directions, seen from the parent
    (``parent_frame`` [T,3,3]; world for the root), keep of their changes only what the noise does
    not explain (a Wiener filter): each direction keeps the fraction s^2 / (s^2 + n^2) of its
    deviation from its mean over the clip, with n^2 = noise variance / rest length^2 (per axis)
    and s^2 what the deviations show beyond it, over the clip or, where the bone moves more than
    on average (a finger curling in a dance), over the LEAN_SECONDS around each frame (both read
    about the clip's own mean); the mean itself is pulled the same way towards where the reference
    puts the target (``desired`` [T,3,3] applied to the rest offsets ``src`` [T,n,3]), as far as
    its noise leaves it uncertain (_mean_noise). A bone much longer than the noise follows its
    track; one shorter than the noise (a tooth, a fingertip) holds the reference while it moves
    within the noise."""
    n = len(targets)
    return lean_columns(problem, np.full(n, problem.offset_var(j, targets)),
                        np.full(n, problem.independent_frames(j, targets)), src, obs, desired[:, None],
                        None if parent_frame is None else parent_frame[:, None])


def lean_columns(problem: Problem, var: np.ndarray, samples: np.ndarray, src: np.ndarray, obs: np.ndarray,
                 desired: np.ndarray, parent_frame: np.ndarray | None) -> np.ndarray:
    """lean_on_parent of n target vectors, each column on its own (the targets of one joint, or
    the one target of each of several joints): rest offsets ``src`` [T|1,n,3], observed ``obs``
    [T,n,3], their noise variance ``var`` [n] (per axis, file units squared) and independent
    frames ``samples`` [n], the aiming joints' reference orientations ``desired`` [T,n|1,3,3] and
    their parents' ``parent_frame`` [T,n|1,3,3] (None: the world) -> [T,n,3]. The stacks are
    component-major (core.stacks), so each column's frame means sum one contiguous run: the
    same numbers as that column alone."""
    return wiener_lean(lean_prior(problem, var, samples, src, obs, desired, parent_frame), obs, parent_frame)


def wiener_lean(prior: LeanPrior, obs: np.ndarray, parent_frame: np.ndarray | None) -> np.ndarray:
    """[T,n,3] the observed vectors ``obs`` [T,n,3] leaned as lean_columns leans them, given their
    ``prior`` (lean_prior) and parents' ``parent_frame`` [T,n|1,3,3] (None: the world): each
    direction keeps the Wiener share of its way from the held mean."""
    keep = _wiener_share(prior.shown, prior.n2)[..., None]
    lean = normalize(prior.mean + keep * (prior.d - prior.mean), 1e-300)  # kept of the way from the held mean
    if parent_frame is not None:
        lean = mat_vec(parent_frame, lean)
    return lean * norm(obs)[..., None]


@dataclass
class LeanPrior:
    """What lean_columns weighs for n target vectors: the held ``mean`` direction [1,n,3] (or
    [T,n,3], each piece of a cut clip its own) and the observed unit directions ``d`` [T,n,3]
    (both in the parents' frames), the variance per axis of the directions' changes beyond the
    noise ``shown`` [T,n] and of their noise ``n2`` [T,n]."""

    mean: np.ndarray
    d: np.ndarray
    shown: np.ndarray
    n2: np.ndarray

    def first(self, n: int) -> LeanPrior:
        """The prior of the first ``n`` target vectors."""
        return LeanPrior(self.mean[:, :n], self.d[:, :n], self.shown[:, :n], self.n2[:, :n])


def lean_prior(problem: Problem, var: np.ndarray, samples: np.ndarray, src: np.ndarray, obs: np.ndarray,
               desired: np.ndarray, parent_frame: np.ndarray | None) -> LeanPrior:
    """The LeanPrior of lean_columns (same arguments): the mean is the clip's, pulled towards the
    reference as far as its noise leaves it uncertain; what the bone shows beyond the noise is
    read about the clip's own mean, over the clip or over LEAN_SECONDS around each frame. A clip
    cut in pieces (Problem.pieces: a bind pose before the motion) is read piece by piece, each
    with its share of the independent ``samples``: a pose held across the cut is no mean of both."""
    length = np.maximum(norm(src), 1e-300)  # [T,n] rest lengths
    n2 = var / length ** 2  # [T,n] direction noise, per axis
    d, ref = normalize(obs, 1e-300), normalize(mat_vec(desired, src), 1e-300)
    if parent_frame is not None:
        d, ref = (mat_t_vec(parent_frame, x) for x in (d, ref))
    width = window_frames(LEAN_SECONDS, problem.tracks.fps)
    if not problem.pieces:
        mean, shown = _held(d, ref, n2, samples, width)
        return LeanPrior(mean, d, shown, n2)
    T = len(d)
    held = [_held(d[p], _piece(ref, p, T), _piece(n2, p, T), np.maximum(1.0, samples * (p.stop - p.start) / T),
                  width) for p in problem.pieces]
    mean = np.concatenate([np.broadcast_to(m, (p.stop - p.start, *m.shape[1:]))
                           for (m, _), p in zip(held, problem.pieces)])
    return LeanPrior(mean, d, np.concatenate([shown for _, shown in held]), n2)


def _piece(x: np.ndarray, piece: slice, T: int) -> np.ndarray:
    """The frames ``piece`` of ``x`` [T|1,...] (one frame standing for all: itself)."""
    return x[piece] if len(x) == T else x


def _held(d: np.ndarray, ref: np.ndarray, n2: np.ndarray, samples: np.ndarray, width: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """(held mean [1,n,3], shown [T,n]) of lean_prior over frames with unit directions ``d``
    [T,n,3], their reference's ``ref`` [T|1,n,3], noise ``n2`` [T|1,n] and ``samples`` [n]
    independent frames."""
    resultant = d.mean(axis=0)
    data_mean = normalize(resultant, 1e-300)
    ref_mean = normalize(ref.mean(axis=0), 1e-300)
    shift = data_mean - ref_mean
    mean_noise = _mean_noise(n2, resultant, samples)
    kept = _wiener_share(_shown((shift * shift).sum(-1)[None], mean_noise), mean_noise)[0, :, None]
    mean = normalize(ref_mean + kept * shift, 1e-300)
    moves = d - data_mean
    return mean[None], _shown((moves * moves).sum(-1), n2, width)


def _mean_noise(n2: np.ndarray, resultant: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """[1,n] noise variance (per axis) of the mean direction of T unit directions with noise
    variance ``n2`` [T,n] per axis, ``samples`` ([n] or one) of them independent (smoothing
    spreads a frame's noise over its neighbours), whose mean vector is ``resultant`` [n,3]: the
    noise of that vector over its length. A unit direction's components vary by at most about 1/3
    (directions spread evenly over the sphere) however large the noise: on a bone far shorter than
    the noise the directions scatter everywhere, their mean is short, and its direction is noise."""
    spread = np.minimum(n2, 1.0 / 3.0).mean(axis=0, keepdims=True) / samples
    return spread / np.maximum((resultant * resultant).sum(-1), 1e-300)


def _wiener_share(s2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """[...] the share s^2 / (s^2 + n^2) of a deviation kept against noise, for the variance per
    axis ``s2`` of what moves beyond the noise (_shown) and of the noise ``n2`` [...]."""
    return s2 / np.maximum(s2 + n2, 1e-300)


def _shown(squared: np.ndarray, n2: np.ndarray, width: int = 0) -> np.ndarray:
    """[T,n] variance per axis s^2 of deviations with squared sizes ``squared`` [T,n] (2 axes)
    beyond noise of variance ``n2`` [T,n] per axis: the mean deviation left beyond it, over all
    frames or, where more, over the ``width`` frames around each (0: all frames only): there half
    the squared deviations of pure noise have a median of ln 2 times its variance, and that median
    of ``width`` samples scatters by about 1 / sqrt(width) of the variance. The median moves only
    where most of the window moves (a finger curled for a while), not for a few frames of noise
    lined up along a short bone; near the clip's ends it is the nearest full window's."""
    noise = n2.mean(axis=0)
    s2 = np.maximum(0.0, 0.5 * squared.mean(axis=0) - noise)
    if width > 1:
        shown = 0.5 * running_median(squared, width) / np.log(2.0)
        s2 = np.maximum(s2, shown - noise * (1.0 + LOCAL_STDS / (np.log(2.0) * np.sqrt(width))))
    return s2 if s2.ndim == squared.ndim else np.broadcast_to(s2, squared.shape)
