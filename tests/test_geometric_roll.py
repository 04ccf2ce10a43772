"""The roll of single-aim joints (pose2rot_core.solvers.geometric.roll): carried only on the frames
that need it, handed over evenly, and sudden turns of a bent child shared with the joint."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core.evaluate import add_noise, evaluate_clip, rotation_steps
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.rotations import (axis_angle_to_matrix, basic_rotation, geodesic_angle, normalize, perpendicular,
                                     rotation_about, rotation_between, swing_between_units, twist_angle, wrap_angle)
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solvers import solve
from pose2rot_core.solvers.geometric.roll import (HALVED_FROM, Tridiagonal, alignment_parts, bend_spreads,
                                                  best_roll, continuous_roll, hinge_alignment, near_frames,
                                                  plane_parts, roll_from_steps, transport_steps, tridiagonal_solve,
                                                  widen_hand_overs)
from pose2rot_core.tracks import Tracks
from pose2rot_core.tracks_io import tracks_from_bvh

from _humanoid import as_clip

FAST = settings(max_examples=40, deadline=None)


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
    near = near_frames(trust[:, None])[:, 0]
    assert set(np.flatnonzero(trust < 1.0)) <= set(near)
    far = np.setdiff1d(np.arange(T), near)
    np.testing.assert_allclose(wrap_angle(whole[far] - psi[far]), 0.0, atol=1e-9)  # untouched frames keep psi
    # each stretch of near frames may carry its own constant (its transported frame's anchor)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(near) > 1) + 1])
    offset = np.repeat(rng.uniform(-10.0, 10.0, len(starts)), np.diff(np.append(starts, len(near))))
    joined = continuous_roll(psi[near] + offset, trust[near], fps, near) - offset
    np.testing.assert_allclose(wrap_angle(joined - whole[near]), 0.0, atol=1e-9)


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), T=st.integers(6, 300), k=st.integers(1, 5))
def test_rolls_of_several_joints_at_once_are_each_joints_own(seed, T, k):
    """Joints handed over together (one padded column each, see near_frames) get exactly the roll
    and carried roll each would get alone."""
    rng = np.random.default_rng(seed)
    trust = np.stack([_trust(rng, T, int(rng.integers(1, 4))) for _ in range(k)], axis=1)
    psi, steps = rng.uniform(-4.0, 4.0, (T, k)), rng.normal(0.0, 0.2, (T - 1, k))
    frames = near_frames(trust)
    real = frames >= 0
    at = np.where(real, frames, 0), np.arange(k)
    together = continuous_roll(np.where(real, psi[at], 0.0), np.where(real, trust[at], 1.0), 30.0, frames)
    carried = roll_from_steps(steps, T, None, frames)
    for i in range(k):
        near = frames[real[:, i], i]
        assert np.array_equal(near, np.flatnonzero(np.convolve(trust[:, i] < 1.0, [1, 1, 1], "same")))
        assert np.array_equal(together[real[:, i], i], continuous_roll(psi[near, i], trust[near, i], 30.0, near))
        assert np.array_equal(carried[real[:, i], i], roll_from_steps(steps[:, i], T, None, near))


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
    np.testing.assert_allclose(steps, wrap_angle(ends[1] - ends[0]) / (n + 1), atol=1e-6)
    assert abs(wrap_angle(roll[0] - ends[0])) < 1e-12 and abs(wrap_angle(roll[-1] - ends[1])) < 1e-12


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), T=st.integers(2, 300), stretches=st.integers(1, 6))
def test_the_roll_changes_smoothly_with_the_trust(seed, T, stretches):
    """No switching: a small change of the trust moves the roll by little (it hands over)."""
    rng = np.random.default_rng(seed)
    psi = np.cumsum(rng.normal(0.0, 0.3, T))
    trust = _trust(rng, T, stretches) if T > 5 else rng.uniform(0.0, 1.0, T)
    nudged = np.clip(trust + rng.uniform(-1e-6, 1e-6, T), 0.0, 1.0)
    a, b = continuous_roll(psi, trust, 30.0), continuous_roll(psi, nudged, 30.0)
    assert np.abs(wrap_angle(a - b)).max() < 1e-3


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), T=st.integers(3, 300))
def test_transport_on_a_stretch_is_the_whole_clips_up_to_a_constant(seed, T):
    rng = np.random.default_rng(seed)
    d = normalize(np.cumsum(rng.normal(0.0, 0.2, (T, 3)), axis=0) + rng.normal(size=3))
    across = normalize(np.cross(d, perpendicular(d) + rng.normal(0.0, 0.3, (T, 3))))
    steps = transport_steps(across[:-1], across[1:], d)
    whole = roll_from_steps(steps, T, None)
    a = int(rng.integers(0, T - 2))
    b = int(rng.integers(a + 2, T + 1))
    frames = np.arange(a, b)
    part = roll_from_steps(steps, T, None, frames)
    np.testing.assert_allclose(part, whole[a:b] - whole[a], atol=1e-9)
    np.testing.assert_allclose(roll_from_steps(steps, T, None, np.arange(T)), whole, atol=1e-12)


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), n=st.integers(1, 300), complex_rhs=st.booleans())
def test_the_tridiagonal_solve_matches_a_dense_one(seed, n, complex_rhs):
    rng = np.random.default_rng(seed)
    lower, upper = -rng.uniform(0.0, 1e3, n), -rng.uniform(0.0, 1e3, n)
    diag = np.abs(lower) + np.abs(upper) + rng.uniform(1e-6, 10.0, n)  # diagonally dominant, as the strings are
    rhs = rng.normal(size=n) + (1j * rng.normal(size=n) if complex_rhs else 0.0)
    dense = np.diag(diag) + np.diag(lower[1:], -1) + np.diag(upper[:-1], 1)
    np.testing.assert_allclose(tridiagonal_solve(lower, diag, upper, rhs), np.linalg.solve(dense, rhs), rtol=1e-9, atol=1e-9)



@FAST
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_the_alignment_parts_are_the_roll_objective_of_a_target(seed):
    """u . (Rot(axis, phi) s) = (axis.u)(axis.s) + along cos(phi) + across sin(phi), and no roll
    changes it by more than reach (lookahead_roll's child term, without matrices)."""
    rng = np.random.default_rng(seed)
    u, s, axis = (normalize(rng.normal(size=(50, 3))) for _ in range(3))
    phi = rng.uniform(-np.pi, np.pi, 50)
    along, across, reach = alignment_parts(u, s, axis)
    rolled = np.einsum("ti,tij,tj->t", u, rotation_about(axis, phi), s)
    constant = np.sum(axis * u, -1) * np.sum(axis * s, -1)
    np.testing.assert_allclose(rolled, constant + along * np.cos(phi) + across * np.sin(phi), atol=1e-12)
    np.testing.assert_allclose(np.hypot(along, across), reach, atol=1e-12)


def _bent(axis: np.ndarray, side: np.ndarray, bend: np.ndarray) -> np.ndarray:
    """[n,3] unit directions at ``bend`` [n] radians from the unit ``axis`` towards the unit
    ``side`` (across it; a negative bend lies on the other side of the axis)."""
    return np.cos(bend)[:, None] * axis + np.sin(bend)[:, None] * side


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_the_plane_cue_reads_a_hinge_bent_through_straight_as_the_same_plane(seed):
    """A hinge child's target in its bend plane turned by phi about the bone reads as phi, the
    plane's turn nearest 0, whichever side of the bone it bends to (plane_parts): bent through
    straight is no half turn of the joint. Where it lies across the plane there is no cue, and
    the cue goes to 0 smoothly on either side of that."""
    rng = np.random.default_rng(seed)
    n = 60
    axis, side = normalize(rng.normal(size=(n, 3))), normalize(rng.normal(size=(n, 3)))
    side = normalize(side - np.sum(side * axis, -1)[:, None] * axis)
    s = _bent(axis, side, rng.uniform(0.05, 3.0, n))
    phi = rng.uniform(-1.5, 1.5, n)
    bend = rng.uniform(0.05, 3.0, n) * rng.choice([-1.0, 1.0], n)
    u = _bent(axis, np.einsum("tij,tj->ti", rotation_about(axis, phi), side), bend)
    along, across, reach = plane_parts(u, s, axis)
    np.testing.assert_allclose(best_roll(along, across)[0], phi, atol=1e-9)
    np.testing.assert_allclose(reach, np.sin(bend) ** 2, atol=1e-12)
    for off in (np.pi / 2 - 1e-7, np.pi / 2 + 1e-7):
        across_plane = _bent(axis, np.einsum("tij,tj->ti", rotation_about(axis, np.full(n, off)), side), bend)
        assert np.all(np.hypot(*plane_parts(across_plane, s, axis)[:2]) < 1e-12)


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), T=st.integers(8, 60))
def test_the_hinge_cue_of_a_child_swinging_alike_both_ways_is_the_isotropic_one(seed, T):
    """A child that swings as far across its bend plane as along it (mirrored swings) gets only
    the side cue of alignment_parts over that spread (hinge_alignment: a ball joint); one that
    never leaves its plane gets a stronger cue than that, reading the roll that the plane shows."""
    rng = np.random.default_rng(seed)
    axis = np.broadcast_to(normalize(rng.normal(size=3)), (2 * T, 1, 3))
    side = normalize(np.cross(axis[0, 0], rng.normal(size=3)))
    way = np.cross(axis[0, 0], side)
    b = rng.uniform(0.2, 1.2)
    s = np.broadcast_to(np.cos(b) * axis[0, 0] + np.sin(b) * side, (2 * T, 1, 3))
    bend_dir = np.cross(way, s[0, 0])
    turn = rng.uniform(0.1, 0.5, T)  # spreads above MIN_DEVIATION
    ball = np.concatenate([np.cos(turn)[:, None] * s[0, 0] + np.sin(turn)[:, None] * bend_dir,
                           np.cos(turn)[:, None] * s[0, 0] + np.sin(turn)[:, None] * way])[:, None]
    way_spread, bend_spread = bend_spreads(ball, s, axis)
    np.testing.assert_allclose(way_spread, bend_spread, rtol=1e-9)
    side_cue = alignment_parts(ball, s, axis)
    for got, want in zip(hinge_alignment(ball, s, axis), side_cue):
        np.testing.assert_allclose(got, want / max(bend_spread[0], 1e-300), rtol=1e-9, atol=1e-9)
    phi = rng.uniform(-0.02, 0.02)
    hinge = np.einsum("ij,tnj->tni", rotation_about(axis[0, 0], phi),
                      np.concatenate([np.cos(turn)[:, None] * s[0, 0] + np.sin(turn)[:, None] * bend_dir] * 2)[:, None])
    along, across, reach = hinge_alignment(hinge, s, axis)
    _, iso_bend = bend_spreads(hinge, s, axis)
    assert np.all(np.hypot(along, across) > np.hypot(*alignment_parts(hinge, s, axis)[:2]) / iso_bend[0])


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), near_opposite=st.booleans())
def test_the_joints_own_roll_term_is_one_plus_the_cosine_of_its_swing(seed, near_opposite):
    """tr((Rot(d, phi) swing desired)^T desired), swing the smallest turn taking desired's bone
    direction onto d: (1 + cos swing) cos(phi) plus a constant (lookahead_roll's own term)."""
    rng = np.random.default_rng(seed)
    desired = axis_angle_to_matrix(rng.normal(size=(50, 3)), rng.uniform(0, np.pi, 50))
    from_dir = np.einsum("tij,tj->ti", desired, normalize(rng.normal(size=(50, 3))))
    d = normalize(-from_dir + 0.05 * rng.normal(size=(50, 3))) if near_opposite else normalize(rng.normal(size=(50, 3)))
    c = np.sum(from_dir * d, -1)
    base = swing_between_units(from_dir, d, c) @ desired
    phi = rng.uniform(-np.pi, np.pi, 50)

    def objective(angle):
        return np.einsum("tij,tij->t", rotation_about(d, angle) @ base, desired)

    # the matrices' rounding grows as 1 / (1 + c) near a half turn; the closed form has none
    np.testing.assert_allclose(objective(phi) - objective(np.zeros(50)), (1.0 + c) * (np.cos(phi) - 1.0), atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), n=st.integers(HALVED_FROM, 6 * HALVED_FROM), columns=st.integers(1, 3),
       complex_rhs=st.booleans(), breaks=st.integers(0, 5))
