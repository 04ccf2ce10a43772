"""The tracks' term of the smoothing down the chain: every point's miss, and its normal equations in
the local rotations' increments, built from sums over each joint's subtree.

Unknowns per frame: the root's translation (3) then, for each joint in ``active`` (order kept), a
left increment ``R_j <- exp(δ_j) R_j`` in its parent's frame (3): ``n = 3 + 3 A``. A point ``k``
below joint ``a`` moves by ``-[X_k - X_a]x Gp_a δ_a`` (``Gp_a`` the parent's orientation, the
identity over the root), so every block of the normal matrix is a subtree sum of the points' weights
(scalar weight times the noise shape's inverse ``Σ⁻¹``), their cross-product matrices and their
misses: each joint's sums are its children's plus its own points'.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...fk import end_site_positions, forward_kinematics
from ...safety import AXES_STDS
from ...skeleton import Skeleton


def huber(m: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """(IRLS factors, losses) [...] of Huber's loss at lengths ``m`` [...] in stds: ``m²`` within ``k``,
    ``2 k m - k²`` beyond it, where the factor is ``k / m``."""
    beyond = m > k
    return np.where(beyond, k / np.maximum(m, 1e-300), 1.0), np.where(beyond, 2.0 * k * m - k * k, m * m)


def robust_weights(w: np.ndarray, r: np.ndarray, shape_inv: np.ndarray) -> tuple[np.ndarray, float]:
    """(the weights [T,P] ``w`` times Huber's IRLS factor, the loss summed) of the misses ``r``
    [T,P,3]: within AXES_STDS noise stds a miss costs its squared length in stds, beyond it linearly,
    so a track further from where the rig can put it than noise explains (a tip pushed off in a few
    frames) does not drag the joints above it off theirs."""
    factor, loss = huber(np.sqrt(np.maximum(np.einsum("tp,tpa,ab,tpb->tp", w, r, shape_inv, r), 0.0)), AXES_STDS)
    return w * factor, float(loss.sum())


def cross_matrix(v: np.ndarray) -> np.ndarray:
    """[...,3,3] the matrices ``[v]x`` with ``[v]x u = v × u`` for vectors ``v`` [...,3]."""
    m = np.zeros(v.shape[:-1] + (3, 3))
    m[..., 0, 1], m[..., 0, 2], m[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    m[..., 1, 0], m[..., 2, 0], m[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    return m


@dataclass
class PointData:
    """The points the rotations must reach: ``y`` [T,P,3] the joints' tracks then the bone tips',
    ``w`` [T,P] their weights (one over the noise variance per axis; 0 where there is no sample),
    ``shape_inv`` [3,3] the noise shape's inverse (identity: the same in every direction); the
    rig: ``skeleton``, per-frame parent-local ``offsets`` [T,J,3], ``end_parents`` [K] and
    ``end_offsets`` [K,3] of the tips (K may be 0)."""

    skeleton: Skeleton
    offsets: np.ndarray
    end_parents: np.ndarray
    end_offsets: np.ndarray
    y: np.ndarray
    w: np.ndarray
    shape_inv: np.ndarray

    def points(self, R: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(global rotations [T,J,3,3], the points [T,P,3]) of local rotations ``R`` [T,J,3,3] and
        the root's translation ``tau`` [T,3]."""
        G, X = forward_kinematics(self.skeleton, R, tau, self.offsets)
        if len(self.end_parents):
            X = np.concatenate([X, end_site_positions(G, X, self.end_parents, self.end_offsets)], axis=1)
        return G, X

    def misses(self, X: np.ndarray) -> np.ndarray:
        """[T,P,3] the points ``X`` less their tracks (0 where there is no sample)."""
        r = X - self.y
        return np.where(self.w[..., None] > 0, np.nan_to_num(r), 0.0)

    def cost(self, R: np.ndarray, tau: np.ndarray) -> float:
        """Σ ρ(m) over every point and frame, m the miss's length in noise stds (``sqrt(w rᵀ Σ⁻¹ r)``)
        and ρ Huber's loss beyond AXES_STDS (robust_weights)."""
        return robust_weights(self.w, self.misses(self.points(R, tau)[1]), self.shape_inv)[1]

    def frames(self, part: slice) -> "PointData":
        """The same points in the frames ``part`` only."""
        return replace(self, offsets=self.offsets[part], y=self.y[part], w=self.w[part])

    def owners(self) -> np.ndarray:
        """[P] the joint whose own point each point is: the joint itself, or a tip's parent."""
        return np.concatenate([np.arange(self.skeleton.num_joints), self.end_parents]).astype(np.int64)


@dataclass
class Subtrees:
    """Which points each joint's rotation moves, and the unknowns' layout: ``below`` [J,P] (1 where
    the point is the joint's, its tips' or a descendant's), ``active`` [A] the joints solved for and
    ``pairs`` (ancestor-or-self ``a``, ``b``) [M] of them with their places ``ia``, ``ib`` [M] in
    ``active``."""

    below: np.ndarray
    active: np.ndarray
    a: np.ndarray
    b: np.ndarray
    ia: np.ndarray
    ib: np.ndarray

    @property
    def size(self) -> int:
        """The unknowns per frame: 3 for the root's translation, 3 per active joint."""
        return 3 + 3 * len(self.active)


def subtrees(data: PointData, active: np.ndarray) -> Subtrees:
    """The Subtrees of ``data``'s rig with the joints ``active`` [A] (increasing) solved for."""
    parents = data.skeleton.parents
    J = len(parents)
    above = np.eye(J, dtype=bool)  # above[k, a]: a is k or one of its ancestors
    for k in range(1, J):
        above[k] |= above[parents[k]]
    below = above[data.owners()].T.astype(np.float64)  # [J,P]
    b, a = np.nonzero(above[np.ix_(active, active)])
    return Subtrees(below, np.asarray(active), active[a], active[b], a, b)


def normal_equations(data: PointData, tree: Subtrees, R: np.ndarray, tau: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, float]:
    """(normal matrices [T,n,n], gradients [T,n], cost) of the tracks' term at ``R`` [T,J,3,3],
    ``tau`` [T,3], in the unknowns of ``tree`` (module docstring): Gauss–Newton's JᵀWJ and JᵀWr."""
    G, X = data.points(R, tau)
    r = data.misses(X)
    X = X - X[:, :1]  # about the root: the sums below expand differences of positions
    S = data.shape_inv
    w, cost = robust_weights(data.w, r, S)
    Wr = w[..., None] * (r @ S)  # Σ⁻¹ symmetric
    Xx = cross_matrix(X)  # [T,P,3,3]
    sums = [np.einsum("jp,tp...->tj...", tree.below, q, optimize=True) for q in (
        w, w[..., None, None] * (S @ Xx), w[..., None, None] * (np.swapaxes(Xx, -1, -2) @ S @ Xx),
        Wr, np.cross(X, Wr))]
    s0, s1, s2, v, u = sums
    Gp = parent_orientations(G, data.skeleton)
    Xa, Xb = Xx[:, tree.a], Xx[:, tree.b]
    block = (s2[:, tree.b] - np.swapaxes(Xa, -1, -2) @ s1[:, tree.b] - np.swapaxes(s1[:, tree.b], -1, -2) @ Xb
             + s0[:, tree.b, None, None] * (np.swapaxes(Xa, -1, -2) @ S @ Xb))
    block = np.swapaxes(Gp[:, tree.a], -1, -2) @ block @ Gp[:, tree.b]  # [T,M,3,3]
    A, T = len(tree.active), len(R)
    D = np.zeros((T, A + 1, 3, A + 1, 3))
    D[:, tree.ia + 1, :, tree.ib + 1, :] = np.moveaxis(block, 1, 0)
    D[:, tree.ib + 1, :, tree.ia + 1, :] = np.moveaxis(np.swapaxes(block, -1, -2), 1, 0)
    act = tree.active
    D[:, 0, :, 0, :] = s0[:, 0, None, None] * S
    cross_t = -(s1[:, act] - s0[:, act, None, None] * (S @ Xx[:, act])) @ Gp[:, act]  # [T,A,3,3]
    D[:, 0, :, 1:, :] = np.moveaxis(cross_t, 1, 2)
    D[:, 1:, :, 0, :] = np.swapaxes(cross_t, -1, -2)
    g = _gradient(tree, Gp, X, v[..., None], u[..., None])[..., 0]
    return D.reshape(T, 3 * A + 3, 3 * A + 3), g, cost


def _gradient(tree: Subtrees, Gp: np.ndarray, X: np.ndarray, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """[T,n,K] the tracks' term's gradients in the unknowns of ``tree`` from each joint's subtree sums
    of K sets of weighted misses ``Wr``: ``v`` = Σ Wr and ``u`` = Σ X × Wr [T,J,3,K], with the parents'
    orientations ``Gp`` [T,J,3,3] and the points ``X`` [T,P,3] about the root."""
    act = tree.active
    turns = np.einsum("tjba,tjbk->tjak", Gp[:, act], u[:, act] - np.cross(X[:, act, :, None], v[:, act], axis=2))
    return np.concatenate([v[:, 0], turns.reshape(len(X), -1, v.shape[-1])], axis=1)


def diagonal_blocks(D: np.ndarray) -> np.ndarray:
    """[T,G,3,3] the blocks on the diagonal of normal matrices ``D`` [T,3G,3G]: each unknown group
    (the root's move, then each active joint's turn) with itself, the information a frame gives of it
    given the others held."""
    T, G = len(D), D.shape[1] // 3
    return np.moveaxis(D.reshape(T, G, 3, G, 3)[:, np.arange(G), :, np.arange(G), :], 0, 1)


def add_diagonal_blocks(D: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """``D`` [T,3G,3G] (normal matrices, as diagonal_blocks reads them) with ``blocks`` [T,G,3,3] added
    to its diagonal blocks, in place; returned."""
    T, G = len(D), D.shape[1] // 3
    D.reshape(T, G, 3, G, 3)[:, np.arange(G), :, np.arange(G), :] += np.moveaxis(blocks, 1, 0)
    return D


def parent_orientations(G: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """[T,J,3,3] each joint's parent's global orientation in ``G`` [T,J,3,3] (the identity over the root)."""
    return np.concatenate([np.broadcast_to(np.eye(3), (len(G), 1, 3, 3)), G[:, skeleton.parents[1:]]], axis=1)


def gradient_draws(data: PointData, tree: Subtrees, R: np.ndarray, tau: np.ndarray, rng: np.random.Generator,
                   draws: int) -> np.ndarray:
    """[T,n,K] K = ``draws`` draws of the tracks' term's gradient ``JᵀW ε`` at ``R``, ``tau`` (the
    unknowns of normal_equations) for misses ε drawn from each point's noise ``N(0, (w Σ⁻¹)⁻¹)``, w
    with Huber's factor at the misses there: their covariance is the normal matrix ``JᵀWJ``, drawn
    without factorising it."""
    G, X = data.points(R, tau)
    w = robust_weights(data.w, data.misses(X), data.shape_inv)[0]
    X = X - X[:, :1]
    root = np.linalg.cholesky(data.shape_inv)
    Wr = np.sqrt(w)[..., None, None] * np.einsum("ab,tpbk->tpak", root, rng.standard_normal(X.shape + (draws,)))
    v = np.einsum("jp,tpak->tjak", tree.below, Wr, optimize=True)
    u = np.einsum("jp,tpak->tjak", tree.below, np.cross(X[..., None], Wr, axis=2), optimize=True)
    return _gradient(tree, parent_orientations(G, data.skeleton), X, v, u)
