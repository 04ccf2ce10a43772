"""Geometric solver (pose2rot_core.solvers.solve with solver="geometric").

Synthetic clips: random trees with smooth random local rotations -> FK positions -> solve ->
check exact positions, determined rotations, reference-frame rotations, gaps, translation,
stretch, twist policies and flips. Real clips: round trips through pose2rot_core.evaluate.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pose2rot_core.bvh import read_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.evaluate import count_flips, evaluate_clip
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.rotations import axis_angle_to_matrix, basic_rotation, geodesic_angle, normalize, rotation_between
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solvers import solve as solve_with_cleaning
from pose2rot_core.solvers.geometric import TWIST_POLICIES, solve_geometric
from pose2rot_core.solvers.geometric.fit import SPREAD_HIGH_DEG, SPREAD_LOW_DEG
from pose2rot_core.tracks import Tracks

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_BVH = REPO_ROOT / ".." / "shared" / "data" / "bvh"
EXAMPLE_CLIP = REPO_ROOT / "examples" / "cmu_08_01.bvh"


# ----------------------------------------------------------------------------- synthetic data
def random_tree(rng: np.random.Generator, J: int, zero_fraction: float = 0.0) -> Skeleton:
    """Random parents, offsets of length 0.2..1.2 in random directions; about ``zero_fraction`` of the
    non-root joints but the first get a zero-length offset (joints sitting on their parent; with all
    of them there, the tracks would hold no pose, which the solver refuses)."""
    parents = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, J)])
    rest = np.zeros((J, 3))
    rest[0] = rng.normal(size=3)
    for j in range(1, J):
        d = rng.normal(size=3)
        off = d / np.linalg.norm(d) * rng.uniform(0.2, 1.2)
        if rng.random() < zero_fraction and j > 1:
            off = np.zeros(3)
        rest[j] = rest[parents[j]] + off
    return Skeleton(tuple(f"j{j}" for j in range(J)), parents, rest)


def smooth_rotations(rng: np.random.Generator, T: int, J: int, amplitude: float = 1.2) -> np.ndarray:
    """[T,J,3,3] local rotations following smooth random axis-angle curves."""
    t = np.linspace(0.0, 1.0, T)[:, None, None]
    base = rng.normal(size=(1, J, 3)) * 0.6
    amp = rng.normal(size=(1, J, 3)) * amplitude
    freq = rng.uniform(0.5, 2.0, size=(1, J, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(1, J, 3))
    r = base + amp * np.sin(2 * np.pi * freq * t + phase)
    return axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1))


def synthetic(rng: np.random.Generator, J: int, T: int, zero_fraction: float = 0.0):
    """(skeleton, true local rotations, root translation, positions)."""
    sk = random_tree(rng, J, zero_fraction)
    R = smooth_rotations(rng, T, J)
    root = sk.rest_positions[0] + np.cumsum(rng.normal(size=(T, 3)) * 0.05, axis=0)
    _, P = forward_kinematics(sk, R, root)
    return sk, R, root, P


def solve(tracks: Tracks, **options):
    """The solver itself on the tracks as given: no smoothing (synthetic tracks are exact, and fast
    synthetic motion must not be mistaken for noise). Real clips below use the default cleaning."""
    return solve_with_cleaning(tracks, smooth="off", **options)


def max_position_error(sol, positions: np.ndarray) -> float:
    return float(np.nanmax(np.linalg.norm(sol.positions - positions, axis=-1)))


def determined_joints(sk: Skeleton, low_deg: float = SPREAD_HIGH_DEG) -> list[int]:
    """Joints whose direct children (with length) spread about their principal axis by at least
    ``low_deg`` (default SPREAD_HIGH_DEG), in the solver's own measure (see solvers/geometric/fit.py):
    from SPREAD_HIGH_DEG on the best fit alone decides the roll, so clean tracks give it exactly."""
    out = []
    for j, ch in enumerate(sk.children):
        vecs = np.array([sk.offsets[c] for c in ch if np.linalg.norm(sk.offsets[c]) > 1e-9]).reshape(-1, 3)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=-1, keepdims=True), 1e-300)  # the fit aligns directions
        lam = np.linalg.eigvalsh(vecs.T @ vecs)
        if len(vecs) >= 2 and np.sqrt((lam[0] + lam[1]) / lam[2]) >= np.tan(np.radians(low_deg)):
            out.append(j)
    return out


def partly_determined_joints(sk: Skeleton) -> list[int]:
    """Joints whose children spread by SPREAD_LOW_DEG to SPREAD_HIGH_DEG: the solver blends the best
    fit with the single aim there, and may put the children off the aim on their tracks by translation."""
    return sorted(set(determined_joints(sk, SPREAD_LOW_DEG)) - set(determined_joints(sk)))


TREE = dict(J=st.integers(5, 25), seed=st.integers(0, 2 ** 31 - 1))


# ----------------------------------------------------------------------------- exactness
@settings(max_examples=25, deadline=None)
@given(twist=st.sampled_from(TWIST_POLICIES), **TREE)
@example(J=15, seed=23033, twist="lookahead")  # a joint's two children 0.97 degrees from one line
def test_random_trees_exact_positions(J, seed, twist):
    rng = np.random.default_rng(seed)
    sk, R, root, P = synthetic(rng, J, T=24, zero_fraction=0.2)
    sol = solve(Tracks(skeleton=sk, positions=P, fps=30.0), twist=twist)
    assert sol.rotations.shape == (24, J, 3, 3) and np.isfinite(sol.rotations).all()
    assert max_position_error(sol, P) < 1e-6 * sk.height
    # rigid bones stay rigid, except children of a joint whose roll its children fix only partly (said)
    partly = np.isin(sk.parents, partly_determined_joints(sk))
    assert not sol.translating[~partly].any()
    assert not sol.translating.any() or any("put on the track by translation" in line for line in sol.report)
    rigid = np.flatnonzero(~sol.translating[1:]) + 1
    np.testing.assert_allclose(sol.local_offsets[:, rigid], np.broadcast_to(sk.offsets[rigid], (24, len(rigid), 3)), atol=1e-9)
    np.testing.assert_allclose(sol.root_translation, root, atol=1e-12)
    # proper rotations
    np.testing.assert_allclose(np.linalg.det(sol.rotations), 1.0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(**TREE)
def test_random_trees_determined_rotations_match_truth(J, seed):
    rng = np.random.default_rng(seed)
    sk, R, root, P = synthetic(rng, J, T=16, zero_fraction=0.0)
    sol = solve(Tracks(skeleton=sk, positions=P, fps=30.0))
    G_true, _ = forward_kinematics(sk, R, root)
    G_sol, _ = sol.forward()
    joints = determined_joints(sk)
    if joints:
        assert np.degrees(geodesic_angle(G_sol[:, joints], G_true[:, joints])).max() < 1e-4


@settings(max_examples=25, deadline=None)
@given(twist=st.sampled_from(TWIST_POLICIES), **TREE)
def test_reference_frame_reproduces_truth(J, seed, twist):
    """With the true rotations of frame 0 as the reference, frame 0 comes back exactly for every joint
    (leaves and zero-length joints included)."""
    rng = np.random.default_rng(seed)
    sk, R, root, P = synthetic(rng, J, T=24, zero_fraction=0.2)
    tracks = Tracks(skeleton=sk, positions=P, fps=30.0, reference_frame=0, reference_rotations=R[0])
    sol = solve(tracks, twist=twist)
    assert np.degrees(geodesic_angle(sol.rotations[0], R[0])).max() < 1e-4
    assert max_position_error(sol, P) < 1e-6 * sk.height


def test_end_sites_determine_leaf_rotations():
    """A leaf with two bone tips is fully determined by them."""
    rng = np.random.default_rng(11)
    sk, R, root, P = synthetic(rng, 8, T=20)
    leaves = [j for j, c in enumerate(sk.children) if not c]
    end_parents = np.repeat(leaves, 2)
    end_off = rng.normal(size=(len(end_parents), 3))
    G, _ = forward_kinematics(sk, R, root)
    ends = P[:, end_parents] + np.einsum("tkab,kb->tka", G[:, end_parents], end_off)
    tracks = Tracks(skeleton=sk, positions=P, fps=30.0, end_positions=ends, end_parents=end_parents,
                    end_rest_offsets=end_off)
    sol = solve(tracks)
    G_sol, _ = sol.forward()
    assert np.degrees(geodesic_angle(G_sol[:, leaves], G[:, leaves])).max() < 1e-4


# ----------------------------------------------------------------------------- caller order
def test_shuffled_caller_order_gives_the_same_solution():
    rng = np.random.default_rng(3)
    sk, R, root, P = synthetic(rng, 14, T=20)
    perm = rng.permutation(14)
    perm = np.concatenate([perm[perm != 0][:5], [0], perm[perm != 0][5:]])  # root not first either
    inv = np.argsort(perm)
    shuffled = Skeleton.from_any_order([sk.names[p] for p in perm],
                                       [-1 if sk.parents[p] < 0 else int(inv[sk.parents[p]]) for p in perm],
                                       sk.rest_positions[perm])
    caller_positions = P[:, perm]
    tracks = Tracks(skeleton=shuffled, positions=shuffled.from_caller(caller_positions, axis=1), fps=30.0)
    sol = solve(tracks)
    assert max_position_error(sol, tracks.positions) < 1e-6 * sk.height
    np.testing.assert_allclose(shuffled.to_caller(sol.positions, axis=1), caller_positions, atol=1e-6 * sk.height)
    # by joint name, the solution equals the solve on the sorted skeleton
    ref = solve(Tracks(skeleton=sk, positions=P, fps=30.0))
    by_name = [sk.names.index(n) for n in shuffled.names]
    assert np.degrees(geodesic_angle(sol.forward()[0], ref.forward()[0][:, by_name])).max() < 1e-6


# ----------------------------------------------------------------------------- missing data
def chain_with_branch() -> Skeleton:
    """hips(0) -> spine(1) -> chest(2) -> {neck(3) -> head(4), arm(5) -> hand(6)}; hips -> leg(7) -> foot(8)."""
    parents = [-1, 0, 1, 2, 3, 2, 5, 0, 7]
    off = [[0, 1, 0], [0, 0.5, 0], [0, 0.5, 0.05], [0, 0.3, 0], [0, 0.2, 0], [0.3, 0.1, 0], [0.4, 0, 0],
           [0.1, -0.5, 0], [0, -0.5, 0]]
    rest = np.zeros((9, 3))
    for j in range(9):
        rest[j] = off[j] if j == 0 else rest[parents[j]] + off[j]
    return Skeleton(("hips", "spine", "chest", "neck", "head", "arm", "hand", "leg", "foot"),
                    np.array(parents), rest)


def branch_clip(T: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    sk = chain_with_branch()
    R = smooth_rotations(rng, T, sk.num_joints, amplitude=0.5)
    root = sk.rest_positions[0] + np.cumsum(rng.normal(size=(T, 3)) * 0.01, axis=0)
    _, P = forward_kinematics(sk, R, root)
    return sk, R, root, P


def test_joint_without_data_keeps_reference_and_is_reported():
    """A joint with no data and nothing tracked below it (a leaf) keeps its reference rotation."""
    joint = "head"
    sk, R, root, P = branch_clip()
    j = sk.index(joint)
    P = P.copy()
    P[:, j] = np.nan
    ref = R[0]
    sol = solve(Tracks(skeleton=sk, positions=P, fps=30.0, reference_frame=0, reference_rotations=ref))
    assert np.isfinite(sol.rotations).all() and np.isfinite(sol.positions).all()
    assert np.degrees(geodesic_angle(sol.rotations[:, j], ref[j])).max() < 1e-6
    assert any(f"'{joint}'" in line and "no data" in line for line in sol.report), sol.report
    # the other tracked joints that do not hang below the missing one are still exact
    below = sk.ancestor_mask()[:, j]
    err = np.linalg.norm(sol.positions - P, axis=-1)[:, ~below]
    assert err.max() < 1e-6 * sk.height


@pytest.mark.parametrize("joint", ["neck", "arm"])
def test_joint_without_data_between_tracked_ones_is_placed_and_reported(joint):
    """A joint with no data but tracked joints above and below it is placed between them, and the
    report says so: the joints not below it stay exact, those below come nearer their tracks (this
    two-bone chain's bend is only a few degrees, so the side it bends to is nearly a guess: within
    5 % of the height, 6.3 and 10.5 % when the joint kept its reference rotation)."""
    sk, R, root, P = branch_clip()
    j = sk.index(joint)
    P = P.copy()
    P[:, j] = np.nan
    sol = solve(Tracks(skeleton=sk, positions=P, fps=30.0, reference_frame=0, reference_rotations=R[0]))
    assert np.isfinite(sol.rotations).all() and np.isfinite(sol.positions).all()
    assert any(f"'{joint}'" in line and "placed between the tracked joints" in line for line in sol.report), sol.report
    tracked = np.ones(sk.num_joints, bool)
    tracked[j] = False
    below = sk.ancestor_mask()[:, j] & tracked
    err = np.linalg.norm(sol.positions - P, axis=-1) / sk.height
    assert err[:, tracked & ~below].max() < 1e-6 and err[:, below].max() < 0.05


def test_nan_gaps_are_filled_and_reported():
    sk, R, root, P = branch_clip(T=60)
    P = P.copy()
    P[10:16, sk.index("hand")] = np.nan
    P[30:33, sk.index("chest"), 1] = np.nan  # one coordinate missing counts as the whole sample
    P[0:4, sk.index("foot")] = np.nan  # leading gap: held
    sol = solve(Tracks(skeleton=sk, positions=P, fps=30.0))
    assert np.isfinite(sol.rotations).all() and np.isfinite(sol.positions).all()
    assert sum(line.startswith("filled ") for line in sol.report) == 3, sol.report
    known = ~np.isnan(P).any(axis=(1, 2))
    assert np.linalg.norm(sol.positions - P, axis=-1)[known].max() < 1e-6 * sk.height


def test_root_without_data_is_an_error():
    sk, R, root, P = branch_clip()
    P = P.copy()
    P[:, 0] = np.nan
    with pytest.raises(Pose2RotError, match="root joint 'hips' has no data"):
        solve(Tracks(skeleton=sk, positions=P, fps=30.0))


def test_unknown_options_are_errors():
    sk, R, root, P = branch_clip(T=5)
    tracks = Tracks(skeleton=sk, positions=P)
    with pytest.raises(Pose2RotError, match="twist policy must be one of .*, got 'roll'"):
        solve(tracks, twist="roll")
    with pytest.raises(Pose2RotError, match="stretch must be one of auto, exact, off, got 'yes'"):
        solve(tracks, stretch="yes")
    with pytest.raises(Pose2RotError, match="solver must be one of geometric, learned, hybrid, got 'magic'"):
        solve_with_cleaning(tracks, solver="magic")
    with pytest.raises(Pose2RotError, match="unknown twist policy 'roll'"):
        solve_geometric(tracks, twist="roll")


# ----------------------------------------------------------------------------- translation / stretch
def floor_root_clip(T: int = 80):
    """A floor-level root (never rotating) with hips moving freely above it (height and sway)."""
    sk = Skeleton(("ground", "hips", "spine", "head", "legL", "legR"), np.array([-1, 0, 1, 2, 1, 1]),
                  np.array([[0, 0, 0], [0, 1.0, 0], [0, 1.5, 0], [0, 2.0, 0], [0.2, 0.5, 0], [-0.2, 0.5, 0]]))
    rng = np.random.default_rng(5)
    R = smooth_rotations(rng, T, 6, amplitude=0.4)
    R[:, 0] = np.eye(3)
    t = np.linspace(0, 2 * np.pi, T)
    offsets = np.broadcast_to(sk.offsets, (T, 6, 3)).copy()
    offsets[:, 1] = np.stack([0.3 * np.sin(t), 1.0 - 0.4 * (1 - np.cos(t)), 0.2 * np.sin(2 * t)], -1)
    root = np.stack([t, np.zeros(T), np.zeros(T)], -1)
    _, P = forward_kinematics(sk, R, root, offsets)
    return sk, P


def test_translating_child_is_marked_and_positions_exact():
    sk, P = floor_root_clip()
    sol = solve(Tracks(skeleton=sk, positions=P, fps=30.0))
    hips = sk.index("hips")
    assert sol.translating[hips]
    assert not sol.translating[[2, 3, 4, 5]].any()
    assert max_position_error(sol, P) < 1e-6 * sk.height
    assert np.ptp(sol.local_offsets[:, hips, 1]) > 0.5  # the solved offset really moves
    assert any("1 joint moves away from the parent ('hips')" in line for line in sol.report), sol.report


def test_stretch_off_keeps_bone_lengths_and_reports():
    sk, R, root, P = branch_clip()
    P = P.copy()
    hand = sk.index("hand")
    P[:, hand] = P[:, 5] + 1.2 * (P[:, hand] - P[:, 5])  # forearm 20 % longer than the rig's
    off = solve(Tracks(skeleton=sk, positions=P, fps=30.0), stretch="off")
    assert not off.translating.any()
    np.testing.assert_allclose(off.local_offsets[:, 1:], np.broadcast_to(sk.offsets[1:], (P.shape[0], 8, 3)))
    assert any(line.startswith("1 bone differs from its rest length ('hand' by ") for line in off.report), off.report
    # the rigid bone points at the track: the hand lands on the line from the arm, at the rig's length
    d_sol = off.positions[:, hand] - P[:, 5]
    d_trk = P[:, hand] - P[:, 5]
    cos = np.einsum("ti,ti->t", d_sol, d_trk) / np.linalg.norm(d_sol, axis=-1) / np.linalg.norm(d_trk, axis=-1)
    assert cos.min() > 1 - 1e-9
    np.testing.assert_allclose(np.linalg.norm(d_sol, axis=-1), np.linalg.norm(sk.offsets[hand]), rtol=1e-9)
    # a constant length difference is a proportion, not a motion: auto keeps the rig's bone too ...
    auto = solve(Tracks(skeleton=sk, positions=P, fps=30.0))
    assert not auto.translating.any()
    assert np.degrees(geodesic_angle(auto.rotations, off.rotations)).max() < 1e-6
    # ... and stretch exact matches the tracks by translating the hand
    exact = solve(Tracks(skeleton=sk, positions=P, fps=30.0), stretch="exact")
    assert exact.translating[hand] and exact.translating.sum() == 1
    assert max_position_error(exact, P) < 1e-6 * sk.height


def test_the_note_on_bones_off_their_rest_length_names_every_one_worst_first():
    """Tracks with the forearm 20 % longer and the shin 10 % shorter than the rig's: the note named
    only the worst bone ('2 bones differ ... (worst 'hand': ...)'), so a user fixing the rig or the
    tracker learnt of one. Now it names both, the furthest first, each with how far it is off."""
    sk, R, root, P = branch_clip()
    P = P.copy()
    hand, foot = sk.index("hand"), sk.index("foot")
    P[:, hand] = P[:, 5] + 1.2 * (P[:, hand] - P[:, 5])
    P[:, foot] = P[:, 7] + 0.9 * (P[:, foot] - P[:, 7])
    notes = [n for n in solve(Tracks(skeleton=sk, positions=P, fps=30.0), stretch="off").report
             if "differ from their rest length" in n]
    lengths = np.linalg.norm(sk.offsets, axis=-1)
    hand_off, foot_off = (100 * share * lengths[j] / sk.height for share, j in ((0.2, hand), (0.1, foot)))
    assert len(notes) == 1 and notes[0].startswith(
        f"2 bones differ from their rest length ('hand' by {hand_off:.3g} % of height and 'foot' by {foot_off:.3g} %): "
    ), notes


def test_tracks_of_a_larger_performer_give_the_rig_the_same_rotations():
    """Retargeting: tracks of a performer 1.3x the rig's size (and longer arms) leave the rig's bone
    lengths alone by default; every bone still points where its track does."""
    rng = np.random.default_rng(11)
    sk, R, root, P = synthetic(rng, 12, T=40)
    big = Skeleton(sk.names, sk.parents, sk.rest_positions * 1.3)
    _, P_big = forward_kinematics(big, R, root)
    sol = solve(Tracks(skeleton=sk, positions=P_big, fps=30.0))
    assert not sol.translating[1:].any()
    np.testing.assert_allclose(sol.local_offsets[:, 1:], np.broadcast_to(sk.offsets[1:], (40, 11, 3)), atol=1e-12)
    G_sol, P_sol = sol.forward()
    G_true, _ = forward_kinematics(sk, R, root)
    # bone directions follow the tracks (positions are the rig's, scaled down about each parent)
    for j in range(1, 12):
        p = sk.parents[j]
        d_sol = normalize(P_sol[:, j] - P_sol[:, p])
        d_trk = normalize(P_big[:, j] - P_big[:, p])
        assert np.einsum("ti,ti->t", d_sol, d_trk).min() > 1 - 1e-9, sk.names[j]
    determined = determined_joints(sk)
    assert np.degrees(geodesic_angle(G_sol[:, determined], G_true[:, determined])).max() < 1e-5
    assert any("keep the rig's bone length" in line for line in sol.report), sol.report


# ----------------------------------------------------------------------------- twist and flips
def swinging_arm(T: int = 120, tilt: float = 0.05):
    """shoulder(0) -> upper(1) -> lower(2) -> hand(3), bent elbow at rest. The upper arm turns a full
    circle about a slightly tilted axis, so its bone passes close to the opposite of its rest direction."""
    rest = np.array([[0, 0, 0], [0.2, 0, 0], [0.5, 0, 0], [0.7, 0.2, 0]])
    sk = Skeleton(("shoulder", "upper", "lower", "hand"), np.array([-1, 0, 1, 2]), rest)
    theta = np.linspace(0, 2 * np.pi, T)
    R = np.broadcast_to(np.eye(3), (T, 4, 3, 3)).copy()
    R[:, 1] = basic_rotation(1, np.full(T, tilt)) @ basic_rotation(2, theta)
    R[:, 2] = basic_rotation(2, 0.3 * np.sin(theta))  # the elbow bends a little more and less
    _, P = forward_kinematics(sk, R, np.zeros((T, 3)))
    return sk, R, P


@pytest.mark.parametrize("twist", TWIST_POLICIES)
def test_twist_policies_exact_on_swinging_arm(twist):
    sk, R, P = swinging_arm()
    sol = solve(Tracks(skeleton=sk, positions=P, fps=30.0), twist=twist)
    assert max_position_error(sol, P) < 1e-6 * sk.height


def test_no_flips_where_the_smallest_swing_flips():
    sk, R, P = swinging_arm()
    tracks = Tracks(skeleton=sk, positions=P, fps=30.0)
    assert count_flips(R, R) == 0
    # the motion is hard: the smallest swing from the rest direction turns the upper arm abruptly
    naive = R.copy()
    naive[:, 1] = rotation_between(np.array([1.0, 0, 0]), P[:, 2] - P[:, 1])
    assert count_flips(naive, R) > 0
    lookahead = solve(tracks, twist="lookahead")
    assert count_flips(lookahead.rotations, R) == 0
    transport = solve(tracks, twist="transport")
    assert count_flips(transport.rotations, R) == 0
    reference = solve(tracks, twist="reference")
    assert count_flips(reference.rotations, R) == 0  # the roll continuity keeps it from flipping too
    # the elbow bend plane is visible in the positions: lookahead follows the true roll of the upper
    # arm more closely than the reference policy does
    err_look = np.degrees(geodesic_angle(lookahead.rotations[:, 1], R[:, 1]))
    err_ref = np.degrees(geodesic_angle(reference.rotations[:, 1], R[:, 1]))
    assert err_look.max() < 10.0 and err_look.mean() < err_ref.mean()


def test_sibling_order_does_not_change_a_compromise_fit():
    """A joint whose only targets sit behind a zero-length joint gets a compromise fit; listing the
    children in another order (as Blender may) gives the same rotations."""
    rng = np.random.default_rng(5)
    names = ("root", "hub", "a", "b", "c")
    rest = {"root": [0, 0, 0], "hub": [0, 0, 0], "a": [0.5, 0.1, 0], "b": [0.1, 0.6, 0.2], "c": [-0.4, 0.2, 0.5]}
    R = smooth_rotations(rng, 25, 5)
    solved = []
    for order in (("root", "hub", "a", "b", "c"), ("root", "hub", "c", "a", "b")):
        parents = np.array([-1, 0, 1, 1, 1])
        sk = Skeleton(order, parents, np.array([rest[n] for n in order], float))
        _, P = forward_kinematics(sk, R[:, [names.index(n) for n in order]], np.zeros((25, 3)))
        sol = solve(Tracks(skeleton=sk, positions=P, fps=30.0))
        solved.append(sol.rotations[:, [order.index(n) for n in names]])
    assert np.degrees(geodesic_angle(solved[0], solved[1])).max() < 1e-6


def test_progress_reaches_one():
    sk, R, root, P = branch_clip(T=5)
    calls = []
    solve(Tracks(skeleton=sk, positions=P), progress=lambda f, m: calls.append((f, m)))
    assert calls and calls[-1][0] == pytest.approx(1.0)
    assert all(0 < f <= 1 for f, _ in calls) and [f for f, _ in calls] == sorted(f for f, _ in calls)


def test_progress_covers_the_smoothing_pass_and_the_check():
    """Noisy tracks are solved twice (the second pass smooths the rotations over time) and then
    checked: the progress reached 100 % with the first pass and stood there through the rest (on a
    long clip most of the solve). Each pass has its part now, in order, and the check its own."""
    from pose2rot_core.evaluate import add_noise
    from pose2rot_core.tracks_io import tracks_from_bvh

    noisy = add_noise(tracks_from_bvh(read_bvh(example_clip())), 0.005)
    calls = []
    sol = solve_with_cleaning(noisy, progress=lambda f, m: calls.append((f, m)))
    assert any("smoothed over time" in note for note in sol.report), sol.report
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    first = [f for f, m in calls if m.startswith("solved ") and "/" in m]
    second = [f for f, m in calls if m.startswith("smoothing over time: ")]
    check = [f for f, m in calls if m.startswith("checking")]
    assert first and second and check and max(first) <= min(second) and max(second) <= min(check) < 1.0
    scale = [f for f, m in calls if m.startswith("smoothing down the chain: the motion's scale: frame")]
    chain = [f for f, m in calls if m.startswith("smoothing down the chain: frame")]
    assert scale and chain and max(second) <= min(scale) and max(scale) <= min(chain) and max(chain) <= min(check)


def test_progress_counts_the_cleaning_of_the_tracks():
    """The cleaning of the tracks (spikes, swaps, gaps, noise read: 27-67 % of a solve's time on the
    development clips, 27 s of 77 on 100,000 noisy frames) reported nothing, so the first fraction came
    after it, at 2 %, and a bar's estimate of the time left was many times too long. Its end is now a
    fraction of its own, before the first joint is solved, the rest in order after it."""
    from pose2rot_core.tracks_io import tracks_from_bvh

    calls = []
    solve(tracks_from_bvh(read_bvh(example_clip())), progress=lambda f, m: calls.append((f, m)))
    assert calls[0][1] == "tracks read: gaps, glitches and noise" and 0.25 <= calls[0][0] <= 0.5, calls[:2]
    assert calls[1][1].startswith("solved 1/") and calls[1][0] > calls[0][0], calls[:2]
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- real clips
def example_clip() -> Path:
    if EXAMPLE_CLIP.is_file():
        return EXAMPLE_CLIP
    if (SHARED_BVH / "cmu_08_01.bvh").is_file():  # the same clip, before examples/ ships it
        return SHARED_BVH / "cmu_08_01.bvh"
    pytest.skip("needs examples/cmu_08_01.bvh (or ../shared/data/bvh/cmu_08_01.bvh)")


def test_example_clip_round_trip():
    clip = read_bvh(example_clip())
    ref = evaluate_clip(clip, protocol="ref")
    rest = evaluate_clip(clip, protocol="rest")
    assert ref.mean_angle < 5.0, ref.mean_angle
    for score in (ref, rest):
        assert score.position_error_max < 0.01, (score.protocol, score.position_error_max)
        assert score.flips == 0, (score.protocol, score.flips)


def _walk_far_out() -> tuple[Tracks, np.ndarray]:
    """(the shipped walk's clean tracks without bone tips, the shift [3] that puts them 1000 units out
    for a body 1.4 units tall)."""
    from pose2rot_core.tracks_io import tracks_from_bvh

    tracks = tracks_from_bvh(read_bvh(example_clip()))
    tracks = replace(tracks, end_positions=None, end_parents=None, end_rest_offsets=None, end_names=())
    return tracks, np.array([1000.0 / 1.4 * tracks.skeleton.height, 0.0, 0.0])


def _no_joint_but_the_root_translates(tracks: Tracks) -> None:
    """Solve ``tracks`` (clean): no joint but the root translates, and the joints stay within 0.01 %
    of the height of their tracks."""
    sol = solve_with_cleaning(tracks)
    assert not sol.translating[1:].any(), [line for line in sol.report if "translation" in line]
    assert np.abs(sol.positions - tracks.positions).max() < 1e-4 * tracks.skeleton.height


def test_float32_tracks_far_from_the_origin_keep_their_bones():
    """A clean clip 1000 units out for a body 1.4 units tall, given in float32 (as Blender gives its
    tracks): rounding moves each coordinate by up to 2e-5 of the height, past the clean tolerance
    (1e-5), and the length-based noise estimate does not see it (it lies along the far axis, across
    most bones). 28 joints were translated to follow it; now no joint but the root translates, and
    the joints stay within 0.01 % of the height of their tracks."""
    tracks, shift = _walk_far_out()
    _no_joint_but_the_root_translates(replace(tracks, positions=(tracks.positions + shift).astype(np.float32)))


def test_float32_tracks_with_a_joint_worked_out_in_float64_keep_their_bones():
    """The same float32 tracks with one joint's track worked out in float64 (a joint placed between
    tracked ones, or carried with the body): the other joints' numbers still tell the float32 step
    (with every coordinate required to be float32, none did, and 28 joints translated)."""
    tracks, shift = _walk_far_out()
    far = (tracks.positions + shift).astype(np.float32).astype(np.float64)
    far[:, tracks.skeleton.children[0][0]] += 1e-7 * tracks.skeleton.height  # no longer a float32 number
    _no_joint_but_the_root_translates(replace(tracks, positions=far))


def test_float32_tracks_of_jittery_clean_motion_far_from_the_origin_are_not_smoothed():
    """The shipped arm, its joints below the root turned 10 degrees at random every frame (a clean file
    of jittery motion; six draws), 20, 50 and 200 heights out and given in float32: rounding moves its
    bones' lengths by a few float32 steps, slowly rather than as noise does, so they read as motion
    and not as rigid, and the joints' jittery vectors were taken for noise: one of the 18 had two of
    its five tracks smoothed (1 % of noise read) and its rotations 28 degrees from the float64
    tracks', which none is smoothed in. Lengths kept to float32 rounding are rigid: nothing is
    smoothed, and the rotations are the float64 tracks' within 0.1 degree."""
    from pose2rot_core.tracks_io import tracks_from_bvh

    clip = read_bvh(Path(__file__).resolve().parents[1] / "examples" / "arm.bvh")
    for seed in range(6):
        turns = np.random.default_rng(seed).normal(0.0, np.radians(10.0), clip.rotations.shape[:2] + (3,))
        turns[:, 0] = 0.0  # the root keeps its path
        angles = np.maximum(np.linalg.norm(turns, axis=-1), 1e-12)
        jittery = replace(clip, rotations=clip.rotations @ axis_angle_to_matrix(turns / angles[..., None], angles))
        tracks = tracks_from_bvh(jittery, reference_frame=0)
        for heights in (20.0, 50.0, 200.0):
            shift = np.array([heights * tracks.skeleton.height, 0.0, 0.0])
            far = replace(tracks, positions=tracks.positions + shift, end_positions=tracks.end_positions + shift)
            in_float32 = replace(far, positions=far.positions.astype(np.float32).astype(np.float64),
                                 end_positions=far.end_positions.astype(np.float32).astype(np.float64))
            sol = solve_with_cleaning(in_float32)
            assert not [line for line in sol.report if "smoothed" in line], (seed, heights)
            turned = np.degrees(geodesic_angle(sol.rotations, solve_with_cleaning(far).rotations)).max()
            assert turned < 0.1, (seed, heights, turned)