def test_a_long_tridiagonal_solve_halved_first_solves_the_system(seed, n, columns, complex_rhs, breaks):
    """Long systems are halved by cyclic reduction before the parallel one: the solution still
    satisfies every equation (odd and even lengths, several columns, runs broken by zero couplings)."""
    rng = np.random.default_rng(seed)
    lower, upper = -rng.uniform(0.0, 1e3, (n, columns)), -rng.uniform(0.0, 1e3, (n, columns))
    cut = rng.integers(0, n - 1, breaks)
    lower[cut + 1], upper[cut] = 0.0, 0.0
    diag = np.abs(lower) + np.abs(upper) + rng.uniform(1e-6, 10.0, (n, columns))
    rhs = rng.normal(size=(n, columns)) + (1j * rng.normal(size=(n, columns)) if complex_rhs else 0.0)
    x = tridiagonal_solve(lower, diag, upper, rhs)
    applied = diag * x
    applied[1:] += lower[1:] * x[:-1]
    applied[:-1] += upper[:-1] * x[1:]
    np.testing.assert_allclose(applied, rhs, rtol=0, atol=1e-9 * np.abs(diag).max())
    np.testing.assert_allclose(x, Tridiagonal(lower, diag, upper, rhs).solution, rtol=0, atol=1e-9)


