"""What the smoothing down the chain reads from the clip itself, no constant fitted on one: how
noisy each active joint's rotation is when fitted to one frame's tracks alone, how large the
motion's second differences are (an integrated random walk's scale, per direction), and how far
each rotation spreads about its mean."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...rotations import from_rotation_vector, nearest_rotation, rotation_vector
from .points import PointData, Subtrees, diagonal_blocks, normal_equations
from .prior import turn_steps

#: the longest lag read for the motion's scale (frames): a slower motion is no longer smoothed more
LONGEST_LAG = 30
#: the standard error of a mean of squared second differences of white noise, as a share of it per
#: sample (2 (1 + 2 (4/6)² + 2 (1/6)²): the differences overlap at lags h and 2h)
SECOND_DIFFERENCE_SPREAD = 3.9


def damped(D: np.ndarray, share: float) -> np.ndarray:
    """A copy of ``D`` [T,n,n] with ``share`` of each frame's largest diagonal entry added to its
    diagonal (1 where that is 0)."""
    out = D.copy()
    diagonal = np.einsum("tii->ti", out)  # a view: written in place
    top = diagonal.max(axis=1)
    diagonal += share * np.where(top > 0, top, 1.0)[:, None]
    return out


def marquardt(D: np.ndarray, share: float) -> np.ndarray:
    """A copy of ``D`` [T,n,n] with ``share`` of each diagonal entry added to it, and 1e-12 of the
    same unknown's largest over the frames (1 where that is 0) as a numerical floor: Marquardt's
    damping, in each unknown's own units, so that a stiff unknown (a still joint's turn under a
    tight motion scale) does not hold back the others' steps."""
    out = D.copy()
    diagonal = np.einsum("tii->ti", out)  # a view: written in place
    top = diagonal.max(axis=0, keepdims=True)
    diagonal += share * diagonal + 1e-12 * np.where(top > 0, top, 1.0)
    return out


