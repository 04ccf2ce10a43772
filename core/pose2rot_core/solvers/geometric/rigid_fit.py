"""Noisy tracks moved to the bones' lengths before the bones aim at them.

A rigid skeleton can only put its joints where every bone keeps its length. Aimed at noisy tracks
one bone after the other, each joint lands on the line from where its parent landed to its track,
a bone's length away: the part of the noise along each bone passes down the chain, and a hand ends
further from its track than the track is from the truth. The points of a rigid skeleton nearest the
tracks (weighed by their noise: the most likely ones, for Gaussian noise, when the bones keep their
lengths) are found for all of them at once; moving the tracks there first takes the noise along the
bones out instead of passing it on. Clean tracks are never moved (nothing is fitted without noise).
"""
from __future__ import annotations

import numpy as np

from ...kernels import CLAMP_STDS
from ...skeleton import tree_depth

#: a bone is held to its length only where it is this many noise stds (of both ends) long: the fit
#: moves its ends along its direction in the tracks, which the noise's extreme (CLAMP_STDS stds)
#: then turns by at most a third of a radian; held from 4 stds, a thumb under 1 % jitter that turns
#: over in one frame ended 1 % of the height further off its track
FIT_STDS = 10.0
#: Gauss-Newton steps (each exact for the lengths to first order; three bring random trees' bones
#: within 1e-9 of the lengths they are fitted to, tests/test_rigid_fit.py)
FIT_STEPS = 3
#: frames solved together (a [frames, bones, bones] system at a time)
FIT_FRAMES = 256


def fit_to_lengths(points: np.ndarray, parents: np.ndarray, lengths: np.ndarray, variance: np.ndarray
                   ) -> np.ndarray:
    """[T,N,3]: the points nearest ``points`` [T,N,3] (file units; NaN where unknown) whose bones
    keep their ``lengths`` [N] (the bone from point ``parents[i]`` to point i, parents before their
    children; parent -1 or length NaN: no bone kept) as far as the noise explains (_noise_share), nearest by the noise: per-axis
    variance ``variance`` [T|1,N] of each point, the same in every direction (a noise stronger along
    one direction is read too unsurely in its weak ones: taken as none there, a walk's joints moved
    along the depth only and ended further off). Each step solves the lengths' first-order change
    exactly (a weighted projection: the bones' system over all of a frame's bones at once); a bone
    with an end unknown in a frame keeps that frame."""
    kept = np.flatnonzero((np.asarray(parents) >= 0) & np.isfinite(lengths))
    if not len(kept):
        return points
    out = np.array(points, np.float64)
    var = np.broadcast_to(variance, out.shape[:2])
    pairs = _bone_pairs(kept, np.asarray(parents)[kept])
    plan = _elimination(np.asarray(parents), kept, pairs)
    up = np.asarray(parents)[kept]
    for start in range(0, out.shape[0], FIT_FRAMES):
        rows = slice(start, start + FIT_FRAMES)
        target = _noise_share(out[rows], up, kept, lengths[kept], var[rows])
        for _ in range(FIT_STEPS):
            _step(out[rows], up, kept, target, var[rows], pairs, plan)
    return out


def _noise_share(X: np.ndarray, up: np.ndarray, kept: np.ndarray, lengths: np.ndarray, var: np.ndarray
                 ) -> np.ndarray:
    """[t,B] the length each bone (from points ``up`` [B] to ``kept`` [B]) is fitted to in the frames
    X [t,N,3]: its own ``lengths`` [B] less the part of the tracks' departure g from it that noise
    does not explain. Noise of std s along the bone reaches CLAMP_STDS s (as no smoothing moves a
    sample further): within that the departure is all noise; beyond, the noise's share falls as
    (CLAMP_STDS s / g)^2, the rest read as a departure of the tracks' own (a smoothed tip cutting
    the corner of a fast arc: a tail's 37 % short), so no bone's ends move further than
    CLAMP_STDS s for it."""
    length = np.linalg.norm(X[:, kept] - X[:, up], axis=-1)
    noise = CLAMP_STDS ** 2 * (var[:, kept] + var[:, up])
    gap = length - lengths
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(gap * gap > noise, noise / (gap * gap), 1.0)
    return np.where(np.isfinite(gap), lengths + (1.0 - share) * gap, lengths)


def rigid_lengths(points: np.ndarray, parents: np.ndarray, variance: np.ndarray,
                  unmeasured: np.ndarray | None = None) -> np.ndarray:
    """[N] each point's distance from its parent (NaN for a root: parent -1) in ``points`` [T,N,3]
    free of their noise (per-axis ``variance`` [N] of each point): the root of the mean squared
    distance less both ends' variance over the three axes, which noise adds to it in any direction
    it is strong (a mean distance gains the noise across the bone only, more the shorter the bone);
    over the frames with both ends measured (not ``unmeasured`` [T,N]; all where None)."""
    parents = np.asarray(parents)
    up = np.maximum(parents, 0)
    squared = ((points - points[:, up]) ** 2).sum(axis=-1)
    seen = np.isfinite(squared) if unmeasured is None else np.isfinite(squared) & ~(unmeasured | unmeasured[:, up])
    with np.errstate(invalid="ignore", divide="ignore"):  # never seen whole: NaN, no bone kept
        mean = np.where(seen, squared, 0.0).sum(axis=0) / seen.sum(axis=0)
    bias = 3.0 * (np.asarray(variance) + np.asarray(variance)[up])
    return np.where(parents >= 0, np.sqrt(np.maximum(mean - bias, 0.0)), np.nan)