def _pronating_arm(T: int = 90, fps: float = 60.0, bend: float = 40.0, elbow: float = 45.0):
    """An arm whose elbow swings 40 degrees at 3 Hz about ``elbow`` degrees and whose forearm
    pronates 80 degrees in one frame (and back over two) under a hand bent about ``bend`` degrees,
    with a bone tip on the hand."""
    rest = np.array([[0, 0, 0], [0.1, 0, 0], [0.1, -0.3, 0], [0.1, -0.6, 0]], float)
    rig = Skeleton(names=("root", "upper", "fore", "hand"), parents=np.array([-1, 0, 1, 2]), rest_positions=rest)
    t = np.arange(T) / fps
    R = np.broadcast_to(np.eye(3), (T, 4, 3, 3)).copy()
    R[:, 1] = basic_rotation(2, np.radians(20 * np.sin(2 * t)))
    pronation = np.interp(np.arange(T), [0, 40, 41, 48, 50, T], [0, 0, -80, -80, 0, 0])
    R[:, 2] = basic_rotation(0, np.radians(elbow + 40 * np.sin(6 * np.pi * t))) @ basic_rotation(1, np.radians(pronation))
    R[:, 3] = basic_rotation(0, np.radians(bend + (5 * np.sin(5 * t) if bend else 0.0)))
    clip = as_clip(rig, R, np.zeros((T, 3)), fps)
    return replace(clip, end_parents=np.array([3]), end_offsets=np.array([[0.0, -0.1, 0.0]]), end_names=["tip"])