def test_float32_tracks_of_hips_walking_off_a_floor_root_turn_it_as_float64_ones_do():
    """A random tree's root path (rough, so its floor root's one bone reads as noisy) over a floor
    root that stays: whether the hips move away from it was read against the body's bones' spread
    over their noise, and the clean bones' spread and noise were both rounding (1e-15 of the height
    against 1e-18 in float64, 1e-8 against 2e-9 in float32), a ratio of 221 or of 5: in float64
    the hips were held at one offset, the floor root turned to aim at them (14 degrees, which
    nothing tracks and the clip never does), and the float32 tracks' solve differed by 14 degrees
    (h227). A bone rigid to rounding shows no noise: both leave the floor root unturned."""
    from pose2rot_core.tracks_io import tracks_from_bvh
    from pose2rot_core.variants import make_variant, random_tree_clip

    clip = make_variant(random_tree_clip(15, 240, 1), "floor_root")
    tracks = tracks_from_bvh(clip, reference_frame=0)
    in_float32 = replace(tracks, positions=tracks.positions.astype(np.float32).astype(np.float64),
                         end_positions=tracks.end_positions.astype(np.float32).astype(np.float64))
    for read in (tracks, in_float32):
        assert np.degrees(geodesic_angle(solve_with_cleaning(read).rotations[:, 0], np.eye(3))).max() < 0.1


