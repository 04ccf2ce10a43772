"""The motion's terms of the smoothing down the chain, in each active joint's left increment δ
(``R <- exp(δ) R``, the parent's frame): the turns' second differences over time, weighted by the
motion's own scale and clamped beyond CLAMP_STDS of it (a turn the source makes abruptly is not
smeared), and each rotation's spread about its mean over the clip."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...kernels import CLAMP_STDS
from ...rotations import rotation_vector
from .points import cross_matrix, huber


def inverse_left_jacobian(phi: np.ndarray) -> np.ndarray:
    """[...,3,3] SO(3)'s inverse left Jacobian at rotation vectors ``phi`` [...,3]: how the log of
    ``exp(ε) exp(phi)`` moves with ε."""
    angle = np.linalg.norm(phi, axis=-1)[..., None, None]
    K = cross_matrix(phi)
    small = angle < 1e-6
    a = np.where(small, 1.0, angle)
    coef = np.where(small, 1.0 / 12.0, 1.0 / a ** 2 - (1.0 + np.cos(a)) / (2.0 * a * np.sin(a)))
    return np.eye(3) - 0.5 * K + coef * (K @ K)


@dataclass
class PriorBlocks:
    """A quadratic model of the motion's terms: per frame and joint the diagonal blocks ``D``
    [T,A,3,3], the blocks to the next frame ``E`` and the one after ``F`` [T,A,3,3] (rows: the earlier
    frame), the gradient ``g`` [T,A,3] and the cost."""

    D: np.ndarray
    E: np.ndarray
    F: np.ndarray
    g: np.ndarray
    cost: float


def huber_weights(e: np.ndarray, We: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, float]:
    """(IRLS weights [...] of Huber's loss beyond CLAMP_STDS, the loss summed) of the differences
    ``e`` [...,3] with ``We`` = Q⁻¹ e, counting those ``valid`` [...] only (points.huber on their
    Mahalanobis lengths)."""
    factor, loss = huber(np.sqrt(np.maximum((e * We).sum(-1), 0.0)), CLAMP_STDS)
    return factor * valid, float((loss * valid).sum())


def turn_steps(R: np.ndarray) -> np.ndarray:
    """[T-1,A,3] the turns ``log(R_t+1 R_tᵀ)`` between frames of ``R`` [T,A,3,3] (the parent's frame)."""
    return rotation_vector(R[1:] @ np.swapaxes(R[:-1], -1, -2))


def second_differences(R: np.ndarray, Qinv: np.ndarray, valid: np.ndarray) -> PriorBlocks:
    """The turns' second differences ``e_t = b_t+1 - b_t`` (``b`` turn_steps of ``R`` [T,A,3,3]) as
    ``Σ ρ(e_tᵀ Q⁻¹ e_t)`` with ``Qinv`` [T-2,A,3,3] and ρ Huber's loss beyond CLAMP_STDS (the squared
    Mahalanobis length as is within it), over the terms ``valid`` [T-2,A] (not across a cut)."""
    T, A = R.shape[:2]
    B = R[1:] @ np.swapaxes(R[:-1], -1, -2)
    b = rotation_vector(B)
    M = inverse_left_jacobian(b)
    MB = M @ B
    jac = (MB[:-1], -MB[1:] - M[:-1], M[1:])  # e_t's Jacobians in δ_t, δ_t+1, δ_t+2
    e = (b[1:] - b[:-1]) * valid[..., None]
    We = np.einsum("tjab,tjb->tja", Qinv, e)
    weight, cost = huber_weights(e, We, valid)
    return _banded(jac, Qinv * weight[..., None, None], We * weight[..., None], T, cost)


def moves_second_differences(tau: np.ndarray, Qinv: np.ndarray, valid: np.ndarray) -> PriorBlocks:
    """The root's moves' second differences ``e_t = τ_t+2 - 2 τ_t+1 + τ_t`` (``tau`` [T,3]) as
    second_differences weighs the turns' (``Qinv`` [T-2,3,3], ``valid`` [T-2]): a root that follows
    the tracks' noise alone would absorb the misses the turns' smoothness leaves. Blocks [T,1,...]."""
    T = len(tau)
    e = (tau[2:] - 2.0 * tau[1:-1] + tau[:-2]) * valid[:, None]
    We = np.einsum("tab,tb->ta", Qinv, e)
    weight, cost = huber_weights(e, We, valid)
    jac = tuple(np.broadcast_to(c * np.eye(3), (T - 2, 1, 3, 3)) for c in (1.0, -2.0, 1.0))
    return _banded(jac, (Qinv * weight[:, None, None])[:, None], (We * weight[:, None])[:, None], T, cost)


def _banded(jac: tuple[np.ndarray, ...], Qw: np.ndarray, We: np.ndarray, T: int, cost: float) -> PriorBlocks:
    """The PriorBlocks over ``T`` frames of terms ``eᵀ Qw e`` on frames t, t+1, t+2 (t < T-2), with
    ``jac`` e's Jacobians [T-2,G,3,3] in each of the three, ``Qw`` [T-2,G,3,3] their (IRLS-weighted)
    Q⁻¹ and ``We`` [T-2,G,3] = Qw e."""
    G = Qw.shape[1]
    D, E, F = (np.zeros((T, G, 3, 3)) for _ in range(3))
    g = np.zeros((T, G, 3))
    for u in range(3):
        g[u:T - 2 + u] += np.einsum("tjba,tjb->tja", jac[u], We)
        for v, out in ((u, D), (u + 1, E), (u + 2, F)):
            if v < 3:
                out[u:T - 2 + u] += np.swapaxes(jac[u], -1, -2) @ Qw @ jac[v]
    return PriorBlocks(D, E, F, g, cost)


def about_the_mean(R: np.ndarray, mean: np.ndarray, Pinv: np.ndarray) -> PriorBlocks:
    """Each rotation's spread about its ``mean`` [A,3,3] over the clip, ``Σ zᵀ P⁻¹ z`` with ``z =
    log(R mean ᵀ)`` of ``R`` [T,A,3,3] and ``Pinv`` [A,3,3]: it keeps a short bone's rotation where
    the clip keeps it, as much as the clip's own spread says."""
    z = rotation_vector(R @ np.swapaxes(mean, -1, -2)[None])
    M = inverse_left_jacobian(z)
    Wz = np.einsum("jab,tjb->tja", Pinv, z)
    zero = np.zeros(R.shape)
    D = np.swapaxes(M, -1, -2) @ Pinv[None] @ M
    return PriorBlocks(D, zero, zero, np.einsum("tjba,tjb->tja", M, Wz), float((z * Wz).sum()))