def test_a_forearm_pronating_under_a_bent_hand_shares_the_turn():
    """The hand's bend plane turns 80 degrees in one frame: the positions cannot say whether the
    forearm rolled or the hand swung, and putting it all into the hand is a flip; the lookahead
    shares it with the forearm's roll (the carried reference roll alone does not)."""
    clip = _pronating_arm()
    for protocol in ("ref", "rest"):
        assert evaluate_clip(clip, protocol).flips == 0, protocol
        assert evaluate_clip(clip, protocol, twist="reference").flips > 0, protocol
    assert evaluate_clip(clip, "ref").mean_angle < evaluate_clip(clip, "ref", twist="swing").mean_angle


def test_a_forearm_near_a_half_turn_from_rest_still_shares_the_turn():
    """Bent 90-170 degrees from its rest direction, the forearm's own roll is poorly conditioned
    under the rest protocol and carried from the frames on either side; the hand's sudden turn is
    shared all the same (a step needs the hand's bend, not a known roll), and the hand, which never
    moves in the forearm, keeps still everywhere else instead of taking the carried roll's turns."""
    clip = _pronating_arm(elbow=130.0)
    sol = solve(tracks_from_bvh(clip, reference_frame=None))
    hand = clip.skeleton.index("hand")
    steps, true = rotation_steps(sol.rotations)[:, hand], rotation_steps(clip.rotations)[:, hand]
    turns = [40, 48, 49]  # the forearm's sudden pronation and its way back
    assert steps[turns].max() < 30.0
    assert np.abs(np.delete(steps - true, turns)).max() < 1.0


