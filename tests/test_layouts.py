"""Layouts, point sets and solving a layout on its own."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core.bonemap import source_names
from pose2rot_core.bvh import read_bvh
from pose2rot_core.cli import main
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.layout_rig import layout_tracks
from pose2rot_core.axes import AXES, axis_change
from pose2rot_core.layouts import LAYOUTS, get_layout
from pose2rot_core.pointsets import PointSet, check_points, detect_up, load_points
from pose2rot_core.rotations import axis_angle_to_matrix
from pose2rot_core.wording import flags_in_words
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solvers import solve


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layout_tables_are_consistent(name):
    layout = get_layout(name)
    assert len(set(layout.points)) == layout.num_points
    assert set(layout.canonical) <= set(layout.points) and layout.landmarks <= set(layout.points)
    joints = [j.name for j in layout.joints]
    assert len(set(joints)) == len(joints) and layout.joints[0].parent is None
    for i, joint in enumerate(layout.joints[1:], 1):
        assert joint.parent in joints[:i], f"{joint.name}: parent after child"
        assert set(source_names(joint.source)) <= set(layout.points)
    for recipe in layout.virtual.values():
        assert set(source_names(recipe)) <= set(layout.points)


def test_layout_names_and_counts():
    assert {n: get_layout(n).num_points for n in LAYOUTS} == {
        "mediapipe33": 33, "freemocap": 75, "humanml3d22": 22, "smpl24": 24, "coco17": 17, "halpe26": 26, "h36m17": 17,
        "body25": 25}
    assert get_layout("HumanML3D22").name == "humanml3d22"
    with pytest.raises(Pose2RotError, match="unknown layout 'smpl99'.*humanml3d22"):
        get_layout("smpl99")


@pytest.mark.parametrize("command", ["solve", "info", "map"])
def test_an_unknown_layout_names_its_flag(command, tmp_path, capsys):
    """A layout name mistyped on the command line ('mediapipe' for mediapipe33) said "unknown layout
    'mediapipe' (choose from ...)" without the flag that gave it; it now names --layout, as the batch does."""
    example = Path(__file__).resolve().parents[1] / "examples" / "retarget"
    argv = {"solve": ["solve", example / "humanml3d_walk.npy", "--out", tmp_path / "o.bvh"],
            "info": ["info", example / "humanml3d_walk.npy"],
            "map": ["map", "--skeleton", example / "rig_mixamo.bvh", "--out", tmp_path / "m.json"]}[command]
    code, _, err = _run(argv + ["--layout", "mediapipe"], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("pose2rot: error: --layout must be one of mediapipe33, freemocap, ") and \
        err.rstrip().endswith(", got 'mediapipe'"), err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("up", list(AXES))
@pytest.mark.parametrize("target", ["y", "z"])
def test_axis_change_is_a_rotation_onto_the_target(up, target):
    R = axis_change(up, target)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(R), 1.0)
    np.testing.assert_allclose(R @ AXES[up], AXES[target], atol=1e-12)


def _smpl_motion(rng, T=60, scale=1.0):
    """SMPL-22 joint positions [T,22,3] of a random SMPL-like skeleton in random smooth motion."""
    layout = get_layout("humanml3d22")
    names = [j.name for j in layout.joints]
    parents = [-1] + [names.index(j.parent) for j in layout.joints[1:]]
    rest = np.zeros((22, 3))
    for j in range(1, 22):
        d = np.asarray(layout.joints[j].direction) + rng.normal(scale=0.15, size=3)
        rest[j] = rest[parents[j]] + scale * rng.uniform(0.05, 0.4) * d / np.linalg.norm(d)
    sk = Skeleton(tuple(names), np.array(parents), rest)
    t = np.arange(T)[:, None] / 20.0
    axis = rng.normal(size=(22, 3))
    R = axis_angle_to_matrix(np.broadcast_to(axis, (T, 22, 3)), 0.8 * np.sin(t * rng.uniform(1, 6, 22)))
    root = np.concatenate([np.sin(t), 0.9 + 0 * t, 0.5 * t], 1) * scale
    return forward_kinematics(sk, R, root)[1]


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([1.0, 100.0, 1000.0]))
def test_humanml3d_joints_solve_onto_their_own_skeleton_exactly(seed, scale):
    X = _smpl_motion(np.random.default_rng(seed), scale=scale)
    points = PointSet(get_layout("humanml3d22").points, X, 20.0, "y", layout=get_layout("humanml3d22"))
    tracks = layout_tracks(points)
    sol = solve(tracks, stretch="off", smooth="off")        # random fast swings are not noise to filter
    err = np.linalg.norm(sol.positions - X, axis=-1).max() / tracks.skeleton.height
    assert err < 1e-6
    rest = tracks.skeleton.rest_positions
    assert rest[:, 1].min() == 0.0                                   # feet on the floor in the T-pose
    arm = rest[get_layout("humanml3d22").points.index("left_wrist")] - rest[18]
    assert arm[0] > 0.9 * np.linalg.norm(arm)                        # left arm straight out along +X


def test_a_point_held_on_its_parent_s_point_is_named():
    """A wrist point the tracker holds on the elbow built a forearm of no length, solved without a word."""
    X = _smpl_motion(np.random.default_rng(0))
    names = get_layout("humanml3d22").points
    X[:, names.index("left_wrist")] = X[:, names.index("left_elbow")]
    report: list[str] = []
    layout_tracks(PointSet(names, X, 20.0, "y", layout=get_layout("humanml3d22")), report)
    assert [line for line in report if "no length" in line] == [
        "'left_wrist' on 'left_elbow': the point lies on its parent's in most frames, so that bone has no length "
        "and does not turn its parent (check the points: one may be a copy of the other)"]
    clean: list[str] = []
    layout_tracks(PointSet(names, _smpl_motion(np.random.default_rng(0)), 20.0, "y",
                           layout=get_layout("humanml3d22")), clean)
    assert not any("no length" in line for line in clean)


EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "retarget"


@pytest.mark.parametrize("layout, clip", [("humanml3d22", "humanml3d_walk.npy"),
                                          ("mediapipe33", "freemocap_walk/output_data/mediapipe_body_3d_xyz.npy")])
