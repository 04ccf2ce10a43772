"""Forward kinematics for BVH-style skeletons (numpy, vectorised over frames).

``G_j = G_parent @ R_j`` and ``p_j = p_parent + G_parent @ offset_j``; the root's
``R_0`` is its global orientation and its position is ``root_translation``.
"""
from __future__ import annotations

import numpy as np

from .rotations import norm, normalize
from .skeleton import Skeleton
from .stacks import empty_matrices, empty_vectors, joint_batches, joint_planes, joint_rows, planes_mul, planes_vec


def forward_kinematics(skeleton: Skeleton, rotations: np.ndarray, root_translation: np.ndarray | None = None,
                       local_offsets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Local rotations [T,J,3,3] -> (global rotations [T,J,3,3], positions [T,J,3]).

    root_translation: [T,3] root positions (default: the root's rest position).
    local_offsets: optional [T,J,3] per-frame parent-local offsets (translating joints);
    default the skeleton's rest offsets.
    """
    rotations = np.asarray(rotations, np.float64)
    R = np.ascontiguousarray(joint_planes(rotations))  # [J,3,3,T]
    G = empty_matrices(rotations.shape[:2])
    g = joint_planes(G)  # a view, written in place
    g[0] = R[0]
    parents = skeleton.parents
    for level in skeleton.levels[1:]:
        for joints in joint_batches(level, rotations.shape[0]):  # a depth at a time: the parents are placed
            g[joints] = planes_mul(joint_rows(g, parents[joints]), joint_rows(R, joints))
    return G, joint_positions(skeleton, G, root_translation, local_offsets)


def joint_positions(skeleton: Skeleton, global_rotations: np.ndarray, root_translation: np.ndarray | None = None,
                    local_offsets: np.ndarray | None = None) -> np.ndarray:
    """Positions [T,J,3] of the joints hung from their parents at ``global_rotations`` [T,J,3,3]
    (root_translation, local_offsets: as forward_kinematics)."""
    T, J = global_rotations.shape[:2]
    g = np.ascontiguousarray(joint_planes(np.asarray(global_rotations, np.float64)))  # [J,3,3,T]
    offsets = skeleton.offsets[:, :, None] if local_offsets is None else \
        np.ascontiguousarray(joint_planes(np.asarray(local_offsets, np.float64)))  # [J,3,1|T]
    P = empty_vectors((T, J))
    x = joint_planes(P)  # a view, written in place
    x[0] = skeleton.offsets[0, :, None] if root_translation is None else np.asarray(root_translation).T
    parents = skeleton.parents
    for level in skeleton.levels[1:]:
        for joints in joint_batches(level, T):
            parent = parents[joints]
            x[joints] = planes_vec(joint_rows(g, parent), joint_rows(offsets, joints)) + joint_rows(x, parent)
    return P


def end_site_positions(G: np.ndarray, P: np.ndarray, end_parents: np.ndarray, end_offsets: np.ndarray) -> np.ndarray:
    """[T,K,3] bone tips (End Sites) placed by forward kinematics: each parent's position in ``P``
    [T,J,3] plus its orientation in ``G`` [T,J,3,3] applied to the tip's offset ``end_offsets``
    [K,3] (``end_parents`` [K])."""
    return P[:, end_parents] + np.einsum("tkab,kb->tka", G[:, end_parents], end_offsets)


def global_to_local(skeleton: Skeleton, global_rotations: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Global rotations [T,J,3,3] -> local rotations [T,J,3,3] (``R_j = G_parent^T G_j``), written
    into ``out`` if given (which may be ``global_rotations`` itself: the deepest joints are done first)."""
    G = np.asarray(global_rotations, np.float64)
    R = empty_matrices(G.shape[:2]) if out is None else out
    g, r = np.ascontiguousarray(joint_planes(G)), joint_planes(R)  # g: G itself when component-major
    for level in skeleton.levels[:0:-1]:  # the deepest first: their parents are still global
        for joints in joint_batches(level, G.shape[0]):
            r[joints] = planes_mul(joint_rows(g, skeleton.parents[joints]), joint_rows(g, joints), transpose_a=True)
    if R is not G:
        R[:, 0] = G[:, 0]
    return R


def bone_turn(skeleton: Skeleton, rotations: np.ndarray, points: np.ndarray) -> float:
    """Mean angle (degrees) between the bones of the pose ``rotations`` [J,3,3] (local) and those of
    the tracks ``points`` [J,3] at one frame (bones of length with data at both ends; 0 when none):
    how far that frame is from showing the pose."""
    posed = forward_kinematics(skeleton, np.asarray(rotations, np.float64)[None])[1][0]
    child = np.flatnonzero((skeleton.parents >= 0) & skeleton.bone_has_length)
    par = skeleton.parents[child]
    a, b = posed[child] - posed[par], points[child] - points[par]
    ok = np.isfinite(b).all(-1) & (norm(b) > 0)
    if not ok.any():
        return 0.0
    cos = (normalize(a[ok]) * normalize(b[ok])).sum(-1)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).mean())
