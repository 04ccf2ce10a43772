"""Noisy tracks moved to the bones' lengths before they are aimed at
(pose2rot_core.solvers.geometric.rigid_fit): the lengths as far as the noise explains, clean tracks
untouched, nearer the truth than the tracks, each point moved by its share of the noise, a
departure no noise explains left alone, and solves of noisy tracks nearer the clean positions for
it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import pose2rot_core.solvers as solvers
from pose2rot_core.evaluate import add_noise
from pose2rot_core.kernels import CLAMP_STDS
from pose2rot_core.solvers import solve
from pose2rot_core.solvers.geometric import rigid_fit
from pose2rot_core.solvers.geometric.rigid_fit import fit_to_lengths, rigid_lengths
from pose2rot_core.tracks_io import tracks_from_bvh
from pose2rot_core.variants import random_tree_clip


def _tree(seed: int, joints: int, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parents [N], bone lengths [N] (NaN at the root), points [T,N,3]) of a random tree in random
    poses: each bone 0.5-1.5 long, turned anew in every frame."""
    rng = np.random.default_rng(seed)
    parents = np.array([-1] + [int(rng.integers(max(0, j - 3), j)) for j in range(1, joints)])
    lengths = np.concatenate([[np.nan], rng.uniform(0.5, 1.5, joints - 1)])
    points = np.zeros((frames, joints, 3))
    points[:, 0] = rng.normal(size=(frames, 3))
    for j in range(1, joints):
        way = rng.normal(size=(frames, 3))
        points[:, j] = points[:, parents[j]] + lengths[j] * way / np.linalg.norm(way, axis=-1, keepdims=True)
    return parents, lengths, points


