"""Blender's conventions without Blender (pose2rot_core.blender_space): axes, pose-bone channels,
frame rate, and the points Import Tracks keys."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core.axes import Y_UP_TO_Z_UP
from pose2rot_core.blender_space import (SCENE_FPS_BASE_LIMITS, SCENE_FPS_LIMITS, BoneRest, basis_quaternions,
                                         blocked_translations, bvh_of, file_points, local_rotations_from_pose,
                                         location_channels, point_tree, scene_fps, scene_fps_beyond,
                                         tip_rest_offsets)
from pose2rot_core.bvh import read_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.rotations import nearest_rotation, quat_to_matrix
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solution import Solution
from pose2rot_core.tracks_io import save_tracks, tracks_from_bvh

from test_cli import small_clip
from test_skeleton import random_tree


def _random_rig(rng: np.random.Generator, J: int, T: int):
    """(skeleton, rest orientations M [J,3,3], local rotations L [T,J,3,3]) of a random tree."""
    sk = Skeleton(*random_tree(rng, J))
    return sk, quat_to_matrix(rng.normal(size=(J, 4))), quat_to_matrix(rng.normal(size=(T, J, 4)))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2 ** 31 - 1))
def test_pose_matrices_give_the_local_rotations_back(J, seed):
    """Blender's pose matrix A_j = G_j M_j of a solution reads back as the solution's L_j."""
    sk, M, L = _random_rig(np.random.default_rng(seed), J, 3)
    G, _ = forward_kinematics(sk, L)
    for t in range(3):
        np.testing.assert_allclose(local_rotations_from_pose(G[t] @ M, M, sk.parents), L[t], atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 10), st.integers(0, 2 ** 31 - 1))
def test_basis_rotations_follow_the_inherit_flag(J, seed):
    rng = np.random.default_rng(seed)
    sk, M, L = _random_rig(rng, J, 4)
    T = L.shape[0]
    sol = Solution(sk, L, np.zeros((T, 3)) + sk.rest_positions[0], np.broadcast_to(sk.offsets, (T, J, 3)).copy(),
                   np.zeros(J, bool))
    inherit = rng.random(J) < 0.5
    rest = BoneRest(M, inherit, np.ones(J, bool), np.zeros(J, bool))
    B = quat_to_matrix(basis_quaternions(sol, rest))
    G, _ = forward_kinematics(sk, L)
    want = np.where(inherit[None, :, None, None], L, G)
    np.testing.assert_allclose(M[None] @ B @ np.swapaxes(M, -1, -2)[None], want, atol=1e-9)
    q = basis_quaternions(sol, rest)
    assert (np.einsum("tjk,tjk->tj", q[1:], q[:-1]) >= 0).all()                 # continuous signs


def test_location_channels_in_bone_or_parent_axes():
    sk = Skeleton(("root", "hip", "leg"), np.array([-1, 0, 1]), np.array([[0, 1, 0], [0, 1, 0], [0, 0, 0.0]]))
    M = quat_to_matrix(np.array([[1, 0, 0, 0], [0.9, 0.3, 0.1, 0], [0.5, 0.5, 0.5, 0.5]], float))
    T = 2
    offsets = np.broadcast_to(sk.offsets, (T, 3, 3)).copy()
    offsets[1, 1] += [0.2, 0.0, -0.1]                                            # the hip moves in frame 1
    root = np.array([[0, 1, 0], [1, 1, 0]], float)
    sol = Solution(sk, np.broadcast_to(np.eye(3), (T, 3, 3, 3)).copy(), root, offsets, np.array([0, 1, 0], bool))
    for local in (True, False):
        rest = BoneRest(M, np.ones(3, bool), np.full(3, local), np.zeros(3, bool))
        idx, loc = location_channels(sol, rest, 1e-9)
        assert idx.tolist() == [0, 1]
        np.testing.assert_allclose(loc[:, 0], root - sk.rest_positions[0] if not local else
                                   (root - sk.rest_positions[0]) @ M[0])
        axes = M[1] if local else M[0]
        np.testing.assert_allclose(loc[1, 1], axes.T @ np.array([0.2, 0.0, -0.1]))
    connected = BoneRest(M, np.ones(3, bool), np.ones(3, bool), np.array([False, True, False]))
    assert location_channels(sol, connected, 1e-9)[0].tolist() == [0]
    assert blocked_translations(sol, connected, 1e-9) == [1]


def test_axes_orthonormal_and_frame_rate():
    np.testing.assert_allclose(Y_UP_TO_Z_UP @ [0.0, 1.0, 0.0], [0, 0, 1])          # file up -> Blender up
    np.testing.assert_allclose(Y_UP_TO_Z_UP @ [0.0, 0.0, 1.0], [0, -1, 0])
    R = quat_to_matrix(np.array([0.3, 0.1, -0.7, 0.2]))
    np.testing.assert_allclose(nearest_rotation(2.5 * R), R, atol=1e-12)
    assert np.linalg.det(nearest_rotation(R @ np.diag([1.0, 1.0, -1.0]))) > 0
    assert scene_fps(30.0) == (30, 1.0) and scene_fps(24.0004) == (24, 1.0)
    fps, base = scene_fps(29.97)
    assert fps == 30 and fps / base == pytest.approx(29.97)


@pytest.mark.parametrize("frame_time", [1e-6, 0.5, 10.0, 86400.0, 1e-9])
def test_scene_fps_stays_within_blender_s_limits(frame_time):
    """Frame times of 1e-6 s (1,000,000 fps) and 86,400 s were given render.fps 1,000,000 and 0, which
    Blender clamps to 32767 and 1: the batch wrote them 3.05e-5 s and 1 s a frame, saying nothing.
    Every rate a scene can play is now given within Blender's limits, exactly."""
    fps, base = scene_fps(1.0 / frame_time)
    assert SCENE_FPS_LIMITS[0] <= fps <= SCENE_FPS_LIMITS[1]
    assert SCENE_FPS_BASE_LIMITS[0] <= base <= SCENE_FPS_BASE_LIMITS[1]
    assert base / fps == pytest.approx(frame_time, rel=1e-9)
    assert scene_fps_beyond(1.0 / frame_time, fps / base) == ""