def test_tracks_read_in_a_scaled_space_keep_their_bones_given_their_coordinate_step():
    """Float32 tracks 1000 units out turned into another space (Blender's empties read in a moved
    armature's space, scaled 0.01): the numbers are float64 there, so their rounding (now 100 times
    the float32 step, in the new units) cannot be read from them, and 28 joints were translated.
    Given as Tracks.coordinate_step (carried by frames()), only the root translates; a negative step
    is refused."""
    tracks, shift = _walk_far_out()
    world = (tracks.positions + shift).astype(np.float32)
    step = float(np.spacing(np.abs(world).max())) / 0.01
    tracks = replace(tracks, skeleton=replace(tracks.skeleton, rest_positions=tracks.skeleton.rest_positions / 0.01),
                     positions=(world - shift) / 0.01, coordinate_step=step)
    assert tracks.frames(10, 60).coordinate_step == step
    _no_joint_but_the_root_translates(tracks)
    with pytest.raises(Pose2RotError, match="coordinate_step"):
        replace(tracks, coordinate_step=-step)


def _fbx_simplified(curve: np.ndarray) -> np.ndarray:
    """A sampled curve [T] as Blender's FBX exporter writes it at its default simplification (factor
    1): a sample is kept where it differs from a neighbour, or from the last one kept, by more than
    0.1 % of the two values' magnitudes (0.01 % near zero), and the first and last always; read back
    by straight lines between the kept ones."""
    def differ(a: float, b: float) -> bool:
        return abs(a - b) > 1e-3 * max(abs(a) + abs(b), 0.1)

    kept = np.zeros(len(curve), bool)
    kept[[0, -1]] = True
    for i in range(1, len(curve)):
        if differ(curve[i], curve[i - 1]):
            kept[i - 1:i + 1] = True
    last = 0
    for i in range(1, len(curve)):
        if not kept[i] and curve[i] != curve[i - 1] and differ(curve[i], curve[last]):
            kept[i] = True
        last = i if kept[i] else last
    frames = np.arange(len(curve))
    return np.interp(frames, frames[kept], curve[kept])


