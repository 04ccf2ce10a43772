"""Symmetric positive definite systems banded over frames: each frame's unknowns coupled to the
next two frames' (the second differences over time), solved by a block Cholesky factorisation."""
from __future__ import annotations

import numpy as np


def solve_pentadiagonal(D: np.ndarray, E: np.ndarray, F: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """[T,n] (or [T,n,k]) the solution x of ``M x = rhs`` [T,n] (or k right-hand sides [T,n,k]), M
    symmetric positive definite with the blocks
    ``D_t`` [T,n,n] (frame t with itself), ``E_t`` (t with t+1) and ``F_t`` (t with t+2), these two
    [T,A,3,3] block diagonal over the last 3A unknowns (rows: frame t; the first n - 3A unknowns
    are not coupled over time). Block Gaussian elimination frame by frame: ``S_t`` the frame's
    block once the earlier frames are eliminated, ``C_t`` its coupling to the next frame by then
    (``E_t`` less what eliminating frame t-1 adds; ``F_t`` is left as it is); memory O(T n²)."""
    if rhs.ndim == 2:
        return solve_pentadiagonal(D, E, F, rhs[..., None])[..., 0]
    T, n, k = rhs.shape
    first = n - 3 * E.shape[1]
    inverse = np.zeros((T + 2, n, n))  # S_t⁻¹ (0 beyond the clip: the padding makes the ends plain)
    coupling = np.zeros((T + 2, n, n))  # C_t
    sparse_E, sparse_F = (np.concatenate([blocks, np.zeros((2,) + blocks.shape[1:])]) for blocks in (E, F))
    z = np.zeros((T + 2, n, k))
    for t in range(T):
        before = inverse[t - 1] @ coupling[t - 1]  # S_t-1⁻¹ C_t-1
        S = D[t] - coupling[t - 1].T @ before - _between(sparse_F[t - 2], inverse[t - 2], first)
        inverse[t] = spd_inverse(S)
        coupling[t] = _dense(sparse_E[t], first) - _times_blocks(before.T, sparse_F[t - 1], first)
        z[t] = rhs[t] - before.T @ z[t - 1] - _blocks_times(sparse_F[t - 2], inverse[t - 2] @ z[t - 2], first, True)
    x = np.zeros((T + 2, n, k))
    for t in range(T - 1, -1, -1):
        x[t] = inverse[t] @ (z[t] - coupling[t] @ x[t + 1] - _blocks_times(sparse_F[t], x[t + 2], first))
    return x[:T]


def _dense(blocks: np.ndarray, first: int) -> np.ndarray:
    """[n,n] the block diagonal matrix of ``blocks`` [A,3,3] over the unknowns from ``first`` on."""
    A = len(blocks)
    out = np.zeros((first + 3 * A, first + 3 * A))
    rows = first + 3 * np.arange(A)[:, None, None] + np.arange(3)[None, :, None]
    cols = first + 3 * np.arange(A)[:, None, None] + np.arange(3)[None, None, :]
    out[rows, cols] = blocks
    return out


def _times_blocks(M: np.ndarray, blocks: np.ndarray, first: int) -> np.ndarray:
    """[m,n] ``M B`` for ``M`` [m,n] and B block diagonal (``blocks`` [A,3,3] over the unknowns from
    ``first`` on)."""
    out = np.empty_like(M)
    out[:, :first] = 0.0
    m = len(M)
    np.matmul(M[:, first:].reshape(m, -1, 3).swapaxes(0, 1), blocks, out=out[:, first:].reshape(m, -1, 3).swapaxes(0, 1))
    return out


def _blocks_times(blocks: np.ndarray, v: np.ndarray, first: int, transposed: bool = False) -> np.ndarray:
    """[n,k] ``B v`` (``Bᵀ v`` where ``transposed``) for B block diagonal as in _times_blocks, ``v`` [n,k]."""
    out = np.zeros_like(v)
    k = v.shape[-1]
    out[first:] = ((np.swapaxes(blocks, -1, -2) if transposed else blocks) @ v[first:].reshape(-1, 3, k)).reshape(-1, k)
    return out


def _between(blocks: np.ndarray, M: np.ndarray, first: int) -> np.ndarray:
    """[n,n] ``Bᵀ M B`` for B block diagonal as in _times_blocks and ``M`` [n,n] symmetric."""
    right = _times_blocks(M, blocks, first)
    return _times_blocks(right.T, blocks, first)


def spd_inverse(S: np.ndarray) -> np.ndarray:
    """[n,n] the inverse of a symmetric positive definite ``S`` [n,n], from its Cholesky factor."""
    inverse = _lower_inverse(np.linalg.cholesky(S))
    return inverse.T @ inverse


def _lower_inverse(L: np.ndarray) -> np.ndarray:
    """[n,n] the inverse of a lower triangular ``L`` [n,n], by halves (products, not a general solve)."""
    n = len(L)
    if n <= 24:
        return np.linalg.inv(L)
    h = n // 2
    top, bottom = _lower_inverse(L[:h, :h]), _lower_inverse(L[h:, h:])
    out = np.zeros_like(L)
    out[:h, :h], out[h:, h:] = top, bottom
    out[h:, :h] = -(bottom @ L[h:, :h]) @ top
    return out