def test_a_frame_time_no_scene_can_play_is_told():
    """A frame time beyond Blender's limits (1e7 s: a scene plays at least 1e-6 fps) gets the nearest
    rate, and scene_fps_beyond says the file's frame time and the rates a scene can play."""
    fps, base = scene_fps(1e-7)
    assert (fps, base) == (1, SCENE_FPS_BASE_LIMITS[1])
    said = scene_fps_beyond(1e-7, fps / base)
    assert "frame time, 1e+07 s (1e-07 fps)" in said and "(1e-06 to 3.28e+09 fps)" in said, said


def test_file_points_of_each_format(tmp_path):
    clip = read_bvh(small_clip(tmp_path / "c.bvh"))
    joints = len(clip.skeleton.names)
    names, pos, fps, layout = file_points(tmp_path / "c.bvh")
    assert names == list(clip.skeleton.names) + list(clip.end_names) and fps == pytest.approx(30.0)
    assert layout == ""
    np.testing.assert_allclose(pos[:, :joints], clip.fk() @ Y_UP_TO_Z_UP.T)
    save_tracks(tmp_path / "t.npz", tracks_from_bvh(clip))
    np.testing.assert_allclose(file_points(tmp_path / "t.npz")[1], pos)
    header = ",".join(f"{n}.{a}" for n in clip.skeleton.names for a in "xyz")
    rows = [",".join(f"{v:.9f}" for v in frame.ravel()) for frame in clip.fk()]
    (tmp_path / "p.csv").write_text("\n".join([header] + rows) + "\n")
    names, csv_pos, fps, _ = file_points(tmp_path / "p.csv", csv_up_axis="z")
    assert names == list(clip.skeleton.names) and fps == 0.0
    np.testing.assert_allclose(csv_pos, clip.fk(), atol=1e-8)                       # z-up: as written
    np.testing.assert_allclose(file_points(tmp_path / "p.csv")[1], pos[:, :joints], atol=1e-8)
    with pytest.raises(Pose2RotError, match="does not exist"):
        file_points(tmp_path / "missing.csv")


