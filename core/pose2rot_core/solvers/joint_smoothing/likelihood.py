"""The motion's scale raised where the tracks' likelihood asks for more than the first reading.

scales.motion_scales reads each path's scale from lagged second differences of the per-frame fit,
capped by what the solution of the smoothed tracks shows; that smoothing cuts a fast limb's
differences, so the reading is a floor of the motion, not its scale. Given the estimate at that
scale, the scale that makes the tracks most likely satisfies MacKay's fixed point (the evidence
for a variance component): per direction u of a path, ``q = e_u / γ_u``, e_u the estimate's mean
squared second difference and ``γ_u = 1 - v_u / q`` the share of the scale the tracks tell (v_u
the second differences' posterior variance, read from draws of the posterior). One round of it
raises the scale, as far as the evidence reaches beyond its own sampling spread: γ_u (less
RAISE_STDS of the spread the draws leave in it) times the terms counted is the number m of second
differences the tracks determine, from which the log of a mean square is read within
``sqrt(2 / m)``. So a direction the tracks barely tell (a roll about a bone's axis, γ near 0) is
not raised, nor one on a clip of a few frames. It never lowers a scale:
where the tracks barely tell a turn the fixed point runs to 0, which would freeze that turn.
"""
from __future__ import annotations

import numpy as np

from .banded import solve_pentadiagonal
from .points import add_diagonal_blocks
from .prior import DifferenceTerms, PriorBlocks
from .scales import damped

#: draws from the estimate's posterior that its second differences' variance is read from
DRAWS = 8
#: how many of its standard errors the raise's log must pass (a one-sided chance of about 2 %)
RAISE_STDS = 2.0
#: the most one round raises a scale (a factor)
MOST_RAISE = 10.0


def psd_root(M: np.ndarray) -> np.ndarray:
    """[...,n,n] a square root L of positive semi-definite ``M`` [...,n,n] (``L Lᵀ = M``; negative
    eigenvalues from rounding taken as 0)."""
    w, V = np.linalg.eigh(M)
    return V * np.sqrt(np.maximum(w, 0.0))[..., None, :]


def posterior_draws(tracks_D: np.ndarray, tracks_draws: np.ndarray, prior: PriorBlocks, terms: DifferenceTerms,
                    spread: tuple[np.ndarray, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """[T,G,3,K] K draws of the unknowns' deviation from their estimate under the Gaussian posterior
    ``N(0, H⁻¹)``, H the estimate's normal matrix: the tracks' ``tracks_D`` [T,3G,3G] plus the
    motion's ``prior`` (its second differences ``terms``, each rotation's ``spread`` (the Jacobian M
    [T,A,3,3] of its log about the mean, P⁻¹ [A,3,3])). Each draw solves ``H x = r`` with ``r ~ N(0,
    H)``: the tracks' ``tracks_draws`` [T,3G,K] (points.gradient_draws, covariance ``tracks_D``) plus
    a draw through every motion term's square root (x then has covariance H⁻¹)."""
    T, n, draws = tracks_draws.shape
    G = n // 3
    r = tracks_draws.reshape(T, G, 3, draws).copy()
    root = psd_root(terms.Qw)
    z = np.einsum("tjab,tjbk->tjak", root, rng.standard_normal(terms.e.shape + (draws,)))
    for u in range(3):
        r[u:T - 2 + u] += np.einsum("tjba,tjbk->tjak", terms.jac[u], z)
    M, Pinv = spread
    r[:, G - len(Pinv):] += np.einsum("tjba,jbc,tjck->tjak", M, psd_root(Pinv),
                                      rng.standard_normal(M.shape[:3] + (draws,)))
    H = damped(add_diagonal_blocks(tracks_D.copy(), prior.D), 1e-9)  # numerical floor only
    return solve_pentadiagonal(H, prior.E, prior.F, r.reshape(T, n, draws)).reshape(T, G, 3, draws)


def second_difference_sums(terms: DifferenceTerms, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Σ e eᵀ, Σ Var e) [G,3,3] and the terms counted [G] of the second differences ``terms`` of an
    estimate, their posterior variance read from the draws ``x`` [T,G,3,K] (posterior_draws) through
    their Jacobians; each weighed by its IRLS factor (a turn beyond CLAMP_STDS counts less)."""
    T, K = len(x), x.shape[-1]
    moved = sum(np.einsum("tjab,tjbk->tjak", terms.jac[u], x[u:T - 2 + u]) for u in range(3))  # [T-2,G,3,K]
    w = terms.weight
    square = np.einsum("tj,tja,tjb->jab", w, terms.e, terms.e)
    spread = np.einsum("tj,tjak,tjbk->jab", w, moved, moved) / K
    return square, spread, (w > 0).sum(axis=0).astype(np.float64)


def raised_scales(Qinv: np.ndarray, square: np.ndarray, spread: np.ndarray, count: np.ndarray,
                  draws: int = DRAWS) -> np.ndarray:
    """[G,3,3] the inverse scales ``Qinv`` [G,3,3] after one round of MacKay's fixed point (module
    docstring) per eigen-direction u of the scale: ``q_u ← e_u / γ_u``, ``square`` [G,3,3] the
    estimate's mean e eᵀ, ``spread`` [G,3,3] the mean posterior variance (read from ``draws`` draws),
    ``γ_u = 1 - v_u / q_u``; its log less RAISE_STDS standard errors ``sqrt(2 / m)``, m the terms
    determined: ``count`` [G] = n terms times γ_u less RAISE_STDS times the draws' standard error
    of v_u / q_u, ``sqrt(2 / (draws n))`` of it; raised only, by at most MOST_RAISE."""
    inverse, U = np.linalg.eigh(Qinv)
    q = 1.0 / inverse
    e = np.einsum("jai,jab,jbi->ji", U, square, U)
    v = np.einsum("jai,jab,jbi->ji", U, spread, U)
    told = 1.0 - v / q
    drawn = RAISE_STDS * (v / q) * np.sqrt(2.0 / (draws * np.maximum(count, 1.0)))[:, None]
    determined = np.maximum((told - drawn) * count[:, None], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = np.log(e / (told * q)) - RAISE_STDS * np.sqrt(2.0 / determined)
    rise = np.where((told > 0) & (e > 0) & (determined > 0), rise, 0.0)
    return np.einsum("jai,ji,jbi->jab", U, inverse * np.exp(-np.clip(rise, 0.0, np.log(MOST_RAISE))), U)