def test_curves_simplified_by_an_fbx_export_keep_the_bones():
    """The shipped walk's first 40 frames with every coordinate's curve simplified as an FBX export
    does by default: the bones leave the rig's shape by up to 0.3 % of the height for a few frames
    at a time, which the noise read from the tracks does not tell (below 0.02 %) and a quarter
    second's average does not take out (up to 0.02 %, more than that noise explains). 32 joints were
    put on their tracks by translation (in Blender, location keys on the spine and fingers); now
    none, as the bone lengths' own changes over the clip tell what is the tracks' doing. A bone
    that really stretches (the forearm, by up to 2 % of the height) still translates."""
    from pose2rot_core.tracks_io import tracks_from_bvh

    tracks = tracks_from_bvh(read_bvh(example_clip())).frames(0, 40)
    skel = tracks.skeleton

    def simplified(positions: np.ndarray) -> np.ndarray:
        return np.apply_along_axis(_fbx_simplified, 0, positions)

    clip = replace(tracks, positions=simplified(tracks.positions), end_positions=simplified(tracks.end_positions))
    sol = solve_with_cleaning(clip)
    assert not sol.translating[1:].any(), [line for line in sol.report if "translation" in line]
    hand, elbow = skel.index("lHand"), skel.index("lForeArm")
    bone = tracks.positions[:, hand] - tracks.positions[:, elbow]
    move = normalize(bone) * (0.02 * skel.height * np.sin(np.linspace(0, np.pi, 40)))[:, None]  # [T,3]
    below = skel.ancestor_mask()[:, hand]  # the hand and the joints below it move together
    ends = np.isin(tracks.end_parents, np.flatnonzero(below))
    stretched = replace(tracks, positions=tracks.positions + below[:, None] * move[:, None],
                        end_positions=tracks.end_positions + ends[:, None] * move[:, None])
    sol = solve_with_cleaning(replace(stretched, positions=simplified(stretched.positions),
                                      end_positions=simplified(stretched.end_positions)))
    assert sol.translating[hand] and not sol.translating[np.flatnonzero(below)[1:]].any(), sol.report


