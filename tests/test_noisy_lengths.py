"""Lengths read from noisy tracks (pose2rot_core.noisy_lengths): the mean and median of the
non-central chi distribution of 3 degrees, against sampled noise."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core.noisy_lengths import median_noise, noisy_mean, noisy_median, unbiased_median


@pytest.mark.parametrize("ratio", [0.0, 0.3, 1.0, 2.5, 10.0])
def test_noisy_mean_is_the_mean_length_of_noisy_vectors(ratio):
    """Against sampled vectors of ``ratio`` noise stds: the expected length, not the root of the
    expected square (which reads every noisy bone half again too long, short ones most)."""
    v = np.random.default_rng(0).normal(size=(400_000, 3)) + [ratio, 0.0, 0.0]
    sampled = np.linalg.norm(v, axis=1).mean()
    assert noisy_mean(np.array([ratio]), np.array([1.0]))[0] == pytest.approx(sampled, rel=2e-3)


@given(st.floats(0.0, 1e3), st.floats(1e-3, 1e2))
@settings(max_examples=60, deadline=None)
def test_noisy_mean_scales_and_bounds(length, std):
    """Scales with its inputs; lies between the length and its root mean square, and at least
    1.6 stds; no noise leaves the length."""
    m = noisy_mean(np.array([length, 2 * length, length]), np.array([std, 2 * std, 0.0]))
    assert m[1] == pytest.approx(2 * m[0], rel=1e-9)
    assert length - 1e-9 <= m[0] <= np.sqrt(length ** 2 + 3 * std ** 2) + 1e-9
    assert m[0] >= 2 * np.sqrt(2 / np.pi) * std * (1 - 1e-9)
    assert m[2] == length


@settings(max_examples=25, deadline=None)
@given(centre=st.floats(0.0, 60.0), spread=st.floats(1e-3, 10.0))
def test_the_noisy_median_of_a_length_is_undone_exactly(centre, spread):
    length = np.array([centre * spread])
    back = unbiased_median(noisy_median(length, np.array([spread])), np.array([spread]))
    np.testing.assert_allclose(back, length, atol=1e-6 * spread)


@pytest.mark.parametrize("centre", [0.0, 0.7, 2.0, 6.0])
def test_the_noisy_median_of_a_length_is_what_noise_gives(centre):
    z = np.random.default_rng(0).normal(size=(200_000, 3))
    z[:, 0] += centre
    np.testing.assert_allclose(noisy_median(np.array([centre]), np.ones(1)), np.median(np.linalg.norm(z, axis=1)),
                               rtol=3e-3)


def test_median_noise_is_that_of_a_median_of_samples():
    """Against the spread of medians of 101 Gaussian samples."""
    medians = np.median(np.random.default_rng(1).normal(scale=2.0, size=(20_000, 101)), axis=1)
    assert median_noise(np.array([2.0]), np.array([101]))[0] == pytest.approx(medians.std(), rel=0.03)
    assert median_noise(np.array([2.0]), np.array([0]))[0] == median_noise(np.array([2.0]), np.array([1]))[0]