def _circling_forearm(cone: float, T: int = 90, fps: float = 30.0, tip: list[float] | None = None):
    """An arm whose forearm stands ``cone`` degrees (give or take 10) off its rest direction and
    circles it: slowly, then 120 degrees in 4 frames half way, under a hand with no children and no
    bone tip (``tip``: the hand's one bone tip, local offset), held straight on the forearm."""
    rest = np.array([[0, 0, 0], [0.1, 0, 0], [0.1, -0.3, 0], [0.1, -0.55, 0]], float)
    rig = Skeleton(names=("root", "upper", "fore", "hand"), parents=np.array([-1, 0, 1, 2]), rest_positions=rest)
    t = np.arange(T) / fps
    R = np.broadcast_to(np.eye(3), (T, 4, 3, 3)).copy()
    R[:, 1] = basic_rotation(2, np.radians(20 * np.sin(2 * t)))
    azimuth = np.radians(np.interp(np.arange(T), [0, T // 2, T // 2 + 4, T - 1], [0, 20, 140, 160]))
    off = np.radians(cone + 10 * np.sin(3 * t))
    way = np.stack([np.sin(off) * np.cos(azimuth), -np.cos(off), np.sin(off) * np.sin(azimuth)], -1)
    R[:, 2] = rotation_between(np.array([0.0, -1.0, 0.0]), way)
    clip = as_clip(rig, R, np.zeros((T, 3)), fps)
    if tip is None:
        return clip
    return replace(clip, end_parents=np.array([3]), end_offsets=np.array([tip]), end_names=["tip"])


@pytest.mark.parametrize("protocol", ["ref", "rest"])
def test_a_child_with_no_targets_rolls_its_joint_as_a_straight_child_does(protocol):
    """A hand with no targets of its own shows no bend, as a straight one does: the forearm's roll
    keeps the same step prior over both (it followed the smallest swing frame by frame under the
    one and moved continuously under the other: up to 12 and 24 degrees apart under `ref` and `rest`)."""
    reference = 0 if protocol == "ref" else None
    bare = solve(tracks_from_bvh(_circling_forearm(70.0), reference_frame=reference)).rotations
    straight = solve(tracks_from_bvh(_circling_forearm(70.0, tip=[0.0, -0.1, 0.0]), reference_frame=reference))
    assert np.degrees(geodesic_angle(bare, straight.rotations)).max() < 1e-6


@pytest.mark.parametrize("cone", [70.0, 80.0])
def test_a_forearm_over_a_hand_with_nothing_below_turns_no_more_than_its_direction_needs(cone):
    """Nothing tells the forearm's roll (the hand has no targets). Following the smallest swing
    from the reference frame by frame, it turned 1.5-3.3 degrees a frame beyond its own direction's
    step where the forearm circles that direction fast at a wide angle (LAFAN1's forearms under a
    lagging upper-arm roll: steps 9 degrees beyond the direction's, clean flips); carried with its
    step prior, it turns with its direction."""
    clip = _circling_forearm(cone)
    sol = solve(tracks_from_bvh(clip, reference_frame=0))
    fore, hand = clip.skeleton.index("fore"), clip.skeleton.index("hand")
    way = normalize(sol.rotations[:, fore] @ clip.skeleton.offsets[hand])  # the bone, seen from its parent
    needed = np.degrees(np.arccos(np.clip((way[1:] * way[:-1]).sum(-1), -1.0, 1.0)))
    assert (rotation_steps(sol.rotations)[:, fore] - needed).max() < 1.0


@pytest.mark.parametrize("seed", range(6))
def test_the_reference_frame_keeps_its_roll_under_noise(seed):
    """At the reference frame the reference pose is exact, so every joint keeps its reference roll
    there: the lookahead read the noisy bend of a nearly straight hand and turned the forearm's roll
    up to 21 degrees at that frame (and on a Character Creator thumb by 79 degrees, which the
    hand-over then carried through the whole clip)."""
    clip = _pronating_arm(T=120, bend=10.0)
    sol = solve(add_noise(tracks_from_bvh(clip, reference_frame=0), 0.005, seed))
    fore = clip.skeleton.index("fore")
    off = clip.rotations[0, fore].T @ sol.rotations[0, fore]
    axis = normalize(clip.skeleton.offsets[clip.skeleton.index("hand")])
    assert abs(np.degrees(twist_angle(off, axis))) < 3.0


@pytest.mark.parametrize("bend", [0.0, 40.0])
def test_shared_turns_do_not_depend_on_float_precision(bend):
    """A straight hand (its bend plane made of rounding) shares nothing: float32 and float64
    tracks give the same rotations."""
    tracks = tracks_from_bvh(_pronating_arm(bend=bend), reference_frame=0)
    rounded = replace(tracks, positions=tracks.positions.astype(np.float32).astype(np.float64),
                      end_positions=tracks.end_positions.astype(np.float32).astype(np.float64))
    assert np.degrees(geodesic_angle(solve(tracks).rotations, solve(rounded).rotations)).max() < 0.1


def test_a_child_passing_straight_in_a_plane_does_not_turn_its_parent_by_rounding():
    """A hand that flexes back and forth through straight in one plane turns its bend direction by
    exactly a half turn between frames, whose sign rounding alone decides: it is not shared with the
    forearm's roll, so float32 tracks far from the origin (50 heights, as a scene's far corner)
    give the rotations of float64 ones."""
    T, fps = 120, 60.0
    clip = _pronating_arm(T=T, fps=fps, bend=0.0)
    t = np.arange(T) / fps
    R = clip.rotations.copy()
    R[:, 3] = basic_rotation(0, np.radians(6.0 * np.sin(2 * np.pi * 1.3 * t) + 0.37))  # through straight
    clip = replace(clip, rotations=R)
    tracks = tracks_from_bvh(clip, reference_frame=0)
    shift = np.array([50.0, 0.0, 0.0]) * tracks.skeleton.height
    far = replace(tracks, positions=tracks.positions + shift, end_positions=tracks.end_positions + shift)
    rounded = replace(far, positions=far.positions.astype(np.float32).astype(np.float64),
                      end_positions=far.end_positions.astype(np.float32).astype(np.float64))
    assert np.degrees(geodesic_angle(solve(far).rotations, solve(rounded).rotations)).max() < 0.1


@FAST
@given(seed=st.integers(0, 2 ** 31 - 1), T=st.integers(10, 300), stretches=st.integers(1, 6),
       speed=st.floats(0.05, 1.5))
def test_widening_a_hand_over_changes_the_trust_smoothly(seed, T, stretches, speed):
    """No switching: a hand-over a little too fast is barely widened, and a small change of the
    rolls changes the trust by little (the widened frames fade in with how far past the limit)."""
    rng = np.random.default_rng(seed)
    psi = np.cumsum(rng.normal(0.0, speed, T))
    trust = _trust(rng, T, stretches)
    a, b = trust.copy(), trust.copy()
    widen_hand_overs(a, psi)
    widen_hand_overs(b, psi + rng.uniform(-1e-7, 1e-7, T))
    assert np.abs(a - b).max() < 1e-3
    assert (a <= trust).all()


@pytest.mark.parametrize("past", [0.0, 0.5, 1.0])
def test_a_hand_over_at_its_speed_limit_is_not_switched(past):
    """A stretch whose hand-over turns just under or just over the limit keeps nearly the same
    trust on either side (a switch took all of it away just over), and loses it fully from twice
    the limit on."""
    trust = np.ones(20)
    trust[8:11] = 0.5
    limit = np.radians(15.0) * 4                                    # frames 7 -> 11: four steps
    ramps = [np.clip(np.arange(20) - 7, 0, 4) / 4 * limit * (1 + past + e) for e in (-1e-6, 1e-6)]
    got = []
    for psi in ramps:
        t = trust.copy()
        widen_hand_overs(t, psi)
        got.append(t)
    assert np.abs(got[0] - got[1]).max() < 1e-3
    assert got[0][9] == pytest.approx({0.0: 0.5, 0.5: 0.25, 1.0: 0.0}[past], abs=1e-3)


def _sweeping_chain(seed: int, T: int = 60) -> Tracks:
    """Exact tracks of a chain root -> j1 -> j2 -> leaf j3, turning smoothly but fast (up to 1 Hz,
    amplitudes of 1.3 rad on every axis): j2's bone sweeps past the opposite of its reference
    direction within a few frames, and its roll is the policy's alone (its child is a leaf)."""
    offsets = np.array([[0, 1, 0], [0.1, 0.5, 0], [0.3, 0.2, 0.1], [0.1, 0.3, 0]])
    skeleton = Skeleton(("root", "j1", "j2", "j3"), np.array([-1, 0, 1, 2]), np.cumsum(offsets, axis=0))
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None, None] / 30.0
    r = rng.normal(size=(1, 6, 3)) * 0.8 + 1.3 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0, (1, 6, 3)) * t
                                                       + rng.uniform(0, 6.28, (1, 6, 3)))
    R6 = axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1))
    R = np.stack([R6[:, 0], R6[:, 1] @ R6[:, 2] @ R6[:, 3], R6[:, 4], R6[:, 5]], 1)
    root = np.array([0, 1, 0]) + 0.3 * np.sin(np.arange(T)[:, None] / 10.0 + np.array([1.0, 2.0, 3.0]))
    return Tracks(skeleton=skeleton, positions=forward_kinematics(skeleton, R, root)[1], fps=30.0)


