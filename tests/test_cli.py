"""The ``pose2rot`` command line: round trips through files, and one-line errors for bad input."""
from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pose2rot_core.bvh import read_bvh, write_bvh
from pose2rot_core.cli import main
from pose2rot_core.layouts import get_layout
from pose2rot_core.rotations import axis_angle_to_matrix
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.tracks_io import load_tracks, save_tracks, tracks_from_bvh

from _humanoid import walker_points

NAMES = ("Hips", "Spine", "Head", "LeftArm", "LeftHand", "RightArm", "RightHand")
PARENTS = np.array([-1, 0, 1, 1, 3, 1, 5])
OFFSETS = np.array([[0, 90, 0], [0, 20, 0], [0, 30, 0], [15, 20, 0], [25, 0, 0], [-15, 20, 0], [-25, 0, 0]], float)


def small_clip(path: Path, T: int = 30) -> Path:
    """A 7-joint, T-frame BVH with smooth motion, written with write_bvh."""
    rest = np.zeros((7, 3))
    for j in range(7):
        rest[j] = OFFSETS[j] if j == 0 else rest[PARENTS[j]] + OFFSETS[j]
    sk = Skeleton(NAMES, PARENTS, rest)
    t = np.linspace(0, 1, T)[:, None, None]
    rng = np.random.default_rng(0)
    r = 0.5 * np.sin(2 * np.pi * t * rng.uniform(0.5, 1.5, (1, 7, 3)) + rng.uniform(0, 6, (1, 7, 3)))
    R = axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1))
    root = rest[0] + np.concatenate([np.linspace(0, 50, T)[:, None], np.zeros((T, 2))], 1)
    write_bvh(path, sk, R, root, fps=30.0, end_parents=np.array([2, 4, 6]),
              end_offsets=np.array([[0, 10, 0], [8, 0, 0], [-8, 0, 0]], float))
    return path


@pytest.fixture
def clip(tmp_path) -> Path:
    return small_clip(tmp_path / "clip.bvh")


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------- working commands
def test_solve_bvh_to_bvh(clip, tmp_path, capsys):
    out = tmp_path / "solved.bvh"
    code, stdout, err = run(["solve", clip, "--out", out], capsys)
    assert code == 0, err
    assert "solved 30 frames x 7 joints" in stdout
    solved, original = read_bvh(out), read_bvh(clip)
    assert solved.skeleton.names == original.skeleton.names
    assert solved.num_frames == original.num_frames == 30
    # BVH text keeps 6 decimals: positions agree to far below a millimetre on a 150-unit figure
    np.testing.assert_allclose(solved.fk(), original.fk(), atol=1e-3)


def test_one_frame_is_counted_as_one(clip, tmp_path, capsys):
    """The summary said 'solved 1 frames' for a range of one frame."""
    code, stdout, err = run(["solve", clip, "--frames", "4:5", "--out", tmp_path / "one.bvh"], capsys)
    assert code == 0, err
    assert "solved 1 frame x 7 joints" in stdout, stdout


