"""Running medians over frames, and the lean of short bones that reads its signal from them."""
from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pose2rot_core.running import running_mean, running_median, window_frames
from pose2rot_core.solvers.geometric.lean import _mean_noise, _shown, wiener_share


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.integers(1, 60), width=st.sampled_from([3, 5, 9, 15]))
def test_a_running_median_is_the_median_of_the_window_or_of_the_nearest_full_one(seed, T, width):
    x = np.random.default_rng(seed).normal(size=(T, 2))
    out = running_median(x, width)
    half = width // 2
    if T < width:
        np.testing.assert_allclose(out, np.broadcast_to(np.median(x, axis=0), x.shape))
        return
    for t in range(T):
        a = min(max(t - half, 0), T - width)  # the full window around t, or the nearest one
        np.testing.assert_allclose(out[t], np.median(x[a:a + width], axis=0), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.integers(1, 40), width=st.sampled_from([3, 5, 9, 15]))
def test_a_running_median_with_repeated_ends_is_the_median_of_the_padded_window(seed, T, width):
    x = np.random.default_rng(seed).normal(size=(T, 2))
    half = width // 2
    padded = np.concatenate([np.repeat(x[:1], half, axis=0), x, np.repeat(x[-1:], half, axis=0)])
    np.testing.assert_array_equal(running_median(x, width, ends="repeat"),
                                  [np.median(padded[t:t + width], axis=0) for t in range(T)])


def test_a_running_mean_mirrors_the_ends():
    x = np.random.default_rng(0).normal(size=(40, 2))
    half = 7
    padded = np.concatenate([x[half:0:-1], x, x[-2:-half - 2:-1]])
    np.testing.assert_allclose(running_mean(x, 15), [padded[t:t + 15].mean(axis=0) for t in range(40)], atol=1e-12)


def test_window_frames_is_odd_and_spans_the_time_asked():
    assert window_frames(0.5, 30.0) == 15 and window_frames(0.5, 24.0) == 13 and window_frames(0.5, 120.0) == 61
    assert window_frames(0.01, 30.0) == 3


def _noise(T: int, n2: float, seed: int = 0) -> np.ndarray:
    """[T,1] squared sizes of 2-axis Gaussian deviations of variance ``n2`` per axis."""
    return (np.random.default_rng(seed).normal(scale=np.sqrt(n2), size=(T, 1, 2)) ** 2).sum(-1)


def _keep(squared: np.ndarray, n2: np.ndarray, width: int = 0) -> np.ndarray:
    """[T,n] the share the short-bone lean keeps of deviations with squared sizes ``squared`` [T,n]
    against noise ``n2`` [T,n], over the clip or ``width`` frames around each (as lean_prior reads it)."""
    return wiener_share(_shown(squared, n2, width), n2)


def test_a_short_bone_keeps_a_held_move_but_not_a_few_frames_of_noise():
    """Pure noise keeps little anywhere; a deviation held for most of the window around a frame
    (a finger curled for a while) is kept there; three frames of large deviations at the clip's
    end (noise that happens to line up along a short bone) mostly are not: a window's median moves
    only where most of it moves (a mean over the window would keep more than four fifths of them)."""
    T, n2, width = 400, 0.04, 15
    still = _noise(T, n2)
    n2s = np.full((T, 1), n2)
    base = _keep(still, n2s, width)
    assert base.max() < 0.15
    held = still.copy()
    held[200:212] += 1.0  # about 57 degrees for twelve frames
    kept = _keep(held, n2s, width)
    over_clip = _keep(held, n2s)
    assert kept[203:209].min() > 0.85 and kept[203:209].min() > 3.0 * over_clip[205].item()  # mostly noise
    np.testing.assert_allclose(kept[:150], over_clip[:150])  # away from it, what the clip shows
    for seed in range(5):
        burst = _noise(T, n2, seed)
        burst[-3:] += 1.5  # about 70 degrees, six noise stds
        assert _keep(burst, n2s, width)[-3:].max() < 0.5


@settings(max_examples=12, deadline=None)
@given(sigma=st.sampled_from([0.02, 0.3, 1.0, 3.0, 10.0]), T=st.sampled_from([10, 60, 200]), seed=st.integers(0, 100))
@example(sigma=3.0, T=60, seed=100)
def test_the_mean_direction_is_as_uncertain_as_it_scatters(sigma, T, seed):
    """Unit directions with noise of any size, from a nearly exact one to one that scatters them
    over the sphere: the noise the lean expects in their mean direction (_mean_noise, per axis) is
    what it scatters by over repeated draws, within a factor of three. The typical expectation (the
    median over draws) is compared: the expectation goes as one over the squared length of the mean,
    whose mean over draws has no variance where directions scatter over the sphere (a draw whose mean
    nearly cancels dominates it: sigma 3, 60 frames, seed 100 gave 4.6 times the scatter)."""
    rng = np.random.default_rng(seed)
    truth = np.array([0.0, 0.0, 1.0])
    seen, expected = [], []
    for _ in range(200):
        d = truth + sigma * rng.normal(size=(T, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        resultant = d.mean(axis=0)
        seen.append(0.5 * ((resultant / np.linalg.norm(resultant) - truth) ** 2).sum())
        expected.append(_mean_noise(np.full((T, 1), sigma ** 2), resultant[None], T)[0, 0])
    assert 1 / 3 < np.median(expected) / np.mean(seen) < 3.0, (np.median(expected), np.mean(seen))
