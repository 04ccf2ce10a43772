"""The motion's scale raised by the tracks' likelihood (solvers.joint_smoothing.likelihood): draws of
the posterior against the dense inverse, the fixed point's round against its definition, and what it
is for: a limb the first reading of the scale held behind its track follows it."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pose2rot_core.bvh import read_bvh
from pose2rot_core.evaluate import evaluate_clip
from pose2rot_core.rotations import from_rotation_vector
from pose2rot_core.solvers import joint_smoothing
from pose2rot_core.solvers.joint_smoothing.banded import solve_pentadiagonal
from pose2rot_core.solvers.joint_smoothing.likelihood import (DRAWS, MOST_RAISE, RAISE_STDS, posterior_draws, psd_root,
                                                               raised_scales, second_difference_sums)
from pose2rot_core.solvers.joint_smoothing.prior import spread_jacobian
from pose2rot_core.variants import make_variant


def _spd(rng: np.random.Generator, shape: tuple[int, ...], floor: float = 0.1) -> np.ndarray:
    """[...,3,3] random symmetric positive definite matrices, eigenvalues at least ``floor``."""
    B = rng.normal(size=shape + (3, 3))
    return B @ np.swapaxes(B, -1, -2) + floor * np.eye(3)


def _dense(D: np.ndarray, E: np.ndarray, F: np.ndarray) -> np.ndarray:
    """[Tn,Tn] the banded matrix of frame blocks ``D`` [T,n,n] and block diagonal couplings ``E``, ``F``
    [T,G,3,3] to the next frame and the one after (n = 3G)."""
    T, n = D.shape[:2]
    M = np.zeros((T * n, T * n))
    for t in range(T):
        M[t * n:(t + 1) * n, t * n:(t + 1) * n] = D[t]
        for lag, blocks in ((1, E), (2, F)):
            if t + lag < T:
                for g in range(blocks.shape[1]):
                    rows, cols = t * n + 3 * g, (t + lag) * n + 3 * g
                    M[rows:rows + 3, cols:cols + 3] = blocks[t, g]
                    M[cols:cols + 3, rows:rows + 3] = blocks[t, g].T
    return M


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 9), st.integers(1, 5), st.integers(0, 10_000))
def test_the_pentadiagonal_solve_takes_several_right_hand_sides_at_once(T, k, seed):
    rng = np.random.default_rng(seed)
    A, n = 2, 9
    E, F = rng.normal(size=(T, A, 3, 3)), rng.normal(size=(T, A, 3, 3))
    D = np.stack([B @ B.T + 30.0 * np.eye(n) for B in rng.normal(size=(T, n, n))])
    rhs = rng.normal(size=(T, n, k))
    together = solve_pentadiagonal(D, E, F, rhs)
    for column in range(k):
        np.testing.assert_allclose(together[..., column], solve_pentadiagonal(D, E, F, rhs[..., column]), atol=1e-12)


@pytest.mark.parametrize("seed", [0, 5])
def test_the_posterior_draws_spread_as_the_inverse_of_the_normal_matrix(seed):
    """The draws sum the tracks' draws and one through every motion term's square root (the second
    differences' with their Huber factor, the spread about the mean's): their covariance is H⁻¹, H
    the estimate's normal matrix."""
    rng = np.random.default_rng(seed)
    T, A = 6, 2
    G, n = A + 1, 3 * A + 3
    R = from_rotation_vector(np.cumsum(rng.normal(scale=0.4, size=(T, A, 3)), axis=0))
    tau = np.cumsum(rng.normal(size=(T, 3)), axis=0)
    valid = (rng.random((T - 2, G)) < 0.8).astype(float)
    motion = joint_smoothing.Motion(_spd(rng, (T - 2, G), 0.01), valid, from_rotation_vector(rng.normal(size=(A, 3))),
                                    _spd(rng, (A,), 0.0), _spd(rng, (A,), 0.0))
    tracks_D = np.stack([B @ B.T for B in rng.normal(size=(T, n, n - 2))])  # each frame short of two directions
    terms, prior = motion.differences(R, tau), motion.blocks(R, tau)
    spread = (spread_jacobian(R, motion.mean)[1], motion.Pinv)
    tracks_draws = np.einsum("tab,tbk->tak", psd_root(tracks_D), rng.standard_normal((T, n, 40_000)))
    draws = posterior_draws(tracks_D, tracks_draws, prior, terms, spread, rng).reshape(T * n, -1)
    H = tracks_D.reshape(T, G, 3, G, 3).copy()
    H[:, np.arange(G), :, np.arange(G), :] += np.moveaxis(prior.D, 1, 0)
    expected = np.linalg.inv(_dense(H.reshape(T, n, n), prior.E, prior.F))
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    assert np.abs(draws @ draws.T / draws.shape[1] - expected).max() < 0.04 * scale.max()
    assert np.all(np.abs(draws @ draws.T / draws.shape[1] - expected) < 0.04 * scale + 1e-12)


