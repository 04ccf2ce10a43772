"""Joints the tracks never show, placed between the tracked joints above and below them: a rig with
more spine bones than the tracker gives, an elbow without its marker (place_untracked_joints); a node
of the root line without data is carried with the tracked joints below it (carry_with_body)."""
from __future__ import annotations

import numpy as np

from .bone_fill import spans_a_plane
from .rotations import nearest_rotation, rotation_between
from .skeleton import Skeleton


def place_untracked_joints(positions: np.ndarray, missing: list[int], skeleton: Skeleton,
                           pose: np.ndarray | None = None) -> tuple[np.ndarray, list[int], dict[int, list[int]]]:
    """(positions [T,J,3] with joints that have no data in any frame (``missing``) but tracked
    joints both above and below them placed between those, the joints placed, those of them carried
    with the body, each with the tracked joints that carry it): a rig with more spine bones than
    the tracker, an elbow without a marker. The rig's pose between the nearest tracked joint above
    (a) and the first tracked joints below (d: one, or several spanning a plane) is turned as d are
    turned about a (the smallest swing for one, the best fit for more) and scaled as far as they are
    from it, so each placed joint keeps its place along the chain and the side that ``pose`` [J,3]
    (joint positions of the reference pose; default: the rest pose) bends to; a joint with a
    tracked child of no length (a finger base at the hand) is where that child is. A node of the
    root line, the hub included, places the body rather than bending with it (a pelvis node between
    a floor-level root and the hips, or the hips themselves): it is carried with the tracked joints
    below it, as they hold it in ``pose`` (carry_with_body), however far they move from the root.
    Joints with nothing tracked below them keep their reference rotation (not placed)."""
    P = np.array(positions, np.float64)
    rest = skeleton.rest_positions if pose is None else pose
    unplaced = set(int(m) for m in missing)
    line = set(skeleton.root_line)
    placed: list[int] = []
    carried: dict[int, list[int]] = {}
    long = skeleton.bone_has_length
    for m in sorted(unplaced):
        a = _tracked_above(skeleton, m, unplaced)
        below = tracked_below(skeleton, m, unplaced)
        at = [c for c in skeleton.children[m] if c not in unplaced and not long[c]]
        if a is not None and at:  # a tracked joint of no length below it sits where it is
            P[:, m] = P[:, at[0]]
        elif a is None or not below:
            continue
        elif m in line:
            carried[m] = below
            carry_with_body(P, {m: below}, rest)
        else:
            P[:, m] = _between(P, rest, a, below, m)
        unplaced.discard(m)
        placed.append(m)
    return P, placed, carried


def carry_with_body(P: np.ndarray, carried: dict[int, list[int]], pose: np.ndarray) -> None:
    """Put each ``carried`` joint of ``P`` [T,J,3] (in place) where the tracked joints that carry it
    hold it in ``pose`` [J,3]: at its offset from one; rigid with several, turned as they turn about
    their centre (the best fit where they span a plane, else the smallest swing of the line through
    them; none where they are at one point), unscaled."""
    for m, below in carried.items():
        if len(below) == 1:
            P[:, m] = P[:, below[0]] + (pose[m] - pose[below[0]])
            continue
        centre, model_centre = P[:, below].mean(axis=1), pose[below].mean(axis=0)
        seen, model = P[:, below] - centre[:, None], pose[below] - model_centre
        far = int(np.argmax(np.linalg.norm(model, axis=-1)))  # a line's end (all at one point: no turn)
        if spans_a_plane(model):
            turn = nearest_rotation(np.einsum("tki,kj->tij", seen, model))
        elif np.linalg.norm(model[far]) > 0.0:
            turn = rotation_between(np.broadcast_to(model[far], centre.shape), seen[:, far])
        else:
            turn = np.eye(3)
        P[:, m] = centre + np.einsum("...ij,j->...i", turn, pose[m] - model_centre)


def _between(P: np.ndarray, rest: np.ndarray, a: int, below: list[int], m: int) -> np.ndarray:
    """[T,3] joint ``m`` where the pose ``rest`` [J,3] puts it between the tracked joint ``a`` above
    and ``below``, turned and scaled as those are about ``a`` in ``P`` [T,J,3]."""
    seen, model = P[:, below] - P[:, a, None], rest[below] - rest[a]  # [T,k,3], [k,3]
    scale = np.linalg.norm(seen, axis=-1).sum(axis=1) / max(float(np.linalg.norm(model, axis=-1).sum()), 1e-300)
    if spans_a_plane(model):  # by the SVD, which stays a rotation however nearly the vectors line up
        turn = nearest_rotation(np.einsum("tki,kj->tij", seen, model))
    else:
        turn = rotation_between(np.broadcast_to(model.sum(axis=0), seen.shape[::2]), seen.sum(axis=1))
    return P[:, a] + scale[:, None] * np.einsum("tij,j->ti", turn, rest[m] - rest[a])


def _tracked_above(skeleton: Skeleton, j: int, unplaced: set[int]) -> int | None:
    """The nearest ancestor of ``j`` that has positions (not in ``unplaced``), or None."""
    p = int(skeleton.parents[j])
    while p >= 0 and p in unplaced:
        p = int(skeleton.parents[p])
    return p if p >= 0 else None


def tracked_below(skeleton: Skeleton, j: int, unplaced: set[int]) -> list[int]:
    """The first joints with positions (not in ``unplaced``) on every path down from ``j``, off
    the joint itself (a bone of no length tells no direction)."""
    out, stack = [], list(skeleton.children[j])
    while stack:
        c = stack.pop()
        if c in unplaced:
            stack.extend(skeleton.children[c])
        elif np.linalg.norm(skeleton.rest_positions[c] - skeleton.rest_positions[j]) > 0.0:
            out.append(int(c))
    return sorted(out)
