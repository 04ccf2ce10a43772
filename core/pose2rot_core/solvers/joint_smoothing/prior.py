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


def turn_steps(R: np.ndarray) -> np.ndarray:
    """[T-1,A,3] the turns ``log(R_t+1 R_tᵀ)`` between frames of ``R`` [T,A,3,3] (the parent's frame)."""
    return rotation_vector(R[1:] @ np.swapaxes(R[:-1], -1, -2))


@dataclass
class DifferenceTerms:
    """Second differences over time, ``Σ ρ(e_tᵀ Q⁻¹ e_t)``: ``e`` [T-2,G,3] (0 where not valid), ``jac`` their
    Jacobians [T-2,G,3,3] in the unknowns of frames t, t+1, t+2, ``Qinv`` [T-2,G,3,3], ``weight``
    [T-2,G] Huber's IRLS factor beyond CLAMP_STDS (0 where not valid) and the loss summed."""

    e: np.ndarray
    jac: tuple[np.ndarray, np.ndarray, np.ndarray]
    Qinv: np.ndarray
    weight: np.ndarray
    cost: float

    @property
    def Qw(self) -> np.ndarray:
        """[T-2,G,3,3] each term's weight in the quadratic model: Q⁻¹ times the IRLS factor."""
        return self.Qinv * self.weight[..., None, None]

    def blocks(self, T: int) -> PriorBlocks:
        """The PriorBlocks over ``T`` frames of the terms ``eᵀ Qw e`` on frames t, t+1, t+2."""
        Qw = self.Qw
        G = Qw.shape[1]
        We = np.einsum("tjab,tjb->tja", Qw, self.e)
        D, E, F = (np.zeros((T, G, 3, 3)) for _ in range(3))
        g = np.zeros((T, G, 3))
        for u in range(3):
            g[u:T - 2 + u] += np.einsum("tjba,tjb->tja", self.jac[u], We)
            for v, out in ((u, D), (u + 1, E), (u + 2, F)):
                if v < 3:
                    out[u:T - 2 + u] += np.swapaxes(self.jac[u], -1, -2) @ Qw @ self.jac[v]
        return PriorBlocks(D, E, F, g, self.cost)

    def __add__(self, other: "DifferenceTerms") -> "DifferenceTerms":
        """Both sets of terms side by side ([T-2,G+G',...])."""
        return DifferenceTerms(np.concatenate([self.e, other.e], axis=1),
                               tuple(np.concatenate(pair, axis=1) for pair in zip(self.jac, other.jac)),
                               *(np.concatenate(pair, axis=1) for pair in ((self.Qinv, other.Qinv),
                                                                           (self.weight, other.weight))),
                               self.cost + other.cost)


def _weighed(e: np.ndarray, jac: tuple[np.ndarray, ...], Qinv: np.ndarray, valid: np.ndarray) -> DifferenceTerms:
    """The DifferenceTerms of ``e`` [T-2,G,3] with ``Qinv`` [T-2,G,3,3], counting those ``valid`` [T-2,G]."""
    e = e * valid[..., None]
    factor, loss = huber(np.sqrt(np.maximum(np.einsum("tja,tjab,tjb->tj", e, Qinv, e), 0.0)), CLAMP_STDS)
    return DifferenceTerms(e, jac, Qinv, factor * valid, float((loss * valid).sum()))


def turn_differences(R: np.ndarray, Qinv: np.ndarray, valid: np.ndarray) -> DifferenceTerms:
    """The turns' second differences ``e_t = b_t+1 - b_t`` (``b`` turn_steps of ``R`` [T,A,3,3]) with
    ``Qinv`` [T-2,A,3,3], over the terms ``valid`` [T-2,A] (not across a cut)."""
    B = R[1:] @ np.swapaxes(R[:-1], -1, -2)
    b = rotation_vector(B)
    M = inverse_left_jacobian(b)
    MB = M @ B
    return _weighed(b[1:] - b[:-1], (MB[:-1], -MB[1:] - M[:-1], M[1:]), Qinv, valid)


def move_differences(tau: np.ndarray, Qinv: np.ndarray, valid: np.ndarray) -> DifferenceTerms:
    """The root's moves' second differences ``e_t = τ_t+2 - 2 τ_t+1 + τ_t`` (``tau`` [T,3]) weighed
    as turn_differences weighs the turns' (``Qinv`` [T-2,3,3], ``valid`` [T-2]; G = 1): a root that
    follows the tracks' noise alone would absorb the misses the turns' smoothness leaves."""
    jac = tuple(np.broadcast_to(c * np.eye(3), (len(tau) - 2, 1, 3, 3)) for c in (1.0, -2.0, 1.0))
    return _weighed((tau[2:] - 2.0 * tau[1:-1] + tau[:-2])[:, None], jac, Qinv[:, None], valid[:, None])


def about_the_mean(R: np.ndarray, mean: np.ndarray, Pinv: np.ndarray) -> PriorBlocks:
    """Each rotation's spread about its ``mean`` [A,3,3] over the clip, ``Σ zᵀ P⁻¹ z`` with ``z =
    log(R mean ᵀ)`` of ``R`` [T,A,3,3] and ``Pinv`` [A,3,3]: it keeps a short bone's rotation where
    the clip keeps it, as much as the clip's own spread says."""
    z, M = spread_jacobian(R, mean)
    Wz = np.einsum("jab,tjb->tja", Pinv, z)
    zero = np.zeros(R.shape)
    D = np.swapaxes(M, -1, -2) @ Pinv[None] @ M
    return PriorBlocks(D, zero, zero, np.einsum("tjba,tjb->tja", M, Wz), float((z * Wz).sum()))


def spread_jacobian(R: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``z = log(R meanᵀ)`` [T,A,3] of ``R`` [T,A,3,3] about ``mean`` [A,3,3], its Jacobian [T,A,3,3] in
    the left increments)."""
    z = rotation_vector(R @ np.swapaxes(mean, -1, -2)[None])
    return z, inverse_left_jacobian(z)