def _fbx_exported(tracks: Tracks) -> Tracks:
    """``tracks`` with every coordinate's curve, joints' and bone tips', simplified as an FBX export
    writes it (_fbx_simplified)."""
    def simplified(positions: np.ndarray) -> np.ndarray:
        return np.apply_along_axis(_fbx_simplified, 0, positions)

    return replace(tracks, positions=simplified(tracks.positions), end_positions=simplified(tracks.end_positions))


def _far_frames(check) -> list[int]:
    """The frames where some joint or bone tip is further from its track than the check allows."""
    return np.flatnonzero(check.far.any(axis=1) | check.far_tips.any(axis=1)).tolist()


def test_curves_simplified_by_an_fbx_export_are_no_warning():
    """The shipped walk with its curves simplified as an FBX export does: its bones leave the tracks'
    rigid shape by up to 0.27 % of the height for a few frames at a time, which the noise read frame
    to frame does not tell, and the rig, which keeps its shape, misses the tracks by what those
    departures add up to from the root (up to 0.28 %). The check named 56 joints and bone tips 'further
    from their tracks than the noise and bone lengths explain' (the first 40 frames and the whole
    clip; in Blender too); now none. Still named in those frames only: the hand's track pulled 2 % of
    the height away for three frames (the departures explain at most OWN_SHAPE_FRACTION), and a
    solve with the chest turned 5 degrees about its bone there (a departure of the solve, not of the
    tracks)."""
    from pose2rot_core.safety import check_solution
    from pose2rot_core.tracks_io import tracks_from_bvh

    tracks = tracks_from_bvh(read_bvh(example_clip()))
    skel = tracks.skeleton
    for clip in (_fbx_exported(tracks.frames(0, 40)), _fbx_exported(tracks)):
        sol = solve_with_cleaning(clip)
        assert not any(line.startswith("warning") for line in sol.report), sol.report
    clip, hand = tracks.frames(0, 40), skel.index("lHand")
    P = clip.positions.copy()
    P[20:23, hand, 1] += 0.02 * skel.height
    pulled = solve_with_cleaning(_fbx_exported(replace(clip, positions=P)))
    assert _far_frames(pulled.check) == [20, 21, 22], pulled.report
    clip = _fbx_exported(clip)
    sol = solve_with_cleaning(clip)
    chest = skel.index("chest")
    R = sol.rotations.copy()
    R[20:23, chest] = R[20:23, chest] @ axis_angle_to_matrix(normalize(skel.offsets[skel.index("neck")]),
                                                             np.radians(5.0))
    assert _far_frames(check_solution(clip, sol, as_given=True)) == []
    assert _far_frames(check_solution(clip, replace(sol, rotations=R), as_given=True)) == [20, 21, 22]