def _bone_lengths(points: np.ndarray, parents: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, 1:] - points[:, parents[1:]], axis=-1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), joints=st.integers(2, 25), std=st.floats(0.002, 0.04))
def test_fitted_bones_keep_their_length_as_far_as_the_noise_explains_and_clean_points_stay(seed, joints, std):
    """Any tree, noise up to 8 % of its shortest bones (0.5 long): a bone whose tracks depart from
    its length by g, where noise of std s along it reaches k s (k = CLAMP_STDS), is fitted to depart
    by g (1 - (k s / g)^2) beyond that and not at all within it; points that keep their lengths
    stay (to rounding)."""
    parents, lengths, clean = _tree(seed, joints, 40)
    noisy = clean + np.random.default_rng(seed + 1).normal(scale=std, size=clean.shape)
    fitted = fit_to_lengths(noisy, parents, lengths, np.full((1, joints), std ** 2))
    gap = _bone_lengths(noisy, parents) - lengths[1:]
    noise = CLAMP_STDS ** 2 * 2 * std ** 2
    expected = np.where(gap ** 2 > noise, gap - noise / gap, 0.0)
    np.testing.assert_allclose(_bone_lengths(fitted, parents) - lengths[1:], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fit_to_lengths(clean, parents, lengths, np.full((1, joints), std ** 2)), clean,
                               rtol=0, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_fitted_points_are_nearer_the_truth_than_the_noisy_ones(seed):
    """The noise along the bones is taken out: over 400 frames of a 15-joint tree under noise of 5 %
    of a bone, the fitted points' mean squared error is smaller than the tracks'."""
    parents, lengths, clean = _tree(seed, 15, 400)
    noisy = clean + np.random.default_rng(seed + 1).normal(scale=0.05, size=clean.shape)
    fitted = fit_to_lengths(noisy, parents, lengths, np.full((1, 15), 0.05 ** 2))
    assert ((fitted - clean) ** 2).mean() < 0.85 * ((noisy - clean) ** 2).mean()


def test_a_point_with_less_noise_moves_less():
    """Two points, one bone: the length's gap is shared by the variances, the precise end keeps its place."""
    points = np.array([[[0.0, 0.0, 0.0], [1.2, 0.0, 0.0]]])
    fitted = fit_to_lengths(points, np.array([-1, 0]), np.array([np.nan, 1.0]), np.array([[0.01, 0.04]]))
    np.testing.assert_allclose(fitted[0, 0], [0.04, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(fitted[0, 1], [1.04, 0.0, 0.0], atol=1e-12)


def test_a_departure_no_noise_explains_moves_no_point_beyond_the_noise():
    """A tip whose smoothed track cut the corner of a fast arc (37 % short, 30 noise stds): the
    bone is not pulled to its length; together its ends move by no more than CLAMP_STDS stds."""
    points = np.array([[[0.0, 0.0, 0.0], [0.63, 0.0, 0.0]]])
    var = np.full((1, 2), 1e-4)
    fitted = fit_to_lengths(points, np.array([-1, 0]), np.array([np.nan, 1.0]), var)
    moved = np.linalg.norm(fitted - points, axis=-1).sum()
    assert 0 < moved <= CLAMP_STDS * np.sqrt(2e-4) + 1e-12


def test_lengths_read_free_of_noise_in_any_direction():
    """A bone of length 1 across noise of std 0.3 along one axis only: its mean distance reads it
    4 % long, the root mean square less the noise's variance 1 within the sampling."""
    rng = np.random.default_rng(4)
    points = np.zeros((200_000, 2, 3))
    points[:, 1, 0] = 1.0
    points[:, 1, 1] += rng.normal(scale=0.3, size=200_000)
    naive = np.linalg.norm(points[:, 1] - points[:, 0], axis=-1).mean()
    read = rigid_lengths(points, np.array([-1, 0]), np.array([0.0, 0.3 ** 2 / 3]))
    assert naive > 1.04
    assert abs(read[1] - 1.0) < 3e-3 and np.isnan(read[0])


def test_a_noisy_solve_ends_nearer_the_clean_positions_with_its_tracks_fitted(monkeypatch):
    """A random tree under 0.5 % jitter: the solve's joints are nearer the clean positions than
    when the tracks are aimed at as smoothed (the fit switched off by letting no bone be long
    enough), and its bones keep one length each. Measured before the smoothing down the chain,
    which estimates every joint again from the tracks as given."""
    monkeypatch.setattr(solvers, "smoothed_down_the_chain", lambda tracks, sol, cleaning, turned, progress=None: sol)
    clip = random_tree_clip(20, 240, seed=5)
    clean = tracks_from_bvh(clip, reference_frame=0)
    noisy = add_noise(clean, 0.005, 0)
    height = clip.skeleton.height

    def miss() -> float:
        return float(np.linalg.norm(solve(noisy).forward()[1] - clean.positions, axis=-1).mean() / height)

    fitted = miss()
    monkeypatch.setattr(rigid_fit, "FIT_STDS", 1e9)
    monkeypatch.setattr("pose2rot_core.solvers.geometric.FIT_STDS", 1e9)
    assert fitted < 0.98 * miss()


def test_a_tip_smoothed_short_in_a_fast_sweep_does_not_pull_its_joint_off(shared_dir):
    """The dog's tail, lost for one second under 0.5 % jitter: where it sweeps fast its tip's
    smoothed track is 37 % short, a departure no noise explains, so the fit takes out only the
    noise's share of it. Taken whole as noise it pulled 'Tail1' 4.5 % of the height off its clean
    track in frames that were data (11 % with the filled samples fitted as data too)."""
    from pose2rot_core.bvh import read_bvh

    clip = read_bvh(shared_dir / "mann_dog_d1-010-kan01-004.bvh")
    tracks = tracks_from_bvh(clip, reference_frame=0)
    noisy = add_noise(tracks, 0.005, 0)
    tail = [clip.skeleton.names.index(name) for name in ("Tail", "Tail1")]
    lost = np.zeros(noisy.positions.shape[:2], bool)
    lost[150:210, tail] = True
    positions, ends = noisy.positions.copy(), noisy.end_positions.copy()
    positions[lost] = np.nan
    ends[lost[:, noisy.end_parents]] = np.nan
    sol = solve(replace(noisy, positions=positions, end_positions=ends))
    miss = np.linalg.norm(sol.forward()[1] - tracks.positions, axis=-1) / clip.skeleton.height
    assert 100 * miss[~lost].max() < 3.0