@pytest.mark.parametrize("twist", ["lookahead", "reference"])
def test_a_bone_sweeping_past_its_opposite_in_a_few_frames_does_not_spin_its_roll(twist):
    """The reference roll turns by up to a half turn where a bone passes the opposite of its
    reference direction; handed over in the few frames a fast sweep takes, it spun by 40-60
    degrees a frame (flips in 2 and 6 of these 40 clips). The hand-over widens until it turns
    at most half a flip per frame."""
    flipped = [seed for seed in range(40) if solve(_sweeping_chain(seed), twist=twist).check.flips.any()]
    assert flipped == []


def test_a_depths_joints_solved_together_are_each_joints_own_solve():
    """The roll of one depth's joints worked together (stacks.joint_batches), where their aimed
    children mix one target, several and none (child_alignment works each kind on its own columns),
    gives exactly what one joint at a time gives."""
    from pathlib import Path

    from pose2rot_core import stacks
    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.solvers.geometric import roll

    clip = read_bvh(Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh")
    tracks = tracks_from_bvh(clip, reference_frame=None).frames(0, 60)
    kinds, padded = [], roll._side_by_side_padded

    def seen(children, shape):
        kinds.append({0 if c is None else c[0].shape[1] for c in children})
        return padded(children, shape)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(roll, "_side_by_side_padded", seen)
        together = solve(tracks).rotations
    assert any(1 in k and len(k) > 1 for k in kinds)  # hinge columns beside others in one batch
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stacks, "BATCH_FRAMES", 1)
        alone = solve(tracks).rotations
    assert np.array_equal(together, alone)


@settings(max_examples=40, deadline=None)
@given(st.integers(4, 30), st.data())
def test_the_carried_roll_starts_again_after_a_step_not_tied(T, data):
    """roll_from_steps with steps not tied (cuts): each piece sums its own steps from 0 at its first
    frame, and the reference frame anchors its own piece only."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    steps = rng.normal(size=(T - 1, 2))
    tied = rng.random(T - 1) > 0.3
    ref = data.draw(st.integers(0, T - 1))
    phi = roll_from_steps(steps, T, ref, tied=tied)
    starts = np.r_[0, np.flatnonzero(~tied) + 1, T]
    for a, b in zip(starts[:-1], starts[1:]):
        piece = np.r_[np.zeros((1, 2)), np.cumsum(steps[a:b - 1], axis=0)]
        np.testing.assert_allclose(phi[a:b], piece - (piece[ref - a] if a <= ref < b else 0.0), atol=1e-12)
    np.testing.assert_array_equal(roll_from_steps(steps, T, ref, tied=np.ones(T - 1, bool)),
                                  roll_from_steps(steps, T, ref))