def test_shared_clips_round_trip(shared_bvh):
    clip = read_bvh(shared_bvh)
    ref = evaluate_clip(clip, protocol="ref")
    rest = evaluate_clip(clip, protocol="rest")
    assert ref.mean_angle < 20.0, ref.mean_angle
    for score in (ref, rest):
        assert score.position_error_max < 0.01, (score.protocol, score.position_error_max)


def test_reference_shift_with_frame_range():
    """Tracks.frames keeps the reference frame in step, so solving a window matches the full solve
    at the reference frame."""
    sk, R, root, P = branch_clip(T=50)
    tracks = Tracks(skeleton=sk, positions=P, fps=30.0, reference_frame=20, reference_rotations=R[20])
    window = tracks.frames(10, 40)
    assert window.reference_frame == 10
    sol = solve(window, twist="reference")
    assert np.degrees(geodesic_angle(sol.rotations[10], R[20])).max() < 1e-4
    assert replace(window).num_frames == 30


def shoulder_and_elbow(rng: np.random.Generator, T: int = 90):
    """root -> clavicle (turns a few degrees) -> upper arm (a ball joint, swinging and rolling) -> forearm (a hinge about its local z, bending 20-100 degrees) -> hand, 30 fps.
    Returns (skeleton, true local rotations, positions)."""
    names = ("root", "clavicle", "upper", "fore", "hand")
    rest = np.array([[0, 0, 0], [0.15, 0, 0], [0.3, 0, 0], [0.3, 0, 0], [0.2, 0, 0]], float)
    sk = Skeleton(names, np.array([-1, 0, 1, 2, 3]), rest)
    R = np.broadcast_to(np.eye(3), (T, 5, 3, 3)).copy()
    R[:, 1] = smooth_rotations(rng, T, 1, amplitude=0.03)[:, 0]
    R[:, 2] = smooth_rotations(rng, T, 1, amplitude=0.3)[:, 0]
    phase = rng.uniform(0, 2 * np.pi)
    R[:, 3] = basic_rotation(2, 1.05 + 0.7 * np.sin(np.linspace(0, 4 * np.pi, T) + phase))
    _, P = forward_kinematics(sk, R, np.zeros((T, 3)))
    return sk, R, P


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_lookahead_leaves_a_still_clavicle_alone(seed):
    """The default policy weighs each joint by how far its bone swings: the clavicle hardly moves, so
    the swinging upper arm below it does not turn its roll; the upper arm, which swings about as far
    as its forearm bends, takes a roll that is never worse than the reference policy's."""
    sk, R, P = shoulder_and_elbow(np.random.default_rng(seed))
    tracks = Tracks(skeleton=sk, positions=P, fps=30.0, reference_frame=0, reference_rotations=R[0])
    look = solve_with_cleaning(tracks, smooth="off")
    ref = solve_with_cleaning(tracks, smooth="off", twist="reference")
    err = {k: np.degrees(geodesic_angle(s.rotations, R)).mean(axis=0) for k, s in (("look", look), ("ref", ref))}
    assert err["look"][1] < err["ref"][1] + 0.5
    assert err["look"][2] < err["ref"][2] + 0.5
    assert np.abs(look.positions - P).max() < 1e-6 * sk.height


