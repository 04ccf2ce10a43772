"""Rotation conversions and fitting (pose2rot_core.rotations): properties checked with hypothesis."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pose2rot_core.rotations import (EULER_ORDERS, axis_angle_to_matrix, best_fit_rotation, euler_to_matrix,
                                     geodesic_angle, matrix_to_euler, normalize, matrix_to_quat, matrix_to_rot6d,
                                     quat_continuity, quat_to_matrix, rot6d_to_matrix, rotation_about,
                                     rotation_between, swing_between_units, unwrap_euler, wrap_angle)

finite = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
vec3 = arrays(np.float64, 3, elements=finite).filter(lambda v: np.linalg.norm(v) > 1e-3)
quat = arrays(np.float64, 4, elements=finite).filter(lambda q: np.linalg.norm(q) > 1e-3)
angle = st.floats(-np.pi, np.pi, allow_nan=False)
FAST = settings(max_examples=60, deadline=None)


def Rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def Ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def Rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def assert_rotation(R: np.ndarray, atol: float = 1e-9) -> None:
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=atol)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=atol)


def perpendicular(u: np.ndarray) -> np.ndarray:
    alt = np.array([1.0, 0, 0]) if abs(u[0]) < 0.9 else np.array([0, 1.0, 0])
    p = np.cross(u, alt)
    return p / np.linalg.norm(p)


# ----------------------------------------------------------------------------- quaternions
@FAST
@given(quat)
def test_quat_matrix_round_trip_up_to_sign(q):
    R = quat_to_matrix(q)
    assert_rotation(R)
    q2 = matrix_to_quat(R)
    qn = q / np.linalg.norm(q)
    assert min(np.abs(q2 - qn).max(), np.abs(q2 + qn).max()) < 1e-9
    np.testing.assert_allclose(quat_to_matrix(q2), R, atol=1e-12)


@FAST
@given(arrays(np.float64, (5, 4), elements=finite).filter(lambda q: (np.linalg.norm(q, axis=-1) > 1e-3).all()))
def test_matrix_to_quat_is_unit_with_nonnegative_w(q):
    out = matrix_to_quat(quat_to_matrix(q))
    assert out.shape == (5, 4)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, atol=1e-12)
    assert (out[:, 0] >= 0).all()


def test_quat_to_matrix_known_value():
    # 90 degrees about z: (cos 45, 0, 0, sin 45)
    q = np.array([np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)])
    np.testing.assert_allclose(quat_to_matrix(q), Rz(np.pi / 2), atol=1e-12)


def test_matrix_to_quat_half_turns():
    """180-degree rotations (w = 0) come back exactly: the w candidate is useless there."""
    for axis in np.eye(3):
        R = axis_angle_to_matrix(axis, np.pi)
        q = matrix_to_quat(R)
        np.testing.assert_allclose(np.abs(q), np.concatenate([[0.0], axis]), atol=1e-12)


# ----------------------------------------------------------------------------- 6D
@FAST
@given(quat)
def test_rot6d_round_trip_and_rows(q):
    R = quat_to_matrix(q)
    six = matrix_to_rot6d(R)
    np.testing.assert_array_equal(six, np.concatenate([R[0], R[1]]))  # first two ROWS, row-major
    np.testing.assert_allclose(rot6d_to_matrix(six), R, atol=1e-12)


@FAST
@given(arrays(np.float64, 6, elements=finite).filter(
    lambda v: np.linalg.norm(np.cross(v[:3], v[3:])) > 1e-2 and np.linalg.norm(v[:3]) > 1e-2))
def test_rot6d_to_matrix_gram_schmidt_of_arbitrary_vectors(v):
    R = rot6d_to_matrix(v)
    assert_rotation(R)
    np.testing.assert_allclose(R[0], v[:3] / np.linalg.norm(v[:3]), atol=1e-12)
    # the second row lies in the plane of the two input vectors, on the side of the second one
    assert abs(np.dot(R[1], np.cross(v[:3], v[3:]))) < 1e-9
    assert np.dot(R[1], v[3:]) > 0


# ----------------------------------------------------------------------------- Euler
@FAST
@given(st.sampled_from(EULER_ORDERS), angle, st.floats(-np.pi / 2, np.pi / 2), angle)
def test_euler_round_trip_all_orders(order, a, b, c):
    R = euler_to_matrix(np.array([a, b, c]), order)
    assert_rotation(R)
    e = matrix_to_euler(R, order)
    assert -np.pi / 2 - 1e-12 <= e[1] <= np.pi / 2 + 1e-12
    np.testing.assert_allclose(euler_to_matrix(e, order), R, atol=1e-7)


@pytest.mark.parametrize("order", EULER_ORDERS)
@pytest.mark.parametrize("mid", [np.pi / 2, -np.pi / 2, np.pi / 2 - 1e-9, -np.pi / 2 + 1e-8, np.pi / 2 - 1e-5])
def test_euler_round_trip_near_gimbal_lock(order, mid):
    rng = np.random.default_rng(7)
    for a, c in rng.uniform(-np.pi, np.pi, size=(20, 2)):
        R = euler_to_matrix(np.array([a, mid, c]), order)
        e = matrix_to_euler(R, order)
        assert np.isfinite(e).all()
        np.testing.assert_allclose(euler_to_matrix(e, order), R, atol=1e-6)


@FAST
@given(angle, angle, angle)
def test_euler_zxy_is_intrinsic_product(z, x, y):
    np.testing.assert_allclose(euler_to_matrix(np.array([z, x, y]), "ZXY"), Rz(z) @ Rx(x) @ Ry(y), atol=1e-12)
    np.testing.assert_allclose(euler_to_matrix(np.array([x, y, z]), "XYZ"), Rx(x) @ Ry(y) @ Rz(z), atol=1e-12)


def test_euler_vectorised_and_lowercase_order():
    rng = np.random.default_rng(1)
    e = rng.uniform(-1, 1, size=(4, 2, 3))
    R = euler_to_matrix(e, "yzx")
    assert R.shape == (4, 2, 3, 3)
    np.testing.assert_allclose(R[3, 1], Ry(e[3, 1, 0]) @ Rz(e[3, 1, 1]) @ Rx(e[3, 1, 2]), atol=1e-12)


def test_euler_unknown_order():
    with pytest.raises(ValueError, match="unknown rotation order"):
        euler_to_matrix(np.zeros(3), "XXY")


# ----------------------------------------------------------------------------- geodesic angle
@FAST
@given(vec3, st.floats(0.0, np.pi), quat)
def test_geodesic_angle_of_axis_angle(axis, theta, q):
    R1 = quat_to_matrix(q)
    R2 = R1 @ axis_angle_to_matrix(axis, theta)
    assert abs(geodesic_angle(R1, R2) - theta) < 1e-7
    assert abs(geodesic_angle(R2, R1) - theta) < 1e-7


@pytest.mark.parametrize("theta", [0.0, 1e-9, 1e-6, 1e-3, np.pi - 1e-3, np.pi - 1e-6, np.pi])
def test_geodesic_angle_precise_near_zero_and_pi(theta):
    axis = np.array([0.3, -0.5, 0.8])
    R = axis_angle_to_matrix(axis, theta)
    got = float(geodesic_angle(np.eye(3), R))
    # near 0 an arccos-of-trace formula loses everything below ~1e-8; atan2 keeps relative accuracy
    assert got == pytest.approx(theta, rel=1e-6, abs=1e-15)


# ----------------------------------------------------------------------------- rotation_between
def angle_between(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.arctan2(np.linalg.norm(np.cross(u, v)), np.dot(u, v)))


@FAST
@given(vec3, vec3)
def test_rotation_between_maps_and_is_smallest(u, v):
    R = rotation_between(u, v)
    assert_rotation(R)
    np.testing.assert_allclose(R @ (u / np.linalg.norm(u)), v / np.linalg.norm(v), atol=1e-7)
    assert float(geodesic_angle(np.eye(3), R)) == pytest.approx(angle_between(u, v), abs=1e-7)


@FAST
@given(vec3, st.floats(1e-3, 10.0))
def test_rotation_between_opposite_vectors(u, scale):
    R = rotation_between(u, -scale * u)
    assert_rotation(R)
    u_hat = u / np.linalg.norm(u)
    np.testing.assert_allclose(R @ u_hat, -u_hat, atol=1e-9)
    assert float(geodesic_angle(np.eye(3), R)) == pytest.approx(np.pi, abs=1e-7)


@FAST
@given(vec3, vec3, angle)
def test_unit_forms_match_the_general_ones_on_unit_vectors(u, v, theta):
    u_hat, v_hat = u / np.linalg.norm(u), v / np.linalg.norm(v)
    np.testing.assert_allclose(swing_between_units(u_hat, v_hat), rotation_between(u, v), atol=1e-12)
    np.testing.assert_allclose(rotation_about(u_hat, theta), axis_angle_to_matrix(u, theta), atol=1e-12)
    np.testing.assert_allclose(rotation_about(u_hat, theta) @ u_hat, u_hat, atol=1e-12)


def test_rotation_between_batched_with_one_opposite():
    u = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 2.0]])
    v = np.array([[0, 1.0, 0], [0, -3.0, 0], [0, 0, 1.0]])
    R = rotation_between(u, v)
    np.testing.assert_allclose(R[0], Rz(np.pi / 2), atol=1e-12)
    np.testing.assert_allclose(R[1] @ u[1], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(R[2], np.eye(3), atol=1e-12)


# ----------------------------------------------------------------------------- best fit
@FAST
@given(quat, st.integers(2, 8), st.integers(0, 2 ** 31 - 1))
def test_best_fit_rotation_recovers_truth(q, n, seed):
    rng = np.random.default_rng(seed)
    R = quat_to_matrix(q)
    a = rng.normal(size=(n, 3))
    if n == 2 and np.linalg.norm(np.cross(a[0], a[1])) < 1e-2 * np.linalg.norm(a[0]) * np.linalg.norm(a[1]):
        a[1] = np.cross(a[0], [1.0, 2.0, 3.0])  # two points must not be collinear
    b = a @ R.T
    w = rng.uniform(0.1, 2.0, size=n)
    M = np.einsum("n,ni,nj->ij", w, b, a)
    np.testing.assert_allclose(best_fit_rotation(M), R, atol=1e-7)


@FAST
@given(quat, st.integers(0, 2 ** 31 - 1), st.integers(-75, 75))
def test_best_fit_rotation_does_not_depend_on_the_size_of_its_matrix(q, seed, exponent):
    """Weights of any size (inverse variances of exact tracks: 1e29) give the same rotation, with
    no floating-point trouble on the way (the SVD fallback catching a Newton step that cancelled
    to 0, after numpy warned 'divide by zero')."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(5, 3))
    M = np.einsum("ni,nj->ij", (a + 0.1 * rng.normal(size=a.shape)) @ quat_to_matrix(q).T, a)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        R = best_fit_rotation(M * 10.0 ** exponent)
    np.testing.assert_allclose(R, best_fit_rotation(M), atol=1e-12)