def test_file_points_of_a_csv_take_the_fps_of_its_time_column(tmp_path):
    clip = read_bvh(small_clip(tmp_path / "c.bvh"))
    header = "time," + ",".join(f"{n}.{a}" for n in clip.skeleton.names for a in "xyz")
    rows = [f"{t / 25:.6f}," + ",".join(f"{v:.9f}" for v in frame.ravel()) for t, frame in enumerate(clip.fk())]
    (tmp_path / "timed.csv").write_text("\n".join([header] + rows) + "\n")
    names, pos, fps, _ = file_points(tmp_path / "timed.csv")
    assert names == list(clip.skeleton.names) and fps == pytest.approx(25.0)
    np.testing.assert_allclose(pos, clip.fk() @ Y_UP_TO_Z_UP.T, atol=1e-8)


def test_file_points_of_a_layout(tmp_path):
    """A .npy is read with its layout: the layout's point names, Y-up data turned Blender's Z-up."""
    from pose2rot_core.layouts import get_layout

    layout = get_layout("humanml3d22")
    data = np.random.default_rng(0).normal(scale=0.01, size=(5, layout.num_points, 3))
    data[:, [layout.index("left_shoulder"), layout.index("right_shoulder")], 1] += 0.5   # Y up, found from the trunk
    np.save(tmp_path / "walk.npy", data)
    names, pos, fps, name = file_points(tmp_path / "walk.npy", layout="humanml3d22")
    assert names == list(layout.points) and name == "humanml3d22" and fps == pytest.approx(layout.fps)
    np.testing.assert_allclose(pos, data @ Y_UP_TO_Z_UP.T)
    with pytest.raises(Pose2RotError, match="layout"):
        file_points(tmp_path / "walk.npy")


def test_file_points_of_point_sets_find_their_up_axis_and_drop_low_confidence(tmp_path):
    """A Z-up point CSV of named landmarks is found Z-up from its hips and shoulders (it was read as
    Y-up, the body lying on its back); a point-set .npz (positions and point_names) is read as the
    command line reads it; samples of confidence below 0.1 are no data (no key is written there)."""
    names = ["left_hip", "right_hip", "left_shoulder", "right_shoulder", "nose"]
    stand = np.array([[0.1, 0.0, 1.0], [-0.1, 0.0, 1.0], [0.2, 0.0, 1.5], [-0.2, 0.0, 1.5], [0.0, 0.1, 1.7]])
    frames = stand[None] + np.linspace(0.0, 0.3, 6)[:, None, None] * np.array([1.0, 0.0, 0.0])
    conf = np.ones(frames.shape[:2])
    conf[2, 4] = 0.0
    header = ",".join(f"{n}.{a}" for n in names for a in "xyz") + "," + ",".join(f"{n}.conf" for n in names)
    rows = [",".join(f"{v:.6f}" for v in np.concatenate([f.ravel(), c])) for f, c in zip(frames, conf)]
    (tmp_path / "z.csv").write_text("\n".join([header] + rows) + "\n")
    got_names, pos, _, _ = file_points(tmp_path / "z.csv")
    assert got_names == names
    np.testing.assert_allclose(pos[[0, 1, 3, 4, 5]], frames[[0, 1, 3, 4, 5]], atol=1e-6)   # Z-up: as written
    assert np.isnan(pos[2, 4]).all() and np.isfinite(pos[2, :4]).all()
    np.savez(tmp_path / "p.npz", positions=frames, point_names=np.array(names), up_axis="z", fps=25.0)
    got_names, pos, fps, _ = file_points(tmp_path / "p.npz")
    assert got_names == names and fps == 25.0
    np.testing.assert_allclose(pos, frames, atol=1e-12)


