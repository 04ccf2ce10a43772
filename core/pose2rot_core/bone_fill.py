"""Gap-filled samples put where the rig holds them: interpolating a track on its own (fill_gaps)
ignores that its joint hangs from its parent at a fixed offset in the parent's frame. Where the
parent's turn is fixed by two or more of its other children with data (not on one line: a hip by
both thighs and the spine, a chest by the collars), a filled sample of the joint is placed at that
offset (its bone at its typical length), so that a dropped joint does not pull its parent, nor its
siblings, off their tracks; where three or more of its own children with data fix its turn (a hand
by its fingers), it is placed where they hang from it; between a parent and one child with data
(an elbow), on the circle where both bones keep their lengths, at the side the interpolated
sample bends to, as far as that side is clear. Elsewhere the interpolated sample stays."""
from __future__ import annotations

import numpy as np

from .rotations import best_fit_rotation, smoothstep
from .skeleton import Skeleton
from .smoothing import bone_lengths, column_nanmedian
from .solvers.geometric.fit import pairwise_alignment

#: rest offsets of a joint's children within this sine of one line cannot say how it turned
ON_ONE_LINE_SIN = 0.05


def place_fills_on_the_rig(positions: np.ndarray, gaps: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """[T,J,3] ``positions`` (gap-filled) with the samples that were ``gaps`` [T,J] placed where
    the rig holds them (see the module): by their own children, by their parent's other children,
    or between parent and child (parents first, so a placed parent counts for its children)."""
    out = np.array(positions, np.float64)
    if skeleton.num_joints < 3:
        return out
    lengths = bone_lengths(out, np.arange(1, skeleton.num_joints), skeleton.parents[1:], gaps)
    typical = np.concatenate([[np.nan], column_nanmedian(lengths)])
    for j in np.flatnonzero(gaps[:, 1:].any(axis=0)) + 1:  # parents before children
        frames = np.flatnonzero(gaps[:, j])
        held = _held_by_children(out, gaps, skeleton, j, frames, typical)
        if held is None:
            held = _held_by_siblings(out, gaps, skeleton, j, frames, typical[j])
        if held is None:
            held = _between_parent_and_child(out, gaps, skeleton, j, frames, typical)
        if held is not None:
            out[frames, j] = held
    return out


def _held_by_children(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                      typical: np.ndarray) -> np.ndarray | None:
    """[n,3] where joint ``j`` is in ``frames`` [n] if its children with data in all those frames
    (three or more, their rest offsets not on one line: else None) hang from it as the rig says
    (each at its typical length): the turn that best takes their rest offsets, about their
    centre, onto theirs, then the joint where that turn puts it from each of them, averaged."""
    kids = [c for c in skeleton.children[j] if not gaps[frames, c].any() and np.isfinite(typical[c])
            and np.linalg.norm(skeleton.offsets[c]) > 0.0]
    if len(kids) < 3:
        return None
    rest = skeleton.offsets[kids]
    rest = rest * (typical[kids] / np.linalg.norm(rest, axis=-1))[:, None]
    spread = rest - rest.mean(axis=0)
    if not _spans_a_plane(spread):
        return None
    seen = P[frames][:, kids]  # [n,k,3]
    turn = best_fit_rotation(pairwise_alignment(seen - seen.mean(axis=1, keepdims=True), spread[None]))
    return (seen - np.einsum("nij,kj->nki", turn, rest)).mean(axis=1)


def _spans_a_plane(v: np.ndarray) -> bool:
    """Whether vectors v [k,3] (not all on one line through the origin) fix a turn."""
    length = np.linalg.norm(v, axis=-1)
    unit = v[length > 1e-12 * max(float(length.max()), 1e-300)]
    unit = unit / np.linalg.norm(unit, axis=-1, keepdims=True)
    return len(unit) >= 2 and np.linalg.norm(np.cross(unit[:, None], unit[None]), axis=-1).max() >= ON_ONE_LINE_SIN


def _held_by_siblings(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                      length: float) -> np.ndarray | None:
    """[n,3] where joint ``j`` is in ``frames`` [n] if it hangs from its parent as the rig's rest
    offset says (at ``length``), the parent turned as best takes the rest offsets of its other
    children with data in all those frames onto theirs (two or more, not on one line: else None)."""
    p = skeleton.parents[j]
    others = [c for c in skeleton.children[p] if c != j and not gaps[frames, c].any()
              and np.linalg.norm(skeleton.offsets[c]) > 0.0]  # a child at the joint shows no turn
    rest = skeleton.offsets[others]
    own = float(np.linalg.norm(skeleton.offsets[j]))
    if len(others) < 2 or not np.isfinite(length) or own <= 0.0:
        return None
    if not _spans_a_plane(rest):
        return None
    seen = P[frames][:, others] - P[frames, p][:, None]  # [n,k,3]
    turn = best_fit_rotation(pairwise_alignment(seen, rest[None]))
    return P[frames, p] + np.einsum("nij,j->ni", turn, skeleton.offsets[j] * (length / own))


def _between_parent_and_child(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                              typical: np.ndarray) -> np.ndarray | None:
    """[n,3] where joint ``j`` is in ``frames`` [n] if both its bones keep their typical lengths,
    its parent and its one child with data (an elbow between shoulder and wrist) where their
    tracks say: on the circle of such places, at the side the interpolated sample lies (the bend
    the motion had around the gap). Where that sample lies near the line from parent to child
    (closer than the circle's radius), its side says little: the move onto the circle shrinks
    smoothly to none there, so a bend never jumps from one side to the other. None unless the
    parent and exactly one child (not at the joint) have data in all those frames."""
    p = skeleton.parents[j]
    kids = [c for c in skeleton.children[j] if np.linalg.norm(skeleton.offsets[c]) > 0.0]
    if p < 0 or gaps[frames, p].any() or len(kids) != 1 or gaps[frames, kids[0]].any():
        return None
    c = kids[0]
    l1, l2 = typical[j], typical[c]
    if not (np.isfinite(l1) and np.isfinite(l2)):
        return None
    a, b, e = P[frames, p], P[frames, c], P[frames, j]
    d = np.maximum(np.linalg.norm(b - a, axis=-1), 1e-300)[:, None]
    u = (b - a) / d
    along = np.clip((d * d + l1 * l1 - l2 * l2) / (2.0 * d), -l1, l1)  # from the parent, on the line
    radius = np.sqrt(np.maximum(l1 * l1 - along * along, 0.0))
    side = (e - a) - ((e - a) * u).sum(-1, keepdims=True) * u
    off = np.linalg.norm(side, axis=-1, keepdims=True)
    on_circle = a + along * u + radius * side / np.maximum(off, 1e-300)
    trust = smoothstep(off / np.maximum(radius, 1e-300))
    return e + trust * (on_circle - e)
