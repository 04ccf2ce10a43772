"""Written-out products of vector and matrix stacks agree with numpy's, whatever the memory layout
and broadcasting; new stacks keep every component's frames together."""
from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pose2rot_core.stacks import (all_per_point, any_axis, any_per_point, component_major, det, dot, empty_matrices, empty_vectors, frame_mean, frames_first,
                                  frames_last, joint_batches, joint_planes, joint_rows, mat_dot, mat_mul, mat_mul_t,
                                  mat_t_mul, mat_t_vec, mat_vec, outer_sum, planes_mul, planes_vec, side_by_side)

SHAPES = st.sampled_from([(), (1,), (7,), (5, 3), (4, 1), (1, 6)])


def _maybe_component_major(x: np.ndarray, flag: bool, matrices: bool) -> np.ndarray:
    return component_major(x, matrices) if flag and x.ndim > (2 if matrices else 1) else x


@settings(max_examples=60, deadline=None)
@given(a=SHAPES, b=SHAPES, seed=st.integers(0, 2 ** 31 - 1), layout=st.tuples(st.booleans(), st.booleans()))
def test_products_match_numpy(a, b, seed, layout):
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        assume(False)
    rng = np.random.default_rng(seed)
    A, B, v = rng.normal(size=a + (3, 3)), rng.normal(size=b + (3, 3)), rng.normal(size=b + (3,))
    At, Bt = (np.swapaxes(M, -1, -2) for M in (A, B))
    Ac, Bc = _maybe_component_major(A, layout[0], True), _maybe_component_major(B, layout[1], True)
    vc = _maybe_component_major(v, layout[1], False)
    np.testing.assert_allclose(mat_mul(Ac, Bc), A @ B, atol=1e-12)
    np.testing.assert_allclose(mat_t_mul(Ac, Bc), At @ B, atol=1e-12)
    np.testing.assert_allclose(mat_mul_t(Ac, Bc), A @ Bt, atol=1e-12)
    np.testing.assert_allclose(mat_vec(Ac, vc), (A @ v[..., None])[..., 0], atol=1e-12)
    np.testing.assert_allclose(mat_t_vec(Ac, vc), (At @ v[..., None])[..., 0], atol=1e-12)
    np.testing.assert_allclose(det(Ac), np.linalg.det(A), atol=1e-10)
    np.testing.assert_allclose(dot(vc, vc), (v * v).sum(-1), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(T=st.integers(1, 9), J=st.integers(1, 6), seed=st.integers(0, 2 ** 31 - 1), layout=st.booleans())
def test_joint_plane_products_give_the_same_numbers_as_the_stack_products(T, J, seed, layout):
    rng = np.random.default_rng(seed)
    A, B, v = rng.normal(size=(T, J, 3, 3)), rng.normal(size=(T, J, 3, 3)), rng.normal(size=(T, J, 3))
    A, B = _maybe_component_major(A, layout, True), _maybe_component_major(B, layout, True)
    joints = rng.permutation(J)[:max(1, J // 2)]
    a, b, x = (joint_planes(M)[joints] for M in (A, B, v))  # [n,3,3,T] / [n,3,T]
    frames_first = lambda planes: np.moveaxis(planes, -1, 0)
    assert np.array_equal(frames_first(planes_mul(a, b)), mat_mul(A[:, joints], B[:, joints]))
    assert np.array_equal(frames_first(planes_mul(a, b, transpose_a=True)), mat_t_mul(A[:, joints], B[:, joints]))
    assert np.array_equal(frames_first(planes_vec(a, x)), mat_vec(A[:, joints], v[:, joints]))
    assert np.array_equal(frames_first(planes_vec(a, x, transpose_a=True)), mat_t_vec(A[:, joints], v[:, joints]))


def test_joint_planes_write_through_and_batches_cover_every_joint_once():
    G = empty_matrices((4, 5))
    joint_planes(G)[[1, 3]] = 2.0
    assert (G[:, [1, 3]] == 2.0).all() and joint_planes(G).flags.c_contiguous
    one, two = joint_rows(joint_planes(G), np.array([3])), joint_rows(joint_planes(G), np.array([3, 1]))
    assert np.shares_memory(one, G) and not np.shares_memory(two, G)  # one joint: a view, no copy
    assert np.array_equal(one[0], two[0]) and np.array_equal(two[1], joint_planes(G)[1])
    batches = joint_batches(np.arange(10), 2000)  # BATCH_FRAMES // 2000 = 3 joints at a time
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert [b.tolist() for b in joint_batches(np.arange(3), 10 ** 6)] == [[0], [1], [2]]


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 9), n=st.integers(1, 5), seed=st.integers(0, 2 ** 31 - 1), constant=st.booleans())
def test_outer_sum_matches_einsum(T, n, seed, constant):
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=(T, n, 3)), rng.normal(size=(1 if constant else T, n, 3))
    want = np.einsum("tni,tnj->tij", u, np.broadcast_to(v, u.shape))
    np.testing.assert_allclose(outer_sum(component_major(u, False), v), want, atol=1e-12)
    np.testing.assert_allclose(outer_sum(u, v), want, atol=1e-12)


