"""The carried roll of single-aim joints, worked only on the frames that need it
(pose2rot_core.solvers.geometric.roll): the same roll as over the whole clip."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core.rotations import normalize, perpendicular
from pose2rot_core.solvers.geometric.roll import continuous_roll, near_frames, transport_roll

FAST = settings(max_examples=40, deadline=None)


def _turns(x: np.ndarray) -> np.ndarray:
    """x wrapped to (-pi, pi]: angles compared up to whole turns."""
    return np.angle(np.exp(1j * x))


def _trust(rng: np.random.Generator, T: int, stretches: int) -> np.ndarray:
    """[T] trust 1 except a few stretches of low trust."""
    trust = np.ones(T)
    for _ in range(stretches):
        a = int(rng.integers(0, T - 5))
        trust[a:a + int(rng.integers(1, 40))] = rng.uniform(0.0, 0.99)
    return trust


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), T=st.integers(30, 900), stretches=st.integers(1, 6),
       fps=st.sampled_from([24.0, 30.0, 60.0, 120.0]))
def test_roll_on_near_frames_matches_the_whole_clip(seed, T, stretches, fps):
    rng = np.random.default_rng(seed)
    psi = np.cumsum(rng.normal(0.0, 0.3, T)) + rng.uniform(-np.pi, np.pi)
    trust = _trust(rng, T, stretches)
    whole = continuous_roll(psi, trust, fps)
    near = near_frames(trust)
    assert set(np.flatnonzero(trust < 1.0)) <= set(near)
    far = np.setdiff1d(np.arange(T), near)
    np.testing.assert_allclose(_turns(whole[far] - psi[far]), 0.0, atol=1e-9)  # untouched frames keep psi
    # each stretch of near frames may carry its own constant (its transported frame's anchor)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(near) > 1) + 1])
    offset = np.repeat(rng.uniform(-10.0, 10.0, len(starts)), np.diff(np.append(starts, len(near))))
    joined = continuous_roll(psi[near] + offset, trust[near], fps, near) - offset
    np.testing.assert_allclose(_turns(joined - whole[near]), 0.0, atol=1e-9)


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), n=st.integers(1, 200), fps=st.sampled_from([24.0, 30.0, 120.0]))
def test_a_stretch_that_cannot_tell_hands_over_evenly_along_the_shortest_way(seed, n, fps):
    """Between two fully trusted frames, frames without trust turn the roll at an even pace, the
    shorter way round, whatever roll they would take themselves."""
    rng = np.random.default_rng(seed)
    ends = rng.uniform(-np.pi, np.pi, 2) + 2 * np.pi * rng.integers(-3, 4, 2)
    psi = np.concatenate([[ends[0]], rng.uniform(-20.0, 20.0, n), [ends[1]]])
    trust = np.concatenate([[1.0], np.zeros(n), [1.0]])
    roll = continuous_roll(psi, trust, fps)
    steps = np.diff(roll)
    np.testing.assert_allclose(steps, _turns(ends[1] - ends[0]) / (n + 1), atol=1e-6)
    assert abs(_turns(roll[0] - ends[0])) < 1e-12 and abs(_turns(roll[-1] - ends[1])) < 1e-12


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), T=st.integers(2, 300), stretches=st.integers(1, 6))
def test_the_roll_changes_smoothly_with_the_trust(seed, T, stretches):
    """No switching: a small change of the trust moves the roll by little (it hands over)."""
    rng = np.random.default_rng(seed)
    psi = np.cumsum(rng.normal(0.0, 0.3, T))
    trust = _trust(rng, T, stretches) if T > 5 else rng.uniform(0.0, 1.0, T)
    nudged = np.clip(trust + rng.uniform(-1e-6, 1e-6, T), 0.0, 1.0)
    a, b = continuous_roll(psi, trust, 30.0), continuous_roll(psi, nudged, 30.0)
    assert np.abs(_turns(a - b)).max() < 1e-3


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), T=st.integers(3, 300))
def test_transport_on_a_stretch_is_the_whole_clips_up_to_a_constant(seed, T):
    rng = np.random.default_rng(seed)
    d = normalize(np.cumsum(rng.normal(0.0, 0.2, (T, 3)), axis=0) + rng.normal(size=3))
    across = normalize(np.cross(d, perpendicular(d) + rng.normal(0.0, 0.3, (T, 3))))
    whole = transport_roll(across[:-1], across[1:], d, None)
    a = int(rng.integers(0, T - 2))
    b = int(rng.integers(a + 2, T + 1))
    frames = np.arange(a, b)
    part = transport_roll(across[:-1], across[1:], d, None, frames)
    np.testing.assert_allclose(part, whole[a:b] - whole[a], atol=1e-9)
    np.testing.assert_allclose(transport_roll(across[:-1], across[1:], d, None, np.arange(T)), whole, atol=1e-12)