def apply_step(R: np.ndarray, tau: np.ndarray, step: np.ndarray, active: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(``R`` [T,J,3,3] with the active joints turned by ``exp(δ)`` on the left, ``tau`` [T,3]
    moved): ``step`` [T,n] the root's move then each active joint's δ."""
    R = R.copy()
    R[:, active] = from_rotation_vector(step[:, 3:].reshape(len(R), -1, 3)) @ R[:, active]
    return R, tau + step[:, :3]


def per_frame_fit_noise(data: PointData, tree: Subtrees, R: np.ndarray, tau: np.ndarray, steps: int = 3,
                        chunk: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the rotations [T,J,3,3] and root positions [T,3] fitted to each frame's tracks alone by
    ``steps`` Gauss–Newton steps from ``R``, ``tau``; [A+1,3,3] the noise of that fit, the root's
    position then each active joint's turn, each given the others: the inverse of the mean over
    frames of its diagonal block of JᵀWJ, the information one frame brings). Averaged as
    information, not as variance: a bone whose targets lie on its axis has an undetermined roll in
    every frame, about an axis that moves with the bone in its parent's frame, and its variances
    averaged spread that roll over every direction the bone swings through."""
    A, fitted, moved = len(tree.active), R.copy(), tau.copy()
    information = np.zeros((A + 1, 3, 3))
    for start in range(0, len(R), chunk):
        part = slice(start, start + chunk)
        frames, Rp, taup = data.frames(part), R[part], tau[part]
        for _ in range(steps):
            D, g, _ = normal_equations(frames, tree, Rp, taup)
            Rp, taup = apply_step(Rp, taup, -np.linalg.solve(damped(D, 1e-9), g[..., None])[..., 0], tree.active)
        information += diagonal_blocks(damped(normal_equations(frames, tree, Rp, taup)[0], 1e-9)).sum(axis=0)
        fitted[part], moved[part] = Rp, taup
    return fitted, moved, np.linalg.inv(information / len(R))


def paths(R: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """[T,A+1,3] the root's positions ``tau`` [T,3] then each rotation's path in ``R`` [T,A,3,3]: its
    turns from frame to frame (turn_steps) summed from the first frame."""
    turns = np.concatenate([np.zeros((1,) + R.shape[1:2] + (3,)), np.cumsum(turn_steps(R), axis=0)])
    return np.concatenate([tau[:, None], turns], axis=1)


def stretches(T: int, cuts: list[int], breaks: dict[int, list[int]], active: np.ndarray) -> np.ndarray:
    """[T,A+1] which stretch of the clip each frame is in, for the root's position then each active
    joint's turns (paths): a cut (the frame after it starts a new stretch) splits all, a break (a
    joint turned over) its joint's only."""
    start = np.zeros((T, len(active) + 1), np.int64)
    start[[c for c in cuts if 0 < c < T]] = 1
    for place, joint in enumerate(active):
        start[[f for f in breaks.get(int(joint), []) if 0 < f < T], place + 1] = 1
    return np.cumsum(start, axis=0)


def motion_scales(fitted: np.ndarray, noise: np.ndarray, current: np.ndarray, stretch: np.ndarray,
                  told: np.ndarray) -> np.ndarray:
    """[G,3,3] the inverse of the motion's scale ``Q`` per path (the root's position, each active
    joint's turns: paths): its second differences per frame as an integrated random walk would make
    them, per direction ``u`` of the per-frame fit's ``noise`` [G,3,3] (its eigenvectors). At lags
    h = 1, 2, ... the ``fitted`` paths' [T,G,3] mean squared lag-h second difference ``S_h`` holds
    the motion's ``q (2h³ + h)/3`` and the noise's ``6 uᵀCu``; q is read at the first lag where the
    motion is as large as the noise (S_h ≥ 12 uᵀCu: the smoother's own cut-off, at most
    LONGEST_LAG), floored at S_h's standard error and capped by what the ``current`` paths (before
    this smoothing) show at that lag. ``stretch`` [T,G] (stretches): no difference spans two. Only
    differences of frames a path is ``told`` in [T,G] (some point it moves has a sample there) are
    read, where a path has any: a filled gap's fit is no measurement of the motion."""
    T, G = fitted.shape[:2]
    var, U = np.linalg.eigh(noise)
    along = [np.einsum("tja,jai->tji", p, U) for p in (fitted, current)]
    read = _readable(stretch, told)
    q, done = np.zeros((G, 3)), np.zeros((G, 3), bool)
    lags = _lags(T)
    for h in lags:
        last = h == lags[-1]
        same = read(h)[..., None]  # [T-2h,G,1]
        count = np.maximum(same.sum(axis=0), 1)
        s, c = ((np.where(same, p[2 * h:] - 2 * p[h:-h] + p[:-2 * h], 0.0) ** 2).sum(axis=0) / count
                for p in along)
        walk = (2 * h ** 3 + h) / 3.0
        estimate = np.minimum(np.maximum(s - 6.0 * var, s * np.sqrt(SECOND_DIFFERENCE_SPREAD / count)), c) / walk
        hit = ~done & (((s >= 12.0 * var) & same.any(axis=0)) | last)
        q = np.where(hit, estimate, q)
        done |= hit
    q = np.maximum(q, 1e-8 * var.max(axis=1, keepdims=True) + 1e-30)  # numerical floor only
    return np.einsum("jai,ji,jbi->jab", U, 1.0 / q, U)


def _lags(T: int) -> list[int]:
    """The lags h motion_scales reads in a clip of T frames: 1, 2, ... up to LONGEST_LAG or the
    first with 2 (h + 1) >= T."""
    return [h for h in range(1, LONGEST_LAG + 1) if h == 1 or 2 * h < T]


def _readable(stretch: np.ndarray, told: np.ndarray) -> Callable[[int], np.ndarray]:
    """lag h -> [T-2h,G] which lag-h second differences motion_scales reads: within one stretch,
    and at three frames each path is ``told`` in [T,G]; every told or not for a path with no such
    difference at any lag it reads."""
    def within(h: int, told: np.ndarray) -> np.ndarray:
        return (stretch[2 * h:] == stretch[:-2 * h]) & told[2 * h:] & told[h:-h] & told[:-2 * h]

    some = np.zeros(stretch.shape[1], bool)
    for h in _lags(len(stretch)):
        some |= within(h, told).any(axis=0)
    told = told | ~some
    return lambda h: within(h, told)


def spread_about_mean(R: np.ndarray, Qinv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each rotation's mean [A,3,3] over the clip ``R`` [T,A,3,3], the nearest rotation to the
    matrices' mean; the inverse [A,3,3] of the variance p of the term about it; the spread W [A,3,3],
    the rotation vectors' mean square about the mean, w its eigenvalues). That term and the
    second differences' (``Qinv`` [A,3,3], motion_scales) hold the same motion together, so per
    direction of the spread w the rotation vectors show about the mean, p is the one with which
    both give that spread as their own: the mean over the clip's cosine modes k = 1..T-1 of
    ``1 / (λ_k / q + 1 / p)``, ``λ_k = (2 - 2 cos(π k / T))²`` the second difference's gain, equals
    w; p is at most T w, with which the term holds at least the clip's mean within w (where the
    second differences alone hold the rotation within w, it holds only that), so that no offset
    alike in every frame, which no second difference sees, is left free."""
    T = len(R)
    mean = nearest_rotation(R.mean(axis=0))
    z = rotation_vector(R @ np.swapaxes(mean, -1, -2)[None])
    w, V = np.linalg.eigh(np.einsum("tja,tjb->jab", z, z) / T)
    w = np.maximum(w, 1e-8 * np.median(w) + 1e-14)  # numerical floor only
    q = 1.0 / np.einsum("jai,jab,jbi->ji", V, Qinv, V)  # [A,3]: the motion's scale along those directions
    gain = (2.0 - 2.0 * np.cos(np.pi * np.arange(1, T) / T)) ** 2  # [T-1]

    def spread(p: np.ndarray) -> np.ndarray:
        return (1.0 / (gain / q[..., None] + 1.0 / p[..., None])).mean(axis=-1)

    low, high = np.log(w) - 1.0, np.log(w) + 60.0  # spread(p) < p: p is above w; halved in log p
    for _ in range(60):
        middle = 0.5 * (low + high)
        under = spread(np.exp(middle)) < w
        low, high = np.where(under, middle, low), np.where(under, high, middle)
    inverse = np.maximum(np.where(spread(np.exp(high)) < w, 0.0, np.exp(-high)), 1.0 / (T * w))
    return mean, np.einsum("jai,ji,jbi->jab", V, inverse, V), np.einsum("jai,ji,jbi->jab", V, w, V)
