"""Tracks files (.npz / .csv / .bvh), their validation errors, and gap filling."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pose2rot_core.bvh import read_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.rotations import matrix_to_quat, quat_to_matrix
from pose2rot_core.tracks import Tracks
from pose2rot_core.tracks_io import check_root, describe_names, describe_spans, fill_gaps, frame_spans, load_tracks, save_tracks, tracks_from_bvh

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def small_clip(test_data_dir):
    return read_bvh(test_data_dir / "small_mixed.bvh")


def _valid_npz_arrays(T: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "positions": rng.normal(size=(T, 3, 3)),
        "joint_names": np.array(["hips", "spine", "head"]),
        "parents": np.array([-1, 0, 1]),
        "rest_positions": np.array([[0, 1, 0], [0, 2, 0], [0, 3, 0]], float),
    }


# ----------------------------------------------------------------------------- npz
def test_npz_round_trip_with_optional_keys(tmp_path, small_clip):
    t = tracks_from_bvh(small_clip, reference_frame=1)
    t.up_axis = "z"
    t.confidence = np.array([[1.0, 0.5, 0.0, 1.0], [0.25, 1.0, 1.0, 0.75]])
    t.positions[0, 2] = np.nan
    save_tracks(tmp_path / "t.npz", t)
    back = load_tracks(tmp_path / "t.npz")
    assert back.skeleton.names == t.skeleton.names
    np.testing.assert_array_equal(back.skeleton.parents, t.skeleton.parents)
    np.testing.assert_allclose(back.skeleton.rest_positions, t.skeleton.rest_positions)
    np.testing.assert_array_equal(back.positions, t.positions)  # NaN stays NaN
    assert back.fps == pytest.approx(25.0) and back.up_axis == "z" and back.reference_frame == 1
    np.testing.assert_allclose(back.reference_rotations, small_clip.rotations[1], atol=1e-12)
    np.testing.assert_allclose(back.end_positions, small_clip.end_site_positions())
    np.testing.assert_array_equal(back.end_parents, small_clip.end_parents)
    np.testing.assert_allclose(back.end_rest_offsets, small_clip.end_offsets)
    assert back.end_names == ("Neck_end", "Arm_end")
    np.testing.assert_allclose(back.confidence, t.confidence)


def test_npz_minimal_keys_defaults(tmp_path):
    np.savez(tmp_path / "m.npz", **_valid_npz_arrays())
    t = load_tracks(tmp_path / "m.npz")
    assert t.fps == 30.0 and t.up_axis == "y" and t.reference_rotations is None and t.end_positions is None


def test_npz_joints_in_shuffled_order(tmp_path, small_clip):
    """The file may list joints in any order: positions come back in internal order, by name."""
    ref = tracks_from_bvh(small_clip)
    perm = np.array([2, 3, 0, 1])  # file joint f holds internal joint perm[f]
    inv = np.argsort(perm)
    names = [ref.skeleton.names[p] for p in perm]
    parents = [-1 if ref.skeleton.parents[p] < 0 else int(inv[ref.skeleton.parents[p]]) for p in perm]
    q = matrix_to_quat(small_clip.rotations[1])
    conf = np.arange(8, dtype=float).reshape(2, 4) / 8
    np.savez(tmp_path / "s.npz", positions=ref.positions[:, perm], joint_names=np.array(names), parents=parents,
             rest_positions=ref.skeleton.rest_positions[perm], reference_frame=1, reference_quaternions=q[perm],
             end_positions=ref.end_positions, end_parents=inv[ref.end_parents], end_rest_offsets=ref.end_rest_offsets,
             confidence=conf[:, perm], fps=25.0)
    t = load_tracks(tmp_path / "s.npz")
    assert t.skeleton.parents[0] == -1 and all(t.skeleton.parents[j] < j for j in range(1, 4))
    for j, n in enumerate(t.skeleton.names):
        i = ref.skeleton.names.index(n)
        np.testing.assert_array_equal(t.positions[:, j], ref.positions[:, i])
        np.testing.assert_allclose(t.reference_rotations[j], small_clip.rotations[1, i], atol=1e-12)
        np.testing.assert_array_equal(t.confidence[:, j], conf[:, i])
        assert (t.skeleton.parents[j] < 0) == (ref.skeleton.parents[i] < 0)
        if j:
            assert t.skeleton.names[t.skeleton.parents[j]] == ref.skeleton.names[ref.skeleton.parents[i]]
    assert [t.skeleton.names[p] for p in t.end_parents] == ["Neck", "Arm"]


@pytest.mark.parametrize("change, words", [
    ({"joint_names": np.array(["hips", "spine", "head", "extra"])},
     ["t.npz: positions is [4,3,3], expected [T,4,3] (4 names in joint_names)"]),
    ({"positions": np.zeros((4, 3))}, ["positions is [4,3]", "expected [T,3,3]"]),
    ({"rest_positions": np.zeros((3, 2))}, ["rest_positions is [3,2]", "expected [3,3]"]),
    ({"parents": np.array([-1, 0])}, ["parents is [2], expected [3] (3 names in joint_names)"]),
    ({"parents": np.array([-1.0, 0.0, 1.5])}, ["parents must be whole numbers, got 1.5 at [2]", "dtype=int"]),
    ({"reference_frame": np.array(np.nan)}, ["reference_frame must be a whole number, got nan"]),
    ({"parents": np.array(["-1", "0", "1"])}, ["parents must be whole numbers, got <U2"]),
    ({"parents": np.array([-1, -1, 1])}, ["several roots"]),
    ({"joint_names": np.array(["hips", "spine", "hips"])}, ["duplicate joint name 'hips'"]),
    ({"positions": np.array([[["a"] * 3] * 3] * 4)}, ["positions must be numeric"]),
    ({"fps": np.array([30.0, 60.0])}, ["fps must be a single number, got [2]"]),
    ({"joint_names": np.array([["hips", "spine", "head"]])}, ["joint_names is [1,3], expected [J]"]),
    ({"up_axis": np.array(1)}, ["up_axis must be a string, got int64"]),
    ({"fps": np.array(-5.0)}, ["its fps is -5, which is no frame rate"]),
    ({"up_axis": np.array("x")}, ["up_axis must be 'y' or 'z'"]),
    ({"reference_quaternions": np.ones((2, 4))}, ["reference_quaternions is [2,4]", "expected [3,4]"]),
    ({"reference_frame": np.array(9), "reference_quaternions": np.ones((3, 4))}, ["reference frame 9", "0..3"]),
    ({"end_positions": np.zeros((4, 1, 3))}, ["end_positions given without end_parents, end_rest_offsets"]),
    ({"end_positions": np.zeros((4, 2, 3)), "end_parents": np.array([2]), "end_rest_offsets": np.zeros((1, 3))},
     ["end_positions is [4,2,3], expected [4,1,3] (4 frames in positions; 1 entries in end_parents)"]),
    ({"end_positions": np.zeros((4, 1, 3)), "end_parents": np.array([3]), "end_rest_offsets": np.zeros((1, 3))},
     ["end_parents must be joint indices in 0..2"]),
    ({"confidence": np.ones((4, 2))}, ["confidence is [4,2]", "expected [4,3]"]),
    ({"confidence": np.where(np.arange(12).reshape(4, 3) == 4, 87.0, 1.0)},
     ["confidence of 'spine' at frame 1 is 87 (largest 87, smallest 1)", "from 0 (no trust) to 1", "percentage divided by 100"]),
    ({"positions": np.where(np.arange(36).reshape(4, 3, 3) == 14, np.inf, 0.0)},
     ["position of 'spine' at frame 1 is infinite", "NaN"]),
    ({"positions": np.zeros((0, 3, 3))}, ["positions has 0 frames"]),
    ({"positions": np.zeros((4, 0, 3)), "joint_names": np.array([], str), "parents": np.zeros(0, int),
      "rest_positions": np.zeros((0, 3))}, ["joint_names is empty"]),
    ({"joint_names": np.array(["hips", " ", "head"])}, ["joint 1 has an empty name"]),
    ({"parents": np.array([-1, 2, 1])}, ["cycle", "spine", "head"]),
    ({"parents": np.array([-1, 0, 7])}, ["'head' has parent index 7, outside 0..2"]),
    ({"rest_positions": np.array([[0, 1, 0], [np.nan, 2, 0], [0, 3, 0]])}, ["rest position of joint 'spine'"]),
    ({"reference_quaternions": np.zeros((3, 4))}, ["reference_quaternions", "zero-length"]),
    ({"reference_frame": np.array(-1), "reference_quaternions": np.ones((3, 4))}, ["reference frame -1"]),
    ({"end_positions": np.zeros((4, 1, 3)), "end_parents": np.array([-1]), "end_rest_offsets": np.zeros((1, 3))},
     ["end_parents must be joint indices in 0..2"]),
])
def test_npz_validation_errors_name_the_key(tmp_path, change, words):
    arrays = _valid_npz_arrays()
    arrays.update(change)
    np.savez(tmp_path / "t.npz", **arrays)
    with pytest.raises(Pose2RotError) as info:
        load_tracks(tmp_path / "t.npz")
    for w in words:
        assert w in str(info.value), str(info.value)


def test_npz_missing_key_object_array_and_garbage(tmp_path):
    arrays = _valid_npz_arrays()
    del arrays["rest_positions"]
    np.savez(tmp_path / "a.npz", **arrays)
    with pytest.raises(Pose2RotError, match=r"missing key rest_positions \(the file has: joint_names, parents, "
                                            r"positions\)"):
        load_tracks(tmp_path / "a.npz")
    np.savez(tmp_path / "solved.npz", quaternions=np.zeros((2, 3, 4)), joint_names=np.array(["a", "b", "c"]))
    with pytest.raises(Pose2RotError, match=r"\(the file has: joint_names, quaternions\) \(a solution written by "
                                            r"pose2rot solve\? Tracks hold positions\)"):
        load_tracks(tmp_path / "solved.npz")
    arrays = _valid_npz_arrays()
    arrays["joint_names"] = np.array(["hips", "spine", "head"], dtype=object)
    np.savez(tmp_path / "b.npz", **arrays)
    with pytest.raises(Pose2RotError, match="joint_names is stored as Python objects"):
        load_tracks(tmp_path / "b.npz")
    (tmp_path / "c.npz").write_text("not a zip")
    with pytest.raises(Pose2RotError, match=r"c.npz: not an .npz file \(expected a zip archive"):
        load_tracks(tmp_path / "c.npz")
    with pytest.raises(Pose2RotError, match="does not exist"):
        load_tracks(tmp_path / "missing.npz")
    with pytest.raises(Pose2RotError, match="unknown tracks format '.txt'"):
        load_tracks(tmp_path / "x.txt")


def test_npz_never_unpickles_and_names_damage(tmp_path):
    import pickle

    with open(tmp_path / "p.npz", "wb") as f:
        pickle.dump({"positions": [1, 2, 3]}, f)
    with pytest.raises(Pose2RotError, match=r"pickled Python object; pose2rot never loads pickles.*allow_pickle=False"):
        load_tracks(tmp_path / "p.npz")
    arrays = _valid_npz_arrays()
    arrays["positions"] = arrays["positions"].astype(object)
    np.savez(tmp_path / "o.npz", **arrays)
    with pytest.raises(Pose2RotError, match=r"positions is stored as Python objects.*allow_pickle=False"):
        load_tracks(tmp_path / "o.npz")
    with open(tmp_path / "s.npz", "wb") as f:
        np.save(f, np.zeros((2, 3, 3)))
    with pytest.raises(Pose2RotError, match=r"single array \(np.save\)"):
        load_tracks(tmp_path / "s.npz")
    (tmp_path / "e.npz").write_bytes(b"")
    with pytest.raises(Pose2RotError, match="the file is empty"):
        load_tracks(tmp_path / "e.npz")
    import zipfile

    with zipfile.ZipFile(tmp_path / "d.npz", "w") as z:
        for key, value in _valid_npz_arrays().items():
            with z.open(f"{key}.npy", "w") as f:
                np.save(f, value)
        z.writestr("fps.npy", b"\x93NUMPY garbage")
    with pytest.raises(Pose2RotError, match="array fps is damaged"):
        load_tracks(tmp_path / "d.npz")
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(Pose2RotError, match="is a directory"):
        load_tracks(tmp_path / "dir.npz")


def test_npz_odd_but_valid(tmp_path):
    """Integer positions, byte-string names, unnormalised quaternions, unknown (even object) arrays, T=1, J=1."""
    arrays = _valid_npz_arrays(T=1)
    arrays.update(positions=np.arange(9, dtype=np.int32).reshape(1, 3, 3),
                  joint_names=np.array([b"hips", b"spine", b"head"]),
                  up_axis=np.array(b"Z"), reference_quaternions=np.array([[3.0, 0, 0, 0]] * 3),
                  notes=np.array([{"who": "me"}], dtype=object))
    np.savez(tmp_path / "a.npz", **arrays)
    notes: list[str] = []
    t = load_tracks(tmp_path / "a.npz", report=notes)
    assert t.skeleton.names == ("hips", "spine", "head") and t.up_axis == "z" and t.num_frames == 1
    assert t.positions.dtype == np.float64 and t.positions[0, 2].tolist() == [6, 7, 8]
    np.testing.assert_allclose(t.reference_rotations, np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-12)
    assert notes == ["a.npz: ignored unknown arrays: notes"]
    np.savez(tmp_path / "j.npz", positions=np.ones((2, 1, 3)), joint_names=np.array(["root"]), parents=np.array([-1]),
             rest_positions=np.zeros((1, 3)))
    assert load_tracks(tmp_path / "j.npz").skeleton.num_joints == 1


def test_npz_whole_numbers_stored_as_floats_are_read_as_the_numbers_they_are(tmp_path, small_clip):
    """np.loadtxt reads a parents column as floats (-1.0, 0.0, ...): such a file was refused with
    'parents must be whole numbers, got float64', though it holds nothing else."""
    save_tracks(tmp_path / "a.npz", tracks_from_bvh(small_clip, reference_frame=1))
    arrays = dict(np.load(tmp_path / "a.npz"))
    as_floats = {k: arrays[k].astype(np.float32 if k == "end_parents" else np.float64)
                 for k in ("parents", "end_parents", "reference_frame")}
    np.savez(tmp_path / "f.npz", **{**arrays, **as_floats})
    a, f = load_tracks(tmp_path / "a.npz"), load_tracks(tmp_path / "f.npz")
    assert f.skeleton.names == a.skeleton.names and f.reference_frame == a.reference_frame == 1
    np.testing.assert_array_equal(f.skeleton.parents, a.skeleton.parents)
    np.testing.assert_array_equal(f.end_parents, a.end_parents)
    np.testing.assert_array_equal(f.positions, a.positions)


def test_npz_rest_pose_of_every_joint_at_one_point_is_refused(tmp_path):
    """rest_positions of zeros (a placeholder for a rest pose not known) gave a rig 1 unit tall by
    fallback, every bone of zero length: the solve translated every joint onto its track, wrote a
    BVH of zero offsets, and reported its bones going '4.54e+03 % of its height' from their
    parents. It is refused, naming the key and what to write instead."""
    arrays = _valid_npz_arrays()
    arrays["rest_positions"] = np.full((3, 3), 0.5)
    np.savez(tmp_path / "z.npz", **arrays)
    with pytest.raises(Pose2RotError, match=r"z.npz: rest_positions puts all 3 joints at one point \[0.5, 0.5, 0.5\]"
                                            r".*write the rig's rest pose"):
        load_tracks(tmp_path / "z.npz")


# ----------------------------------------------------------------------------- bvh / csv
def test_bvh_tracks(test_data_dir, small_clip):
    t = load_tracks(test_data_dir / "small_mixed.bvh")
    np.testing.assert_allclose(t.positions, small_clip.fk())
    np.testing.assert_allclose(t.end_positions, small_clip.end_site_positions())
    assert t.fps == pytest.approx(25.0) and t.reference_rotations is None
    with pytest.raises(Pose2RotError, match="carries its own skeleton"):
        load_tracks(test_data_dir / "small_mixed.bvh", skeleton_bvh=test_data_dir / "small_mixed.bvh")
    with pytest.raises(Pose2RotError, match="reference frame 5 is outside the clip"):
        tracks_from_bvh(small_clip, reference_frame=5)
    empty = read_bvh(test_data_dir / "small_mixed.bvh")
    empty.rotations = empty.rotations[:0]
    with pytest.raises(Pose2RotError, match=r"no motion \('Frames: 0'\)"):
        tracks_from_bvh(empty, reference_frame=0)


def _write_csv(path, header: list[str], rows: list[list[str]]) -> None:
    path.write_text("\n".join(",".join(r) for r in [header] + rows) + "\n")


def test_csv_with_bvh_skeleton(tmp_path, test_data_dir, small_clip):
    P = small_clip.fk()
    E = small_clip.end_site_positions()
    # columns in another order than the rig, Spine left out, a confidence column, an end-site column
    cols = [("Arm", 3), ("Hips", 0), ("Neck", 2)]
    header = ["frame"] + [f"{n}.{a}" for n, _ in cols for a in "xyz"] + ["Neck.conf"] + [f"Arm_end.{a}" for a in "xyz"]
    rows = []
    for t in range(2):
        vals = [repr(float(v)) for _, j in cols for v in P[t, j]]
        rows.append([str(t)] + vals + ["0.5"] + [repr(float(v)) for v in E[t, 1]])
    rows[1][1:4] = ["", " nan", ""]  # Arm missing in frame 1
    _write_csv(tmp_path / "p.csv", header, rows)
    notes: list[str] = []
    t = load_tracks(tmp_path / "p.csv", skeleton_bvh=test_data_dir / "small_mixed.bvh", report=notes)
    assert t.skeleton.names == small_clip.skeleton.names and t.fps == pytest.approx(25.0)
    expected = P.copy()
    expected[:, 1] = np.nan  # Spine: no columns
    expected[1, 3] = np.nan
    np.testing.assert_array_equal(t.positions, expected)
    assert len(notes) == 1 and "Spine" in notes[0] and "no columns for 1 rig joint" in notes[0]
    np.testing.assert_array_equal(t.confidence, [[1, 1, 0.5, 1], [1, 1, 0.5, 1]])
    assert t.end_names == ("Arm_end",) and t.end_parents.tolist() == [3]
    np.testing.assert_array_equal(t.end_positions[:, 0], E[:, 1])


def test_csv_short_cells_and_missing_values(tmp_path, test_data_dir):
    """Single-character cells everywhere (narrow string arrays) still read "nan" for empty cells."""
    _write_csv(tmp_path / "n.csv", ["frame", "Hips.x", "Hips.y", "Hips.z"], [["0", "1", "", "3"], ["1", "4", "5", "6"]])
    t = load_tracks(tmp_path / "n.csv", skeleton_bvh=test_data_dir / "small_mixed.bvh")
    np.testing.assert_array_equal(t.positions[:, 0], [[1, np.nan, 3], [4, 5, 6]])
    assert t.confidence is None


def test_a_csv_cut_short_in_its_last_line_is_named_so(tmp_path, test_data_dir):
    """A CSV whose last line has fewer cells than the header (an export or copy that stopped) is
    named as cut short, with the two ways on; a short line before the last is not."""
    rig = test_data_dir / "small_mixed.bvh"
    header = ["Hips.x", "Hips.y", "Hips.z"]
    _write_csv(tmp_path / "cut.csv", header, [["1", "2", "3"], ["1", "2", "3"], ["1", "2"]])
    with pytest.raises(Pose2RotError, match=r"^cut.csv: line 4: 2 cells but the header has 3 columns, and it is the "
                                            r"file's last line: the file looks cut short .*delete that line"):
        load_tracks(tmp_path / "cut.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "mid.csv", header, [["1", "2", "3"], ["1", "2"], ["1", "2", "3"]])
    with pytest.raises(Pose2RotError, match="line 3: 2 cells") as caught:
        load_tracks(tmp_path / "mid.csv", skeleton_bvh=rig)
    assert "cut short" not in str(caught.value)


def test_a_csv_joint_named_in_another_case_is_given_its_rig_name(tmp_path, test_data_dir):
    """A column named as a rig joint in another case ('NECK' for 'Neck', a renaming tool's upper case)
    is given the rig's name as its close match, which the ratio of matching letters (1/4) missed."""
    _write_csv(tmp_path / "caps.csv", ["Hips.x", "Hips.y", "Hips.z", "NECK.x", "NECK.y", "NECK.z"], [["1"] * 6])
    with pytest.raises(Pose2RotError, match=r"'NECK'; joint names must match exactly \(close matches: 'NECK' -> "
                                            r"'Neck'\)"):
        load_tracks(tmp_path / "caps.csv", skeleton_bvh=test_data_dir / "small_mixed.bvh")


def test_csv_errors(tmp_path, test_data_dir):
    rig = test_data_dir / "small_mixed.bvh"
    _write_csv(tmp_path / "a.csv", ["Hips.x", "Hips.y", "Hips.z"], [["1", "2", "3"]])
    with pytest.raises(Pose2RotError, match="a CSV file holds only positions; give the rig as a BVH file"):
        load_tracks(tmp_path / "a.csv")
    _write_csv(tmp_path / "b.csv", ["Hips.x", "Hips.y", "Hips.z", "LeftHand.x", "LeftHand.y", "LeftHand.z",
                                    "Tail.x", "Tail.y", "Tail.z"], [["1"] * 9])
    with pytest.raises(Pose2RotError, match=r"unknown joint names in CSV \(not in the skeleton small_mixed.bvh\): "
                                            r"'LeftHand', 'Tail'"):
        load_tracks(tmp_path / "b.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "c.csv", ["Hips.x", "Hips.y"], [["1", "2"]])
    with pytest.raises(Pose2RotError, match="joint 'Hips' has no column Hips.z"):
        load_tracks(tmp_path / "c.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "flat.csv", ["Hips.x", "Hips.y", "LeftHand.x", "LeftHand.y"], [["1", "2", "3", "4"]])
    with pytest.raises(Pose2RotError, match="none has .z: these are 2-D image coordinates, and pose2rot needs 3-D"):
        load_tracks(tmp_path / "flat.csv", skeleton_bvh=rig)  # said 'joint 'Hips' has no column Hips.z'
    _write_csv(tmp_path / "d.csv", ["Hips.x", "Hips.y", "Hips.z"], [["1", "2", "3"], ["1", "two", "3"]])
    with pytest.raises(Pose2RotError, match="line 3: column 'Hips.y' holds 'two', which is not a number"):
        load_tracks(tmp_path / "d.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "e.csv", ["Hips.x", "Hips.y", "Hips.z"], [["1", "2", "3"], ["1", "2"]])
    with pytest.raises(Pose2RotError, match="line 3: 2 cells but the header has 3 columns"):
        load_tracks(tmp_path / "e.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "ts.csv", ["timestamp", "Hips.x", "Hips.y", "Hips.z"], [["0", "1", "2", "3"]])
    with pytest.raises(Pose2RotError, match="column 'timestamp' is not .* is named 'frame' or 'time'"):
        load_tracks(tmp_path / "ts.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "f.csv", ["Hips.x", "Hips.y", "Hips.z", "Hips.w"], [["1", "2", "3", "4"]])
    with pytest.raises(Pose2RotError, match="column 'Hips.w' is not"):
        load_tracks(tmp_path / "f.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "g.csv", ["Spine.x", "Spine.y", "Spine.z"], [["1", "2", "3"]])
    with pytest.raises(Pose2RotError, match=r"no columns for the root joint 'Hips' of small_mixed.bvh \(Hips.x"):
        load_tracks(tmp_path / "g.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "h.csv", ["hips.x", "hips.y", "hips.z", "Neck.x", "Neck.y", "Neck.z"], [["1"] * 6])
    with pytest.raises(Pose2RotError, match=r"'hips'; joint names must match exactly "
                                            r"\(close matches: 'hips' -> 'Hips'\)"):
        load_tracks(tmp_path / "h.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "i.csv", ["Hips.x", "Hips.y", "Hips.z"], [["1", "2", "3"], ["1", "2", "-Infinity"]])
    with pytest.raises(Pose2RotError, match=r"^i.csv: line 3: column 'Hips.z' holds '-Infinity', which is infinite; "
                                            r"leave the cell empty for a missing value$"):
        load_tracks(tmp_path / "i.csv", skeleton_bvh=rig)
    (tmp_path / "j.csv").write_bytes(bytes(range(256)))
    with pytest.raises(Pose2RotError, match="j.csv: not a CSV file: it holds binary data"):
        load_tracks(tmp_path / "j.csv", skeleton_bvh=rig)
    (tmp_path / "j.csv").write_bytes(np.arange(1, 200, dtype="<u2").tobytes())   # a zero every other byte
    with pytest.raises(Pose2RotError, match="j.csv: not a CSV file: it holds binary data"):
        load_tracks(tmp_path / "j.csv", skeleton_bvh=rig)
    _write_csv(tmp_path / "k.csv", ["Hips.x", "Hips.y", "Hips.z"], [])
    with pytest.raises(Pose2RotError, match="header but no frames"):
        load_tracks(tmp_path / "k.csv", skeleton_bvh=rig)


@pytest.mark.parametrize("sep, encoding", [(";", "utf-8"), ("\t", "utf-8"), (",", "cp1252"), (",", "utf-8-sig"),
                                           ("\t", "utf-16"), (",", "utf-16"),   # spreadsheets' "Unicode text"
                                           (";", "utf-16-le"), (",", "utf-16-be")])   # the same without a BOM
def test_csv_semicolon_tab_and_windows_encodings(tmp_path, test_data_dir, sep, encoding):
    """Separators and encodings spreadsheets write; UTF-16 without a byte-order mark was refused as
    "binary data"."""
    rig = test_data_dir / "small_mixed.bvh"
    text = sep.join(["frame", "Hips.x", "Hips.y", "Hips.z"]) + "\r\n" + sep.join(["0 \u00e9", "1.5", "", "3"]) + "\r\n"
    (tmp_path / "s.csv").write_bytes(text.encode(encoding))  # the frame column (not used) holds a non-ASCII letter
    t = load_tracks(tmp_path / "s.csv", skeleton_bvh=rig)
    np.testing.assert_array_equal(t.positions[0, 0], [1.5, np.nan, 3])


def test_a_tsv_file_is_read_as_a_tab_separated_csv(tmp_path, test_data_dir, capsys):
    """A .tsv file was refused ("unknown tracks format '.tsv'") though a tab-separated .csv is read:
    it is read as one, as tracks on a rig, as points, and by info (a Qualisys export's rows of
    settings above the header get the CSV reader's reason)."""
    from pose2rot_core.cli import main
    from pose2rot_core.pointsets import load_points

    rig = test_data_dir / "small_mixed.bvh"
    (tmp_path / "s.tsv").write_text("time\tHips.x\tHips.y\tHips.z\n0\t1.5\t2\t3\n0.04\t1.5\t2\t3\n")
    t = load_tracks(tmp_path / "s.tsv", skeleton_bvh=rig)
    np.testing.assert_array_equal(t.positions[:, 0], [[1.5, 2, 3]] * 2)
    points = load_points(tmp_path / "s.tsv", check=False)
    assert points.names == ("Hips",) and np.isclose(points.fps, 25.0)
    assert main(["info", str(tmp_path / "s.tsv")]) == 0
    assert "s.tsv: points, 1 points, 2 frames" in capsys.readouterr()[0]
    (tmp_path / "q.tsv").write_text("NO_OF_FRAMES\t2\nFREQUENCY\t100\nMARKER_NAMES\tLASI\tRASI\n1\t2\t3\n")
    with pytest.raises(Pose2RotError, match="q.tsv: line 3: .*a header of several rows"):
        load_tracks(tmp_path / "q.tsv", skeleton_bvh=rig)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_csv_decimal_commas_read_where_cells_are_not_comma_separated(tmp_path, test_data_dir, sep):
    rig = test_data_dir / "small_mixed.bvh"
    text = sep.join(["time", "Hips.x", "Hips.y", "Hips.z"]) + "\n"
    text += "\n".join(sep.join([f"{t / 30:.4f}".replace(".", ","), "-0,25", "1,5e-1", "3"]) for t in range(3))
    (tmp_path / "de.csv").write_text(text + "\n", encoding="utf-8")
    t = load_tracks(tmp_path / "de.csv", skeleton_bvh=rig)
    np.testing.assert_allclose(t.positions[:, 0], [[-0.25, 0.15, 3.0]] * 3)
    assert t.fps == pytest.approx(30.0, rel=1e-3)


def test_csv_decimal_point_and_comma_in_one_cell_still_refused(tmp_path, test_data_dir):
    text = "frame;Hips.x;Hips.y;Hips.z\n0;1.234,5;0;0\n"
    (tmp_path / "de.csv").write_text(text, encoding="utf-8")
    with pytest.raises(Pose2RotError, match=r"holds '1\.234,5', which is not a number \(write numbers without "
                                            r"thousands separators, as 1584\.972\)"):
        load_tracks(tmp_path / "de.csv", skeleton_bvh=test_data_dir / "small_mixed.bvh")


def test_csv_quoted_decimal_commas_between_commas_are_read(tmp_path, test_data_dir):
    """A cell that holds a comma between commas was quoted: a decimal comma."""
    text = 'frame,Hips.x,Hips.y,Hips.z\n0,"-87,358",2.5,"0,5"\n'
    (tmp_path / "q.csv").write_text(text, encoding="utf-8")
    t = load_tracks(tmp_path / "q.csv", skeleton_bvh=test_data_dir / "small_mixed.bvh")
    np.testing.assert_allclose(t.positions[0, 0], [-87.358, 2.5, 0.5])


def test_csv_from_real_clip_fk(tmp_path, shared_dir):
    path = shared_dir / "mann_dog_d1-010-kan01-004.bvh"
    clip = read_bvh(path)
    P = clip.fk()
    names = clip.skeleton.names
    header = ["time"] + [f"{n}.{a}" for n in names for a in "xyz"]
    rows = [[f"{t / clip.fps:.4f}"] + [repr(float(v)) for v in P[t].ravel()] for t in range(clip.num_frames)]
    _write_csv(tmp_path / "dog.csv", header, rows)
    t = load_tracks(tmp_path / "dog.csv", skeleton_bvh=path)
    np.testing.assert_array_equal(t.positions, P)


# ----------------------------------------------------------------------------- gaps
def test_fill_gaps_smooth_curve_beats_linear():
    T = 200
    f = np.arange(T, dtype=float)
    truth = np.stack([np.sin(0.07 * f), np.cos(0.05 * f), 0.001 * f ** 1.5], -1)[:, None]
    P = truth.copy()
    holes = np.r_[20:26, 60:63, 100:110, 150]
    P[holes] = np.nan
    filled, report, missing = fill_gaps(P, ["Hand"])
    assert missing == [] and report == ["filled 4 gaps in 'Hand' (frames 20-25, 60-62, 100-109, 150)"]
    known = np.setdiff1d(np.arange(T), holes)
    np.testing.assert_array_equal(filled[known], truth[known])
    err = np.abs(filled[holes] - truth[holes]).max()
    linear = np.stack([np.interp(holes, known, truth[known, 0, a]) for a in range(3)], -1)
    lin_err = np.abs(linear - truth[holes, 0]).max()
    assert err < 2e-3 and err < 0.2 * lin_err, (err, lin_err)


def test_fill_gaps_edges_two_points_and_empty_joints():
    P = np.full((10, 4, 3), np.nan)
    P[:, 0] = np.arange(30.0).reshape(10, 3)  # complete: untouched
    P[3, 1], P[7, 1] = [0, 0, 0], [4, 8, 12]  # two known frames: linear inside, held outside
    P[5, 2] = [1, 2, 3]  # one known frame: held everywhere
    P[2, 3, 1] = 5.0  # only a partial sample: counts as missing -> joint has no data
    filled, report, missing = fill_gaps(P)
    np.testing.assert_array_equal(filled[:, 0], P[:, 0])
    np.testing.assert_allclose(filled[:, 1, 0], [0, 0, 0, 0, 1, 2, 3, 4, 4, 4])
    np.testing.assert_allclose(filled[:, 1, 2], [0, 0, 0, 0, 3, 6, 9, 12, 12, 12])
    np.testing.assert_allclose(filled[:, 2], np.broadcast_to([1, 2, 3], (10, 3)))
    assert missing == [3] and np.isnan(filled[:, 3]).all()
    assert report == ["filled 3 gaps in joint 1 (frames 0-2, 4-6, 8-9)", "filled 2 gaps in joint 2 (frames 0-4, 6-9)",
                      "no data in any frame for joint 3 (kept at the reference/rest rotation)"]
    assert np.isnan(P[0, 1]).all()  # input not modified
    many = np.full((4, 13, 3), np.nan)
    many[:, 0] = 0.0
    assert fill_gaps(many)[1] == ["no data in any frame for joint 1, joint 2, joint 3, joint 4, joint 5, joint 6, "
                                  "joint 7, joint 8 and 4 more joints (kept at the reference/rest rotation)"]


def test_fill_gaps_says_once_for_tracks_lost_together():
    T, names = 40, ["hip", "hand", "f1", "f2", "f3", "f4", "f5", "foot"]
    P = np.random.default_rng(0).normal(size=(T, len(names), 3))
    P[10:20, 1:7] = np.nan  # a hand and its five fingers lost together
    P[5:8, 7] = np.nan
    _, report, _ = fill_gaps(P, names)
    assert report == ["filled 1 gap in 'hand', 'f1', 'f2', 'f3' and 2 more tracks (frames 10-19)",
                      "filled 1 gap in 'foot' (frames 5-7)"]
    P[12, 3] = 0.0  # one finger seen for a frame: its gaps differ, its own line
    _, report, _ = fill_gaps(P, names)
    assert report[0] == "filled 1 gap in 'hand', 'f1', 'f3', 'f4' and 1 more track (frames 10-19)"
    assert report[1] == "filled 2 gaps in 'f2' (frames 10-11, 13-19)"
    assert describe_names(["'a'", "'b'", "'c'"]) == "'a', 'b' and 'c'"


def test_gap_spans_are_frame_ranges():
    mask = np.zeros(30, bool)
    mask[[0, 1, 5, 9, 10, 11, 15, 20, 29]] = True
    spans = frame_spans(mask)
    assert spans == [(0, 1), (5, 5), (9, 11), (15, 15), (20, 20), (29, 29)]
    assert describe_spans(spans[1:2]) == "frame 5"
    assert describe_spans(spans) == "frames 0-1, 5, 9-11, 15 and 2 more gaps, 9 frames in all"
    assert frame_spans(np.zeros(4, bool)) == [] and frame_spans(np.ones(3, bool)) == [(0, 2)]


def test_fill_gaps_nothing_missing_and_bad_shape():
    P = np.random.default_rng(1).normal(size=(5, 2, 3))
    filled, report, missing = fill_gaps(P)
    np.testing.assert_array_equal(filled, P)
    assert report == [] and missing == []
    with pytest.raises(Pose2RotError, match=r"positions must be \[T,J,3\]"):
        fill_gaps(P[..., :2])


def test_check_root(small_clip):
    t = tracks_from_bvh(small_clip)
    check_root(t)
    t.positions[:, 0] = np.nan
    with pytest.raises(Pose2RotError, match="root joint 'Hips' has no data in any frame:"):
        check_root(t)
    confident = np.ones(t.positions.shape[:2])
    confident[:, 0] = 0.0  # a tracker's "not found" (OpenPose writes 0)
    with pytest.raises(Pose2RotError, match=r"'Hips' has no data in any frame \(its confidence is below 0.1"):
        check_root(replace(t, confidence=confident))


def test_save_tracks_without_optional_keys(tmp_path):
    arrays = _valid_npz_arrays()
    np.savez(tmp_path / "m.npz", **arrays)
    t = load_tracks(tmp_path / "m.npz")
    save_tracks(tmp_path / "n.npz", t)
    with np.load(tmp_path / "n.npz", allow_pickle=False) as z:
        assert sorted(z.files) == ["fps", "joint_names", "parents", "positions", "rest_positions", "up_axis"]
    back = load_tracks(tmp_path / "n.npz")
    assert isinstance(back, Tracks)
    np.testing.assert_array_equal(back.positions, arrays["positions"])
    np.testing.assert_allclose(quat_to_matrix(matrix_to_quat(np.eye(3))), np.eye(3))


@pytest.mark.parametrize("first, stamps, fps", [("frame", ["1", "2", "3", "10", "11"], 0.0),
                                                ("time", ["0.0", "0.1", "0.2", "0.9", "1.0"], 10.0)])
def test_csv_rows_go_to_their_own_frames(tmp_path, first, stamps, fps):
    """A tracker that drops frames writes rows whose frame or time column skips: the rows keep their
    frames (the skipped ones are gaps, filled when solving) instead of being squeezed together,
    which changed the clip's timing."""
    from pose2rot_core.tracks_csv import read_csv_points

    rows = [f"{first},a.x,a.y,a.z"] + [f"{s},{i},0,0" for i, s in enumerate(stamps)]
    (tmp_path / "gaps.csv").write_text("\n".join(rows) + "\n")
    points = read_csv_points(tmp_path / "gaps.csv")
    assert points.positions.shape == (11, 1, 3) and points.fps == pytest.approx(fps)
    np.testing.assert_array_equal(points.positions[[0, 1, 2, 9, 10], 0, 0], [0, 1, 2, 3, 4])
    assert np.isnan(points.positions[3:9]).all()
    assert points.first_frame == (1 if first == "frame" else 0)  # times name no frame
    (tmp_path / "plain.csv").write_text(f"{first},a.x,a.y,a.z\n5,0,0,0\n5.5,1,0,0\nx,2,0,0\n")
    plain = read_csv_points(tmp_path / "plain.csv")
    assert plain.positions.shape == (3, 1, 3) and plain.first_frame == 0  # no clear frames: rows in turn


@pytest.mark.parametrize("first, stamps, words", [
    ("frame", ["0", "1.5", "3", "4.5"], "the frame column holds numbers that are not whole"),
    ("time", ["0.0", "0.04", "0.08", "0.12", "0.2", "0.28", "0.36"], "do not fall on the frames of one rate")])
def test_csv_rows_taken_in_turn_against_their_column_are_noted(tmp_path, first, stamps, words):
    """A frame column of numbers that are not whole, or times that change rate part-way (25 then
    12.5 per second), cannot put the rows on frames: they are taken one frame each, and the solve's
    notes say so (nothing did; a clip of two rates came out at their average). Whole frames and one
    rate's times put the rows where they belong and say nothing."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    arm = read_bvh(examples / "arm.bvh")
    head = ",".join(f"{n}.{a}" for n in arm.skeleton.names for a in "xyz")
    points = arm.fk()[0].reshape(-1)
    rows = [f"{first},{head}"] + [f"{t}," + ",".join(f"{v:.5f}" for v in points) for t in stamps]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    report: list[str] = []
    tracks = load_tracks(tmp_path / "t.csv", examples / "arm.bvh", report=report)
    assert tracks.num_frames == len(stamps) and any(words in note and "one frame each" in note for note in report)
    steady = [f"{first},{head}"] + [f"{i * (1 if first == 'frame' else 0.04):g}," + ",".join(f"{v:.5f}" for v in points)
                                    for i in range(len(stamps))]
    (tmp_path / "s.csv").write_text("\n".join(steady) + "\n")
    report = []
    load_tracks(tmp_path / "s.csv", examples / "arm.bvh", report=report)
    assert not any("one frame each" in note for note in report)


def test_reports_name_the_frames_a_csv_frame_column_gives(tmp_path, capsys):
    """Tracks cut from a longer take keep its frame numbers: a frame column starting at 1000 makes
    the solve's notes, warnings and errors name frames from 1000 (they named them from 0, pointing
    the user a thousand frames away), and --frames takes those numbers too."""
    from pose2rot_core.cli import main

    examples = Path(__file__).resolve().parents[1] / "examples"
    lines = (examples / "arm_tracks.csv").read_text().splitlines()
    rows = [lines[0]]
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")
        cells[0] = str(1000 + int(cells[0]))
        if i == 20:
            cells[10] = "5.0"  # the hand thrown far off in one frame
        rows.append(",".join(cells))
    (tmp_path / "take.csv").write_text("\n".join(rows) + "\n")
    tracks = load_tracks(tmp_path / "take.csv", examples / "arm.bvh")
    assert tracks.first_frame == 1000
    code = main(["solve", str(tmp_path / "take.csv"), "--skeleton", str(examples / "arm.bvh"), "--out",
                 str(tmp_path / "o.npz"), "--max-position-error", "5"])
    err = capsys.readouterr().err
    assert code == 2 and "frame 1020" in err and not (tmp_path / "o.npz").exists(), err
    main(["solve", str(tmp_path / "take.csv"), "--skeleton", str(examples / "arm.bvh"), "--out", str(tmp_path / "o.npz")])
    assert "'hand_end' (frame 1020," in capsys.readouterr().err
    code = main(["solve", str(tmp_path / "take.csv"), "--skeleton", str(examples / "arm.bvh"), "--out",
                 str(tmp_path / "part.npz"), "--frames", "1015:1022"])  # --frames takes the same numbers
    out, err = capsys.readouterr()
    assert code == 0 and "solved 7 frames" in out and "'hand_end' (frame 1020," in err, err
    assert main(["solve", str(tmp_path / "take.csv"), "--skeleton", str(examples / "arm.bvh"), "--out",
                 str(tmp_path / "part.npz"), "--frames", "15:22"]) == 2
    assert "frames 1000..1023; the whole clip is 1000:1024" in capsys.readouterr().err


def test_a_frame_or_time_column_that_steps_over_frames_keeps_its_timing(tmp_path):
    """A tracker run on every other video frame numbers its rows 0, 2, 4, ...: the rows go to those
    frames and the frames between are gaps (the rows were taken one per frame, so the clip played
    twice as fast and the notes named other frames than the file's); a time column gives tracks on
    a rig its own frame rate (rows ten rig frames apart played ten times as fast)."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    lines = (examples / "arm_tracks.csv").read_text().splitlines()
    body = [line[line.index(","):] for line in lines[1:]]
    (tmp_path / "every2.csv").write_text("\n".join([lines[0]] + [f"{2 * i}{b}" for i, b in enumerate(body)]) + "\n")
    every2 = load_tracks(tmp_path / "every2.csv", examples / "arm.bvh")
    rig = load_tracks(examples / "arm_tracks.csv", examples / "arm.bvh")
    assert every2.num_frames == 2 * len(body) - 1 and every2.fps == rig.fps
    np.testing.assert_array_equal(every2.positions[::2], rig.positions)
    assert np.isnan(every2.positions[1::2]).all()
    header = "time" + lines[0][lines[0].index(","):]
    step = 10.0 / rig.fps
    (tmp_path / "time.csv").write_text("\n".join([header] + [f"{i * step:.5f}{b}" for i, b in enumerate(body)]) + "\n")
    timed = load_tracks(tmp_path / "time.csv", examples / "arm.bvh")
    assert timed.fps == pytest.approx(rig.fps / 10.0) and timed.num_frames == len(body)
    np.testing.assert_array_equal(timed.positions, rig.positions)


@pytest.mark.parametrize("first, stamps, line, went", [("frame", ["12", "13", "14", "0", "1", "2"], 5, "14 to 0"),
                                                      ("frame", ["0", "1", "1", "2", "3", "4"], 4, "1 to 1"),
                                                      ("time", ["0.0", "0.1", "0.2", "0.1", "0.4", "0.5"], 5,
                                                       "0.2 to 0.1")])
def test_csv_rows_out_of_frame_order_are_refused(tmp_path, first, stamps, line, went):
    """A frame or time column that goes back (rows sorted otherwise, two takes joined) or repeats
    a frame: refused, naming the line, instead of taking the rows in the file's order (the output's
    first frame was the source's frame 12) or as an extra frame."""
    from pose2rot_core.tracks_csv import read_csv_points

    rows = [f"{first},a.x,a.y,a.z"] + [f"{s},{i},0,0" for i, s in enumerate(stamps)]
    (tmp_path / "order.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(Pose2RotError, match=f"order.csv: line {line}: the {first} column goes from {went}; rows must "
                                            f"be in {first} order"):
        read_csv_points(tmp_path / "order.csv")


@pytest.mark.parametrize("fps, decimals, jitter", [(30, 3, 0.0), (60, 3, 0.0), (30, 6, 0.15)])
def test_a_time_column_in_milliseconds_keeps_count_of_frames(tmp_path, fps, decimals, jitter):
    """Times rounded to milliseconds (or jittered by a sixth of a frame) put the median step a
    percent off the frame rate (30.303 for 30 fps), enough to lose count of frames within a second;
    the rate is fitted over the whole column, so dropped frames land where they were, and the rate
    reads as the whole number it is."""
    from pose2rot_core.tracks_csv import read_csv_points

    rng = np.random.default_rng(1)
    kept = [f for f in range(300) if f not in (100, 101, 200)]
    rows = [f"{(f + rng.uniform(-jitter, jitter)) / fps:.{decimals}f},{f},0,0" for f in kept]
    (tmp_path / "t.csv").write_text("time,a.x,a.y,a.z\n" + "\n".join(rows) + "\n")
    points = read_csv_points(tmp_path / "t.csv")
    assert points.fps == fps and points.positions.shape == (300, 1, 3)
    np.testing.assert_array_equal(np.flatnonzero(np.isnan(points.positions[:, 0, 0])), [100, 101, 200])
    np.testing.assert_array_equal(points.positions[kept, 0, 0], kept)


def test_a_row_of_empty_cells_is_a_frame_without_data_and_milliseconds_are_refused(tmp_path):
    """pandas writes a frame the tracker lost as ',,,': such rows were dropped as blank lines, so every
    later frame came two frames early, without a word; a time column in milliseconds read as 0.03 fps
    (a 3-second clip became 50 minutes)."""
    from pose2rot_core.tracks_csv import read_csv_points

    rows = ["a.x,a.y,a.z"] + [",," if t in (4, 5) else f"{t},0,0" for t in range(10)] + [""]
    (tmp_path / "lost.csv").write_text("\n".join(rows) + "\n")
    points = read_csv_points(tmp_path / "lost.csv")
    assert points.positions.shape == (10, 1, 3)
    np.testing.assert_array_equal(np.flatnonzero(np.isnan(points.positions[:, 0, 0])), [4, 5])
    np.testing.assert_array_equal(points.positions[[0, 3, 6, 9], 0, 0], [0, 3, 6, 9])
    (tmp_path / "ms.csv").write_text("time,a.x,a.y,a.z\n" + "\n".join(f"{33.333 * t:.3f},{t},0,0" for t in range(9)))
    with pytest.raises(Pose2RotError, match=r"ms.csv: the time column steps by 33.33 per row .* if it holds "
                                            r"milliseconds, divide it by 1000"):
        read_csv_points(tmp_path / "ms.csv")


def test_a_time_column_of_steps_too_small_for_a_rate_is_refused(tmp_path):
    """A time column stepping by 1e-320 s (one over it overflows) stopped info and solve with 'internal error:
    OverflowError: cannot convert float infinity to integer'. It is refused by name, saying how to write the
    times; a step of 1e-300 s is read (1e+300 fps: info warns of it)."""
    from pose2rot_core.tracks_csv import read_csv_points

    (tmp_path / "tiny.csv").write_text("time,a.x,a.y,a.z\n" + "\n".join(f"{t * 1e-320!r},{t},0,0" for t in range(5)))
    with pytest.raises(Pose2RotError) as info:
        read_csv_points(tmp_path / "tiny.csv")
    assert str(info.value) == ("tiny.csv: the time column steps by 1e-320 s per row, which gives no usable frame "
                               "rate: write the time of each row in seconds (0.0333333 a row for 30 fps)")
    (tmp_path / "small.csv").write_text("time,a.x,a.y,a.z\n" + "\n".join(f"{t * 1e-300!r},{t},0,0" for t in range(5)))
    assert read_csv_points(tmp_path / "small.csv").fps == pytest.approx(1e300)


def test_a_frame_column_spanning_far_more_frames_than_rows_is_refused(tmp_path):
    """A frame column that jumps by millions of frames would make a clip of millions of empty
    frames: refused, naming the column and what to do (it was squeezed together without a word)."""
    from pose2rot_core.tracks_csv import read_csv_points

    rows = [f"{f},0,0,0" for f in list(range(100)) + list(range(2_000_000, 2_000_100))]
    (tmp_path / "f.csv").write_text("frame,a.x,a.y,a.z\n" + "\n".join(rows) + "\n")
    with pytest.raises(Pose2RotError, match="the frame column spans 2,000,100 frames for 200 rows"):
        read_csv_points(tmp_path / "f.csv")
    rows = [f"{f},0,0,0" for f in list(range(100)) + list(range(2100, 2200))]
    (tmp_path / "g.csv").write_text("frame,a.x,a.y,a.z\n" + "\n".join(rows) + "\n")
    assert read_csv_points(tmp_path / "g.csv").positions.shape == (2200, 1, 3)  # a long gap: placed


def test_csv_name_mistakes_are_told_in_the_user_s_terms(tmp_path):
    """One column misspelt names the joint it belongs to; a tip named after its joint points at the
    rig's tip; tracks of another rig altogether say so, with the way to use them on this one."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    header, *rows = (examples / "arm_tracks.csv").read_text().splitlines()
    for name, new_header, message in [
            ("typo", header.replace("elbow.x", "elbo.x"), "is 'elbo' a misspelling of 'elbow'"),
            ("tip", header.replace("hand_end", "hand_tip"), r"close matches: 'hand_tip' -> 'hand_end'"),
            ("other", header, r"none of the CSV's joint names are in the skeleton cmu_08_01.bvh .*--map MAP.json")]:
        (tmp_path / f"{name}.csv").write_text("\n".join([new_header, *rows]) + "\n")
        rig = examples / ("cmu_08_01.bvh" if name == "other" else "arm.bvh")
        with pytest.raises(Pose2RotError, match=message):
            load_tracks(tmp_path / f"{name}.csv", skeleton_bvh=rig)


def test_reference_quaternions_written_w_last_are_refused(tmp_path):
    """scipy's as_quat() gives x, y, z, w: read w first, the reference pose is 95 degrees off the
    tracks at its frame and the solve flipped bones without saying why; now the error says which
    order fits. Written w first, the same file loads."""
    tracks = tracks_from_bvh(read_bvh(Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"),
                             reference_frame=10)
    path = tmp_path / "t.npz"
    save_tracks(path, tracks)
    load_tracks(path)
    arrays = dict(np.load(path, allow_pickle=False))
    arrays["reference_quaternions"] = np.roll(arrays["reference_quaternions"], -1, axis=-1)
    np.savez(path, **arrays)
    with pytest.raises(Pose2RotError, match=r"fits them read with w last: write them w, x, y, z"):
        load_tracks(path)


def test_points_without_a_skeleton_point_at_a_layout(tmp_path):
    np.savez(tmp_path / "pts.npz", positions=np.zeros((5, 3, 3)), joint_names=np.array(["a", "b", "c"]))
    with pytest.raises(Pose2RotError, match=r"missing keys parents, rest_positions .*give their layout \(--layout"):
        load_tracks(tmp_path / "pts.npz")


def _scored_points(tmp_path, bad_point: str, bad_frame: int, bad: float = 85.0) -> dict:
    """A point CSV and a point-set .npz of five landmarks over six frames, every score in 0..1 but
    one, ``bad`` (a percentage; ``bad_point`` at ``bad_frame``); and a tracks CSV of the arm rig
    whose bone tip's score is that one: {kind: path}."""
    names = ["left_hip", "right_hip", "left_shoulder", "right_shoulder", "nose"]
    stand = np.array([[0.1, 1.0, 0.0], [-0.1, 1.0, 0.0], [0.2, 1.5, 0.0], [-0.2, 1.5, 0.0], [0.0, 1.7, 0.1]])
    frames = stand[None] + np.linspace(0.0, 0.3, 6)[:, None, None] * np.array([1.0, 0.0, 0.0])
    conf = np.full(frames.shape[:2], 0.9)
    conf[bad_frame, names.index(bad_point)] = bad
    header = "frame," + ",".join(f"{n}.{a}" for n in names for a in "xyz") + "," + ",".join(f"{n}.conf" for n in names)
    rows = [",".join([str(t + 10)] + [f"{v:.6f}" for v in np.concatenate([f.ravel(), c])])
            for t, (f, c) in enumerate(zip(frames, conf))]
    (tmp_path / "p.csv").write_text("\n".join([header] + rows) + "\n")
    np.savez(tmp_path / "p.npz", positions=frames, point_names=np.array(names), confidence=conf, fps=25.0)
    arm = (EXAMPLES / "arm_tracks.csv").read_text().splitlines()
    tip = [a + (",hand_end.conf" if i == 0 else f",{bad:g}" if i == 1 + bad_frame else ",0.9") for i, a in enumerate(arm)]
    (tmp_path / "arm.csv").write_text("\n".join(tip) + "\n")
    return {"csv": tmp_path / "p.csv", "npz": tmp_path / "p.npz", "tracks": tmp_path / "arm.csv"}


@pytest.mark.parametrize("bad", [85.0, -0.5])
@pytest.mark.parametrize("kind", ["csv", "npz", "tracks", "blender"])
def test_scores_outside_0_to_1_are_refused_naming_the_file_and_where(tmp_path, kind, bad):
    """Every way points come in refuses a score past 1 (a percentage), as tracks do: a point-set
    .npz clipped it to 1, a point CSV solved through a map, the scores of a tracks CSV's bone tips
    and Blender's Import Tracks used it as it was (every sample trusted alike, none dropped). A
    negative score (the argument of a sigmoid, as some MediaPipe models write 'visibility') became
    a gap, noted only as 'confidence below 0.1': refused too, with how to turn it into a score. A
    CSV names its line and column, a .npz the point and frame."""
    from pose2rot_core.blender_space import file_points
    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.pointsets import load_points
    from pose2rot_core.tracks_csv import load_csv

    paths = _scored_points(tmp_path, "right_shoulder", 3, bad)
    with pytest.raises(Pose2RotError) as info:
        if kind == "tracks":
            load_csv(paths["tracks"], read_bvh(EXAMPLES / "arm.bvh"))
        elif kind == "blender":
            file_points(paths["csv"])
        else:
            load_points(paths[kind])
    where = {"npz": "p.npz: confidence of 'right_shoulder' at frame 3 is",
             "tracks": "arm.csv: line 5: column 'hand_end.conf' holds"}.get(kind, "p.csv: line 5: column "
                                                                              "'right_shoulder.conf' holds")
    assert f"{where} {bad:g}" in str(info.value), str(info.value)
    assert ("1 / (1 + exp(-v))" if bad < 0 else "divided by 100") in str(info.value), str(info.value)



@pytest.mark.parametrize("score, refused", [(1.0 + 5e-7, False), (1.0 + 2e-6, True), (-1e-9, True), (0.0, False),
                                            (np.inf, True), (-np.inf, True), (np.nan, False)])
@pytest.mark.parametrize("kind", ["csv", "npz"])
def test_a_csv_and_a_npz_refuse_the_same_scores(tmp_path, kind, score, refused):
    """The range of a score (0 to 1, rounding past 1 allowed) was spelled twice, by the CSV reader
    and by Tracks' check: one rule (tracks.scores_outside) now decides for both, and both keep to
    it at its edges; NaN gives no score."""
    from pose2rot_core.pointsets import load_points
    from pose2rot_core.tracks import scores_outside

    assert bool(scores_outside(np.array(score))) == refused
    paths = _scored_points(tmp_path, "nose", 2, score)
    if kind == "csv":  # written to 6 decimals: give the cell as is
        text = paths["csv"].read_text().splitlines()
        cells = text[3].split(",")
        cells[-1] = repr(float(score))
        paths["csv"].write_text("\n".join(text[:3] + [",".join(cells)] + text[4:]) + "\n")
    if refused:
        with pytest.raises(Pose2RotError, match="1 / \\(1|divided by 100"):
            load_points(paths[kind])
    else:
        load_points(paths[kind])

def test_a_marker_export_s_header_of_several_rows_is_named(tmp_path):
    """OptiTrack Motive, Vicon Nexus and Qualisys QTM write several header rows: the first data row
    then disagrees with the header ('131 cells but the header has 20 columns'), which said nothing of why."""
    from pose2rot_core.tracks_csv import read_csv_points

    (tmp_path / "take.csv").write_text("Trajectories\n100\n,,a,,,b,,\nFrame,Sub Frame,X,Y,Z,X,Y,Z\n1,0,1,2,3,4,5,6\n")
    with pytest.raises(Pose2RotError, match=r"take.csv: line 3: 8 cells but the header has 1 columns \(a header of several "
                                            r"rows, as OptiTrack Motive, Vicon Nexus and Qualisys QTM exports have"):
        read_csv_points(tmp_path / "take.csv")


def test_csv_tracks_standing_along_another_axis_than_the_rig_are_warned(tmp_path):
    """A Z-up export of a walk as CSV tracks on a Y-up rig: read in the rig's axes, the result lay on
    its back with exit 0 and no word; the legs pointing down Z in every frame now say so."""
    clip = read_bvh(Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh")
    P = clip.fk()[:30]
    header = ",".join(f"{n}.{a}" for n in clip.skeleton.names for a in "xyz")
    for tag, X, warned in (("y", P, False), ("z", np.stack([P[..., 0], -P[..., 2], P[..., 1]], -1), True)):
        path = tmp_path / f"walk_{tag}.csv"
        path.write_text(header + "\n" + "\n".join(",".join(f"{v:.5f}" for v in f.ravel()) for f in X) + "\n")
        report: list[str] = []
        load_tracks(path, skeleton_bvh=Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh",
                    report=report)
        said = [line for line in report if "the points stand along Z (their legs point down it), the rig along Y" in line]
        assert bool(said) == warned, report


def test_a_visibility_column_is_a_score(tmp_path):
    """MediaPipe exports score each landmark as 'visibility': such a column was refused ('not
    <joint>.conf'); it is read as the point's confidence, and one beside a .conf is refused by name."""
    from pose2rot_core.tracks_csv import read_csv_points

    (tmp_path / "v.csv").write_text("nose_x,nose_y,nose_z,nose_visibility\n0,0,0,0.9\n1,0,0,0.05\n")
    points = read_csv_points(tmp_path / "v.csv")
    assert points.names == ["nose"] and points.confidence[:, 0].tolist() == [0.9, 0.05]
    (tmp_path / "both.csv").write_text("a.x,a.y,a.z,a.conf,a.visibility\n0,0,0,1,1\n")
    with pytest.raises(Pose2RotError, match="columns 'a.conf' and 'a.visibility' both give the score of 'a': keep one"):
        read_csv_points(tmp_path / "both.csv")


def test_csv_with_a_separator_ending_every_line_is_read_and_an_unnamed_column_is_named(tmp_path, test_data_dir):
    """Exporters that end every line with a separator ('1,2,3,') give the header an empty last
    cell: the file was refused with "column '' is not '<joint>.x' ...", which names no column a
    user can find. Such a column of empty cells is now no column; any other column without a name
    (pandas' row index, written by to_csv) is refused naming its place and where it comes from."""
    rig = test_data_dir / "small_mixed.bvh"
    (tmp_path / "t.csv").write_text("Hips.x,Hips.y,Hips.z,\n1,2,3,\n4,5,6,\n")
    t = load_tracks(tmp_path / "t.csv", skeleton_bvh=rig)
    np.testing.assert_array_equal(t.positions[:, 0], [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "s.csv").write_text("Hips.x;Hips.y;Hips.z;\n1,5;2;3;\n4;5;6;\n")
    np.testing.assert_array_equal(load_tracks(tmp_path / "s.csv", skeleton_bvh=rig).positions[:, 0],
                                  [[1.5, 2, 3], [4, 5, 6]])
    (tmp_path / "p.csv").write_text(",Hips.x,Hips.y,Hips.z\n0,1,2,3\n1,4,5,6\n")
    with pytest.raises(Pose2RotError, match=r"p.csv: column 1 has no name .*pandas.* index=False.*'frame'"):
        load_tracks(tmp_path / "p.csv", skeleton_bvh=rig)
    (tmp_path / "q.csv").write_text("Hips.x,Hips.y,Hips.z,\n1,2,3,7\n4,5,6,\n")
    with pytest.raises(Pose2RotError, match=r"q.csv: column 4 has no name"):
        load_tracks(tmp_path / "q.csv", skeleton_bvh=rig)


@pytest.mark.parametrize("field, value", [("reference_frame", 2.7), ("reference_frame", float("nan")),
                                          ("reference_frame", "2"), ("first_frame", 1.5), ("fps", "30")])
def test_frame_numbers_and_rates_of_another_kind_are_refused_by_name(field, value):
    """Tracks(reference_frame=2.7) was cut to frame 2 without a word (NaN, and the same 2.7 given to
    tracks_from_bvh or Tracks.frames, stopped with a bare ValueError, IndexError or TypeError;
    fps='30' with a TypeError): each is refused naming the argument and the value given."""
    tracks = tracks_from_bvh(read_bvh(EXAMPLES / "arm.bvh"))
    kind = "a positive number" if field == "fps" else "a whole frame number"
    with pytest.raises(Pose2RotError) as info:
        replace(tracks, **{field: value})
    assert str(info.value) == f"tracks: {field} must be {kind}, got {value!r}"
    assert replace(tracks, reference_frame=np.int64(2), first_frame=np.int64(5)).reference_frame == 2


def test_a_fractional_frame_given_to_the_readers_and_slices_is_refused_by_name():
    clip = read_bvh(EXAMPLES / "arm.bvh")
    with pytest.raises(Pose2RotError, match=r"arm.bvh: reference frame must be a whole frame number, got 2.7$"):
        tracks_from_bvh(clip, 2.7)
    with pytest.raises(Pose2RotError, match=r"^frames: start must be a whole frame number, got 2.5$"):
        tracks_from_bvh(clip).frames(2.5, 10)


@pytest.mark.parametrize("low, words", [(1, "note: 1 sample with confidence below 0.1 treated as gaps"),
                                        (2, "note: 2 samples with confidence below 0.1 treated as gaps")])
def test_the_low_confidence_note_counts_one_sample_in_the_singular(tmp_path, capsys, low, words):
    """A CSV whose elbow has a confidence under 0.1 in ``low`` frames: the note counts the samples
    in words that agree with the number (it said '1 samples ...' for one)."""
    from pose2rot_core.cli import main

    examples = Path(__file__).resolve().parents[1] / "examples"
    lines = (examples / "arm_tracks.csv").read_text().splitlines()
    rows = [lines[0] + ",elbow.conf"] + [line + (",0.05" if i in (3, 6)[:low] else ",0.9")
                                         for i, line in enumerate(lines[1:])]
    (tmp_path / "take.csv").write_text("\n".join(rows) + "\n")
    code = main(["solve", str(tmp_path / "take.csv"), "--skeleton", str(examples / "arm.bvh"), "--out",
                 str(tmp_path / "o.bvh")])
    err = capsys.readouterr().err
    assert code == 0 and words in err, err