@pytest.mark.parametrize("renamed, words", [
    ({2: "{"}, ["joint name '{' cannot be written to BVH, which reads '{' and '}' as the braces of its blocks; "
                "rename the joint in the tracks file"]),
    ({2: "l Arm", 3: "l_Arm"}, ["joints 'l Arm' and 'l_Arm' both become 'l_Arm'", "rename one of them in the tracks"]),
])
def test_npz_joint_names_a_bvh_cannot_hold_are_refused_before_the_solve(clip, tmp_path, capsys, monkeypatch,
                                                                         renamed, words):
    """An .npz whose joint names cannot be BVH words was solved in full, then refused by the writer in
    the API's words ('write_bvh: ...'): minutes lost on a long clip, and no word of the file or of --out."""
    import pose2rot_core.solvers

    tracks = tracks_from_bvh(read_bvh(clip))
    names = list(tracks.skeleton.names)
    for j, name in renamed.items():
        names[j] = name
    save_tracks(tmp_path / "t.npz", replace(tracks, skeleton=Skeleton(names, PARENTS, tracks.skeleton.rest_positions)))
    solve = pose2rot_core.solvers.solve
    monkeypatch.setattr(pose2rot_core.solvers, "solve", lambda *a, **k: pytest.fail("solved before the refusal"))
    code, _, err = run(["solve", tmp_path / "t.npz", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and err.startswith("pose2rot: error: t.npz: ") and err.count("\n") == 1, err
    for w in words + [f"--out {tmp_path / 'o.npz'}"]:
        assert w in err, err
    assert not (tmp_path / "o.bvh").exists()
    monkeypatch.setattr(pose2rot_core.solvers, "solve", solve)
    assert run(["solve", tmp_path / "t.npz", "--out", tmp_path / "o.npz"], capsys)[0] == 0


@pytest.mark.parametrize("factor, told", [("100", "--scale 1 "), ("0.5", "--scale 1 ")])
def test_a_wrong_scale_is_solved_with_a_warning_that_names_the_right_one(clip, tmp_path, capsys, factor, told):
    """--scale by a factor that leaves the bones a constant factor off the skeleton's was solved
    with a note only (99 times the height off, exit 0): it is a warning naming the factor that fits."""
    code, _, err = run(["solve", clip, "--scale", factor, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0
    assert f"warning: with --scale {factor} the tracks' bones measure" in err and told in err, err
    assert "units.scale_tracks" not in err and err.count("bones measure") == 1, err  # one piece of advice, in flags
    code, _, err = run(["solve", clip, "--scale", "1", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "warning" not in err


def test_scale_1_on_tracks_in_other_units_solves_them_with_a_warning(clip, tmp_path, capsys):
    """--scale 1 (which the refusal of tracks in other units offers) solves them as they are, but
    not silently: the joints end 99 times the height off the tracks, exit 0 and notes only."""
    tracks = tracks_npz(tmp_path / "cm.npz", clip, positions=lambda d: 100.0 * d["positions"])
    code, _, err = run(["solve", tracks, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and "--scale 1 to solve them as they are" in err
    code, _, err = run(["solve", tracks, "--scale", "1", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "warning: with --scale 1 the tracks' bones measure 100× the skeleton's" in err, err
    assert "--scale 0.01 (or --scale auto)" in err


def test_solve_bvh_to_npz(clip, tmp_path, capsys):
    out = tmp_path / "solved.npz"
    code, _, err = run(["solve", clip, "--out", out], capsys)
    assert code == 0, err
    with np.load(out) as f:
        assert f["quaternions"].shape == (30, 7, 4)
        assert list(f["joint_names"]) == list(NAMES)
        np.testing.assert_allclose(np.linalg.norm(f["quaternions"], axis=-1), 1.0, atol=1e-12)
        assert f["root_translation"].shape == (30, 3)


def test_an_npz_named_in_capitals_is_written_where_asked(clip, tmp_path, capsys):
    """--out x.NPZ writes x.NPZ, the file the summary names (numpy had added ".npz" to it)."""
    out = tmp_path / "SOLVED.NPZ"
    code, summary, err = run(["solve", clip, "--out", out], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix.lower() == ".npz") == ["SOLVED.NPZ"]
    assert str(out) in summary
    with np.load(out) as f:
        assert f["quaternions"].shape == (30, 7, 4)


def test_solve_bvh_with_its_own_reference_frame(clip, tmp_path, capsys):
    """--reference-frame without --reference: that frame of the clip is the reference pose, as in
    tracks_from_bvh; a BVH given as --skeleton as well is still refused."""
    from pose2rot_core.solvers import solve

    out = tmp_path / "solved.npz"
    code, _, err = run(["solve", clip, "--out", out, "--reference-frame", "12"], capsys)
    assert code == 0, err
    want = solve(tracks_from_bvh(read_bvh(clip), reference_frame=12))
    with np.load(out) as f:
        np.testing.assert_allclose(f["quaternions"], want.quaternions, atol=1e-12)
    code, _, err = run(["solve", clip, "--out", out, "--reference-frame", "12", "--skeleton", clip], capsys)
    assert code == 2 and "carries its own skeleton" in err


def test_a_reference_clip_by_another_path_is_the_same_reference(clip, tmp_path, capsys):
    """--reference given as a copy of the tracks' own clip, or the clip beside its tracks .npz, is
    that clip's pose at --reference-frame, which the tracks show there: the same result as the
    clip's own path (the copy's differed by up to 3 degrees, no longer exact at that frame)."""
    copy = tmp_path / "copy.bvh"
    copy.write_bytes(Path(clip).read_bytes())
    tracks = tmp_path / "tracks.npz"
    assert run(["tracks", clip, "--out", tracks], capsys)[0] == 0
    got = {}
    for name, source, reference in (("own", clip, clip), ("copy", clip, copy), ("npz", tracks, clip)):
        out = tmp_path / f"{name}.npz"
        code, _, err = run(["solve", source, "--out", out, "--reference", reference, "--reference-frame", "12"], capsys)
        assert code == 0, err
        with np.load(out) as f:
            got[name] = f["quaternions"]
    np.testing.assert_allclose(got["copy"], got["own"], atol=1e-12)
    np.testing.assert_allclose(np.abs((got["npz"] * got["own"]).sum(-1)), 1.0, atol=1e-9)


def test_tracks_then_solve_npz(clip, tmp_path, capsys):
    tracks = tmp_path / "tracks.npz"
    code, stdout, err = run(["tracks", clip, "--out", tracks, "--reference-frame", "0"], capsys)
    assert code == 0, err
    assert tracks.is_file() and "30 frames x 7 joints" in stdout
    loaded = load_tracks(tracks)
    assert loaded.reference_frame == 0 and loaded.has_ends
    out = tmp_path / "solved.bvh"
    code, _, err = run(["solve", tracks, "--out", out], capsys)
    assert code == 0, err
    np.testing.assert_allclose(read_bvh(out).fk(), read_bvh(clip).fk(), atol=1e-3)


def test_info(clip, capsys):
    code, stdout, _ = run(["info", clip], capsys)
    assert code == 0
    assert "7 joints" in stdout and "3 end sites" in stdout and "30 frames" in stdout
    assert "joints: " + ", ".join(NAMES) in stdout


@pytest.mark.parametrize("frame_time, rate, duration", [("1e-09", "1e+09 fps", "2.4e-08 s"),
                                                          ("500", "0.002 fps", "12000.00 s")])
def test_info_warns_of_a_frame_rate_that_looks_wrong(tmp_path, capsys, frame_time, rate, duration):
    """A BVH saying 'Frame Time: 1e-9' was described as '24 frames at 1e+09 fps (0.00 s)', and one of 500 s
    a frame, or a CSV whose time column steps by a microsecond, with no word that the rate looks wrong.
    info now gives the duration to two figures where it is shorter than a hundredth of a second, and a
    warning for a rate outside 1 to 1,000 fps that says how to give the right one (--fps F; with --fps
    given, to check it); a usual rate gets none."""
    arm = Path(__file__).resolve().parents[1] / "examples" / "arm.bvh"
    odd = tmp_path / "odd.bvh"
    odd.write_text(arm.read_text().replace("Frame Time: 0.04166666667", f"Frame Time: {frame_time}"))
    warning = (f"warning: {rate} (a frame every {float(frame_time):.4g} s) is outside the 1 to 1,000 fps that "
               "clips are taken at: the rate looks wrong; ")
    code, stdout, err = run(["info", odd], capsys)
    assert code == 0 and f"24 frames at {rate} ({duration})\n" in stdout, err
    assert warning + "give the clip's frames per second with --fps F\n" in stdout
    code, stdout, err = run(["info", odd, "--fps", "24"], capsys)
    assert code == 0 and "24 frames at 24 fps (1.00 s)\n" in stdout and "warning" not in stdout, err
    code, stdout, err = run(["info", arm, "--fps", "5000"], capsys)
    assert code == 0 and "warning: 5000 fps" in stdout and "; check the --fps given\n" in stdout, err
    rows = (arm.parent / "arm_tracks.csv").read_text().splitlines()
    fast = tmp_path / "fast.csv"
    fast.write_text("\n".join(["time" + rows[0][len("frame"):]]
                              + [f"{int(r.split(',')[0]) * 1e-6:.6f}{r[r.index(','):]}" for r in rows[1:]]) + "\n")
    for argv in (["info", fast, "--skeleton", arm], ["info", fast]):     # as tracks on their rig, and as points
        code, stdout, err = run(argv, capsys)
        assert code == 0 and "24 frames at 1e+06 fps" in stdout, err
        assert "warning: 1e+06 fps (a frame every 1e-06 s) is outside" in stdout, stdout


def test_solve_warns_of_a_frame_rate_that_looks_wrong(tmp_path, capsys):
    """solve converted a BVH saying 'Frame Time: 1e-9' (1e+09 fps), or points at 1e6 fps, with no word, where
    info warns that the rate looks wrong. solve now adds info's warning to its notes (still converting):
    for tracks, with --fps given, and for point sets; a usual rate gets none."""
    arm = Path(__file__).resolve().parents[1] / "examples" / "arm.bvh"
    odd = tmp_path / "odd.bvh"
    odd.write_text(arm.read_text().replace("Frame Time: 0.04166666667", "Frame Time: 1e-9"))
    warning = ("warning: {} fps (a frame every {} s) is outside the 1 to 1,000 fps that clips are taken at: the rate "
               "looks wrong; {}\n")
    code, _, err = run(["solve", odd, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and warning.format("1e+09", "1e-09", "give the clip's frames per second with --fps F") in err, err
    assert read_bvh(tmp_path / "o.bvh").frame_time == pytest.approx(1e-9)
    code, _, err = run(["solve", arm, "--fps", "5000", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and warning.format("5000", "0.0002", "check the --fps given") in err, err
    code, _, err = run(["solve", odd, "--fps", "24", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "warning" not in err, err
    points = walker_points(3, "humanml3d22")
    fast = _npz(tmp_path / "fast.npz", positions=points.positions, point_names=np.array(points.names), fps=1e6)
    code, _, err = run(["solve", fast, "--layout", "humanml3d22", "--out", tmp_path / "p.bvh"], capsys)
    assert code == 0 and warning.format("1e+06", "1e-06", "give the clip's frames per second with --fps F") in err, err


def test_the_solve_bar_shows_while_no_fraction_comes(monkeypatch):
    """The solve's bar was drawn only when a fraction came: through the first 5 s of a 100,000-frame
    solve (the tracks cleaned, no fraction yet) a terminal showed nothing at all. Past the delay the
    bar is now drawn, its elapsed time going on, without a call; not on a stderr that is no terminal."""
    import io
    import time

    from pose2rot_core import cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(cli, "PROGRESS_DELAY", 0.3)
    for stream, drawn in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        _, close = cli._progress_bar("solve (geometric)")
        time.sleep(1.2)
        close()
        assert ("solve (geometric):" in stream.getvalue()) == drawn, stream.getvalue()


def test_an_fps_that_replaces_the_file_s_own_rate_is_noted(clip, tmp_path, capsys):
    """--fps replaced the rate a BVH, .npz or CSV time column gives without a word: one --fps given to
    every file of a shell loop wrote a 120 fps take to play at 30, unseen. Where the file gives another
    rate, a note now names both; the same rate, or a CSV that has none (the rig's is taken), get none."""
    tracks = tracks_from_bvh(read_bvh(clip))
    save_tracks(tmp_path / "t.npz", tracks)
    names = tracks.skeleton.names
    header = ",".join(f"{n}.{a}" for n in names for a in "xyz")
    rows = [",".join(f"{v:.6f}" for v in frame.ravel()) for frame in tracks.positions]
    (tmp_path / "timed.csv").write_text("time," + header + "\n" + "".join(
        f"{t / 30:.6f},{row}\n" for t, row in enumerate(rows)))
    (tmp_path / "plain.csv").write_text(header + "\n" + "".join(row + "\n" for row in rows))
    rig = ["--skeleton", clip]
    for tracks_file, extra in ((clip, []), (tmp_path / "t.npz", []), (tmp_path / "timed.csv", rig)):
        name = Path(tracks_file).name
        code, _, err = run(["solve", tracks_file, *extra, "--fps", "120", "--out", tmp_path / "o.bvh"], capsys)
        assert code == 0 and (f"note: {name}: --fps 120 replaces the 30 fps the file gives: the output plays at "
                              "120 fps (leave --fps out to keep the file's rate)\n") in err, err
        assert read_bvh(tmp_path / "o.bvh").frame_time == pytest.approx(1 / 120)
        code, _, err = run(["solve", tracks_file, *extra, "--fps", "30", "--out", tmp_path / "o.bvh"], capsys)
        assert code == 0 and "replaces" not in err, err
    code, _, err = run(["solve", tmp_path / "plain.csv", *rig, "--fps", "120", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "replaces" not in err, err


def test_an_fps_the_file_gives_with_rounding_is_not_noted_as_replaced(clip, tmp_path, capsys):
    """A BVH's 'Frame Time: 0.033333' is 30.0003 fps: --fps 30 was noted as replacing it ('--fps 30 replaces
    the 30 fps the file gives'). Rates that read the same to the 4 digits the note prints are the same rate;
    29.97 against 30 is not."""
    rounded = tmp_path / "rounded.bvh"
    rounded.write_text(re.sub(r"Frame Time: \S+", "Frame Time: 0.033333", clip.read_text()))
    code, _, err = run(["solve", rounded, "--fps", "30", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "replaces" not in err, err
    code, _, err = run(["solve", rounded, "--fps", "29.97", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "--fps 29.97 replaces the 30 fps the file gives" in err, err


def test_a_csv_stepping_by_a_rate_past_all_reason_is_solved_with_the_warning(tmp_path, capsys):
    """A CSV whose time column steps by 1e-300 s (1e300 fps, finite) on a rig stopped solve with 'internal
    error: TypeError: loop of ufunc does not support argument 0 of type int': the quarter second over which
    lengths are averaged came to 2.5e299 frames, a Python integer numpy cannot take the root of. Windows are
    now at most running.LONGEST_WINDOW frames (longer than any clip), and the clip is solved with info's
    warning that the rate looks wrong."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    rows = (examples / "arm_tracks.csv").read_text().splitlines()
    lines = ["time" + rows[0][len("frame"):]]
    lines += [f"{int(r.split(',')[0]) * 1e-300!r}{r[r.index(','):]}" for r in rows[1:]]
    small = tmp_path / "small.csv"
    small.write_text("\n".join(lines) + "\n")
    code, _, err = run(["solve", small, "--skeleton", examples / "arm.bvh", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "warning: 1e+300 fps (a frame every 1e-300 s) is outside" in err, err
    assert read_bvh(tmp_path / "o.bvh").num_frames == len(rows) - 1


@pytest.mark.parametrize("frame_time, problem", [
    ("1e-320", "'Frame Time: 1e-320' gives no usable frame rate (its frames per second are past the largest "
               "number); write the clip's frame time in seconds (0.0333333 for 30 fps)"),
    ("-0.03", "Frame Time: must be a positive number of seconds (0.0333333 for 30 fps), found '-0.03'"),
    ("nan", "Frame Time: must be a positive number of seconds (0.0333333 for 30 fps), found 'nan'")])
def test_a_frame_time_of_no_usable_rate_is_refused_by_its_line(tmp_path, capsys, frame_time, problem):
    """'Frame Time: 1e-320' (one over it overflows) was read as 'inf fps': info described '24 frames at inf fps'
    with 'a frame every 0 s', and solve stopped with 'tracks: fps must be a positive number, got inf', naming
    neither the file nor the line. The BVH reader now refuses it at its line, saying how to write a frame time;
    a negative or NaN frame time, refused there already, now gets the same example."""
    arm = Path(__file__).resolve().parents[1] / "examples" / "arm.bvh"
    odd = tmp_path / "odd.bvh"
    odd.write_text(arm.read_text().replace("Frame Time: 0.04166666667", f"Frame Time: {frame_time}"))
    for argv in (["info", odd], ["solve", odd, "--out", tmp_path / "o.bvh"]):
        code, stdout, err = run(argv, capsys)
        assert code == 2 and err == f"pose2rot: error: {odd}: line 28: {problem}\n", stdout + err
    assert not (tmp_path / "o.bvh").exists()


def test_info_counts_one_of_a_kind_in_the_singular(tmp_path, capsys):
    """info of a one-joint, one-frame BVH printed '1 joints, 1 end sites, 1 frames' (its tracks: '1 bone tips')."""
    path = tmp_path / "one.bvh"
    write_bvh(path, Skeleton(["root"], [-1], np.zeros((1, 3))), np.eye(3)[None, None], np.zeros((1, 3)),
              end_parents=np.array([0]), end_offsets=np.array([[0.0, 1.0, 0.0]]))
    save_tracks(tmp_path / "one.npz", tracks_from_bvh(read_bvh(path)))
    code, stdout, err = run(["info", path], capsys)
    assert code == 0 and "one.bvh: BVH, 1 joint, 1 end site, 1 frame at 30 fps" in stdout, err
    code, stdout, err = run(["info", tmp_path / "one.npz"], capsys)
    assert code == 0 and "one.npz: tracks, 1 joint, 1 frame at 30 fps" in stdout and "1 bone tip\n" in stdout, err


def test_info_says_the_height_of_a_rig_without_extent_is_unknown(tmp_path, capsys):
    """info of a rig of one joint (End Site aside) said 'height 0 units' and 'skeleton height 1 units', a
    fallback shown as if measured; the same 1 unit for joints whose OFFSETs put them at one point."""
    one = tmp_path / "one.bvh"
    write_bvh(one, Skeleton(["root"], [-1], np.zeros((1, 3))), np.eye(3)[None, None], np.zeros((1, 3)),
              end_parents=np.array([0]), end_offsets=np.array([[0.0, 10.0, 0.0]]))
    code, stdout, err = run(["info", one], capsys)
    assert code == 0, err
    assert "height unknown: a single joint has no height\n" in stdout and "units" not in stdout, stdout
    assert ("skeleton height unknown: the rig is a single joint; every % of the height in pose2rot's messages is of "
            "1 unit\n") in stdout, stdout
    point = tmp_path / "point.bvh"
    write_bvh(point, Skeleton(["a", "b", "c"], [-1, 0, 1], np.zeros((3, 3))), np.broadcast_to(np.eye(3), (2, 3, 3, 3)),
              np.zeros((2, 3)))
    code, stdout, err = run(["info", point], capsys)
    assert code == 0 and "skeleton height unknown: the rest pose puts the joints at one point" in stdout, err
    assert "skeleton height 1 units" not in stdout


def test_a_rig_or_one_frame_with_frame_time_0_is_read_and_its_rate_asked_for_where_it_matters(clip, tmp_path, capsys):
    """'Frame Time: 0' (rig files exported without motion write it) was refused even where no rate is
    used: such a rig could not be a CSV's --skeleton, nor a one-frame clip be read. It is read as no
    rate; a clip of frames refuses it, and CSV tracks on such a rig without a time column ask for --fps."""
    text = clip.read_text()
    head, rows = text.split("Frames: 30\n")[0], text.split("\n")
    first_row = rows[rows.index("Frame Time: 0.03333333333") + 1]
    rig, one = tmp_path / "rig.bvh", tmp_path / "one.bvh"
    rig.write_text(head + "Frames: 0\nFrame Time: 0\n")
    one.write_text(head + f"Frames: 1\nFrame Time: 0\n{first_row}\n")
    for path, frames in ((rig, "0 frames"), (one, "1 frame")):
        code, stdout, err = run(["info", path], capsys)
        assert code == 0 and f"{path.name}: BVH, 7 joints, 3 end sites, {frames}, no frame rate ('Frame Time: 0')\n" \
            in stdout, err
    code, _, err = run(["solve", one, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and read_bvh(tmp_path / "o.bvh").num_frames == 1, err
    many = tmp_path / "many.bvh"
    many.write_text(text.replace("Frame Time: 0.03333333333", "Frame Time: 0"))
    code, _, err = run(["info", many], capsys)
    assert code == 2 and err.count("\n") == 1 and "'Frame Time: 0' in a clip of 30 frames" in err, err
    csv = tmp_path / "t.csv"
    positions = read_bvh(clip).fk()
    csv.write_text(",".join(f"{n}.{a}" for n in NAMES for a in "xyz") + "\n"
                   + "\n".join(",".join(f"{v:.6f}" for v in row.ravel()) for row in positions) + "\n")
    for argv in (["info", csv, "--skeleton", rig], ["solve", csv, "--skeleton", rig, "--out", tmp_path / "c.bvh"]):
        code, _, err = run(argv, capsys)
        assert code == 2 and err == ("pose2rot: error: t.csv: no frame rate: the CSV has no 'time' column and its rig "
                                     "rig.bvh says 'Frame Time: 0'; give the tracks' frames per second with --fps F\n")
    assert not (tmp_path / "c.bvh").exists()
    code, stdout, err = run(["info", csv, "--skeleton", rig, "--fps", "24"], capsys)
    assert code == 0 and "30 frames at 24 fps" in stdout, err
    code, _, err = run(["solve", csv, "--skeleton", rig, "--fps", "24", "--out", tmp_path / "c.bvh"], capsys)
    assert code == 0 and read_bvh(tmp_path / "c.bvh").frame_time == pytest.approx(1 / 24), err


def test_fps_stands_in_for_a_wrong_rate_in_a_tracks_file(clip, tmp_path, capsys):
    """--fps overrides the file's rate: it could not where that rate was wrong (-30 in an .npz
    stopped the solve before --fps was read, with no way round but editing the file)."""
    bad = tracks_npz(tmp_path / "t.npz", clip, fps=np.array(-30.0))
    code, _, err = run(["solve", bad, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and "its fps is -30, which is no frame rate" in err and "with --fps F" in err, err
    code, _, err = run(["solve", bad, "--fps", "24", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0, err
    assert read_bvh(tmp_path / "o.bvh").frame_time == pytest.approx(1 / 24)


def test_a_seed_without_noise_is_noted(clip, capsys):
    """--seed draws --noise's jitter: given alone it changed nothing without a word."""
    code, _, err = run(["eval", clip, "--seed", "3"], capsys)
    assert code == 0 and "note: --seed draws the jitter of --noise" in err
    code, _, err = run(["eval", clip, "--seed", "3", "--noise", "0.005"], capsys)
    assert code == 0 and "--seed" not in err


def test_debug_is_taken_after_the_command_too(clip, capsys):
    """`pose2rot eval CLIP --debug` (flags after the command, as everywhere else) was refused as an
    unrecognized argument: --debug was read only before the command."""
    for argv in (["--debug", "info", clip], ["info", clip, "--debug"]):
        code, stdout, err = run(argv, capsys)
        assert code == 0 and "7 joints" in stdout, err


def test_an_option_the_command_does_not_take_points_to_the_commands_help(clip, tmp_path, capsys):
    """`pose2rot solve CLIP --out X --quiet` said "(see 'pose2rot --help')", whose help lists commands,
    not their options; the line now points to the command's own."""
    with pytest.raises(SystemExit) as stop:
        run(["solve", clip, "--out", tmp_path / "x.bvh", "--quiet"], capsys)
    err = capsys.readouterr().err
    assert stop.value.code == 2, err
    assert err == "pose2rot: error: unrecognized arguments: --quiet (see 'pose2rot solve --help')\n", err
    assert not (tmp_path / "x.bvh").exists()


def test_info_counts_missing_samples_as_the_solver_does(clip, tmp_path, capsys):
    """Samples below the confidence the solver keeps count as missing (they read 0 %), and tracks
    with no data give no height (they read 'height nan')."""
    zero = tracks_npz(tmp_path / "z.npz", clip, confidence=lambda d: np.zeros(d["positions"].shape[:2]))
    code, stdout, err = run(["info", zero], capsys)
    assert code == 0, err
    assert "100.0 % samples missing" in stdout and "height unknown" in stdout and "nan" not in stdout


def test_info_does_not_round_a_few_missing_samples_to_none(tmp_path, capsys):
    """The shipped walk with 5 samples of 'rHand' missing (of 268 x 43): info of its tracks, or of its
    positions as a point set, said '0.0 % samples missing', as if nothing were; it now says 0.04 %."""
    walk = Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"

    def hand_lost(d):
        p = d["positions"].copy()
        p[50:55, list(d["joint_names"]).index("rHand")] = np.nan
        return p

    tracks = tracks_npz(tmp_path / "t.npz", walk, positions=hand_lost)
    with np.load(tracks) as f:
        np.savez(tmp_path / "p.npz", positions=f["positions"], point_names=f["joint_names"], fps=f["fps"])
    for path in (tracks, tmp_path / "p.npz"):
        code, stdout, err = run(["info", path], capsys)
        assert code == 0 and ", 0.04 % samples missing" in stdout, stdout + err


#: every argument that names an input path, by subcommand: (argv with {gone} where the path goes, its name)
MISSING_INPUTS = {
    "solve TRACKS": (["solve", "{gone}", "--out", "{d}/o.bvh"], "TRACKS"),
    "solve --skeleton": (["solve", "{d}/t.csv", "--skeleton", "{gone}", "--out", "{d}/o.bvh"], "--skeleton"),
    "solve --reference": (["solve", "{clip}", "--reference", "{gone}", "--out", "{d}/o.bvh"], "--reference"),
    "solve --map": (["solve", "{clip}", "--skeleton", "{clip}", "--map", "{gone}", "--out", "{d}/o.bvh"], "--map"),
    "solve --checkpoint": (["solve", "{clip}", "--solver", "hybrid", "--checkpoint", "{gone}", "--out", "{d}/o.bvh"],
                           "--checkpoint"),
    "solve --config": (["solve", "{clip}", "--solver", "hybrid", "--checkpoint", "{clip}", "--config", "{gone}",
                        "--out", "{d}/o.bvh"], "--config"),
    "eval CLIP": (["eval", "{gone}"], "CLIP"),
    "eval --checkpoint": (["eval", "{clip}", "--solver", "learned", "--checkpoint", "{gone}"], "--checkpoint"),
    "info FILE": (["info", "{gone}"], "FILE"),
    "info --skeleton": (["info", "{d}/t.csv", "--skeleton", "{gone}"], "--skeleton"),
    "tracks CLIP": (["tracks", "{gone}", "--out", "{d}/t.npz"], "CLIP"),
    "model info CHECKPOINT": (["model", "info", "{gone}"], "CHECKPOINT"),
    "model info --config": (["model", "info", "{clip}", "--config", "{gone}"], "--config"),
    "model convert CHECKPOINT": (["model", "convert", "{gone}", "--out", "{d}/m.safetensors"], "CHECKPOINT"),
    "model convert --config": (["model", "convert", "{clip}", "--config", "{gone}", "--out", "{d}/m.safetensors"],
                               "--config"),
    "embed --bvh": (["embed", "--bvh", "{gone}"], "--bvh"),
    "train DATA": (["train", "{clip}", "{gone}", "--out", "{d}/run"], "DATA"),
    "train --init": (["train", "{clip}", "--init", "{gone}", "--out", "{d}/run"], "--init"),
    "map --skeleton": (["map", "--skeleton", "{gone}", "--layout", "smpl24", "--out", "{d}/m.json"], "--skeleton"),
    "map --source": (["map", "--skeleton", "{clip}", "--source", "{gone}", "--out", "{d}/m.json"], "--source"),
    "map --reference": (["map", "--skeleton", "{clip}", "--layout", "smpl24", "--reference", "{gone}", "--out",
                         "{d}/m.json"], "--reference"),
}


@pytest.mark.parametrize("case", list(MISSING_INPUTS))
def test_a_missing_input_is_named_by_its_argument(case, clip, tmp_path, capsys):
    """A path with no file behind it was worded by what the file is ("map file 'nomap.json' does not exist;
    check the path", "BVH file ...", "training data ... (give BVH files or folders)"), or by the flag
    without advice ("--checkpoint 'nock.pt' does not exist"). Every input path of every command now says
    which argument gave it (a flag, a positional's metavar, as its usage line names it), the path, and what
    to do, before anything is read or written."""
    (tmp_path / "t.csv").write_text("frame,hip.x,hip.y,hip.z\n0,0,1,0\n")
    argv, name = MISSING_INPUTS[case]
    gone = tmp_path / "nope.bvh"
    code, stdout, err = run([a.format(gone=gone, clip=clip, d=tmp_path) for a in argv], capsys)
    assert code == 2 and err == f"pose2rot: error: {name} '{gone}' does not exist; check the path\n", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.bvh", "t.csv"]


def test_eval_names_each_failing_clip_once(clip, tmp_path, capsys):
    """eval of several clips, some missing or unreadable, led each line by the clip's path, then said it
    again ("not evaluated: nope.bvh: BVH file 'nope.bvh' does not exist; check the path", "adir: 'adir' is
    a directory, ..."). Each line now names the clip once."""
    (tmp_path / "adir").mkdir()
    (tmp_path / "empty.bvh").write_text("")
    gone, folder, empty = tmp_path / "nope.bvh", tmp_path / "adir", tmp_path / "empty.bvh"
    code, stdout, err = run(["eval", gone, folder, empty, clip], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 3, err
    assert lines[0] == f"pose2rot: error: not evaluated: CLIP '{gone}' does not exist; check the path", err
    assert lines[1].startswith(f"pose2rot: error: not evaluated: '{folder}' is a directory"), err
    assert lines[2] == f"pose2rot: error: not evaluated: {empty}: empty file, not a BVH file", err
    for line, path in zip(lines, (gone, folder, empty)):
        assert line.count(path.name) == 1, line
    code, stdout, err = run(["eval", gone, folder], capsys)
    assert code == 2 and err.count(gone.name) == 1 and err.count("adir") == 0, err


def test_info_reads_a_quadruped_s_height_up_its_legs(tmp_path, capsys):
    """A dog walking along -Z (hips to shoulders along its body): info read that as up, then failed on
    the signed axis ('internal error: ValueError: substring not found'); up is opposite its legs."""
    names = ("Hips", "Spine", "Neck", "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm", "RightHand",
             "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot")
    parents = np.array([-1, 0, 1, 2, 3, 4, 2, 6, 7, 0, 9, 10, 0, 12, 13])
    step = {"Spine": (0, 0, -0.3), "Neck": (0, 0.05, -0.3), "LeftArm": (0.1, -0.05, 0), "RightArm": (-0.1, -0.05, 0),
            "LeftUpLeg": (0.1, -0.05, 0), "RightUpLeg": (-0.1, -0.05, 0)}
    offsets = np.array([step.get(n, (0, -0.12, 0)) for n in names], float)
    offsets[0] = (0, 0.4, 0)
    rest = offsets.copy()
    for j in range(1, len(names)):
        rest[j] = rest[parents[j]] + offsets[j]
    dog = tmp_path / "dog.bvh"
    write_bvh(dog, Skeleton(names, parents, rest), np.broadcast_to(np.eye(3), (3, len(names), 3, 3)),
              rest[:1] + np.array([[0, 0, 0], [0, 0, -0.1], [0, 0, -0.2]]), fps=30.0)
    code, stdout, err = run(["info", dog], capsys)
    assert code == 0, err
    assert "units along Y (median over frames)" in stdout, stdout


def test_eval_with_plot(clip, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "joints.png"
    code, stdout, err = run(["eval", clip, "--protocol", "both", "--plot", png], capsys)
    assert code == 0, err
    assert "clip.bvh" in stdout and "rest" in stdout and "ref" in stdout
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_over_several_clips_keeps_the_results_of_the_good_ones(clip, tmp_path, capsys):
    """One bad clip among several (a glob over a folder) threw away every result: the others' table is
    printed, the bad one named with its reason, exit 1; one clip alone, or none good, is an error."""
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT hips\n{\n")
    code, stdout, err = run(["eval", clip, bad, clip], capsys)
    assert code == 1 and stdout.count("clip.bvh") >= 2, err
    assert f"pose2rot: error: not evaluated: {bad}: " in err and "unbalanced braces" in err
    assert err.count(str(bad)) == 1, err                  # named once ('bad.bvh: bad.bvh: line 3 ...' before)
    code, stdout, err = run(["eval", bad], capsys)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    code, stdout, err = run(["eval", bad, bad], capsys)
    assert code == 2 and "no clip could be evaluated" in err and "(and 1 more)" in err


def test_eval_of_a_clip_too_short_for_jitter_shows_a_dash_and_says_why(clip, tmp_path, capsys):
    """A clip of 1 or 2 frames printed 'nan' under 'jitter x' (jitter needs 3 frames), in its rows and in
    the mean rows with it. Its cells read '-', and a line under the table says why; a clip long enough keeps
    its number, and the mean is taken over the clips that have one."""
    short = [small_clip(tmp_path / f"f{T}.bvh", T) for T in (1, 2)]
    code, stdout, err = run(["eval", *short, clip, "--protocol", "both"], capsys)
    assert code == 0 and "nan" not in stdout.lower(), stdout + err
    rows = [ln.split() for ln in stdout.splitlines() if ln.startswith(("f1", "f2", "clip.bvh", "mean"))]
    jitter = {(cells[0], cells[1]): cells[-2] for cells in rows}
    assert all(jitter[(f"f{T}.bvh", p)] == "-" for T in (1, 2) for p in ("rest", "ref")), stdout
    assert all(float(jitter[(name, p)]) > 0 for name in ("clip.bvh", "mean") for p in ("rest", "ref")), stdout
    assert "'-' is no value: jitter x of a clip under 3 frames long" in stdout.splitlines()[-1], stdout
    code, stdout, err = run(["eval", clip], capsys)
    assert code == 0 and "'-'" not in stdout, stdout


def test_a_plot_that_cannot_be_written_whole_leaves_the_old_one(clip, tmp_path, capsys, monkeypatch):
    """A write that fails half-way (a full disk) keeps the picture that was there and says which
    file and flag: it left a truncated picture and a bare 'No space left on device'."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    def half_written(fig, f, **kwargs):
        f.write(b"\x89PNG partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    png = _write(tmp_path / "joints.png", "old picture")
    monkeypatch.setattr(Figure, "savefig", half_written)
    code, _, err = run(["eval", clip, "--plot", png], capsys)
    assert code == 2 and "cannot write plot (--plot) file" in err and "No space left on device" in err
    assert png.read_text() == "old picture" and not list(tmp_path.glob("*.part"))


def test_frames_range(clip, tmp_path, capsys):
    out = tmp_path / "part.bvh"
    code, stdout, err = run(["solve", clip, "--out", out, "--frames", "10:20"], capsys)
    assert code == 0, err
    assert read_bvh(out).num_frames == 10
    np.testing.assert_allclose(read_bvh(out).fk(), read_bvh(clip).fk()[10:20], atol=1e-3)


def test_a_frame_range_of_noisy_tracks_reads_the_noise_over_the_whole_file(tmp_path, capsys):
    """--frames on a noisy take: the range is smoothed with the noise the whole file shows, not
    followed with stretching bones as its few frames alone would be."""
    walk = Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"
    tracks = tracks_from_bvh(read_bvh(walk))
    noise = np.random.default_rng(0).normal(scale=0.005 * tracks.skeleton.height, size=tracks.positions.shape)
    save_tracks(tmp_path / "noisy.npz", replace(tracks, positions=tracks.positions + noise))
    code, stdout, err = run(["solve", tmp_path / "noisy.npz", "--out", tmp_path / "part.npz", "--frames", "120:123"],
                            capsys)
    assert code == 0, err
    assert "solved 3 frames" in stdout and "smoothed" in err and "translation is solved per frame" not in err, err


def _sides_swapped(names: list[str]) -> list[int]:
    """For each of the CMU walk's joint or tip ``names``, the index of its other side's ('lHand' <-> 'rHand',
    'leftEye' <-> 'rightEye'); itself for a joint on the middle."""
    def other(n: str) -> str:
        for a, b in (("left", "right"), ("right", "left"), ("l", "r"), ("r", "l")):
            if n.startswith(a) and n[len(a)].isupper():
                return b + n[len(a):]
        return n
    return [names.index(other(n)) for n in names]


def test_tracks_mirrored_against_their_rig_are_warned_of(tmp_path, capsys):
    """The shipped walk's tracks mirrored (one horizontal axis negated: a selfie camera) or with every
    left and right label swapped, solved on their own rig, came back 4.3 % of the height off with a
    warning that blamed the rig's rigid shape and advised --stretch exact (which puts the turned-round
    rig's joints on the mirror image by translation): the solve now says the tracks are the mirror image
    of the rig's body, in a CSV and an .npz alike; the walk as recorded gets no such warning."""
    walk = Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"
    tracks = tracks_from_bvh(read_bvh(walk))
    joints, tips = _sides_swapped(list(tracks.skeleton.names)), _sides_swapped(list(tracks.end_names))
    P, E, mirror = tracks.positions, tracks.end_positions, np.array([-1.0, 1.0, 1.0])
    cases = {"mirrored": replace(tracks, positions=P * mirror, end_positions=E * mirror),
             "swapped": replace(tracks, positions=P[:, joints], end_positions=E[:, tips]), "as_recorded": tracks}
    for name, case in cases.items():
        save_tracks(tmp_path / f"{name}.npz", case)
        code, _, err = run(["solve", tmp_path / f"{name}.npz", "--out", tmp_path / "o.bvh"], capsys)
        assert code == 0, err
        warned = [line for line in err.splitlines() if "mirror image" in line]
        if name == "as_recorded":
            assert not warned, err
        else:
            assert len(warned) == 1 and warned[0].startswith(
                "warning: the tracks are the mirror image of the rig's body in 100 % of the frames"), err
    names = list(tracks.skeleton.names) + list(tracks.end_names)
    columns = ",".join(f"{n}.{a}" for n in names for a in "xyz")
    rows = np.concatenate([P * mirror, E * mirror], 1).reshape(len(P), -1)
    (tmp_path / "mirrored.csv").write_text(columns + "\n" + "\n".join(",".join(f"{v:.6f}" for v in r) for r in rows))
    code, _, err = run(["solve", tmp_path / "mirrored.csv", "--skeleton", walk, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0 and "warning: the tracks are the mirror image of the rig's body" in err, err


def test_module_entry_point(clip, tmp_path):
    out = tmp_path / "solved.npz"
    proc = subprocess.run([sys.executable, "-m", "pose2rot_core.cli", "solve", str(clip), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file()
    proc = subprocess.run([sys.executable, "-m", "pose2rot_core.cli", "solve", str(tmp_path / "nope.bvh"),
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("pose2rot: error:") and "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- errors
def tracks_npz(path: Path, clip: Path, **changes) -> Path:
    """Tracks of ``clip`` saved as npz, then with raw arrays replaced by ``changes``."""
    save_tracks(path, tracks_from_bvh(read_bvh(clip)))
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    for key, value in changes.items():
        data[key] = value(data) if callable(value) else value
    np.savez(path, **data)
    return path


def nan_root(d):
    p = d["positions"].copy()
    p[:, 0] = np.nan
    return p


def csv_with_unknown_joint(path: Path) -> Path:
    path.write_text("frame,Hips.x,Hips.y,Hips.z,Tail.x,Tail.y,Tail.z\n0,0,90,0,0,80,-10\n1,1,90,0,1,80,-10\n")
    return path


BAD_INPUTS = {
    "truncated-bvh": lambda c, d: (["solve", _write(d / "t.bvh", "\n".join(c.read_text().splitlines()[:-5])),
                                    "--out", d / "o.bvh"], ["truncated"]),
    "wrong-channel-count": lambda c, d: (["solve", _write(d / "w.bvh", c.read_text().replace(
        "CHANNELS 3", "CHANNELS 4", 1)), "--out", d / "o.bvh"], ["line", "CHANNELS"]),
    "nan-root": lambda c, d: (["solve", tracks_npz(d / "n.npz", c, positions=nan_root), "--out", d / "o.bvh"],
                              ["root joint 'Hips'", "no data"]),
    "duplicate-names": lambda c, d: (["solve", tracks_npz(d / "dup.npz", c, joint_names=lambda x: np.array(
        ["Hips", "Spine", "Spine"] + list(x["joint_names"][3:]))), "--out", d / "o.bvh"], ["duplicate", "'Spine'"]),
    "cycle": lambda c, d: (["solve", tracks_npz(d / "cyc.npz", c, parents=np.array([-1, 0, 4, 1, 2, 1, 5])),
                            "--out", d / "o.bvh"], ["cycle"]),
    "shape-mismatch": lambda c, d: (["solve", tracks_npz(d / "shape.npz", c, positions=lambda x: x["positions"][:, :5]),
                                     "--out", d / "o.bvh"], ["positions", "joint_names"]),
    "csv-unknown-joint": lambda c, d: (["solve", csv_with_unknown_joint(d / "p.csv"), "--skeleton", c,
                                        "--out", d / "o.bvh"], ["unknown joint names", "'Tail'"]),
    "empty-frame-range": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--frames", "5:5"], ["--frames 5:5"]),
    "missing-file": lambda c, d: (["solve", d / "missing.bvh", "--out", d / "o.bvh"], ["missing.bvh"]),
    "learned-without-checkpoint": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--solver", "learned"],
                                                ["--checkpoint is not set", "learned solver"]),
    "hybrid-checkpoint-missing": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--solver", "hybrid",
                                                "--checkpoint", d / "nope.pt"], ["--checkpoint", "nope.pt' does not exist"]),
    "bad-smooth": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--smooth", "soft"],
                                ["--smooth must be 'auto', 'off' or a width in seconds", "'soft'"]),
    "negative-smooth": lambda c, d: (["eval", c, "--smooth", "-0.1"], ["--smooth width must be", ">= 0"]),
    "bad-window": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--solver", "learned", "--checkpoint",
                                 _write(d / "m.pt", "x"), "--window", "0"], ["--window must be", ">= 1"]),
    "model-flag-with-geometric": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--checkpoint", _write(d / "m.pt", "x")],
                                               ["--checkpoint is for --solver learned or hybrid", "leave --checkpoint out"]),
    "model-setting-with-geometric": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--device", "cuda"],
                                                  ["--device is for --solver learned or hybrid", "leave --device out"]),
    "geometric-flag-with-learned": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--solver", "learned", "--checkpoint",
                                                  _write(d / "m.pt", "x"), "--twist", "reference"],
                                                 ["--twist reference has no effect with --solver learned",
                                                  "or use --solver hybrid"]),
    "bad-max-position-error": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--max-position-error", "-1"],
                                            ["--max-position-error must be a percentage of the height above 0"]),
    "result-too-far": lambda c, d: (["solve", tracks_npz(d / "far.npz", c, positions=head_pulled_off), "--out",
                                     d / "o.bvh", "--stretch", "off", "--max-position-error", "1"],
                                    ["the solution is", "from the tracks at joint 'Head'", "(allowed: 1 %)",
                                     "nothing was written"]),
    "bad-output-suffix": lambda c, d: (["solve", c, "--out", d / "o.txt"], ["--out", ".bvh", ".npz"]),
    "frames-not-a-range": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--frames", "5"], ["--frames", "A:B"]),
    "frames-reversed": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--frames", "10:5"],
                                     ["--frames 10:5 selects no frames", "after the start"]),
    "frames-beyond-clip": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--frames", "0:100"],
                                        ["--frames 0:100 reaches outside the 30-frame clip", "0:30"]),
    "reference-frame-outside": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--reference-frame", "30"],
                                             ["--reference-frame 30", "0..29"]),
    "reference-frame-alone-of-npz-tracks": lambda c, d: (["solve", tracks_npz(d / "t.npz", c), "--reference-frame",
                                                          "3", "--out", d / "o.bvh"],
                                                         ["--reference-frame 3 alone takes the pose from the rotations "
                                                          "of BVH tracks; t.npz holds positions: add --reference "
                                                          "POSE.bvh --reference-frame 3, with POSE.bvh a BVH"]),
    "tracks-reference-frame-outside": lambda c, d: (["tracks", c, "--out", d / "t.npz", "--reference-frame", "30"],
                                                    ["--reference-frame 30", "0..29"]),
    "out-missing-directory": lambda c, d: (["solve", c, "--out", d / "no" / "o.bvh"],
                                           ["--out", "directory", "does not exist"]),
    "out-is-directory": lambda c, d: (["solve", c, "--out", _mkdir(d / "o.npz")], ["is a directory"]),
    "out-is-the-input": lambda c, d: (["solve", _write(d / "in.bvh", c.read_text()), "--out", d / "." / "in.bvh"],
                                      ["is the input file", "write to another file"]),
    "out-is-a-hard-link-to-the-input": lambda c, d: (["solve", _write(d / "in.bvh", c.read_text()), "--out",
                                                      _hard_link(d / "in.bvh", d / "link.bvh")],
                                                     ["is the input file", "write to another file"]),
    "plot-over-the-clip": lambda c, d: (["eval", _write(d / "in.bvh", c.read_text()), "--plot", d / "in.bvh"],
                                        ["--plot", "is the input file"]),
    "plot-not-a-picture": lambda c, d: (["eval", c, "--plot", d / "errors.bvh"], ["--plot must end in .png"]),
    "bad-order": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--order", "XXY"], ["--order", "ZXY", "'XXY'"]),
    "up-axis-with-tracks": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--up-axis", "z"],
                                         ["--up-axis is for point sets", "leave --up-axis out"]),
    "order-with-npz-out": lambda c, d: (["solve", c, "--out", d / "o.npz", "--order", "XYZ"],
                                        ["--order is for BVH output", "o.npz holds quaternions"]),
    "tracks-out-missing-directory": lambda c, d: (["tracks", c, "--out", d / "no" / "t.npz"], ["does not exist"]),
    "eval-negative-noise": lambda c, d: (["eval", c, "--noise", "-1"], ["--noise", "from 0 to 0.1"]),
    "eval-noise-in-percent": lambda c, d: (["eval", c, "--noise", "5"], ["--noise is a fraction", "0.005 is 0.5 %"]),
    "scale-far-off-the-rig": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--scale", "1e-5",
                                             "--max-position-error", "1"],
                                            ["no joint below the root has data", "parent's place", "their scale"]),
    "eval-negative-seed": lambda c, d: (["eval", c, "--noise", "0.01", "--seed", "-1"],
                                        ["--seed is a whole number 0 or more", "got -1"]),
    "nan-in-bvh-motion": lambda c, d: (["solve", _write(d / "n.bvh", re.sub(r"(Frame Time: \S+\n)\S+", r"\1nan",
                                                                           c.read_text())), "--out", d / "o.bvh"],
                                       ["line 52: value 1 'nan'", "not a finite number"]),
    "inf-in-npz": lambda c, d: (["solve", tracks_npz(d / "i.npz", c, positions=inf_sample), "--out", d / "o.bvh"],
                                ["infinite", "'Spine' at frame 2", "NaN"]),
    "npz-fps-zero": lambda c, d: (["solve", tracks_npz(d / "f0.npz", c, fps=np.float64(0.0)), "--out", d / "o.bvh"],
                                  ["f0.npz: its fps is 0, which is no frame rate", "--fps F"]),
    "npz-fps-nan": lambda c, d: (["solve", tracks_npz(d / "fn.npz", c, fps=np.float64(np.nan)), "--out", d / "o.bvh"],
                                 ["fn.npz: its fps is nan, which is no frame rate", "--fps F"]),
    "npz-fps-of-no-frame-time": lambda c, d: (["solve", tracks_npz(d / "fs.npz", c, fps=np.float64(1e-320)), "--out",
                                               d / "o.bvh"], ["fs.npz", "fps is 1e-320", "no frame rate", "--fps F"]),
    "fps-of-no-frame-time": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--fps", "1e-320"],
                                          ["--fps 1e-320 gives no frame time", "--fps 30"]),
    "npz-fps-text": lambda c, d: (["solve", tracks_npz(d / "ft.npz", c, fps=np.array("30")), "--out", d / "o.bvh"],
                                  ["ft.npz: its fps is the text '30', which is no frame rate", "--fps F"]),
    "zero-frames": lambda c, d: (["solve", _write(d / "z.bvh", c.read_text().split("Frames:")[0]
                                                  + "Frames: 0\nFrame Time: 0.04\n"), "--out", d / "o.bvh"],
                                 ["no motion", "Frames: 0"]),
    "directory-as-tracks": lambda c, d: (["solve", _mkdir(d / "x.bvh"), "--out", d / "o.bvh"],
                                         ["folder", "x.bvh' has no", "track files or FreeMoCap recordings"]),
    "reference-of-another-rig": lambda c, d: (["solve", c, "--reference", _write(d / "other.bvh", _renamed(c)),
                                               "--out", d / "o.bvh"],
                                              ["--reference", "other.bvh lacks 6 joints of the tracks (Spine, ",
                                               "leave --reference out", "--reference-frame N alone"]),
    "map-reference-of-another-rig": lambda c, d: (["map", "--skeleton", c, "--layout", "coco17", "--reference",
                                                   _write(d / "other.bvh", _renamed(c)), "--out", d / "m.json"],
                                                  ["--reference", "other.bvh lacks 6 joints of the rig (Spine, ",
                                                   "leave --reference out"]),
    "unknown-tracks-format": lambda c, d: (["solve", _write(d / "README.md", "# notes"), "--out", d / "o.bvh"],
                                           ["README.md: unknown tracks format '.md'", ".npy with --layout NAME",
                                            ".tsv with --skeleton", "FreeMoCap recording folder", "--map MAP.json"]),
    "folder-as-tracks": lambda c, d: (["solve", _mkdir(d / "takes"), "--out", d / "o.bvh"],
                                      ["folder", "takes' has no", "track files or FreeMoCap recordings"]),
    "eval-of-csv-tracks": lambda c, d: (["eval", _write(d / "t.csv", "a.x,a.y,a.z\n0,0,0\n")],
                                        ["t.csv: pose2rot eval takes BVH clips", "pose2rot solve"]),
    "tracks-of-npz-tracks": lambda c, d: (["tracks", _write(d / "t.npz", "x"), "--out", d / "o.npz"],
                                          ["t.npz: pose2rot tracks takes BVH clips", "pose2rot solve"]),
    "pickle-as-npz": lambda c, d: (["solve", _write(d / "p.npz", "x"), "--out", d / "o.bvh"], ["not an .npz file"]),
    "single-array-as-npz": lambda c, d: (["solve", _np_save(d / "a.npz", np.zeros((4, 3, 3))), "--out", d / "o.bvh"],
                                         ["a.npz: holds a single array (np.save)", "np.savez(path, positions="]),
    "info-of-a-single-array-as-npz": lambda c, d: (["info", _np_save(d / "a.npz", np.zeros((4, 3, 3)))],
                                                   ["a.npz: holds a single array (np.save)"]),
    "empty-npz": lambda c, d: (["solve", _write(d / "e.npz", ""), "--out", d / "o.bvh"],
                               ["e.npz", "the file is empty"]),
    "npz-cut-short": lambda c, d: (["solve", _cut(tracks_npz(d / "cut.npz", c)), "--out", d / "o.bvh"],
                                   ["cut.npz", "not a readable .npz file", "truncated"]),
    "info-of-an-empty-npz": lambda c, d: (["info", _write(d / "e.npz", "")], ["e.npz", "the file is empty"]),
    "map-from-an-npz-cut-short": lambda c, d: (["map", "--skeleton", c, "--source", _cut(tracks_npz(d / "cut.npz", c)),
                                                "--out", d / "m.json"], ["cut.npz", "not a readable .npz file"]),
    "rig-beyond-float-range": lambda c, d: (["solve", _write(d / "huge.bvh", c.read_text().replace(
        "OFFSET 0 20 0", "OFFSET 0 1e300 0", 1)), "--out", d / "o.bvh"], ["9.94e+299 units from the origin", "rescale the rig"]),
    "point-set-of-no-frames": lambda c, d: (["solve", _npz(d / "p0.npz", positions=np.zeros((0, 22, 3)),
                                                         point_names=np.array(get_layout("humanml3d22").points),
                                                         fps=30.0), "--layout", "humanml3d22", "--out", d / "o.bvh"],
                                            ["p0.npz: the point set has 0 frames"]),
    "point-names-pickled": lambda c, d: (["solve", _npz(d / "p.npz", positions=np.zeros((4, 22, 3)),
                                                        point_names=np.array(get_layout("humanml3d22").points,
                                                                             dtype=object)), "--out", d / "o.bvh"],
                                         ["p.npz: point_names is stored as Python objects (a pickle)",
                                          "np.asarray(names, dtype=str)"]),
    "info-of-point-names-pickled": lambda c, d: (["info", _npz(d / "p.npz", positions=np.zeros((4, 22, 3)),
                                                               point_names=np.array(["a", "b"] * 11, dtype=object))],
                                                 ["p.npz: point_names is stored as Python objects (a pickle)"]),
    "point-set-fps-of-no-frame-time": lambda c, d: (["solve", _walker_npz(d / "w.npz", fps=1e-320), "--layout",
                                                     "humanml3d22", "--out", d / "o.bvh"],
                                                    ["w.npz: fps must be", "1/fps"]),
    "points-with-fps-of-no-frame-time": lambda c, d: (["solve", _walker_npz(d / "w.npz"), "--layout", "humanml3d22",
                                                       "--fps", "1e-320", "--out", d / "o.bvh"],
                                                      ["--fps must be", "1/fps", "got 1e-320"]),
    "map-of-a-rig-matching-no-point": lambda c, d: (["map", "--skeleton", _write(d / "odd.bvh", _renamed(c)),
                                                    "--layout", "coco17", "--out", d / "m.json"],
                                                   ["matches a point of coco17", "nothing written"]),
    "map-from-points-without-data": lambda c, d: (["map", "--skeleton", c, "--source",
                                                  _npz(d / "nan.npz", positions=np.full((5, 17, 3), np.nan),
                                                       point_names=np.array(get_layout("coco17").points)),
                                                  "--out", d / "m.json"], ["nan.npz: no point has data in any frame"]),
    "argparse-missing-out": lambda c, d: (["solve", c], ["required: --out", "pose2rot solve --help"]),
    "argparse-bad-int": lambda c, d: (["solve", c, "--out", d / "o.bvh", "--reference-frame", "x"],
                                      ["--reference-frame", "'x'"]),
}


def head_pulled_off(d):
    """The Head track 20 units (13 % of the height) off its bone in every frame."""
    p = d["positions"].copy()
    p[:, list(d["joint_names"]).index("Head"), 1] += 20.0
    return p


def inf_sample(d):
    p = d["positions"].copy()
    p[2, 1, 0] = np.inf
    return p


def _hard_link(target: Path, path: Path) -> Path:
    path.hardlink_to(target)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _renamed(clip: Path) -> str:
    """The text of ``clip`` with joints below the hips named so that no layout's point matches them
    (the hips alone find the mean of a layout's hips, a virtual point that drives no bone)."""
    text = clip.read_text()
    for i, name in enumerate(NAMES[1:]):
        text = re.sub(rf"\b{name}\b", f"node{i}", text)
    return text


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _np_save(path: Path, array: np.ndarray) -> Path:
    """``array`` written by np.save at ``path`` (whatever its suffix: np.save adds .npy, a stream does not)."""
    with path.open("wb") as f:
        np.save(f, array)
    return path


def _walker_npz(path: Path, **more) -> Path:
    """A point set .npz of layout humanml3d22 (a generated walk) with the arrays ``more`` added."""
    points = walker_points(3, "humanml3d22")
    return _npz(path, positions=points.positions, point_names=np.array(points.names), **more)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _cut(path: Path) -> Path:
    """``path`` cut to its first 100 bytes (a download or copy that stopped early)."""
    path.write_bytes(path.read_bytes()[:100])
    return path


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_one_line_error(case, clip, tmp_path, capsys):
    argv, words = BAD_INPUTS[case](clip, tmp_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # numpy's overflow lines printed before the error
            code, _, err = run(argv, capsys)
    except SystemExit as e:  # argparse usage errors
        code, (_, err) = e.code, capsys.readouterr()
    assert code == 2, (code, err)
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("pose2rot: error:"), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not (tmp_path / "o.bvh").exists()


def _link_loop(path: Path) -> Path:
    """``path``, made a link to a link that leads back to ``path``."""
    other = path.with_name("other-" + path.name)
    other.symlink_to(path.name)
    path.symlink_to(other.name)
    return path


@pytest.mark.parametrize("argv, names", [
    (["solve", "{d}/take", "--out", "{d}/o.bvh"], "TRACKS '{d}/take'"),
    (["solve", "{d}/take.npz", "--out", "{d}/o.bvh"], "TRACKS '{d}/take.npz'"),
    (["solve", "{d}/take.npy", "--layout", "coco17", "--out", "{d}/o.bvh"], "TRACKS '{d}/take.npy'"),
    (["info", "{d}/take.bvh"], "FILE '{d}/take.bvh'"),
    (["solve", "{clip}", "--reference", "{d}/take.bvh", "--out", "{d}/o.bvh"], "--reference '{d}/take.bvh'"),
    (["solve", "{clip}", "--solver", "hybrid", "--checkpoint", "{d}/take.pt", "--out", "{d}/o.bvh"],
     "--checkpoint '{d}/take.pt'"),
])
def test_an_input_in_a_loop_of_links_is_called_a_link_loop(clip, tmp_path, capsys, argv, names):
    """A link in a loop of links given as an input (ln -s a b; ln -s b a) was a missing file ('tracks file
    'take.npz' does not exist; check the path'; 'unknown tracks format' without a suffix), or the system's
    'Too many levels of symbolic links' with no way out: it is called a loop of links, with what to do."""
    d = tmp_path / "in"
    d.mkdir()
    loop = next(a for a in argv if a.startswith("{d}/take"))
    _link_loop(Path(loop.format(d=d)))
    code, _, err = run([a.format(d=d, clip=clip) for a in argv], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert (f"pose2rot: error: {names.format(d=d)} is a link in a loop of links, which names no file: give the "
            "file's own path, or point the link at the file") in err, err


def test_an_input_link_to_nothing_names_where_it_leads(tmp_path, capsys):
    """A link whose file is gone was 'does not exist; check the path', though the path given is there."""
    (tmp_path / "take.bvh").symlink_to("moved.bvh")
    code, _, err = run(["solve", tmp_path / "take.bvh", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and f"TRACKS '{tmp_path}/take.bvh' is a link to 'moved.bvh', where there is no file" in err


EMPTY_OUT = {
    "solve": (["solve", "{clip}", "--out", ""], "--out is empty: give a file name ending in .bvh or .npz (NAME.bvh)"),
    "tracks": (["tracks", "{clip}", "--out", " "], "--out is empty: give a file name ending in .npz (NAME.npz)"),
    "map": (["map", "--skeleton", "{clip}", "--layout", "coco17", "--out", ""],
            "--out is empty: give a file name ending in .json (NAME.json)"),
    "convert": (["model", "convert", "{clip}", "--out", ""],
                "--out is empty: give a file name ending in .safetensors (NAME.safetensors)"),
    "train": (["train", "{clip}", "--steps", "1", "--out", ""],
              "--out is empty: give a folder for the run's files (it is created where missing)"),
    "eval-plot": (["eval", "{clip}", "--plot", ""],
                  "--plot is empty: give a file name ending in .png or .pdf or .svg (NAME.png)"),
}


@pytest.mark.parametrize("case", list(EMPTY_OUT))
def test_an_empty_output_path_is_refused_as_empty(case, clip, tmp_path, capsys, monkeypatch):
    """An empty --out is the current folder to Python ('.'): model convert, solve and tracks said
    '--out . is a directory', train wrote its run into the current folder, eval --plot '' drew nothing.
    Each now says that the path is empty and what to give, before anything is read or written."""
    argv, line = EMPTY_OUT[case]
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    code, out, err = run([str(clip) if a == "{clip}" else a for a in argv], capsys)
    assert (code, err) == (2, f"pose2rot: error: {line}\n"), err
    assert out == "" and not any(here.iterdir())


def test_odd_but_valid_command_lines(clip, tmp_path, capsys):
    """Negative --frames after a space, a zero-frame clip's info, upper-case suffixes and --order."""
    code, out, err = run(["solve", clip, "--out", tmp_path / "o.BVH", "--frames", "-10:", "--order", "xyz"], capsys)
    assert code == 0, err
    assert read_bvh(tmp_path / "o.BVH").num_frames == 10
    zero = _write(tmp_path / "z.bvh", clip.read_text().split("Frames:")[0] + "Frames: 0\nFrame Time: 0.04\n")
    code, out, err = run(["info", zero], capsys)
    assert code == 0 and "0 frames" in out and "unit: centimetres?" in out, err



def test_every_argument_of_every_command_says_what_it_is():
    """`pose2rot COMMAND --help` explains each positional and option (tracks' --out had no words)."""
    import argparse

    from pose2rot_core.cli import build_parser

    bare = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                bare.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "pose2rot")
    assert not bare, bare


def test_every_command_s_help_says_what_it_does():
    """`pose2rot solve --help` (and every command's but train's) began with the usage lines, never saying what
    the command does; eval's --plot said 'write a PNG' where it takes .pdf and .svg too, --protocol left 'both'
    unexplained, and the help spoke of frame N and every N steps under the names REFERENCE_FRAME, SAVE_EVERY."""
    import argparse

    from pose2rot_core.cli import build_parser

    def commands(parser: argparse.ArgumentParser):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    yield choice.help, action.choices[choice.dest]
                    yield from commands(action.choices[choice.dest])

    top = build_parser()
    assert "'pose2rot COMMAND --help'" in top.format_help()
    for summary, parser in commands(top):
        said = parser.description or ""                 # train's says more than its line in 'pose2rot --help'
        assert summary and (said == summary or parser.prog == "pose2rot train" and len(said) > len(summary)), said
    help_of = {p.prog: " ".join(p.format_help().split()) for _, p in commands(top)}
    assert ".png, .pdf or .svg" in help_of["pose2rot eval"] and "both: a row for each" in help_of["pose2rot eval"]
    assert "[--reference-frame N]" in help_of["pose2rot solve"] and "[--save-every N]" in help_of["pose2rot train"]


def test_an_out_folder_and_a_cut_file_are_named_as_such(clip, tmp_path, capsys):
    """--out DIR/ was refused for its suffix ('must end in .bvh or .npz, got ...'), and a BVH cut inside a
    word read as an unknown channel name: each now says what it is (DIR/ is the folder a batch writes
    into: there, clip.bvh would replace its input)."""
    code, _, err = run(["solve", clip, "--out", f"{tmp_path}/"], capsys)
    assert code == 2 and f"--out '{tmp_path}/' would write over the input 'clip.bvh'" in err, err
    cut = tmp_path / "cut.bvh"
    cut.write_text("HIERARCHY\nROOT hips\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition Yposition Zposition Zrot")
    code, _, err = run(["info", cut], capsys)
    assert code == 2 and "unknown channel name 'Zrot'" in err and "(the file ends on this line: is it cut short?)" in err
    whole = tmp_path / "whole.bvh"
    whole.write_text("HIERARCHY\nROOT hips\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition Yposition Zposition Zrot\n}\n")
    code, _, err = run(["info", whole], capsys)
    assert code == 2 and "unknown channel name 'Zrot'" in err and "cut short" not in err


def test_up_axis_with_csv_tracks_says_how_to_turn_them(tmp_path, capsys):
    """--up-axis z on Z-up CSV tracks was refused with 'or turn the output with --up', which leaves the
    character lying down: the refusal now says to write the CSV in the rig's axes."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    code, _, err = run(["solve", examples / "arm_tracks.csv", "--skeleton", examples / "arm.bvh", "--up-axis", "z",
                        "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and "write a Z-up CSV in the rig's axes ((x, y, z) -> (x, z, -y))" in err and "--up" + " " not in err


def _walk_csv(path: Path, positions: np.ndarray, names: tuple[str, ...], first: int) -> Path:
    """The walk's joint ``positions`` [T,J,3] as CSV with a ``frame`` column from ``first`` (NaN: empty cells)."""
    rows = [",".join(["frame"] + [f"{n}.{a}" for n in names for a in "xyz"])]
    for t, frame in enumerate(positions.reshape(len(positions), -1)):
        rows.append(",".join([str(first + t)] + ["" if np.isnan(v) else f"{v:.5f}" for v in frame]))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("noisy", [False, True])
def test_notes_name_only_the_frames_asked_for(tmp_path, capsys, noisy):
    """--frames 1150:1250 of a take numbered from 1001, with gaps and glitches inside and outside that range: the
    notes named every one, also 'filled 2 gaps in 'rHand' (frames 1021-1024, 1201-1204)' and gaps after 1250,
    frames the output does not hold. Each note names only frames inside the range, as the file numbers them;
    those inside are still named."""
    walk = Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"
    tracks = tracks_from_bvh(read_bvh(walk))
    names, h = tracks.skeleton.names, tracks.skeleton.height
    P = tracks.positions.copy()
    if noisy:
        P += np.random.default_rng(0).normal(scale=0.004 * h, size=P.shape)
    hand, thumb, eye = names.index("rHand"), names.index("rThumb2"), names.index("leftEye")
    P[[20, 21, 22, 23, 200, 201, 202, 203], hand] = np.nan         # frames 1021-1024 and 1201-1204
    P[260:, thumb] = np.nan                                        # 1261-1268
    P[[50, 220], eye] += [0.3 * h, 0.0, 0.0]                       # glitches at 1051 and 1221
    csv = _walk_csv(tmp_path / "walk take.csv", P, names, 1001)
    code, _, err = run(["solve", csv, "--skeleton", walk, "--frames", "1150:1250", "--out", tmp_path / "o.bvh"],
                       capsys)
    assert code == 0, err
    frames = [int(f) for f in re.findall(r"\b1\d{3}\b", err)]
    assert frames and all(1150 <= f < 1250 for f in frames), err
    assert "1201-1204" in err and "1221" in err and "1261" not in err, err


@pytest.mark.parametrize("argv, told", [
    (["solve", "", "--out", "{tmp}/o.bvh"], "TRACKS is empty: give a tracks file or point set"),
    (["eval", "{clip}", " "], "CLIP is empty: give the path of a BVH clip"),
    (["info", ""], "FILE is empty: give the path of a BVH clip, tracks file or point set"),
    (["tracks", "", "--out", "{tmp}/t.npz"], "CLIP is empty: give the path of a BVH clip"),
    (["solve", "{csv}", "--skeleton", "", "--out", "{tmp}/o.bvh"], "--skeleton is empty: give a rig BVH file"),
    (["solve", "{clip}", "--reference", "", "--reference-frame", "3", "--out", "{tmp}/o.bvh"],
     "--reference is empty: give a BVH file, or leave --reference out"),
    (["solve", "{clip}", "--layout", "", "--out", "{tmp}/o.bvh"], "--layout is empty: give a layout name"),
    (["solve", "{clip}", "--solver", "hybrid", "--config", "", "--out", "{tmp}/o.bvh"],
     "--config is empty: give an upstream config YAML file, or leave --config out"),
    (["eval", "{clip}", "--solver", "learned", "--t5", " "], "--t5 is empty: give a T5 encoder folder or model id"),
    (["solve", "{clip}", "--frames", "", "--out", "{tmp}/o.bvh"], "--frames is empty: give a frame range A:B"),
    (["info", "{clip}", "--layout", ""], "--layout is empty: give a layout name"),
    (["map", "--skeleton", "{clip}", "--layout", "", "--out", "{tmp}/m.json"], "--layout is empty: give a layout name"),
    (["model", "info", ""], "CHECKPOINT is empty: give the path of a checkpoint file"),
    (["embed", "Hips", "--t5", ""], "--t5 is empty: give a T5 encoder folder or model id"),
    (["train", "{clip}", "--out", "{tmp}/run", "--steps", "1", "--init", ""],
     "--init is empty: give a checkpoint file to fine-tune"),
    (["train", "{clip}", "--out", "{tmp}/run", "--steps", "1", "--config", ""],
     "--config is empty: give small, full or a CONFIG.yaml"),
])
def test_an_empty_input_path_is_named_as_given(clip, tmp_path, capsys, argv, told):
    """An input path given empty (an unset shell variable: ``pose2rot solve "$TAKE" ...``) was read as the
    current folder: "tracks path '.' is a directory", a '.' the user never typed; an empty --reference was
    dropped without a word. Each is refused by the name the usage line gives it, nothing written."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    argv = [a.format(tmp=tmp_path, clip=clip, csv=examples / "arm_tracks.csv") for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2 and err.startswith(f"pose2rot: error: {told}") and err.count("\n") == 1, err
    assert "'.'" not in err and sorted(p.name for p in tmp_path.iterdir()) == ["clip.bvh"]


#: string arguments that main does not refuse empty: each refuses it by its own check, named
EMPTY_CHECKED_ELSEWHERE = {
    "--out": "given_path in the command", "--plot": "given_path in eval", "--smooth": "got ''",
    "--scale": "got ''", "--order": "got ''", "names": "embed: a blank joint name is embedded as ' '",
    "data": "train: training.data.collect_bvh",
}


def test_every_text_argument_is_refused_when_given_empty():
    """--layout "", --config "" and --t5 "" (an unset shell variable) read as not given (solve and info went on
    without the layout, train trained with its default config), and --init "" trained a new model, while
    TRACKS, --skeleton or --reference given empty were refused by name: every argument that takes a text is
    now refused empty by main (cli.refuse_empty), or by its own check that names it."""
    import argparse

    from pose2rot_core.cli import EMPTY_REFUSED, build_parser

    left = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        refused = parser.get_default(EMPTY_REFUSED) or {}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif (type(action) is argparse._StoreAction and action.type is None and not action.choices
                  and action.dest not in refused
                  and (action.option_strings or [action.dest])[-1] not in EMPTY_CHECKED_ELSEWHERE):
                left.append(f"{path} {(action.option_strings or [action.dest])[-1]}")

    walk(build_parser(), "pose2rot")
    assert not left, left
