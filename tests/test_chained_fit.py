"""A joint whose only targets lie behind one zero-length child (a hand over a zero-length finger
base): the reference-weighed best fit, kept where it is continuous and handed over where it jumps
(pose2rot_core.solvers.geometric.chained_fit)."""
from __future__ import annotations

import numpy as np
import pytest

import pose2rot_core.solvers.geometric as geometric
from pose2rot_core.evaluate import count_flips
from pose2rot_core.flips import FLIP_DEGREES
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.rotations import axis_angle_to_matrix, geodesic_angle, normalize
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solvers import solve as solve_with_cleaning
from pose2rot_core.solvers.geometric.chained_fit import carried_quats
from pose2rot_core.solvers.geometric.fit import best_fit
from pose2rot_core.tracks import Tracks


def hand_over_a_turning_finger_base(degrees: float, T: int = 30):
    """(skeleton, true local rotations [T,5,3,3], positions [T,5,3]): forearm(0) -> hand(1) ->
    finger base(2, zero-length) -> index(3, on the bone's line) and a helper(4) off it. The finger
    base's world orientation is fixed by its two targets, the hand's is not (its only child sits
    on its point). The finger base turns up to ``degrees`` from its reference and back, about an
    axis across the bone, while the hand hardly turns."""
    rest = np.array([[0, 0, 0], [0.3, 0, 0], [0.3, 0, 0], [0.4, 0, 0], [0.36, 0.03, 0.01]])
    sk = Skeleton(("forearm", "hand", "base", "index", "helper"), np.array([-1, 0, 1, 2, 2]), rest)
    t = np.linspace(0.0, 1.0, T)
    R = np.broadcast_to(np.eye(3), (T, 5, 3, 3)).copy()
    R[:, 0] = axis_angle_to_matrix(np.array([0.0, 0.0, 1.0]), 0.4 * np.sin(2 * np.pi * t))
    R[:, 1] = axis_angle_to_matrix(np.array([1.0, 0.0, 0.0]), 0.2 * t)
    R[:, 2] = axis_angle_to_matrix(normalize(np.array([1.0, 0.2, 0.1])), np.radians(degrees) * np.sin(np.pi * t))
    _, P = forward_kinematics(sk, R, np.zeros((T, 3)))
    return sk, R, P


def solve(sk: Skeleton, P: np.ndarray):
    """The solver on exact synthetic tracks (no smoothing), reference frame 0."""
    return solve_with_cleaning(Tracks(skeleton=sk, positions=P, fps=30.0, reference_frame=0), smooth="off")


def plain_weighed_fit(primary, src, obs, desired, weights=None, tied=None):
    """The reference-weighed best fit alone, never handed over (what the solver did before)."""
    return best_fit(primary, src, obs, desired, weights)


def steps_deg(R: np.ndarray) -> np.ndarray:
    return np.degrees(geodesic_angle(R[1:], R[:-1]))


@pytest.mark.parametrize("degrees", [190.0, 200.0, 220.0])
def test_a_hand_over_a_zero_length_finger_base_turning_through_a_half_turn_does_not_flip(degrees):
    """The finger base turns through a half turn from its reference and back; the hand's weighed
    fit leapt from one side of that turn to the other (6-8 flips, hand steps of 33-60 degrees a
    frame): handed over along the carried share of the turn, it never turns by half a flip in a
    frame (12 degrees at most; it turns 11 degrees in all), and the clean positions stay exact."""
    sk, R, P = hand_over_a_turning_finger_base(degrees)
    sol = solve(sk, P)
    assert np.nanmax(np.linalg.norm(sol.positions - P, axis=-1)) < 1e-9
    assert count_flips(sol.rotations, R) == 0
    assert steps_deg(sol.rotations[:, 1]).max() < FLIP_DEGREES / 2.0


@pytest.mark.parametrize("degrees", [120.0, 170.0, 200.0])
def test_the_hands_weighed_fit_is_kept_wherever_it_does_not_jump(monkeypatch, degrees):
    """Where the weighed fit is continuous (a turn up to 170 degrees), the solve is bit for bit the
    one without hand-overs; where it jumps (200 degrees: its steps over FLIP_DEGREES), only one
    stretch of frames around the jumps changes, and the frames before and after it are the fit's
    own."""
    sk, R, P = hand_over_a_turning_finger_base(degrees)
    ours = solve(sk, P).rotations
    monkeypatch.setattr(geometric, "continuous_best_fit", plain_weighed_fit)
    plain = solve(sk, P).rotations
    changed = np.flatnonzero((ours != plain).any(axis=(1, 2, 3)))
    jumps = np.flatnonzero(steps_deg(plain[:, 1]) > FLIP_DEGREES)
    if degrees < 180.0:
        assert not len(changed) and not len(jumps)
        return
    assert len(jumps) and len(changed) == changed[-1] - changed[0] + 1  # one stretch
    assert changed[0] <= jumps[0] and jumps[-1] + 1 <= changed[-1]
    assert changed[0] > 0 and changed[-1] < len(R) - 1


def test_a_carried_turn_goes_on_past_a_half_turn_and_starts_again_the_short_way_after_a_cut():
    """carried_quats: a turn about one axis growing to 350 degrees reads past a half turn (w < 0)
    instead of back the short way; after an untied step (a cut) the piece is read the short way
    at its first frame."""
    angles = np.radians(np.arange(0.0, 360.0, 10.0))
    q = np.stack([np.cos(angles / 2), np.zeros_like(angles), np.zeros_like(angles), np.sin(angles / 2)], -1)
    q[angles > np.pi] *= -1.0  # matrix_to_quat's: w >= 0, the short way
    carried = carried_quats(q, None)
    np.testing.assert_allclose(2.0 * np.arctan2(carried[:, 3], carried[:, 0]) % (2 * np.pi), angles, atol=1e-12)
    tied = np.ones(len(q) - 1, bool)
    tied[19] = False  # frame 20 (200 degrees) starts a piece, read the short way there (-160)
    after_cut = carried_quats(q, tied)
    assert (after_cut[:20] == carried[:20]).all()
    np.testing.assert_allclose(after_cut[20:], -carried[20:], atol=1e-12)
