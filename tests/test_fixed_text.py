"""Fixed-point text of numbers (the BVH MOTION block): the same text as Python's %-formatting."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pose2rot_core.bvh import continuous_euler
from pose2rot_core.fixed_text import MAX_DECIMALS, format_rows
from pose2rot_core.rotations import EULER_ORDERS, euler_to_matrix


def percent_formatted(values: np.ndarray, decimals: int) -> str:
    row = " ".join([f"%.{decimals}f"] * values.shape[1]) + "\n"
    return (row * values.shape[0]) % tuple(values.ravel().tolist())


values = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
                    elements=st.one_of(st.floats(-1e4, 1e4), st.floats(allow_nan=True, allow_infinity=True),
                                       st.sampled_from([0.0, -0.0, 0.5, -2.5, 1e-7, -4e-7, 0.0078125, 999.9999995])))


@settings(max_examples=300, deadline=None)
@given(values, st.integers(0, MAX_DECIMALS + 2))
def test_same_text_as_percent_formatting(v, decimals):
    assert format_rows(v, decimals) == percent_formatted(v, decimals)


@pytest.mark.parametrize("decimals", [1, 3, 6])
def test_halves_round_to_even_from_the_exact_value(decimals):
    """k + 1/2 units of the last decimal: exact binary halves round to even, the others (not exactly
    representable) by their true value, whichever side the scaled product falls."""
    k = np.random.default_rng(0).integers(-10 ** 7, 10 ** 7, size=(400, 5))
    for v in ((k + 0.5) / 10 ** decimals, (2 * k + 1) / 2.0 ** 7):
        assert format_rows(v, decimals) == percent_formatted(v, decimals)


def test_signs_widths_and_empty_rows():
    v = np.array([[-0.0, 0.0, -1e-9, 1e-9], [-123456.25, 9.9999996, -10.0, 1e6]])
    assert format_rows(v, 6) == ("-0.000000 0.000000 -0.000000 0.000000\n"
                                 "-123456.250000 10.000000 -10.000000 1000000.000000\n")
    assert format_rows(v, 0) == "-0 0 -0 0\n-123456 10 -10 1000000\n"
    assert format_rows(np.zeros((2, 0)), 6) == "\n\n"
    with pytest.raises(ValueError, match=r"values \[N,C\]"):
        format_rows(np.zeros(3), 6)


def test_large_values_take_the_exact_path():
    v = np.array([[1e10, -3.5e15, 1e300, 2.0 ** 60]])
    assert format_rows(v, 6) == percent_formatted(v, 6)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(EULER_ORDERS), st.integers(0, 2 ** 32 - 1))
def test_continuous_euler_gives_back_the_rotations_without_jumps(order, seed):
    """A random walk of rotations (steps under 40 degrees, through gimbal lock and 180 degrees): the
    angles give back every rotation and no angle steps by more than pi between frames."""
    rng = np.random.default_rng(seed)
    angles = np.cumsum(rng.normal(scale=0.3, size=(80, 2, 3)), axis=0)
    R = euler_to_matrix(angles, order)
    e = continuous_euler(R, order)
    np.testing.assert_allclose(euler_to_matrix(e, order), R, atol=1e-9)
    assert np.abs(np.diff(e, axis=0)).max() <= np.pi
