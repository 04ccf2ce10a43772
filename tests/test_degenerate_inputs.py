"""Inputs at the edge of what tracks can say: rigs far deeper than the development clips, a target on
its joint's own track, frames where a pose estimator lost the person. Every result is made of
rotations, lands on the tracks, and says what it did."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core.bvh import read_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.pointsets import load_points
from pose2rot_core.rotations import axis_angle_to_matrix
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solvers import solve
from pose2rot_core.tracks import Tracks
from pose2rot_core.tracks_io import tracks_from_bvh

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"


def chain_tracks(joints: int, frames: int = 40, seed: int = 0) -> Tracks:
    """Exact tracks of a single-child chain of ``joints`` random bones turning smoothly."""
    rng = np.random.default_rng(seed)
    rest = np.zeros((joints, 3))
    for j in range(1, joints):
        d = rng.normal(size=3)
        rest[j] = rest[j - 1] + d / np.linalg.norm(d) * rng.uniform(0.2, 1.2)
    skeleton = Skeleton(tuple(f"j{j}" for j in range(joints)), np.arange(-1, joints - 1), rest)
    t = np.arange(frames)[:, None, None] / 30.0
    r = rng.normal(size=(1, joints, 3)) * 0.5 + 0.6 * rng.normal(size=(1, joints, 3)) * np.sin(
        2 * np.pi * rng.uniform(0.1, 1.0, (1, joints, 3)) * t + rng.uniform(0, 6.28, (1, joints, 3)))
    _, P = forward_kinematics(skeleton, axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1)), np.zeros((frames, 3)))
    return Tracks(skeleton=skeleton, positions=P, fps=30.0)


def _off_rotation(R: np.ndarray) -> float:
    """Largest entry of R R^T - I over a stack [...,3,3] (0 for rotations)."""
    return float(np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3)).max())


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), twist=st.sampled_from(["lookahead", "reference", "transport"]))
def test_a_chain_sixty_joints_deep_stays_on_its_tracks(seed, twist):
    """Rounding in a parent's orientation must not grow down the chain (it doubled at each joint:
    24 % of the height off at 45 joints, NaN at 60)."""
    tracks = chain_tracks(60, seed=seed)
    sol = solve(tracks, twist=twist)
    assert _off_rotation(sol.rotations) < 1e-9
    assert sol.check.max_error_percent < 0.01


def test_a_target_on_its_joint_s_own_track_leaves_a_rotation():
    """A child's track on its parent's in one frame shows no direction: the parent keeps its
    reference there (a rotation, not the zero matrix), and the child still lands on its track."""
    tracks = chain_tracks(3, frames=5)
    P = tracks.positions.copy()
    P[2, 2] = P[2, 1]
    sol = solve(replace(tracks, positions=P))
    assert _off_rotation(sol.rotations) < 1e-12
    np.testing.assert_allclose(np.linalg.det(sol.rotations), 1.0, atol=1e-12)
    assert sol.check.max_error_percent < 0.01


@pytest.mark.parametrize("how", ["zeros", "near one point, tips left"])
def test_a_frame_with_every_joint_at_one_point_is_a_gap(how):
    """Pose estimators write every joint at the origin where they lost the person (or scatter them
    a hair's breadth around one point): that frame is a gap (named in the notes), filled and turned
    through like any other, not a pose, whatever its bone tips say."""
    tracks = tracks_from_bvh(read_bvh(EXAMPLE))
    P, E = tracks.positions.copy(), tracks.end_positions.copy()
    if how == "zeros":
        P[100], E[100] = 0.0, 0.0
    else:
        P[100] = 5.0 + 1e-5 * tracks.skeleton.height * np.random.default_rng(0).normal(size=P[100].shape)
    sol = solve(replace(tracks, positions=P, end_positions=E))
    assert any(n.startswith("frame 100: every joint at one point") for n in sol.report), sol.report
    assert _off_rotation(sol.rotations) < 1e-9
    whole = solve(tracks)
    steps = np.degrees(np.arccos(np.clip((np.trace(np.swapaxes(sol.rotations[99:102], -1, -2)
                                                   @ whole.rotations[99:102], axis1=-2, axis2=-1) - 1) / 2, -1, 1)))
    assert steps.max() < 5.0                          # the lost frame stays near the motion around it


def test_tracks_with_every_joint_at_one_point_in_every_frame_are_refused():
    tracks = chain_tracks(4, frames=6)
    with pytest.raises(Pose2RotError, match="every joint sits at one point in every frame"):
        solve(replace(tracks, positions=np.zeros_like(tracks.positions)))


ZERO_OFFSETS = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT spine
  {
    OFFSET 0 0 0
    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 10 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.04
0 90 0 0 0 0 3 20 4 0 0 0
1 90 2 10 0 0 3 20 4 0 5 0
"""


def test_a_bvh_rig_whose_offsets_put_every_joint_at_one_point_is_refused(tmp_path, capsys):
    """A converter's BVH with every OFFSET 0 (each joint placed by its position channels) was solved on
    a rig '1 unit tall' by fallback: every bone a translation, rotations of nothing, a warning of
    bones 2000 % of the height long; a rig of rotation channels alone said the *tracks* held no pose.
    The rig's OFFSETs are what is wrong, and the solve, eval and a CSV's --skeleton say so."""
    from pose2rot_core.cli import main

    (tmp_path / "zero.bvh").write_text(ZERO_OFFSETS)
    (tmp_path / "t.csv").write_text("hips.x,hips.y,hips.z,spine.x,spine.y,spine.z\n0,90,0,0,110,0\n")
    for argv in (["solve", "zero.bvh", "--out", "o.bvh"], ["eval", "zero.bvh"],
                 ["solve", "t.csv", "--skeleton", "zero.bvh", "--out", "o.bvh"]):
        code = main([str(tmp_path / a) if "." in a else a for a in argv])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert "zero.bvh: the OFFSETs put all 2 joints at one point" in err and "rest offsets" in err, err
    assert not (tmp_path / "o.bvh").exists()
    points = load_points(tmp_path / "zero.bvh")  # its joint positions still drive another rig through a map
    np.testing.assert_allclose(points.positions[:, :2], read_bvh(tmp_path / "zero.bvh").fk(), atol=1e-12)


def test_notes_and_warnings_count_frames_from_the_first_frame():
    """Frames named in notes, warnings and errors are the user's (a scene from frame 101, or
    --frames 100:): the same solve of frames 100.. names frame 120 where the cut tracks' index is 20."""
    tracks = tracks_from_bvh(read_bvh(EXAMPLE))
    P = tracks.positions.copy()
    P[115:118, 20] = np.nan                           # a gap
    P[120, 0] += 0.2 * tracks.skeleton.height         # the root jumps in one frame: far from its track
    cut = replace(tracks, positions=P).frames(100, 140)
    assert cut.first_frame == 100
    sol = solve(cut, stretch="off")
    text = " ".join(sol.report)
    assert "(frames 115-117)" in text and "frame 120" in text, sol.report
    with pytest.raises(Pose2RotError, match=r"frame 120 \(allowed"):
        solve(cut, stretch="off", max_position_error=1.0)


def opposite_children_tracks(seed: int, frames: int = 30, head_stretches: bool = False) -> Tracks:
    """Exact tracks of a root, a neck and two shoulders on one line through the neck (the neck the
    mean of the shoulders, as landmark layouts make it), each with an arm, and a head; with
    ``head_stretches`` the head's bone changes length over the clip (it translates)."""
    rng = np.random.default_rng(seed)
    side = rng.normal(size=3)
    side *= rng.uniform(0.2, 1.0) / np.linalg.norm(side)
    up = np.cross(side, rng.normal(size=3))
    up *= rng.uniform(0.3, 1.0) / np.linalg.norm(up)
    offsets = np.array([[0, 0, 0], up, side, -side, side, -side, 0.5 * up])  # root neck Ls Rs La Ra head
    parents = np.array([-1, 0, 1, 1, 2, 3, 1])
    skeleton = Skeleton(("root", "neck", "l_shoulder", "r_shoulder", "l_arm", "r_arm", "head"), parents,
                        _rest(offsets, parents))
    t = np.arange(frames)[:, None, None] / 30.0
    r = rng.normal(size=(1, 7, 3)) * 0.4 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0, (1, 7, 3)) * t
                                                       + rng.uniform(0, 6.28, (1, 7, 3)))
    _, P = forward_kinematics(skeleton, axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1)), np.zeros((frames, 3)))
    if head_stretches:
        P[:, 6] = P[:, 1] + (P[:, 6] - P[:, 1]) * (1.0 + 0.3 * np.sin(np.arange(frames) / 5.0))[:, None]
    return Tracks(skeleton=skeleton, positions=P, fps=30.0)


