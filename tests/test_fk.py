"""Forward kinematics (pose2rot_core.fk) against a slow per-joint reference."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core import stacks
from pose2rot_core.fk import bone_turn, forward_kinematics, global_to_local
from pose2rot_core.rotations import quat_to_matrix
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solution import Solution
from pose2rot_core.stacks import component_major


def random_skeleton(rng: np.random.Generator, J: int) -> Skeleton:
    parents = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, J)])
    rest = np.zeros((J, 3))
    rest[0] = rng.normal(size=3)
    for j in range(1, J):
        rest[j] = rest[parents[j]] + rng.normal(size=3)
    return Skeleton(tuple(f"j{j}" for j in range(J)), parents, rest)


def reference_fk(sk: Skeleton, R: np.ndarray, root: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
    """Per frame, per joint: walk the chain from the root down, composing rotations explicitly."""
    T, J = R.shape[:2]
    out = np.zeros((T, J, 3))
    for t in range(T):
        for j in range(J):
            chain = []
            k = j
            while k >= 0:
                chain.append(k)
                k = int(sk.parents[k])
            chain.reverse()  # root ... j
            pos = root[t].copy()
            G = np.eye(3)
            for a, b in zip(chain[:-1], chain[1:]):
                G = G @ R[t, a]
                off = sk.offsets[b] if offsets is None else offsets[t, b]
                pos = pos + G @ off
            out[t, j] = pos
    return out


def test_identity_rotations_give_rest_positions():
    sk = random_skeleton(np.random.default_rng(0), 12)
    R = np.broadcast_to(np.eye(3), (4, 12, 3, 3))
    G, P = forward_kinematics(sk, R)
    np.testing.assert_allclose(P, np.broadcast_to(sk.rest_positions, (4, 12, 3)), atol=1e-12)
    np.testing.assert_allclose(G, R, atol=0)
    # with a root translation the rest pose moves rigidly
    shift = np.array([[1.0, 2, 3], [0, 0, 0], [-1, 5, 0], [0, 0, 9]])
    _, P2 = forward_kinematics(sk, R, root_translation=sk.rest_positions[0] + shift)
    np.testing.assert_allclose(P2, sk.rest_positions[None] + shift[:, None], atol=1e-12)


def test_hand_computed_two_bones():
    sk = Skeleton(("a", "b", "c"), np.array([-1, 0, 1]), np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]))
    quarter_z = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    R = np.stack([np.eye(3), quarter_z, np.eye(3)])[None]
    _, P = forward_kinematics(sk, R, np.zeros((1, 3)))
    np.testing.assert_allclose(P[0], [[0, 0, 0], [1, 0, 0], [1, 1, 0]], atol=1e-12)


def test_global_to_local_inverts_composition():
    rng = np.random.default_rng(5)
    sk = random_skeleton(rng, 15)
    R = quat_to_matrix(rng.normal(size=(6, 15, 4)))
    G, _ = forward_kinematics(sk, R, np.zeros((6, 3)))
    np.testing.assert_allclose(global_to_local(sk, G), R, atol=1e-12)
    # and composing the recovered locals gives back G
    G2, _ = forward_kinematics(sk, global_to_local(sk, G), np.zeros((6, 3)))
    np.testing.assert_allclose(G2, G, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 15), st.integers(1, 4), st.booleans(), st.integers(0, 2 ** 31 - 1))
def test_fk_matches_slow_reference(J, T, per_frame_offsets, seed):
    rng = np.random.default_rng(seed)
    sk = random_skeleton(rng, J)
    R = quat_to_matrix(rng.normal(size=(T, J, 4)))
    root = rng.normal(size=(T, 3))
    offsets = rng.normal(size=(T, J, 3)) if per_frame_offsets else None
    G, P = forward_kinematics(sk, R, root, offsets)
    np.testing.assert_allclose(P, reference_fk(sk, R, root, offsets), atol=1e-10)
    assert G.shape == (T, J, 3, 3)
    np.testing.assert_allclose(G[:, 0], R[:, 0])


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 15), st.integers(1, 5), st.integers(0, 2 ** 31 - 1))
def test_joints_batched_by_depth_give_the_same_numbers(J, T, seed):
    """Joints of one depth are worked in batches (stacks.joint_batches): tiny batches, any input
    layout and global_to_local in place give exactly what one joint at a time gives."""
    rng = np.random.default_rng(seed)
    sk = random_skeleton(rng, J)
    R = quat_to_matrix(rng.normal(size=(T, J, 4)))
    root, offsets = rng.normal(size=(T, 3)), rng.normal(size=(T, J, 3))
    G, P = forward_kinematics(sk, R, root, offsets)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stacks, "BATCH_FRAMES", 1)
        G1, P1 = forward_kinematics(sk, component_major(R), root, offsets)
        assert np.array_equal(G1, G) and np.array_equal(P1, P)
        in_place = component_major(G)
        assert global_to_local(sk, in_place, out=in_place) is in_place
    assert np.array_equal(in_place, global_to_local(sk, np.ascontiguousarray(G)))
    np.testing.assert_allclose(in_place, R, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 12), st.integers(1, 6), st.integers(0, 2 ** 31 - 1))
def test_a_solution_made_from_global_rotations_places_its_joints_by_them(J, T, seed):
    """Solution.from_globals keeps the solver's global rotations for forward(): its local rotations
    are their global_to_local, and its joints are where forward kinematics of those puts them; a
    part of it (frames) or a copy with other rotations (replace) keeps none of what no longer holds."""
    rng = np.random.default_rng(seed)
    sk = random_skeleton(rng, J)
    G = forward_kinematics(sk, quat_to_matrix(rng.normal(size=(T, J, 4))))[0]
    root, offsets = rng.normal(size=(T, 3)), rng.normal(size=(T, J, 3))
    sol = Solution.from_globals(sk, G, root, offsets, np.zeros(J, bool))
    assert np.array_equal(sol.rotations, global_to_local(sk, G))
    G2, P2 = forward_kinematics(sk, sol.rotations, root, offsets)
    assert sol.forward()[0] is G
    np.testing.assert_allclose(sol.positions, P2, atol=1e-12)
    assert np.array_equal(sol.frames(T - 1, T).positions, sol.positions[T - 1:])
    flipped = replace(sol, rotations=sol.rotations.swapaxes(-1, -2))
    np.testing.assert_allclose(flipped.positions, forward_kinematics(sk, flipped.rotations, root, offsets)[1],
                               atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(J=st.integers(3, 10), seed=st.integers(0, 10_000))
def test_bone_turn_reads_no_direction_from_a_joint_a_hair_off_its_parent(J, seed):
    """A child written 1e-7 of the height off its parent's point (a Character Creator share bone)
    is no bone: wherever its track puts it around that point, how far a pose is from the tracks
    reads the same."""
    rng = np.random.default_rng(seed)
    sk = random_skeleton(rng, J)
    host = int(rng.integers(0, J))
    rest = np.vstack([sk.rest_positions, sk.rest_positions[host] + 1e-7 * sk.height * np.array([1.0, 0.0, 0.0])])
    with_hair = Skeleton(sk.names + ("hair",), np.append(sk.parents, host), rest)
    assert not with_hair.bone_has_length[-1] and with_hair.bone_has_length[1:J].all()
    R = quat_to_matrix(rng.normal(size=(J + 1, 4)))
    points = forward_kinematics(with_hair, R[None])[1][0] + 0.05 * rng.normal(size=(J + 1, 3))
    turns = []
    for side in rng.normal(size=(3, 3)):
        points[-1] = points[host] + 1e-7 * sk.height * side
        turns.append(bone_turn(with_hair, R, points))
    assert np.ptp(turns) == 0.0
    assert turns[0] == pytest.approx(bone_turn(sk, R[:J], points[:J]))