@settings(max_examples=40, deadline=None)
@given(st.floats(0.1, 3.0), st.lists(st.floats(0.0, 1.5), min_size=3, max_size=30))
def test_a_bone_aims_from_its_solved_joint_near_the_track_and_from_the_track_far_from_it(length, away):
    from pose2rot_core.solvers.geometric.problem import SOLVED_AIM_FRACTION, Problem, Target

    T = len(away)
    track = np.zeros((T, 2, 3))
    track[:, 1, 0] = length                                  # the child's track, `length` from the joint's
    solved = track.copy()
    solved[:, 0, 1] = np.asarray(away) * length              # the solution puts the joint this far off
    target = Target(index=1, is_end=False, chain=(), offset=np.array([length, 0.0, 0.0]))
    problem = Problem(tracks=None, positions=track, guess=np.eye(3)[None, None], targets=[[target], []],
                      translating=np.zeros(2, bool), zero_length=np.zeros(2, bool), twist="reference", solved=solved)
    origin = track[:, 1] - problem.observed([target], 0)[:, 0]
    moved = np.asarray(away) * length
    share = origin[:, 1] / np.maximum(moved, 1e-300)          # how far towards the solved joint it aims from
    near, far = moved <= 1e-3 * length, moved >= SOLVED_AIM_FRACTION * length
    assert np.allclose(origin[near], solved[near, 0], atol=1e-6 * length)   # noise does not add up along chains
    assert np.allclose(origin[far], track[far, 0])          # a joint moved as far as its target: from the track
    assert ((share >= -1e-12) & (share <= 1 + 1e-12))[~near].all()
    order = np.argsort(moved)                                # handing over without jumps: further, less
    assert (np.diff(share[order][~near[order]]) <= 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(st.floats(0.1, 3.0), st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=30))
