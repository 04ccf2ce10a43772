"""Forward kinematics for BVH-style skeletons (numpy, vectorised over frames).

``G_j = G_parent @ R_j`` and ``p_j = p_parent + G_parent @ offset_j``; the root's
``R_0`` is its global orientation and its position is ``root_translation``.
"""
from __future__ import annotations

import numpy as np

from .skeleton import Skeleton
from .stacks import empty_matrices, empty_vectors, mat_mul, mat_t_mul, mat_vec


def forward_kinematics(skeleton: Skeleton, rotations: np.ndarray, root_translation: np.ndarray | None = None,
                       local_offsets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Local rotations [T,J,3,3] -> (global rotations [T,J,3,3], positions [T,J,3]).

    root_translation: [T,3] root positions (default: the root's rest position).
    local_offsets: optional [T,J,3] per-frame parent-local offsets (translating joints);
    default the skeleton's rest offsets.
    """
    rotations = np.asarray(rotations, np.float64)
    T, J = rotations.shape[:2]
    offsets = skeleton.offsets if local_offsets is None else local_offsets.swapaxes(0, 1)
    G = empty_matrices((T, J))
    P = empty_vectors((T, J))
    G[:, 0] = rotations[:, 0]
    P[:, 0] = skeleton.offsets[0] if root_translation is None else root_translation
    parents = skeleton.parents
    for j in range(1, J):
        p = parents[j]
        G[:, j] = mat_mul(G[:, p], rotations[:, j])
        P[:, j] = P[:, p] + mat_vec(G[:, p], offsets[j])
    return G, P


def end_site_positions(G: np.ndarray, P: np.ndarray, end_parents: np.ndarray, end_offsets: np.ndarray) -> np.ndarray:
    """[T,K,3] bone tips (End Sites) placed by forward kinematics: each parent's position in ``P``
    [T,J,3] plus its orientation in ``G`` [T,J,3,3] applied to the tip's offset ``end_offsets``
    [K,3] (``end_parents`` [K])."""
    return P[:, end_parents] + np.einsum("tkab,kb->tka", G[:, end_parents], end_offsets)


def global_to_local(skeleton: Skeleton, global_rotations: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Global rotations [T,J,3,3] -> local rotations [T,J,3,3] (``R_j = G_parent^T G_j``), written
    into ``out`` if given (which may be ``global_rotations`` itself: children are done first)."""
    G = np.asarray(global_rotations, np.float64)
    R = empty_matrices(G.shape[:2]) if out is None else out
    for j in range(skeleton.num_joints - 1, 0, -1):
        mat_t_mul(G[:, skeleton.parents[j]], G[:, j], out=R[:, j])
    if R is not G:
        R[:, 0] = G[:, 0]
    return R