def _step(X: np.ndarray, up: np.ndarray, kept: np.ndarray, lengths: np.ndarray, var: np.ndarray,
          pairs: tuple[np.ndarray, ...], plan: list[tuple[int, np.ndarray]]) -> None:
    """One Gauss-Newton step of fit_to_lengths on the frames X [t,N,3] (changed in place): the
    bones from points ``up`` [B] to ``kept`` [B] toward their ``lengths`` [t,B]; ``pairs``:
    _bone_pairs; ``plan``: _elimination."""
    d = X[:, kept] - X[:, up]  # [t,B,3]
    length = np.linalg.norm(d, axis=-1)
    # a bone the noise has folded, or whose ends carry no noise, keeps the frame
    known = np.isfinite(length) & (length > 0.5 * lengths) & (var[:, kept] + var[:, up] > 0)
    u = np.where(known[..., None], d / np.where(known, length, 1.0)[..., None], 0.0)
    M = _bones_system(kept, up, u, var, pairs)
    M[~known] = 0.0
    M[..., np.arange(len(kept)), np.arange(len(kept))] += ~known  # unknown: its multiplier 0
    gap = np.where(known, length - lengths, 0.0)
    lam = _tree_solve(M, gap, plan)  # [t,B]
    push = lam[..., None] * u  # [t,B,3]
    X[:, kept] -= var[:, kept, None] * push  # each point is the child of one bone at most
    ups = np.zeros((len(kept), X.shape[1]))
    ups[np.arange(len(kept)), up] = 1.0  # a parent may start several bones: summed
    X += var[..., None] * np.swapaxes(np.swapaxes(push, 1, 2) @ ups, 1, 2)


def _bones_system(kept: np.ndarray, up: np.ndarray, u: np.ndarray, var: np.ndarray,
                  pairs: tuple[np.ndarray, ...]) -> np.ndarray:
    """[t,B,B] A C A^T for the lengths' gradients A (a bone's length grows by u [t,B,3] along its
    child point, shrinks by it along its parent; u 0 for a bone that keeps the frame) and the
    points' covariance C (``var`` [t,N] on each axis): two bones interact through the point they
    share (``pairs``)."""
    B = len(kept)
    M = np.zeros(u.shape[:1] + (B, B))
    M[:, np.arange(B), np.arange(B)] = (u * u).sum(-1) * (var[:, kept] + var[:, up])
    first, second, shared, sign = pairs
    M[:, first, second] = sign * var[:, shared] * (u[:, first] * u[:, second]).sum(-1)
    M[:, second, first] = M[:, first, second]
    return M


def _bone_pairs(kept: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, ...]:
    """(first [P], second [P], shared point [P], sign [P]) for the pairs of bones (from ``up`` [B] to
    ``kept`` [B]) that share a point: +1 where it is the same end of both, -1 where it is the child
    of one and the parent of the other."""
    rows = []
    for i in range(len(kept)):
        for k in range(i + 1, len(kept)):
            shared, sign = _shared_point(int(kept[i]), int(up[i]), int(kept[k]), int(up[k]))
            if shared >= 0:
                rows.append((i, k, shared, sign))
    if not rows:
        return tuple(np.zeros(0, dtype) for dtype in (np.int64, np.int64, np.int64, np.float64))
    first, second, shared, sign = zip(*rows)
    return np.array(first), np.array(second), np.array(shared), np.array(sign)


def _elimination(parents: np.ndarray, kept: np.ndarray, pairs: tuple[np.ndarray, ...]
                 ) -> list[tuple[int, np.ndarray]]:
    """The order in which to eliminate the bones (ending at points ``kept`` [B] of the tree
    ``parents`` [N]) from their system: the deepest first, each with its neighbours still left
    (``pairs``: _bone_pairs). A bone's neighbours then are its parent bone and its siblings, which
    all share one point and are neighbours already: eliminating it adds no entry (the system of a
    tree's bones is chordal), so the elimination costs what the entries do, not the cube."""
    depth = tree_depth(parents)
    order = sorted(range(len(kept)), key=lambda b: -depth[kept[b]])
    rank = np.empty(len(kept), np.int64)
    rank[order] = np.arange(len(kept))
    first, second = pairs[0], pairs[1]
    neighbours = [[] for _ in kept]
    for i, k in zip(first, second):
        neighbours[i].append(k)
        neighbours[k].append(i)
    return [(b, np.array(sorted(n for n in neighbours[b] if rank[n] > rank[b]), np.int64)) for b in order]


def _tree_solve(M: np.ndarray, rhs: np.ndarray, plan: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """[t,B] the solution of the symmetric positive definite systems M [t,B,B] (changed) x = rhs
    [t,B], eliminated in the ``plan``'s order (_elimination: no entry added)."""
    rhs = rhs.copy()
    for b, later in plan:
        if len(later):
            factor = M[:, later, b] / M[:, b, b, None]  # [t,k]
            M[:, later[:, None], later] -= factor[:, :, None] * M[:, b, later][:, None, :]
            rhs[:, later] -= factor * rhs[:, b, None]
    x = np.zeros_like(rhs)
    for b, later in reversed(plan):
        x[:, b] = (rhs[:, b] - (M[:, b, later] * x[:, later]).sum(axis=-1)) / M[:, b, b]
    return x


def _shared_point(child: int, parent: int, other_child: int, other_parent: int) -> tuple[int, float]:
    """(the point two bones share, or -1; +1 where it is the same end of both, -1 where it is the
    child of one and the parent of the other)."""
    if parent == other_parent:
        return parent, 1.0
    if child == other_parent:
        return child, -1.0
    if parent == other_child:
        return parent, -1.0
    return -1, 0.0