def test_a_joint_moved_along_the_line_to_its_target_hands_over_only_as_it_nears_it(length, along):
    """A solved place off the track along the line to the target turns no aim: one moved away from the
    target (a longer lever for the target's noise) is aimed from at any distance, one moved towards it
    is handed over to the track as one moved across is, by half the target's distance."""
    from pose2rot_core.solvers.geometric.problem import SOLVED_AIM_FRACTION, Problem, Target

    T = len(along)
    track = np.zeros((T, 2, 3))
    track[:, 1, 0] = length
    solved = track.copy()
    solved[:, 0, 0] = np.asarray(along) * length             # > 0: towards the target
    target = Target(index=1, is_end=False, chain=(), offset=np.array([length, 0.0, 0.0]))
    problem = Problem(tracks=None, positions=track, guess=np.eye(3)[None, None], targets=[[target], []],
                      translating=np.zeros(2, bool), zero_length=np.zeros(2, bool), twist="reference", solved=solved)
    origin = track[:, 1] - problem.observed([target], 0)[:, 0]
    away, towards = np.asarray(along) <= 0, np.asarray(along) >= SOLVED_AIM_FRACTION
    assert np.allclose(origin[away], solved[away, 0], atol=1e-9 * length)
    assert np.allclose(origin[towards], track[towards, 0])
