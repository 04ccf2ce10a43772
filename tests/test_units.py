"""Heights in file units, unit guesses, and tracks whose bones are a constant factor off the skeleton's."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pose2rot_core.axes import Y_UP_TO_Z_UP, turn_solution, up_axis_change
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solvers import solve
from pose2rot_core.tracks import Tracks
from pose2rot_core.units import (auto_scale, bone_scale, refused, scale_mismatch, scale_problem, scale_tracks,
                                 standing_height, unit_guess, unit_pair)

NAMES = ("hips", "spine", "head", "thigh", "shin")
PARENTS = np.array([-1, 0, 1, 0, 3])
REST = np.array([[0, 1.0, 0], [0, 1.3, 0], [0, 1.7, 0], [0.1, 0.95, 0], [0.1, 0.5, 0]])


def tracks(factor: float = 1.0, T: int = 12) -> Tracks:
    """Rest-pose tracks swaying sideways, times ``factor``."""
    P = np.broadcast_to(REST, (T, 5, 3)).copy()
    P[:, :, 0] += np.linspace(0, 0.2, T)[:, None]
    return Tracks(Skeleton(NAMES, PARENTS, REST), P * factor, fps=30.0)


@pytest.mark.parametrize("height, words", [(1.7, "metres? (1.70 m tall)"), (170.0, "centimetres? (1.70 m tall)"),
                                           (1700.0, "millimetres? (1.70 m tall)"), (25.0, "unknown"),
                                           (0.1, "unknown"), (9000.0, "unknown"), (float("nan"), "unknown")])
def test_unit_guess(height, words):
    assert unit_guess(height) == words


@given(st.floats(0.01, 1e5))
def test_unit_guess_names_at_most_one_plausible_unit(height):
    guess = unit_guess(height)
    if guess != "unknown":
        metres = float(guess.split("(")[1].split(" m")[0])
        assert 0.295 <= metres <= 3.005


def test_standing_height_uses_the_up_axis_and_skips_missing():
    P = np.broadcast_to(REST, (4, 5, 3)).copy()
    P[1, 2] = np.nan
    assert standing_height(P, "y") == pytest.approx(1.2)
    assert standing_height(P @ Y_UP_TO_Z_UP.T, "z") == pytest.approx(1.2)
    assert np.isnan(standing_height(np.full((2, 5, 3), np.nan), "y"))


@pytest.mark.parametrize("factor, pair", [(100.0, "centimetres against metres"), (0.01, "metres against centimetres"),
                                          (2.54, "centimetres against inches"), (1.3, "")])
def test_bone_scale_and_its_name(factor, pair):
    scale = bone_scale(tracks(factor))
    assert scale.factor == pytest.approx(factor) and scale.agreeing == scale.bones == 4
    assert unit_pair(scale.factor) == pair
    mismatch = scale_mismatch(tracks(factor))
    assert mismatch is not None and refused(mismatch) == (factor > 2 or factor < 0.5)


@given(st.integers(3, 40), st.integers(0, 2**32 - 1), st.booleans())
def test_bone_scale_is_the_median_over_bones_of_the_median_length_over_frames(T, seed, gaps):
    """With or without gaps in the tracks (NaN frames are skipped, per bone), and jitter the bones
    are long against (all of them tell the scale)."""
    rng = np.random.default_rng(seed)
    t = tracks(T=T)
    P = t.positions * rng.uniform(0.5, 2.0) + rng.normal(scale=0.001, size=t.positions.shape)
    if gaps:
        first = P[0].copy()
        P[rng.random((T, 5)) < 0.3] = np.nan
        P[0] = first                                    # every bone seen at least once
    lengths = np.linalg.norm(P[:, 1:] - P[:, PARENTS[1:]], axis=-1)
    want = np.median(np.array([np.median(b[np.isfinite(b)]) for b in lengths.T]) / np.linalg.norm(
        t.skeleton.offsets[1:], axis=-1))
    assert bone_scale(Tracks(t.skeleton, P)).factor == pytest.approx(want, rel=1e-12)


def test_a_scale_problem_is_worded_with_the_interfaces_names_for_both_sides():
    problem = scale_problem(tracks(100.0))
    assert problem.what == "the tracks' bones measure 100× the skeleton's (4 of 4 bones, centimetres against metres?)"
    assert problem.refused and problem.factor == pytest.approx(100.0)
    problem = scale_problem(tracks(1.3), "the empties' bones", "the bones of 'Rig'")
    assert problem.what == "the empties' bones measure 1.3× the bones of 'Rig' (4 of 4 bones)" and not problem.refused
    assert scale_problem(tracks(1.05)) is None


def test_matching_or_uneven_bones_are_not_a_scale_problem():
    assert scale_mismatch(tracks(1.05)) is None
    t = tracks()
    P = t.positions.copy()
    P[:, 2] = P[:, 1] + 3 * (P[:, 2] - P[:, 1])     # one long neck, one long shin: not a uniform factor
    P[:, 4] = P[:, 3] + 0.2 * (P[:, 4] - P[:, 3])
    assert not bone_scale(Tracks(t.skeleton, P)).uniform


def helper_rig(T: int = 40, seed: int = 0) -> tuple[Tracks, np.ndarray]:
    """(Tracks of a rig of four three-bone limbs (bones 10-40 % of its height), each bone carrying a helper
    bone 0.3-1.5 % of the height long (twist, roll and corrective bones), swaying sideways under jitter
    of 0.3 % of the height; [J] each joint's parent)."""
    rng = np.random.default_rng(seed)
    parents, heads = [-1], [np.zeros(3)]
    for limb in range(12):
        parents.append(0 if limb % 3 == 0 else len(parents) - 2)
        heads.append(heads[parents[-1]] + rng.normal(size=3) * 0.1 + [0.0, 0.25, 0.0])
        parents.append(len(parents) - 1)
        heads.append(heads[-1] + rng.normal(size=3) * 0.006)
    sk = Skeleton([f"b{j}" for j in range(len(parents))], np.array(parents), np.array(heads))
    P = np.broadcast_to(sk.rest_positions, (T, len(parents), 3)).copy()
    P[:, :, 0] += np.linspace(0, 0.2, T)[:, None]
    P += rng.normal(scale=0.003 * sk.height, size=P.shape)
    return Tracks(sk, P, fps=30.0), np.array(parents)


@pytest.mark.parametrize("factor", [100.0, 0.01, 2.54, 0.3048])
def test_tracks_in_other_units_are_told_on_a_rig_with_helper_bones_under_jitter(factor):
    """The helper bones' lengths are mostly noise (they read 20-150 % long): they do not vote, the limb
    bones tell the factor. Before, half the bones disagreed and the units went unnoticed."""
    t, _ = helper_rig()
    problem = scale_problem(replace(t, positions=t.positions * factor))
    assert problem is not None and problem.factor == pytest.approx(factor, rel=0.03)
    assert problem.refused == (factor > 2 or factor < 0.5) and unit_pair(problem.factor)


def test_another_performers_proportions_under_jitter_are_no_scale_problem():
    """Each limb bone 10-30 % longer or shorter than the rig's (a different performer), jitter as above."""
    t, parents = helper_rig()
    rng = np.random.default_rng(1)
    bones = t.positions[:, 1:] - t.positions[:, parents[1:]]
    factors = np.ones(len(parents))
    factors[1::2] = 1.0 + np.resize([1.0, -1.0], len(factors[1::2])) * rng.uniform(0.1, 0.3, len(factors[1::2]))
    P = t.positions.copy()
    for j in range(1, len(parents)):
        P[:, j] = P[:, parents[j]] + bones[:, j - 1] * factors[j]
    assert scale_problem(replace(t, positions=P)) is None


@given(st.floats(0.001, 1000.0))
def test_auto_scale_restores_the_skeleton_size(factor):
    fixed = scale_tracks(tracks(factor), auto_scale(tracks(factor)))
    np.testing.assert_allclose(fixed.positions, tracks().positions, rtol=1e-9, atol=1e-12)


def test_scaling_tracks_scales_the_step_their_numbers_were_read_in():
    """A rounding step given with the tracks (Blender's float32 at their place) is in the tracks'
    units: scaled with them, so the solver's tolerance keeps meaning the same rounding."""
    assert scale_tracks(replace(tracks(), coordinate_step=2e-5), 100.0).coordinate_step == pytest.approx(2e-3)
    assert scale_tracks(tracks(), 100.0).coordinate_step is None


def test_scale_tracks_refuses_bad_factors():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(Pose2RotError, match="positive"):
            scale_tracks(tracks(), bad)


def test_a_solution_computes_its_forward_kinematics_once():
    sol = solve(tracks())
    assert sol.forward() is sol.forward()
    moved = replace(sol, root_translation=sol.root_translation + 1.0)  # a new solution: its own
    np.testing.assert_allclose(moved.positions, sol.positions + 1.0, atol=1e-12)


def test_turned_solution_keeps_positions_turned():
    t = tracks()
    sol = solve(t)
    C = up_axis_change("y", "z")
    turned = turn_solution(sol, C)
    np.testing.assert_allclose(turned.positions, sol.positions @ C.T, atol=1e-12)
    np.testing.assert_allclose(up_axis_change("z", "y") @ C, np.eye(3))
    np.testing.assert_array_equal(up_axis_change("y", "y"), np.eye(3))
    assert turn_solution(sol, up_axis_change("y", "y")) is sol
    with pytest.raises(Pose2RotError, match="'y' or 'z'"):
        up_axis_change("x", "y")