def test_point_tree_of_a_bvh_and_of_loose_points(tmp_path):
    """A BVH's points are its joints and End Sites, a tree the automatic map reads them by; other
    files give loose points."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    tree = point_tree(bvh_of(examples / "cmu_08_01.bvh"))
    names = file_points(examples / "cmu_08_01.bvh")[0]
    assert set(tree) == set(names) - {"hip"}
    assert tree["abdomen"] == "hip" and tree["chest"] == "abdomen" and tree["lFoot_end"] == "lFoot"
    assert bvh_of(examples / "arm_tracks.npz") is None and bvh_of(examples / "arm_tracks.csv") is None
    assert point_tree(None) == {} and tip_rest_offsets(None) == {}


def test_tip_rest_offsets_are_a_bvh_s_end_sites_in_blender_axes():
    """Every End Site of a BVH, several of one joint too, with its rest offset from the joint in
    Blender's axes (file y up is Blender's z): what Import Tracks keeps of the End Sites Blender's
    importer drops."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    clip = read_bvh(examples / "cmu_08_01.bvh")
    tips = tip_rest_offsets(bvh_of(examples / "cmu_08_01.bvh"))
    assert list(tips) == list(clip.end_names)
    np.testing.assert_allclose(np.array(list(tips.values())), clip.end_offsets @ Y_UP_TO_Z_UP.T)


def test_a_scale_multiplies_a_file_s_points_and_its_end_site_offsets(tmp_path):
    """Import Tracks' Scale (0.01: a centimetre file on a metre rig) multiplies every position of any
    file, and a BVH's End Site offsets with them (the tips aim the bones by them); a factor that is
    not positive is refused in the command line's words."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    for path in (examples / "cmu_08_01.bvh", examples / "arm_tracks.csv", examples / "arm_tracks.npz"):
        names, pos, fps, _ = file_points(path)
        scaled_names, scaled, scaled_fps, _ = file_points(path, scale=0.01)
        assert scaled_names == names and scaled_fps == fps
        np.testing.assert_allclose(scaled, 0.01 * pos, equal_nan=True)
    clip = bvh_of(examples / "cmu_08_01.bvh")
    tips, scaled_tips = tip_rest_offsets(clip), tip_rest_offsets(clip, 0.01)
    np.testing.assert_allclose(np.array(list(scaled_tips.values())), 0.01 * np.array(list(tips.values())))
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(Pose2RotError, match="scale factor must be a positive number"):
            file_points(examples / "arm_tracks.csv", scale=bad)


def test_frames_without_a_key_between_keys_on_every_frame_are_no_data():
    """An empty keyed on every frame but 4-6 (a tracker's lost samples, left unkeyed by Import
    Tracks) has no data there; one keyed every third frame keeps Blender's curve between its keys,
    and every empty keeps its values before its first key and after its last."""
    from pose2rot_core.blender_space import lost_between_keys

    T = 12
    points = np.arange(T * 3 * 3, dtype=float).reshape(T, 3, 3)
    set_there = np.ones((T, 3), bool)
    set_there[4:7, 0] = False                     # dense keys, three lost
    set_there[:, 1] = np.arange(T) % 3 == 0       # keyed every third frame
    set_there[:2, 2] = set_there[10:, 2] = False  # keyed on frames 2-9 only
    out = lost_between_keys(points, set_there)
    assert np.isnan(out[4:7, 0]).all() and not np.isnan(np.delete(out[:, 0], [4, 5, 6], axis=0)).any()
    np.testing.assert_array_equal(out[:, 1:], points[:, 1:])
    assert lost_between_keys(points, np.ones((T, 3), bool)) is points
