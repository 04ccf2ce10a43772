"""Noisy target directions leaned on their parent (a Wiener filter per direction).

Each observed direction from a joint to one of its targets, seen from the joint's parent, keeps
of its way from a held mean only the share its motion shows beyond the noise: s^2 / (s^2 + n^2),
with n^2 the noise variance of the direction (per axis: both ends' noise over the rest length
squared) and s^2 the variance its changes show beyond it, over the clip or, where more, over the
LEAN_SECONDS around each frame. The held mean is the clip's own, pulled towards where the
reference pose puts the target as far as its noise leaves it uncertain. lean_columns leans many
directions at once; turn_lean leans a joint's several targets through the turn they share.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...rotations import norm, normalize
from ...running import running_mean, running_median, window_frames
from ...stacks import mat_t_vec, mat_vec

if TYPE_CHECKING:
    from .problem import Problem

#: a bone short against the noise keeps more of its change where it moves more, over this long
#: around a frame, than over the clip ...
LEAN_SECONDS = 0.5
#: ... beyond this many stds of the scatter the noise alone gives the window's median (or mean)
LOCAL_STDS = 3.0


def shown_per_axis(squared: np.ndarray, var: np.ndarray, width: int) -> np.ndarray:
    """[T,...] the variance beyond noise ``var`` [T|1,...] of readings of one axis each (a roll, a
    turn about one axis) with squares ``squared`` [T,...], column by column: over the clip or,
    where more, over the ``width`` frames around each (beyond LOCAL_STDS of the scatter the noise
    alone gives that window's mean: a squared Gaussian of one axis varies by twice its variance
    squared)."""
    var = np.broadcast_to(var, squared.shape)
    local = running_mean(squared, width) - running_mean(var, width) * (1.0 + LOCAL_STDS * np.sqrt(2.0 / width))
    return np.maximum(squared.mean(axis=0) - var.mean(axis=0), local)


def lean_columns(problem: Problem, var: np.ndarray, samples: np.ndarray, src: np.ndarray, obs: np.ndarray,
                 desired: np.ndarray, parent_frame: np.ndarray | None, joints: np.ndarray) -> np.ndarray:
    """[T,n,3] n target vectors leaned (see the module), each column on its own (the targets of one
    joint, or the one target of each of several joints): rest offsets ``src`` [T|1,n,3], observed
    ``obs`` [T,n,3], their noise variance ``var`` [n] (per axis, file units squared) and
    independent frames ``samples`` [n], the aiming joints' reference orientations ``desired``
    [T,n|1,3,3] and their parents' ``parent_frame`` [T,n|1,3,3] (None: the world), the joint each
    column leans for ``joints`` [n]. The stacks are component-major (core.stacks), so each column's
    frame means sum one contiguous run: the same numbers as that column alone."""
    return wiener_lean(lean_prior(problem, var, samples, src, obs, desired, parent_frame, joints), obs, parent_frame)


def wiener_lean(prior: LeanPrior, obs: np.ndarray, parent_frame: np.ndarray | None) -> np.ndarray:
    """[T,n,3] the observed vectors ``obs`` [T,n,3] leaned as lean_columns leans them, given their
    ``prior`` (lean_prior) and parents' ``parent_frame`` [T,n|1,3,3] (None: the world): each
    direction keeps the Wiener share of its way from the held mean."""
    keep = wiener_share(prior.shown, prior.n2)[..., None]
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
               desired: np.ndarray, parent_frame: np.ndarray | None, joints: np.ndarray) -> LeanPrior:
    """The LeanPrior of lean_columns (same arguments): the mean is the clip's, pulled towards the
    reference as far as its noise leaves it uncertain; what the bone shows beyond the noise is
    read about the clip's own mean, over the clip or over LEAN_SECONDS around each frame. A clip
    cut in pieces (Problem.pieces_of each column's joint: a bind pose before the motion, a joint
    turned over) is read piece by piece, each with its share of the independent ``samples``: a
    pose held across the cut is no mean of both."""
    length = np.maximum(norm(src), 1e-300)  # [T,n] rest lengths
    n2 = var / length ** 2  # [T,n] direction noise, per axis
    d, ref = normalize(obs, 1e-300), normalize(mat_vec(desired, src), 1e-300)
    if parent_frame is not None:
        d, ref = (mat_t_vec(parent_frame, x) for x in (d, ref))
    width = window_frames(LEAN_SECONDS, problem.tracks.fps)
    groups = _columns_by_pieces(problem, joints)
    if len(groups) == 1:
        mean, shown = _held_over(d, ref, n2, samples, width, groups[0][1])
        return LeanPrior(mean, d, shown, n2)
    mean, shown = np.empty(d.shape), np.empty(d.shape[:2])
    for columns, pieces in groups:
        mean[:, columns], shown[:, columns] = _held_over(d[:, columns], ref[:, columns], n2[:, columns],
                                                         samples[columns], width, pieces)
    return LeanPrior(mean, d, shown, n2)


def _columns_by_pieces(problem: Problem, joints: np.ndarray) -> list[tuple[np.ndarray, list[slice]]]:
    """[(columns, pieces)]: the columns of ``joints`` [n] grouped by the pieces their leans read
    (Problem.pieces_of)."""
    turned = [j for j in set(joints.tolist()) if problem.breaks.get(j)]
    if not turned:
        return [(np.arange(len(joints)), problem.pieces)]
    alone = ~np.isin(joints, turned)
    groups = [(np.flatnonzero(joints == j), problem.pieces_of(j)) for j in turned]
    return ([(np.flatnonzero(alone), problem.pieces)] if alone.any() else []) + groups


def _held_over(d: np.ndarray, ref: np.ndarray, n2: np.ndarray, samples: np.ndarray, width: int,
               pieces: list[slice]) -> tuple[np.ndarray, np.ndarray]:
    """(held mean [1|T,n,3], shown [T,n]) of lean_prior over the clip's ``pieces`` (empty: the
    whole clip), each piece with its share of the ``samples``."""
    if not pieces:
        return _held(d, ref, n2, samples, width)
    T = len(d)
    held = [_held(d[p], _piece(ref, p, T), _piece(n2, p, T), np.maximum(1.0, samples * (p.stop - p.start) / T),
                  width) for p in pieces]
    mean = np.concatenate([np.broadcast_to(m, (p.stop - p.start, *m.shape[1:])) for (m, _), p in zip(held, pieces)])
    return mean, np.concatenate([shown for _, shown in held])


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
    kept = wiener_share(_shown((shift * shift).sum(-1)[None], mean_noise), mean_noise)[0, :, None]
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


def wiener_share(s2: np.ndarray, n2: np.ndarray) -> np.ndarray:
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