@FAST
@given(quat, st.integers(0, 2 ** 31 - 1))
def test_best_fit_rotation_is_proper_for_reflections(q, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(6, 3))
    mirror = np.diag([1.0, 1.0, -1.0])
    b = a @ (quat_to_matrix(q) @ mirror).T  # a reflection: no rotation fits it
    Rf = best_fit_rotation(np.einsum("ni,nj->ij", b, a))
    assert_rotation(Rf)
    # it beats (or ties) every random rotation on the Wahba objective
    M = np.einsum("ni,nj->ij", b, a)
    others = quat_to_matrix(rng.normal(size=(200, 4)))
    assert np.trace(Rf.T @ M) >= np.einsum("kij,ij->k", others, M).max() - 1e-9


def test_best_fit_rotation_batched_shape():
    rng = np.random.default_rng(3)
    M = rng.normal(size=(4, 7, 3, 3))
    R = best_fit_rotation(M)
    assert R.shape == (4, 7, 3, 3)
    assert_rotation(R)


# ----------------------------------------------------------------------------- continuity
@FAST
@given(st.integers(0, 2 ** 31 - 1), st.integers(1, 40))
def test_quat_continuity(seed, T):
    rng = np.random.default_rng(seed)
    # a smooth path with random sign flips
    t = np.linspace(0, 3, T)[:, None]
    axes = np.array([[0.0, 1, 0], [1.0, 0, 1]]) / np.array([[1.0], [np.sqrt(2)]])
    half = (t * np.array([1.0, 2.5]))[..., None] * 0.5  # [T,2,1]
    q = np.concatenate([np.cos(half), np.sin(half) * axes[None]], -1)  # [T,2,4]
    q = q * rng.choice([-1.0, 1.0], size=(T, 2, 1))
    out = quat_continuity(q, axis=0)
    assert out.shape == q.shape
    if T > 1:
        assert (np.sum(out[1:] * out[:-1], -1) >= 0).all()
    np.testing.assert_allclose(np.abs(out), np.abs(q))  # only signs change
    np.testing.assert_allclose(quat_to_matrix(out), quat_to_matrix(q), atol=1e-12)
    # time on another axis gives the same result
    np.testing.assert_allclose(quat_continuity(np.swapaxes(q, 0, 1), axis=1), np.swapaxes(out, 0, 1))