def test_products_write_into_their_output_even_over_an_input():
    rng = np.random.default_rng(0)
    A, B = component_major(rng.normal(size=(6, 3, 3))), component_major(rng.normal(size=(6, 3, 3)))
    want = np.swapaxes(A, -1, -2) @ B
    assert mat_t_mul(A, B, out=B) is B
    np.testing.assert_allclose(B, want, atol=1e-12)
    out = empty_matrices((6,))
    np.testing.assert_allclose(mat_mul(A, want, out=out), A @ want, atol=1e-12)


def test_new_stacks_keep_each_component_of_a_joint_contiguous_over_frames():
    G, P = empty_matrices((10, 4)), empty_vectors((10, 4))
    assert G.shape == (10, 4, 3, 3) and P.shape == (10, 4, 3)
    assert G[:, 2, 1, 0].flags.c_contiguous and P[:, 3, 2].flags.c_contiguous
    assert empty_matrices(()).shape == (3, 3) and empty_vectors(()).shape == (3,)


@settings(max_examples=40, deadline=None)
@given(T=st.integers(2, 40), n=st.integers(1, 5), seed=st.integers(0, 2 ** 31 - 1), layout=st.booleans())
def test_products_of_joint_batches_are_component_major_and_the_same_numbers_joint_by_joint(T, n, seed, layout):
    """A product over [T,n] stacks keeps each joint's components contiguous over frames, and each
    joint comes out exactly as its own [T] product; the frame mean and the entry-wise dot of a
    batch are each joint's own, whatever the layout."""
    rng = np.random.default_rng(seed)
    A = _maybe_component_major(rng.normal(size=(T, n, 3, 3)), layout, True)
    B = component_major(rng.normal(size=(T, n, 3, 3)))
    for product in (mat_mul(A, B), mat_t_mul(A, B)):
        assert product[:, -1, 2, 1].flags.c_contiguous
    for i in range(n):
        assert np.array_equal(mat_mul(A, B)[:, i], mat_mul(A[:, i], B[:, i]))
        assert np.array_equal(mat_dot(A, B)[:, i], np.sum(component_major(A[:, i]) * B[:, i], axis=(1, 2)))
        assert np.array_equal(frame_mean(mat_dot(A, B))[i], np.mean(mat_dot(A[:, i], B[:, i])))
    joined = side_by_side([B[:, i, 0] for i in range(n)])
    assert joined.shape == (T, n, 3) and np.array_equal(joined, B[:, :, 0]) and joined[:, -1, 2].flags.c_contiguous


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=6), seed=st.integers(0, 2 ** 31 - 1))
def test_frames_last_and_first_are_moveaxis_views(shape, seed):
    x = np.random.default_rng(seed).normal(size=shape)
    last, first = frames_last(x), frames_first(x)
    np.testing.assert_array_equal(last, np.moveaxis(x, 0, -1))
    np.testing.assert_array_equal(first, np.moveaxis(x, -1, 0))
    np.testing.assert_array_equal(frames_first(last), x)
    assert np.shares_memory(last, x) and np.shares_memory(first, x)


@settings(max_examples=60, deadline=None)
@given(T=st.integers(0, 7), N=st.integers(0, 5), share=st.floats(0.0, 1.0), seed=st.integers(0, 2 ** 31 - 1),
       layout=st.booleans())
def test_reductions_over_the_axes_of_points_are_numpys(T, N, share, seed, layout):
    rng = np.random.default_rng(seed)
    points = np.where(rng.random((T, N, 3)) < share, np.nan, rng.normal(size=(T, N, 3)))
    points = _maybe_component_major(points, layout, False)
    flags = np.isnan(points)
    assert np.array_equal(any_axis(flags), flags.any(axis=-1))
    assert np.array_equal(any_per_point(flags), flags.any(axis=(0, 2)))
    assert np.array_equal(all_per_point(flags), flags.all(axis=(0, 2)))