def _rest(offsets: np.ndarray, parents: np.ndarray) -> np.ndarray:
    rest = np.zeros_like(offsets)
    for j in range(1, len(parents)):
        rest[j] = rest[parents[j]] + offsets[j]
    return rest


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), twist=st.sampled_from(["lookahead", "reference", "transport", "swing"]),
       head_stretches=st.booleans())
def test_children_on_both_sides_of_their_joint_aim_it(seed, twist, head_stretches):
    """Two children on one line through their joint (shoulders seen from a neck half way between
    them) show where that line points: their mean offset is zero, which aimed nowhere and wrote
    the zero matrix (the shipped FreeMoCap walk with --stretch exact: the head translates, the
    neck kept only its shoulders, and came back 44 % of the height off with 712 flips)."""
    tracks = opposite_children_tracks(seed, head_stretches=head_stretches)
    sol = solve(tracks, twist=twist, stretch="exact")
    assert _off_rotation(sol.rotations) < 1e-9
    assert sol.check.max_error_percent < 0.01


@pytest.mark.parametrize("value", [0.0, np.nan])
def test_a_solver_step_writing_no_rotation_stops_the_solve(value, monkeypatch):
    """Whatever degenerate case a solver step misses, zero or NaN matrices are never handed on as
    a result (NaN positions would even pass the safety check): one error naming joints and frames."""
    import pose2rot_core.solvers.geometric as geometric

    real = geometric.solve_geometric

    def broken(*args, **kwargs):
        sol = real(*args, **kwargs)
        sol.rotations[3:5, 1] = value
        return sol

    monkeypatch.setattr(geometric, "solve_geometric", broken)
    tracks = chain_tracks(4, frames=10)
    with pytest.raises(Pose2RotError, match=r"not rotations for 'j1' \(frames 3-4\); nothing was written"):
        solve(tracks, smooth="off")