@pytest.mark.parametrize("gap", [1e-3, 1e-5, 1e-6, 1e-7, 1e-9, 1e-12, 0.0])
def test_rotation_between_nearly_opposite_directions_is_exact(gap):
    """Directions a tiny angle ``gap`` short of opposite: the rotation still takes one onto the other
    (to 1e-7) and turns by the angle between them."""
    u = normalize(np.array([0.3, -0.5, 0.8]))
    a = normalize(np.cross(u, [1.0, 0.0, 0.0]))
    v = -np.cos(gap) * u + np.sin(gap) * a
    R = rotation_between(u, v)
    assert_rotation(R)
    np.testing.assert_allclose(R @ u, v, atol=1e-7)
    assert float(geodesic_angle(np.eye(3), R)) == pytest.approx(np.pi - gap, abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (40, 3), elements=st.floats(-4 * np.pi, 4 * np.pi)), st.floats(0.0, 12.0))
def test_unwrap_euler_is_numpys_unwrap_to_the_last_bit(angles, scale):
    curves = np.cumsum(angles * scale / 4, axis=0)  # slow and fast curves, wrapped into (-pi, pi]
    wrapped = np.angle(np.exp(1j * curves))
    assert np.array_equal(unwrap_euler(wrapped), np.unwrap(wrapped, axis=0))


@given(st.floats(-1e4, 1e4))
def test_wrap_angle_moves_by_whole_turns_into_one_turn(x):
    w = float(wrap_angle(np.array(x)))
    assert -np.pi <= w <= np.pi
    turns = (x - w) / (2 * np.pi)
    assert abs(turns - round(turns)) < 1e-9 * max(1.0, abs(turns))