def test_the_summed_second_differences_weigh_each_term_by_its_huber_factor():
    rng = np.random.default_rng(3)
    T, A = 9, 2
    R = from_rotation_vector(np.cumsum(rng.normal(scale=0.4, size=(T, A, 3)), axis=0))
    motion = joint_smoothing.Motion(_spd(rng, (T - 2, A + 1), 1.0), np.ones((T - 2, A + 1)),
                                    np.eye(3)[None].repeat(A, 0), np.zeros((A, 3, 3)), np.zeros((A, 3, 3)))
    terms = motion.differences(R, np.cumsum(rng.normal(size=(T, 3)), axis=0))
    x = rng.normal(size=(T, A + 1, 3, 4))
    square, spread, count = second_difference_sums(terms, x)
    g = 1
    moved = sum(terms.jac[u][:, g] @ x[u:T - 2 + u, g] for u in range(3))  # [T-2,3,4]
    w = terms.weight[:, g]
    np.testing.assert_allclose(square[g], np.einsum("t,ta,tb->ab", w, terms.e[:, g], terms.e[:, g]))
    np.testing.assert_allclose(spread[g], np.einsum("t,tak,tbk->ab", w, moved, moved) / 4)
    assert count.tolist() == [T - 2] * (A + 1)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 1.2), st.integers(3, 5000))
def test_a_round_raises_each_scale_to_the_fixed_point_as_far_as_its_evidence_reaches(seed, untold, n):
    """Per eigen-direction u of the scale: q ← e_u / γ_u with γ_u = 1 - v_u / q_u, its log less
    RAISE_STDS standard errors sqrt(2 / m), m = n (γ_u less RAISE_STDS times the draws' standard error
    of v_u / q_u); never below q_u nor above MOST_RAISE q_u; a direction the tracks do not tell keeps
    its scale; with no end of terms told in full, the scale is e."""
    rng = np.random.default_rng(seed)
    G = 4
    Qinv = _spd(rng, (G,), 0.05)
    inverse, U = np.linalg.eigh(Qinv)
    q = 1.0 / inverse
    e = q * rng.uniform(0.0, 12.0, size=q.shape)
    v = q * untold * rng.uniform(0.0, 1.0, size=q.shape)
    square, spread = (np.einsum("jai,ji,jbi->jab", U, x, U) for x in (e, v))
    count = np.full(G, float(n))

    def along(raised: np.ndarray) -> np.ndarray:
        return np.einsum("jai,jab,jbi->ji", U, np.linalg.inv(raised), U)

    told = 1.0 - v / q
    determined = n * (told - RAISE_STDS * (v / q) * np.sqrt(2.0 / (DRAWS * n)))
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = np.log(e / (told * q)) - RAISE_STDS * np.sqrt(2.0 / determined)
    expected = np.where(determined > 0, q * np.exp(np.clip(np.nan_to_num(rise, nan=0.0), 0.0, np.log(MOST_RAISE))), q)
    np.testing.assert_allclose(along(raised_scales(Qinv, square, spread, count)), expected, rtol=1e-8)
    told_all = raised_scales(Qinv, square, 0.0 * spread, np.full(G, 1e14))
    np.testing.assert_allclose(along(told_all), np.clip(e, q, MOST_RAISE * q), rtol=1e-5)


def test_fewer_terms_raise_less_and_an_untold_direction_not_at_all():
    Qinv = np.diag([1.0, 1.0, 1.0])[None]
    square, spread = np.diag([4.0, 4.0, 4.0])[None], np.diag([0.5, 0.5, 1.2])[None]
    raised = [1.0 / np.diag(raised_scales(Qinv, square, spread, np.array([n]))[0]) for n in (20.0, 200.0, 2000.0)]
    assert 1.0 < raised[0][0] < raised[1][0] < raised[2][0] < 8.0  # e / γ = 8: approached as n grows
    assert all(r[2] == 1.0 for r in raised)  # v > q: the tracks tell nothing of the third direction


def test_a_crab_leg_the_first_reading_held_back_follows_its_track_raised(shared_dir, monkeypatch):
    """The crab's dance with share bones under 0.5 % jitter: read from the first smoothing alone, its
    legs' scale held a quick step 3.1 % of the height off its clean place (its track: 0.8 %); raised
    by the tracks' likelihood, the largest miss drops under 3 % and the mean does not rise."""
    clip = make_variant(read_bvh(shared_dir / "truebones_crab_dance-long.bvh"), "share", np.random.default_rng(0))
    raised = evaluate_clip(clip, "ref", noise=0.005, seed=0)
    monkeypatch.setattr(joint_smoothing, "raised_scales", lambda Qinv, square, spread, count: Qinv)
    first = evaluate_clip(clip, "ref", noise=0.005, seed=0)
    assert raised.position_error_max < 3.0 < first.position_error_max
    assert raised.position_error_mean <= first.position_error_mean
    assert raised.flips == first.flips == 0