def test_tracks_of_one_point_are_solved_as_a_moving_root():
    """One tracked point (a prop's marker) is a rig of one joint: it has no bone to read noise or
    turns from, and comes back as the root's translation (it stopped with an internal error)."""
    sk = Skeleton(("prop",), np.array([-1]), np.zeros((1, 3)))
    T = 40
    path = np.stack([np.linspace(0.0, 1.0, T), np.sin(np.linspace(0.0, 3.0, T)), np.zeros(T)], axis=1)
    sol = solve(Tracks(skeleton=sk, positions=path[:, None], fps=30.0))
    np.testing.assert_allclose(sol.root_translation, path)
    np.testing.assert_allclose(sol.rotations, np.broadcast_to(np.eye(3), (T, 1, 3, 3)))


@pytest.mark.parametrize("size, solvable", [(1e-11, False), (1e-8, True), (1e12, True), (1e20, False)])
def test_rigs_beyond_what_double_precision_solves_are_refused_by_their_size(size, solvable):
    """The solver's tolerances hold from rigs of a nanometre (in metres) to tracks a billion
    kilometres out: the shipped arm scaled by 1e-11 stopped with an internal error, by 1e-200 came
    back 60 degrees off without a warning, by 1e20 with an internal error. Beyond, refused by size;
    within, the same rotations as at size 1."""
    from pose2rot_core.tracks_io import load_tracks

    tracks = load_tracks(Path(__file__).resolve().parents[1] / "examples" / "arm_tracks.npz")
    sk = tracks.skeleton
    scaled = replace(tracks, skeleton=replace(sk, rest_positions=sk.rest_positions * size),
                     positions=tracks.positions * size, end_positions=tracks.end_positions * size,
                     end_rest_offsets=tracks.end_rest_offsets * size)
    if not solvable:
        with pytest.raises(Pose2RotError, match="rescale the rig and the tracks"):
            solve(scaled)
        return
    np.testing.assert_allclose(solve(scaled).rotations, solve(tracks).rotations, atol=1e-9)


def test_a_stray_absurd_sample_is_named_by_joint_and_frame():
    """One sample of 1e300 in the tracks of a rig 75 units tall was blamed on units ('rescale the rig and
    the tracks'); one in a bone tip's track was solved with overflow warnings. Both name the sample."""
    tracks = tracks_from_bvh(read_bvh(EXAMPLE))
    positions, ends = tracks.positions.copy(), tracks.end_positions.copy()
    positions[10, 3, 1] = 1e300
    with pytest.raises(Pose2RotError) as info:
        solve(replace(tracks, positions=positions, first_frame=100))
    msg = str(info.value)
    assert msg.startswith(f"position of '{tracks.skeleton.names[3]}' at frame 110 lies 1e+300 units from the "
                          "origin (the only sample that far)"), msg
    assert "mark stray samples missing (NaN, or an empty CSV cell)" in msg and "rescale" not in msg
    ends[5, 1, 0] = -1e300
    with pytest.raises(Pose2RotError, match=f"position of '{tracks.end_names[1]}' at frame 5 lies 1e"):
        solve(replace(tracks, end_positions=ends))
    solve(replace(tracks, end_positions=ends), use_ends=False)  # a tip left out is not read


def test_float16_positions_that_overflowed_say_so(tmp_path):
    """Positions cast to float16 (millimetres of a walk) turn numbers past 65504 into infinities, which
    were then refused as 'infinite; mark missing samples with NaN': no word of float16."""
    from pose2rot_core.tracks_io import load_tracks, save_tracks

    tracks = tracks_from_bvh(read_bvh(EXAMPLE))
    with np.errstate(over="ignore"):
        half = (tracks.positions * 1000.0).astype(np.float16)
    with pytest.raises(Pose2RotError, match="is infinite, as float16 .* past 65504: store them as float32"):
        Tracks(tracks.skeleton, half)
    save_tracks(tmp_path / "t.npz", tracks)
    arrays = dict(np.load(tmp_path / "t.npz"))
    arrays["positions"] = half
    np.savez(tmp_path / "t16.npz", **arrays)
    with pytest.raises(Pose2RotError) as info:
        load_tracks(tmp_path / "t16.npz")
    assert str(info.value).startswith("t16.npz: positions[0, 0, ") and ("is infinite: positions is stored as "
                                                                       "float16, which makes any number past 65504 "
                                                                       "infinite; store it as float32 or float64"
                                                                       in str(info.value)), info.value