def test_a_mirrored_capture_solved_on_its_layout_is_warned_of(tmp_path, capsys, layout, clip):
    """Points of a mirrored video (a selfie camera: one horizontal axis negated) or with left and
    right swapped solve on the layout's own skeleton only turned round (its pelvis faces away from
    where it walks, 172-180 degrees from the clip's), with no word where a rig through a map warns;
    the solve now warns the same way, and the clip as recorded gets no such warning."""
    X = np.load(EXAMPLES / clip)
    names = get_layout(layout).points
    swapped = [names.index(n.replace("left", "@").replace("right", "left").replace("@", "right")) for n in names]
    mirrored = X * np.array([-1.0, 1.0, 1.0])
    for name, data in (("mirrored", mirrored), ("swapped", X[:, swapped]), ("as_recorded", X)):
        np.save(tmp_path / f"{name}.npy", data)
        code, _, err = _run(["solve", tmp_path / f"{name}.npy", "--layout", layout, "--out", tmp_path / "o.bvh"],
                            capsys)
        assert code == 0, err
        warned = [line for line in err.splitlines() if "mirror image" in line]
        if name == "as_recorded":
            assert not warned, err
        else:
            assert len(warned) == 1 and warned[0].startswith("warning: the points are the mirror image of a body "
                                                             "in 100 % of the frames"), err


def test_a_layout_whose_root_points_have_no_data_names_them(tmp_path, capsys):
    """An upper-body capture (MediaPipe landmarks with the hips and legs NaN throughout) solved on
    the layout was refused with \"add a track for 'pelvis' or use a rig whose root is tracked\": the
    layout has no pelvis point to add, and no rig is given; the error names the points that place
    the root and what to do."""
    X = np.load(EXAMPLES / "freemocap_walk/output_data/mediapipe_body_3d_xyz.npy")
    X[:, 23:] = np.nan
    np.save(tmp_path / "upper.npy", X)
    code, _, err = _run(["solve", tmp_path / "upper.npy", "--layout", "mediapipe33", "--out", tmp_path / "o.bvh"],
                        capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("pose2rot: error: upper.npy: layout mediapipe33 places its root 'pelvis' at the mean of "
                          "left_hip and right_hip, which have no data in any frame"), err
    assert "--skeleton RIG.bvh --map MAP.json" in err and not (tmp_path / "o.bvh").exists()


def test_mediapipe_landmarks_solve_with_a_trunk_that_bends(tmp_path, capsys):
    rng = np.random.default_rng(3)
    layout = get_layout("mediapipe33")
    T = 50
    X = np.zeros((T, 33, 3))
    base = {"left_hip": [0.1, 0.9, 0], "right_hip": [-0.1, 0.9, 0], "left_shoulder": [0.18, 1.4, 0],
            "right_shoulder": [-0.18, 1.4, 0]}
    for i, p in enumerate(layout.points):
        X[:, i] = np.asarray(base.get(p, rng.uniform([-0.5, 0, -0.2], [0.5, 1.7, 0.2])))
    lean = axis_angle_to_matrix(np.array([1.0, 0.0, 0.0]), 0.4 * np.sin(np.linspace(0, 3, T)))
    pelvis = np.array([0.0, 0.9, 0.0])
    for p in ("left_shoulder", "right_shoulder"):                    # the trunk leans: hips and shoulders
        i = layout.points.index(p)                                   # are no rigid group
        X[:, i] = pelvis + np.einsum("tij,tj->ti", lean, X[:, i] - pelvis)
    np.save(tmp_path / "mp.npy", X)
    out = tmp_path / "mp.bvh"
    code, stdout, err = _run(["solve", tmp_path / "mp.npy", "--layout", "mediapipe33", "--out", out], capsys)
    assert code == 0, err
    clip = read_bvh(out)
    i = [clip.skeleton.names.index(n) for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")]
    j = [layout.points.index(n) for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")]
    np.testing.assert_allclose(clip.fk()[:, i], X[:, j], atol=1e-3)          # 0.06 % of the height


@pytest.mark.parametrize("up", ["z", "-y", "x"])
def test_up_axis_found_from_hips_and_shoulders(up):
    X = _smpl_motion(np.random.default_rng(1)) @ axis_change(up, "y")    # file up = `up`
    points = PointSet(get_layout("humanml3d22").points, X, 20.0, "auto", layout=get_layout("humanml3d22"))
    assert detect_up(points) == up


def test_no_up_axis_is_found_from_hips_and_shoulders_at_one_place():
    """Frames where the hips and shoulders sit at one place (a detector that lost the person writes
    zeros) show no trunk: with nothing else the up axis is not found, rather than 'x' (the first
    axis of a mean of zero vectors), which `info` reported as a body lying on its side."""
    layout = get_layout("humanml3d22")
    X = _smpl_motion(np.random.default_rng(1))
    assert detect_up(PointSet(layout.points, np.zeros_like(X), 20.0, "auto", layout=layout)) is None
    X[: len(X) // 2] = 0.0                                              # half the frames lost
    assert detect_up(PointSet(layout.points, X, 20.0, "auto", layout=layout)) == "y"


#: the SMPL-22 joints as a CMU (Daz-style) BVH and a Mixamo rig name them
_CMU_NAMES = ("hip", "lThigh", "rThigh", "abdomen", "lShin", "rShin", "chest", "lFoot", "rFoot", "chest2", "lToe",
              "rToe", "neck", "lCollar", "rCollar", "head", "lShldr", "rShldr", "lForeArm", "rForeArm", "lHand",
              "rHand")
_MIXAMO_NAMES = ("Hips", "LeftUpLeg", "RightUpLeg", "Spine", "LeftLeg", "RightLeg", "Spine1", "LeftFoot", "RightFoot",
                 "Spine2", "LeftToeBase", "RightToeBase", "Neck", "LeftShoulder", "RightShoulder", "Head", "LeftArm",
                 "RightArm", "LeftForeArm", "RightForeArm", "LeftHand", "RightHand")


@pytest.mark.parametrize("names", [_CMU_NAMES, _MIXAMO_NAMES])
@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_up_axis_of_points_named_as_a_rig_is_found_from_their_hips_and_shoulders(tmp_path, names, suffix):
    """Z-up points named as a rig's joints, not as a layout's (the CMU walk as a <joint>.x CSV in mm,
    an .npz with Mixamo names): their up axis was assumed Y ("no hips and shoulders") though the map
    reads lThigh and lShldr as hips and shoulders, so the rig lay on its back; now it is found from
    them, by the names the map reads, for the solve and Blender's Import Tracks (up axis Auto)."""
    from pose2rot_core.blender_space import file_points

    X = 1000.0 * _smpl_motion(np.random.default_rng(2)) @ axis_change("y", "z").T      # Z up, mm
    path = tmp_path / f"walk{suffix}"
    if suffix == ".csv":
        header = ",".join(f"{n}.{c}" for n in names for c in "xyz")
        np.savetxt(path, X.reshape(len(X), -1), delimiter=",", header=header, comments="")
    else:
        np.savez(path, positions=X, point_names=np.array(names))
    report: list[str] = []
    points = load_points(path, report=report)
    assert points.up == "z" and f"walk{suffix}: up axis z (from the hips and shoulders)" in report, report
    _, blender, _, _ = file_points(path)                    # Blender axes: Z up, as the file already is
    np.testing.assert_allclose(blender, X, atol=1e-6)


def test_a_layout_s_assumed_frame_rate_is_said_with_how_to_give_the_clip_s(tmp_path, capsys):
    """An .npy given a layout carries no frame rate: H3.6M points (VideoPose3D or MotionBERT output of a
    30 fps video) were written at the layout's 50 fps, 1.67x fast, without a word; the solve now says
    which rate it assumed and how to give the clip's own, and with --fps says nothing."""
    X = _smpl_motion(np.random.default_rng(1), T=20)
    np.save(tmp_path / "m.npy", X)
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and np.isclose(read_bvh(tmp_path / "o.bvh").fps, 20.0)
    assert ("note: m.npy: the file gives no frame rate: read at 20 fps (layout humanml3d22's usual rate); give the "
            "clip's own rate with --fps N if it differs") in err, err
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--fps", "30", "--out",
                         tmp_path / "o.bvh"], capsys)
    assert code == 0 and np.isclose(read_bvh(tmp_path / "o.bvh").fps, 30.0) and "frame rate" not in err, err
    code, out, _ = _run(["info", tmp_path / "m.npy", "--layout", "humanml3d22"], capsys)
    assert code == 0 and ("read at 20 fps (layout humanml3d22's usual rate); give the clip's own rate with --fps N"
                          in out), out
    np.savez(tmp_path / "p.npz", positions=X, point_names=np.array([f"p{i}" for i in range(22)]))
    report: list[str] = []
    assert load_points(tmp_path / "p.npz", report=report).fps == 30.0
    assert any("p.npz: the file gives no frame rate: read at 30 fps (pose2rot's default)" in r for r in report)


def test_npy_shape_must_fit_the_layout(tmp_path, capsys):
    np.save(tmp_path / "m.npy", np.zeros((10, 21, 3)))
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and err.strip().count("\n") == 0
    assert "m.npy is [10,21,3] but layout humanml3d22 has 22 points: expected [T,22,3]" in err
    assert not (tmp_path / "o.bvh").exists()


@pytest.mark.parametrize("shape, layout, hint", [
    ((22, 3, 40), "humanml3d22", "as MDM saves motion: use motion.transpose(2, 0, 1), and of an MDM sample only "
                                 "its first lengths[i] frames"),
    ((1, 22, 3, 40), "humanml3d22", "use motion[0].transpose(2, 0, 1)"),
    ((1, 40, 22, 3), "humanml3d22", "one clip in a batch: save motion[0]"),
    ((40, 66), "humanml3d22", "flattened: save motion.reshape(40, 22, 3)"),
    ((40, 24, 3), "humanml3d22", "its 24 points fit layout smpl24"),
    ((40, 33, 3), "freemocap", "give the recording folder, or --layout mediapipe33"),
    ((40, 33, 4), "mediapipe33", "a fourth value per point, as MediaPipe's visibility or a detector's score: save "
                                 "data[..., :3], or a point set .npz of positions=data[..., :3], confidence="),
    ((40, 543, 3), "mediapipe33", "as older FreeMoCap saves mediaPipeSkel_3d.npy: save data[:, :75] for layout "
                                  "freemocap, or data[:, :33] for mediapipe33"),
    ((40, 263), "humanml3d22", "HumanML3D's motion features of 22 joints, new_joint_vecs: 12 x 22 - 1 values a frame, "
                               "not positions; give the joint positions, new_joints/*.npy [T,22,3]"),
])
def test_what_other_tools_save_is_told_how_to_fit(tmp_path, capsys, shape, layout, hint):
    """Text-to-motion tools save [22,3,T] (MDM), [1,T,22,3] (T2M-GPT), flattened joints or HumanML3D's
    263 features a frame, FreeMoCap's body file has 33 of its layout's 75 points (older FreeMoCap: 543
    Holistic points in one array), MediaPipe writes a visibility beside x, y, z: each was refused with
    no way forward."""
    np.save(tmp_path / "m.npy", np.zeros(shape))
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", layout, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and err.strip().count("\n") == 0 and hint in err, err


@pytest.mark.parametrize("shape, layout, hint", [
    ((40, 1, 22, 3), "humanml3d22", "one person on an axis of people: save motion[:, 0]"),
    ((40, 2, 17, 3), "coco17", "save one clip of a batch [clips,T,17,3] as motion[i], or one person of "
                               "[T,people,17,3] as motion[:, i]"),
    ((40, 55, 3), "humanml3d22", "SMPL-X's 55 joints begin with the 22 of layout humanml3d22, and those after them "
                                 "are not the hands of smpl24: save motion[:, :22])"),
    ((40, 127, 3), "smpl24", "SMPL-X's 127 joints begin with the 22 of layout humanml3d22, and those after them "
                             "are not the hands of smpl24: save motion[:, :22] and give --layout humanml3d22"),
    ((40, 52, 3), "smpl24", "SMPL-H's 52 joints begin with the 22 of layout humanml3d22"),
    ((40, 45, 3), "smpl24", "SMPL's 45 joints begin with the 24 of layout smpl24: save motion[:, :24])"),
])
def test_people_axes_and_smpl_family_joints_are_told_how_to_fit(tmp_path, capsys, shape, layout, hint):
    """A lifter's [T,people,P,3] (one person or several) and the SMPL family's joint arrays (SMPL-X 55,
    127 from the smplx package, SMPL-H 52, SMPL 45) were refused with only the expected shape: the
    first 22 (24 for SMPL) are a layout's joints, and smpl24 does not fit SMPL-X's hands."""
    np.save(tmp_path / "m.npy", np.zeros(shape))
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", layout, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and err.strip().count("\n") == 0 and hint in err, err
    assert not (tmp_path / "o.bvh").exists()


def test_mdm_results_file_is_told_how_to_save_one_sample_without_its_padding(tmp_path, capsys):
    """MDM's results.npy is a pickled dict (never loaded): the refusal says how to save one sample,
    cut to its length (the frames past it are padding)."""
    results = {"motion": np.zeros((2, 22, 3, 196), np.float32), "text": ["walk", "run"],
               "lengths": np.array([120, 196])}
    np.save(tmp_path / "results.npy", results, allow_pickle=True)
    code, _, err = _run(["solve", tmp_path / "results.npy", "--layout", "humanml3d22", "--out", tmp_path / "o.bvh"],
                        capsys)
    assert code == 2 and err.strip().count("\n") == 0
    assert "never loads" in err and "MDM's results.npy" in err
    assert "d['motion'][i].transpose(2, 0, 1)[:d['lengths'][i]]" in err
    assert not (tmp_path / "o.bvh").exists()


def test_a_layout_solves_only_with_the_geometric_solver(tmp_path, capsys):
    np.save(tmp_path / "m.npy", _smpl_motion(np.random.default_rng(2)))
    (tmp_path / "model.pt").write_bytes(b"")
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--solver", "hybrid",
                         "--checkpoint", tmp_path / "model.pt", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and err.strip().count("\n") == 0
    assert "pose2rot: error: --solver must be geometric for points on a layout or a bone map, got 'hybrid'" in err
    assert not (tmp_path / "o.bvh").exists()


@pytest.mark.parametrize("make, message", [
    (lambda X: X[..., :2], "holds 2-D image coordinates"),
    (lambda X: np.concatenate([X[..., :2], np.zeros(X.shape[:2] + (1,))], -1), "every z is the same"),
    (lambda X: np.concatenate([X[..., :2] * 500, np.random.default_rng(0).uniform(size=X.shape[:2] + (1,))], -1),
     "with a score"),
])
def test_bad_point_arrays_give_one_line_and_write_nothing(tmp_path, capsys, make, message):
    X = _smpl_motion(np.random.default_rng(2))
    np.save(tmp_path / "m.npy", make(X))
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and message in err and err.strip().count("\n") == 0, err
    assert not (tmp_path / "o.bvh").exists()


def test_frames_without_any_point_are_gaps(tmp_path, capsys):
    """The person out of view (every point NaN) at the start and for ten frames in the middle: those
    frames are gaps, filled and noted, as frames a tracker writes as zeros are (the whole solve
    used to stop, telling to cut them off with --frames, which cannot cut the middle)."""
    X = _smpl_motion(np.random.default_rng(2))
    X[:5] = np.nan
    X[40:50] = np.nan
    np.save(tmp_path / "m.npy", X)
    code, out, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--out", tmp_path / "o.bvh"],
                          capsys)
    assert code == 0 and "frames 0-4, 40-49" in err and read_bvh(tmp_path / "o.bvh").num_frames == len(X), err
    code, out, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--frames", "5:",
                           "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and read_bvh(tmp_path / "o.bvh").num_frames == len(X) - 5


def test_a_layout_solve_names_the_file_s_frames(tmp_path, capsys):
    """With --frames 10:, notes count frames as the file does (they counted from 0 on a layout's
    own skeleton, while a map or a BVH named the file's)."""
    X = _smpl_motion(np.random.default_rng(2))
    X[12, 5] = np.nan
    np.save(tmp_path / "m.npy", X)
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--frames", "10:",
                         "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "(frame 12)" in err, err


def test_a_reference_pose_for_a_layout_s_own_skeleton_is_refused(tmp_path, capsys):
    """--reference-frame picks a rig's reference pose; on a layout's own skeleton it was ignored."""
    X = _smpl_motion(np.random.default_rng(2))
    np.save(tmp_path / "m.npy", X)
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--reference-frame", "3",
                         "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and "--skeleton RIG.bvh --map MAP.json" in err and not (tmp_path / "o.bvh").exists()


def test_info_reads_point_sets(tmp_path, capsys):
    """`info` on a FreeMoCap folder or a .npy (with --layout) says what the solve will read; it
    answered "unknown tracks format ''" for the shipped FreeMoCap example."""
    example = Path(__file__).resolve().parents[1] / "examples" / "retarget"
    code, out, _ = _run(["info", example / "freemocap_walk"], capsys)
    assert code == 0 and "75 points (layout freemocap), 42 without data, 90 frames at 30 fps, up axis z" in out
    assert "0.0 % samples missing (of the points with data)" in out, out
    assert "along Z" in out and "unit: millimetres?" in out and "points: nose, " in out
    code, out, err = _run(["info", example / "humanml3d_walk.npy"], capsys)
    assert code == 2 and "--layout humanml3d22" in err
    code, out, _ = _run(["info", example / "humanml3d_walk.npy", "--layout", "humanml3d22"], capsys)
    assert code == 0 and "22 points (layout humanml3d22), 80 frames at 20 fps" in out


def test_info_counts_low_confidence_points_missing_as_solve_does(tmp_path, capsys):
    """MediaPipe landmarks with a visibility below 0.1 are gaps to solve ('10 samples with confidence
    below 0.1 treated as gaps'), and info of tracks counts them missing, but info of a point set said
    '0.0 % samples missing'."""
    X = _smpl_motion(np.random.default_rng(2), T=20)
    conf = np.ones(X.shape[:2])
    conf[:10, 20] = 0.05                                        # left_wrist unseen in 10 of 20 frames
    names = np.array(get_layout("humanml3d22").points)
    np.savez(tmp_path / "p.npz", positions=X, point_names=names, confidence=conf, fps=30)
    code, out, err = _run(["info", tmp_path / "p.npz"], capsys)
    assert code == 0 and "20 frames at 30 fps, up axis y, 2.3 % samples missing" in out, out
    code, _, err = _run(["solve", tmp_path / "p.npz", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "10 samples with confidence below 0.1 treated as gaps" in err, err


def test_info_describes_point_sets_not_named_as_a_layout(tmp_path, capsys):
    """`info` takes "a point set .npz/.csv" but read only those named as a layout: an .npz of positions
    and point_names failed with "missing keys joint_names, parents, rest_positions", a <joint>.x CSV
    asked for --skeleton, and a Vicon Nexus CSV asked for --skeleton before the real reason (a header
    of several rows). Now it describes the points (count, frames, fps, up axis) or gives that reason."""
    X = 1000.0 * _smpl_motion(np.random.default_rng(2), T=12) @ axis_change("y", "z").T      # Z up, mm
    np.savez(tmp_path / "p.npz", positions=X, point_names=np.array(_CMU_NAMES), fps=60)
    code, out, err = _run(["info", tmp_path / "p.npz"], capsys)
    assert code == 0 and "p.npz: points, 22 points, 12 frames at 60 fps, up axis z, 0.0 % samples missing" in out, err
    assert "note: p.npz: up axis z (from the hips and shoulders)" in out and "along Z" in out
    header = "time," + ",".join(f"{n}.{c}" for n in _CMU_NAMES for c in "xyz")
    rows = [",".join([f"{t / 120:.6f}"] + [f"{v:.3f}" for v in X[t].ravel()]) for t in range(len(X))]
    (tmp_path / "p.csv").write_text("\n".join([header] + rows) + "\n")
    code, out, err = _run(["info", tmp_path / "p.csv"], capsys)
    assert code == 0 and "p.csv: points, 22 points, 12 frames at 120 fps, up axis z" in out, err
    (tmp_path / "nexus.csv").write_text("Trajectories\n100\n,,LASI,,,RASI\nFrame,Sub Frame,X,Y,Z,X,Y,Z\n"
                                        "1,0,1,2,3,4,5,6\n")
    code, _, err = _run(["info", tmp_path / "nexus.csv"], capsys)
    assert code == 2 and "a header of several rows" in err and "--skeleton" not in err, err


@pytest.mark.parametrize("up", ["x", "-x", "-y", "-z"])
def test_info_reads_point_sets_whose_up_axis_is_any_axis(tmp_path, capsys, up):
    """A point set whose up axis is X (found from its hips and shoulders, or its up_axis) stopped info with
    'up axis must be one of x, y, z, -x, -y, -z, got '-x'' after the first line had said 'up axis -x': the
    height was measured on the points turned to their own axis without its sign, which only Y and Z can be
    the target of. The height along that axis is the same whatever its sign: it is measured as they are."""
    layout = get_layout("humanml3d22")
    Y = _smpl_motion(np.random.default_rng(1)) @ axis_change("z", "y")               # Y up
    np.savez(tmp_path / "p.npz", positions=Y @ axis_change(up, "y"), point_names=np.array(layout.points), up_axis=up)
    np.savez(tmp_path / "y.npz", positions=Y, point_names=np.array(layout.points), up_axis="y")
    height = _run(["info", tmp_path / "y.npz"], capsys)[1].split("height ")[1].split(" units along Y")[0]
    code, out, err = _run(["info", tmp_path / "p.npz"], capsys)
    assert code == 0 and f"up axis {up}," in out and not err, (out, err)
    assert f"height {height} units along {up[-1].upper()} (median over frames)" in out, out


def test_info_prints_a_warning_about_the_up_axis_as_a_warning(tmp_path, capsys):
    """A file whose up_axis contradicts its hips and shoulders: `info` prints the solve's warning line
    as `warning: ...` (it printed `note: warning: ...`). The way out is --up-axis auto (or the axis
    found): the line told the user to leave out the up axis they had not given (a Z-up BVH, MakeHuman's,
    said the same of a BVH's Y up)."""
    layout = get_layout("humanml3d22")
    X = _smpl_motion(np.random.default_rng(1)) @ axis_change("z", "y")           # Z up, said to be Y up
    np.savez(tmp_path / "p.npz", positions=X, point_names=np.array(layout.points), up_axis="y")
    code, out, _ = _run(["info", tmp_path / "p.npz", "--layout", "humanml3d22"], capsys)
    assert code == 0 and "\nwarning: p.npz: the file's up_axis is y, but its hips-to-shoulders direction" in out, out
    assert "note: warning" not in out
    assert "give --up-axis auto to have it found, or --up-axis z" in out and "leave" not in out, out


def test_freemocap_folder_with_and_without_hands(tmp_path, capsys):
    rng = np.random.default_rng(4)
    out = tmp_path / "rec" / "output_data"
    out.mkdir(parents=True)
    body = rng.normal(size=(20, 33, 3)) * 100 + np.array([0, 0, 900])
    np.save(out / "mediapipe_body_3d_xyz.npy", body)
    np.save(out / "mediapipe_left_hand_3d_xyz.npy", rng.normal(size=(20, 21, 3)))
    report: list[str] = []
    points = load_points(tmp_path / "rec", report=report)
    assert points.layout.name == "freemocap" and points.positions.shape == (20, 75, 3)
    right = [i for i, n in enumerate(points.names) if n.startswith("right_hand_")]
    assert np.isnan(points.positions[:, right]).all() and any("mediapipe_right_hand" in r for r in report)
    np.save(out / "mediapipe_right_hand_3d_xyz.npy", np.zeros((20, 21, 3)))  # a hand never detected: zeros
    report.clear()
    points = load_points(tmp_path / "rec", report=report)  # as no file (it pinned the hand at the origin)
    assert np.isnan(points.positions[:, right]).all()
    assert any("only zeros in mediapipe_right_hand_3d_xyz.npy; that hand keeps" in r for r in report), report
    with pytest.raises(Pose2RotError, match="not a FreeMoCap recording"):
        load_points(tmp_path)
    np.save(out / "mediapipe_right_hand_3d_xyz.npy", rng.normal(size=(19, 21, 3)))
    with pytest.raises(Pose2RotError, match=r"\[19,21,3\] but the body has 20 frames"):
        load_points(tmp_path / "rec")


@pytest.mark.parametrize("shape, told, not_told", [
    ((6, 22, 3), "its [6,22,3] has 22 points a frame: --layout humanml3d22)", "mediapipe33"),
    ((6, 17, 3), "has 17 points a frame: --layout coco17 or --layout h36m17)", "humanml3d22"),
    ((6, 66), "its [6,66] fits --layout humanml3d22, 22 points a frame, once saved as [T,22,3]; flattened: save "
              "motion.reshape(6, 22, 3))", "mediapipe33"),
    ((6, 55, 3), "has 55 points a frame, no layout's count; SMPL-X's 55 joints begin with the 22 of layout "
                 "humanml3d22", "coco17"),
    ((6, 21, 3), "fits no layout's point count, [T,P,3] with P of a layout: mediapipe33 33, freemocap 75,", None)])
def test_a_npy_without_a_layout_is_told_the_layouts_its_shape_fits(tmp_path, capsys, shape, told, not_told):
    """A .npy given without --layout was told every layout whatever its shape; now the ones whose
    point count it fits (and the count), every layout with its count only where none fits."""
    np.save(tmp_path / "m.npy", np.zeros(shape))
    assert main(["solve", str(tmp_path / "m.npy"), "--out", str(tmp_path / "o.bvh")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and told in err and "Blender" not in err, err
    assert not_told is None or not_told not in err, err
    assert not (tmp_path / "o.bvh").exists()


def test_layout_errors_name_the_setting_in_each_interface(tmp_path):
    """The core's layout errors reach the command line and Blender's Import Tracks alike: they named
    both the flag and the Blender setting, and Blender showed the flag. Each now says --layout, which
    Blender tells as its setting (wording.flags_in_words, as the extension reports errors)."""
    labels = {"layout": "'Layout' in Import Tracks"}
    np.save(tmp_path / "m.npy", np.zeros((4, 22, 3)))
    with pytest.raises(Pose2RotError) as e:
        load_points(tmp_path / "m.npy")
    assert str(e.value) == ("m.npy: a .npy file holds bare numbers; say what its points are with --layout (its "
                            "[4,22,3] has 22 points a frame: --layout humanml3d22)")
    assert flags_in_words(str(e.value), labels) == (
        "m.npy: a .npy file holds bare numbers; say what its points are with 'Layout' in Import Tracks (its "
        "[4,22,3] has 22 points a frame: humanml3d22 as 'Layout' in Import Tracks)")
    (tmp_path / "rec" / "output_data").mkdir(parents=True)
    np.save(tmp_path / "rec" / "output_data" / "mediapipe_body_3d_xyz.npy", np.ones((4, 33, 3)))
    with pytest.raises(Pose2RotError, match=r"layout coco17 does not fit it \(give --layout freemocap, or no "
                                            r"layout\)$") as e:
        load_points(tmp_path / "rec", get_layout("coco17"))
    assert flags_in_words(str(e.value), labels).endswith(
        "(give freemocap as 'Layout' in Import Tracks, or no layout)")


def test_point_set_npz_and_csv(tmp_path):
    X = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3) * np.array([1.0, 2.0, 3.0])
    np.savez(tmp_path / "p.npz", positions=X, point_names=np.array(["a", "b", "c"]), fps=np.float64(50),
             up_axis=np.array("z"))
    p = load_points(tmp_path / "p.npz", check=False)
    assert p.names == ("a", "b", "c") and p.fps == 50 and p.up == "z"
    np.testing.assert_allclose(p.oriented("y")[..., 1], X[..., 2])
    rows = ["time,a.x,a.y,a.z,b.x,b.y,b.z,b.conf", "0.00,1,2,3,4,5,6,0.5", "0.04,1,2,3,,,,0.1"]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    c = load_points(tmp_path / "p.csv", check=False)
    assert c.names == ("a", "b") and np.isclose(c.fps, 25.0)
    assert np.isnan(c.positions[1, 1]).all() and c.confidence[0].tolist() == [1.0, 0.5]


def test_a_point_set_npz_whose_confidence_has_another_shape_says_which(tmp_path):
    """The refusal of a confidence array of the wrong shape gave the shape wanted, not the one given."""
    X = np.zeros((4, 3, 3))
    np.savez(tmp_path / "p.npz", positions=X, point_names=np.array(["a", "b", "c"]), confidence=np.ones((4, 2)))
    with pytest.raises(Pose2RotError, match=r"confidence must be numbers \[4,3\] \(frames, points\), got \[4, 2\]"):
        load_points(tmp_path / "p.npz", check=False)


@pytest.mark.parametrize("key", ["framerate", "frame_rate", "mocap_framerate", "mocap_frame_rate"])
def test_a_point_set_npz_gives_its_frame_rate_under_the_common_keys(tmp_path, key):
    """A point set .npz whose frame rate is under another key than fps (framerate=60; AMASS's
    mocap_framerate) was read at 30 fps without a word, and arrays not read were not named: the
    common spellings are read, other arrays are named in a note, and rates that disagree are refused."""
    X = np.random.default_rng(0).normal(size=(4, 3, 3))
    np.savez(tmp_path / "p.npz", positions=X, point_names=np.array(["a", "b", "c"]), gender="neutral",
             **{key: np.float64(60)})
    report: list[str] = []
    assert load_points(tmp_path / "p.npz", check=False, report=report).fps == 60.0
    assert "p.npz: arrays not read: gender" in report, report
    np.savez(tmp_path / "q.npz", positions=X, point_names=np.array(["a", "b", "c"]), fps=30, **{key: 60})
    with pytest.raises(Pose2RotError, match=f"q.npz: the frame rates disagree \\(fps 30, {key} 60\\)"):
        load_points(tmp_path / "q.npz", check=False)


def test_point_names_saved_as_bytes_are_read_as_text(tmp_path, capsys):
    """point_names saved as bytes (dtype S, as Python 2 or h5py writes them) were read as "b'left_hip'":
    no layout was recognised and a map failed on the names; they are decoded (UTF-8), as an up_axis
    saved as bytes is."""
    layout = get_layout("humanml3d22")
    X = _smpl_motion(np.random.default_rng(1), T=10) @ axis_change("z", "y").T
    np.savez(tmp_path / "p.npz", positions=X, point_names=np.array(layout.points, dtype="S"), up_axis=np.bytes_(b"z"))
    points = load_points(tmp_path / "p.npz")
    assert points.names == layout.points and points.layout is layout and points.up == "z"
    code, out, err = _run(["info", tmp_path / "p.npz"], capsys)
    assert code == 0 and "p.npz: points, 22 points (layout humanml3d22), 10 frames" in out, err


def test_checks_of_point_sets():
    X = np.random.default_rng(0).normal(size=(4, 5, 3))
    check_points(PointSet(tuple("abcde"), X, 30.0))
    X[2, 1, 0] = np.inf
    with pytest.raises(Pose2RotError, match="'b' is infinite at frame 2"):
        check_points(PointSet(tuple("abcde"), X, 30.0))


def test_map_file_contract_round_trip(tmp_path):
    from pose2rot_core.bonemap import load_map, save_map

    data = {"bones": {"Hips": {"mean": ["l", "r"]}, "Spine": {"lerp": ["a", "b", 0.25]}, "Head": "h"},
            "points": {"mid": {"mean": ["a", "b"]}}, "note": "kept"}
    (tmp_path / "m.json").write_text(json.dumps(data))
    m = load_map(tmp_path / "m.json")
    save_map(tmp_path / "n.json", m)
    assert json.loads((tmp_path / "n.json").read_text()) == data


@pytest.mark.parametrize("how, message", [
    ("np.save", r"single array \(np.save\).*np.savez\(path, positions=..., point_names=...\)"),
    ("pickle", "pickled Python object"),
    ("text", "not an .npz file"),
])
def test_a_point_set_npz_that_is_not_named_arrays_is_refused_clearly(tmp_path, how, message):
    import pickle

    path = tmp_path / "p.npz"
    if how == "np.save":
        with open(path, "wb") as f:
            np.save(f, np.zeros((4, 3, 3)))
    elif how == "pickle":
        path.write_bytes(pickle.dumps({"positions": [1, 2]}))
    else:
        path.write_text("positions")
    with pytest.raises(Pose2RotError, match=message):
        load_points(path)


def test_a_point_set_npz_naming_a_point_twice_is_refused(tmp_path, capsys):
    """A point name given twice (a column renamed by hand) is refused naming it: the last column of
    that name was taken and the other one's data dropped silently (h77, red-team); a CSV says the same."""
    X = np.random.default_rng(0).normal(size=(4, 3, 3))
    np.savez(tmp_path / "p.npz", positions=X, point_names=np.array(["a", "b", "a"]))
    with pytest.raises(Pose2RotError, match=r"p.npz: point_names holds 'a' twice \(columns 0 and 2\)"):
        load_points(tmp_path / "p.npz", check=False)
    rig = Path(__file__).resolve().parents[1] / "examples" / "arm.bvh"
    out = tmp_path / "m.json"
    assert main(["map", "--skeleton", str(rig), "--source", str(tmp_path / "p.npz"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds 'a' twice" in err[0] and not out.exists()


def test_a_point_set_named_as_a_layout_is_that_layout(tmp_path, capsys):
    """MediaPipe landmarks exported to .npz or .csv under MediaPipe's own names: read without
    --layout they were loose points, and the map proposed from them left the hips unmapped and the
    neck and head at the reference pose (12 joints on points); as the layout they are, the map is
    the layout's (18 joints on points, 3 on virtual points). A set that only shares some names
    stays loose."""
    from pose2rot_core.blender_space import file_points

    examples = Path(__file__).resolve().parents[1] / "examples" / "retarget"
    layout = get_layout("mediapipe33")
    X = np.load(examples / "freemocap_walk" / "output_data" / "mediapipe_body_3d_xyz.npy")
    order = np.random.default_rng(0).permutation(len(layout.points))  # any column order
    names = [layout.points[i] for i in order]
    np.savez(tmp_path / "landmarks.npz", positions=X[:, order], point_names=np.array(names), fps=30.0)
    report: list[str] = []
    points = load_points(tmp_path / "landmarks.npz", report=report)
    assert points.layout is layout and list(points.names) == list(layout.points)
    assert any("points are those of layout mediapipe33, by name" in line for line in report)
    header = ",".join(f"{n}.{a}" for n in names for a in "xyz")
    rows = [",".join(f"{v:.5f}" for v in frame.ravel()) for frame in X[:5, order]]
    (tmp_path / "landmarks.csv").write_text("\n".join([header] + rows) + "\n")
    assert file_points(tmp_path / "landmarks.csv")[3] == "mediapipe33"  # Import Tracks keeps it for the map
    rig = str(examples / "rig_mixamo.bvh")
    maps = []
    for source in (["--source", str(tmp_path / "landmarks.npz")], ["--layout", "mediapipe33"]):
        assert main(["map", "--skeleton", rig, *source, "--out", str(tmp_path / "map.json")]) == 0
        maps.append(json.loads((tmp_path / "map.json").read_text())["bones"])
    assert maps[0] == maps[1]
    np.savez(tmp_path / "some.npz", positions=X[:, order[:-1]], point_names=np.array(names[:-1]), fps=30.0)
    assert load_points(tmp_path / "some.npz").layout is None


@pytest.mark.parametrize("suffix", [".npz", ".csv", "_.csv"])
def test_a_point_set_named_as_a_layout_is_read_as_it_without_layout(tmp_path, capsys, suffix):
    """RETARGETING.md: a point set whose points are exactly a layout's, by name, is read as that
    layout; `info` and `solve` refused one given without --layout (missing joint_names, or a CSV
    needing a rig) and pointed at flags that did not help."""
    from pose2rot_core.layouts import get_layout

    walk = np.load(Path(__file__).resolve().parents[1] / "examples" / "retarget" / "humanml3d_walk.npy")
    names = get_layout("humanml3d22").points
    path = tmp_path / f"walk{suffix[-4:]}"
    if suffix == ".npz":
        np.savez(path, positions=walk, point_names=np.array(names), fps=20.0)
    else:                                                   # '_.csv': written as FreeMoCap does ('pelvis_x')
        header = ",".join(["time"] + [f"{n}{suffix[0]}{a}" for n in names for a in "xyz"])
        rows = [",".join([f"{t / 20.0:.4f}"] + [f"{v:.6f}" for v in frame.ravel()]) for t, frame in enumerate(walk)]
        path.write_text("\n".join([header] + rows) + "\n")
    assert main(["info", str(path)]) == 0
    assert "(layout humanml3d22)" in capsys.readouterr().out
    assert main(["solve", str(path), "--out", str(tmp_path / "o.bvh")]) == 0
    assert read_bvh(tmp_path / "o.bvh").num_frames == len(walk)


def test_a_layout_skeleton_says_when_the_points_leave_its_rigid_shape(tmp_path, capsys):
    """The shipped FreeMoCap walk on its layout's own skeleton: the points of one part move apart
    (a hand's index, pinky and thumb points; the head's) and bones change length, which the rigid
    skeleton does not follow, so joints end up to 2 % of the height off in every frame. The warning
    said only that the noise and bone lengths do not explain it; it now says how far the points
    leave the rigid shape and how to follow them, and with --stretch exact no joint is off.
    Tracks of a rigid rig, jittered, keep its shape within their noise: no such words."""
    walk = Path(__file__).resolve().parents[1] / "examples" / "retarget" / "freemocap_walk"
    code, out, err = _run(["solve", walk, "--layout", "freemocap", "--out", tmp_path / "walk.bvh"], capsys)
    far = [line for line in err.splitlines() if "further from their tracks" in line]
    assert code == 0 and len(far) == 1, err
    assert far[0].endswith("% of the height at a joint (bones that change length, points of one part that move "
                           "apart), and the misses add up down the chains: --stretch exact puts every joint on its "
                           "track"), far[0]
    code, out, err = _run(["solve", walk, "--layout", "freemocap", "--stretch", "exact", "--out", tmp_path / "x.bvh"],
                          capsys)
    assert code == 0 and "further from their tracks" not in err
    from pose2rot_core.evaluate import add_noise
    from pose2rot_core.tracks_io import tracks_from_bvh

    tracks = tracks_from_bvh(read_bvh(Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"), 0)
    from pose2rot_core.noise_estimate import estimate_noise
    from pose2rot_core.safety import _shape_change

    noisy = add_noise(tracks, 0.005, 0)
    sk = noisy.skeleton
    noise = estimate_noise(noisy.positions, np.asarray(sk.parents), np.linalg.norm(sk.offsets, axis=-1), sk.height)
    assert _shape_change(noisy, solve(noisy), noise / sk.height, None) == 0.0


def test_solving_a_layout_draws_the_solve_s_progress(tmp_path, capsys, monkeypatch):
    """solve of a point set called the solver without the progress callback: no bar at all, where solve
    of a BVH draws one. The layout's solve now reports its progress to the command line's bar."""
    from pose2rot_core import cli

    seen: list[float] = []
    monkeypatch.setattr(cli, "_progress_bar", lambda desc: (lambda fraction, message: seen.append(fraction),
                                                            lambda: None))
    X = _smpl_motion(np.random.default_rng(0), T=30)
    np.save(tmp_path / "m.npy", X)
    code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0, err
    assert seen and max(seen) > 0.5, seen


def test_a_layout_point_without_data_names_its_one_bone_in_the_singular():
    """One point without data read 'no data for head: their bones get a stand-in length'."""
    from dataclasses import replace

    points = load_points(EXAMPLES / "humanml3d_walk.npy", get_layout("humanml3d22"), check=False)
    positions = points.positions.copy()
    positions[:, points.names.index("head")] = np.nan
    report: list[str] = []
    layout_tracks(replace(points, positions=positions), report)
    assert "no data for head: its bone gets a stand-in length" in report, report


def test_a_limit_on_the_position_error_names_every_joint_past_it():
    """COCO 17 points of the shipped walk on their layout's skeleton (the head on the neck, eyes, ears
    and nose on the head), made rigid and jittered by 1 % of the height: every joint ends within what
    the noise explains (no warning; the eyes 3.9-4.0 %, the worst ear 4.8 %), and a
    --max-position-error just under the eyes' refused the solve naming only the ear, the eyes nowhere.
    The refusal names every joint past the limit, the furthest first, five and the rest counted."""
    from dataclasses import replace

    from pose2rot_core.evaluate import add_noise
    from pose2rot_core.safety import ResultTooFarError

    walk = load_points(Path(__file__).resolve().parents[1] / "examples" / "retarget" / "freemocap_walk",
                       get_layout("freemocap"))
    layout = get_layout("coco17")
    points = PointSet(names=layout.points, positions=walk.positions[:, [walk.names.index(p) for p in layout.points]],
                      fps=walk.fps, up=walk.up, layout=layout)
    tracks = layout_tracks(points)
    rigid = replace(tracks, positions=solve(tracks, stretch="off").positions, confidence=None)
    noisy = add_noise(rigid, 0.01, 6)
    names = noisy.skeleton.names
    sol = solve(noisy)
    assert not any("further from" in line for line in sol.report)
    error = 100 * np.nanmax(sol.check.error, axis=0)
    limit = 0.999 * min(error[names.index("left_eye")], error[names.index("right_eye")])
    past = [names[j] for j in np.argsort(-error) if error[j] > limit]
    assert len(past) > 5
    with pytest.raises(ResultTooFarError) as refused:
        solve(noisy, max_position_error=limit)
    message = str(refused.value)
    assert f"{len(past)} joints end further: " in message
    assert f"and {len(past) - 5} more; nothing was written" in message
    assert [n for n in names if f"'{n}' (frame" in message] == sorted(past[:5], key=names.index)


@pytest.mark.parametrize("rig", [["--rig", "RIG"], ["--rig=RIG"]])
def test_the_batch_s_rig_option_on_the_command_line_names_skeleton(tmp_path, capsys, rig):
    """The Blender batch takes the rig as --rig RIG.bvh; `pose2rot solve POINTS --layout NAME --rig
    RIG.bvh` said only 'unrecognized arguments: --rig RIG.bvh'. It now says to give --skeleton RIG.bvh."""
    np.save(tmp_path / "m.npy", _smpl_motion(np.random.default_rng(2), T=10))
    argv = ["solve", tmp_path / "m.npy", "--layout", "humanml3d22", "--out", tmp_path / "o.bvh"]
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in argv] + [r.replace("RIG", str(tmp_path / "rig.bvh")) for r in rig])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.strip().count("\n") == 0
    assert "--rig is the Blender batch's: on the command line give --skeleton RIG.bvh" in err, err
    assert not (tmp_path / "o.bvh").exists()


def test_a_negative_up_axis_is_read_without_an_equals_sign(tmp_path, capsys):
    """MediaPipe's world landmarks are Y down, and info says 'up axis -y'; `--up-axis -y` was refused
    ('argument --up-axis: expected one argument'), only --up-axis=-y was read. Both are now."""
    X = _smpl_motion(np.random.default_rng(2), T=10) * np.array([1.0, -1.0, -1.0])    # Y down, turned about X
    np.save(tmp_path / "m.npy", X)
    for up, out in ((["--up-axis", "-y"], "a.bvh"), (["--up-axis=-y"], "b.bvh")):
        code, _, err = _run(["solve", tmp_path / "m.npy", "--layout", "humanml3d22", *up, "--out", tmp_path / out],
                            capsys)
        assert code == 0 and "warning" not in err, err
    a, b = read_bvh(tmp_path / "a.bvh"), read_bvh(tmp_path / "b.bvh")
    np.testing.assert_array_equal(a.rotations, b.rotations)
