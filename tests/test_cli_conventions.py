"""The command line keeps the input's conventions (rotation orders, up axis, units) unless told otherwise,
and says what it did in its own words (flags, frame ranges, what the position error is measured against)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pose2rot_core.axes import Y_UP_TO_Z_UP
from pose2rot_core.bvh import read_bvh, write_bvh
from pose2rot_core.cli import main
from pose2rot_core.rotations import axis_angle_to_matrix
from pose2rot_core.skeleton import Skeleton

NAMES = ("root", "spine", "head", "arm", "hand", "leg", "foot")
PARENTS = np.array([-1, 0, 1, 1, 3, 0, 5])
OFFSETS = np.array([[0, 1.0, 0], [0, 0.25, 0], [0, 0.3, 0], [0.2, 0.2, 0], [0.25, 0, 0], [0.1, -0.1, 0],
                    [0, -0.8, 0]])


def metre_clip(path: Path, order: str = "ZYX", T: int = 40) -> Path:
    """A 7-joint Y-up clip in metres with every joint in rotation order ``order``."""
    rest = np.zeros((7, 3))
    for j in range(7):
        rest[j] = OFFSETS[j] if j == 0 else rest[PARENTS[j]] + OFFSETS[j]
    t = np.linspace(0, 1, T)[:, None, None]
    rng = np.random.default_rng(3)
    r = 0.6 * np.sin(2 * np.pi * t * rng.uniform(0.5, 1.5, (1, 7, 3)) + rng.uniform(0, 6, (1, 7, 3)))
    R = axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1))
    root = rest[0] + np.concatenate([np.linspace(0, 2, T)[:, None], np.zeros((T, 2))], 1)
    write_bvh(path, Skeleton(NAMES, PARENTS, rest), R, root, fps=50.0, order=order,
              end_parents=np.array([2, 4, 6]), end_offsets=np.array([[0, 0.1, 0], [0.08, 0, 0], [0, 0, 0.1]]))
    return path


def run(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def csv_of(clip_path: Path, path: Path, factor: float = 1.0, drop: tuple[int, int] | None = None) -> Path:
    """The clip's joint positions (times ``factor``) as CSV; ``drop`` = (joint, frame) pairs left empty."""
    clip = read_bvh(clip_path)
    P = clip.fk() * factor
    header = ["frame"] + [f"{n}.{a}" for n in NAMES for a in "xyz"]
    rows = [",".join(header)]
    for t in range(clip.num_frames):
        cells = [str(t)] + [f"{v:.9f}" for v in P[t].ravel()]
        if drop is not None and drop[1] <= t < drop[1] + 3:
            j = drop[0]
            cells[1 + 3 * j:4 + 3 * j] = ["", "", ""]
        rows.append(",".join(cells))
    path.write_text("\n".join(rows) + "\n")
    return path


def test_solve_keeps_rotation_orders_and_y_up(tmp_path, capsys):
    clip = metre_clip(tmp_path / "zyx.bvh")
    out = tmp_path / "solved.bvh"
    code, _, err = run(["solve", clip, "--out", out], capsys)
    assert code == 0, err
    solved, original = read_bvh(out), read_bvh(clip)
    assert solved.orders == original.orders == ["ZYX"] * 7
    np.testing.assert_allclose(solved.fk(), original.fk(), atol=1e-5)            # Y-up, as the input
    np.testing.assert_allclose(solved.skeleton.rest_positions, original.skeleton.rest_positions, atol=1e-9)


def test_solve_order_and_up_on_request(tmp_path, capsys):
    clip = metre_clip(tmp_path / "zyx.bvh")
    out = tmp_path / "zup.bvh"
    code, _, err = run(["solve", clip, "--out", out, "--order", "xzy", "--up", "z"], capsys)
    assert code == 0, err
    solved, original = read_bvh(out), read_bvh(clip)
    assert solved.orders == ["XZY"] * 7
    np.testing.assert_allclose(solved.fk(), original.fk() @ Y_UP_TO_Z_UP.T, atol=1e-5)
    ends = solved.end_site_positions()
    np.testing.assert_allclose(ends, original.end_site_positions() @ Y_UP_TO_Z_UP.T, atol=1e-5)


def test_npz_output_follows_up(tmp_path, capsys):
    clip = metre_clip(tmp_path / "zyx.bvh")
    code, _, err = run(["solve", clip, "--out", tmp_path / "z.npz", "--up", "z"], capsys)
    assert code == 0, err
    with np.load(tmp_path / "z.npz") as f:
        np.testing.assert_allclose(f["root_translation"], read_bvh(clip).root_translation @ Y_UP_TO_Z_UP.T,
                                   atol=1e-12)
        assert str(f["up_axis"]) == "z" and float(f["fps"]) == pytest.approx(1.0 / read_bvh(clip).frame_time)


def test_csv_in_centimetres_against_a_metre_rig(tmp_path, capsys):
    rig = metre_clip(tmp_path / "rig.bvh")
    tracks = csv_of(rig, tmp_path / "cm.csv", factor=100.0)
    out = tmp_path / "o.bvh"
    code, _, err = run(["solve", tracks, "--skeleton", rig, "--out", out], capsys)
    assert code == 2 and not out.exists()
    line = err.strip()
    assert "\n" not in line and line.startswith("pose2rot: error:")
    assert "100×" in line and "centimetres against metres" in line
    assert "--scale 0.01" in line and "--scale auto" in line
    code, stdout, err = run(["info", tracks, "--skeleton", rig], capsys)
    assert code == 0 and "--scale 0.01" in stdout
    code, stdout, err = run(["solve", tracks, "--skeleton", rig, "--out", out, "--scale", "auto"], capsys)
    assert code == 0, err
    assert "scaled by 0.01" in err
    np.testing.assert_allclose(read_bvh(out).fk(), read_bvh(rig).fk(), atol=1e-5)
    code, _, err = run(["solve", tracks, "--skeleton", rig, "--out", out, "--scale", "0.01"], capsys)
    assert code == 0, err
    np.testing.assert_allclose(read_bvh(out).fk(), read_bvh(rig).fk(), atol=1e-5)


def test_slightly_larger_tracks_get_a_note(tmp_path, capsys):
    rig = metre_clip(tmp_path / "rig.bvh")
    tracks = csv_of(rig, tmp_path / "big.csv", factor=1.3)
    code, _, err = run(["solve", tracks, "--skeleton", rig, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0, err
    assert "1.3× the skeleton's" in err and "--scale 0.7692" in err


@pytest.mark.parametrize("value", ["0", "-2", "abc", "nan"])
def test_bad_scale_is_one_line(tmp_path, capsys, value):
    rig = metre_clip(tmp_path / "rig.bvh")
    code, _, err = run(["solve", rig, "--out", tmp_path / "o.bvh", "--scale", value], capsys)
    assert code == 2 and err.count("\n") == 1 and "--scale must be a positive number or 'auto'" in err


def test_csv_fps_and_gap_ranges(tmp_path, capsys):
    rig = metre_clip(tmp_path / "rig.bvh")
    tracks = csv_of(rig, tmp_path / "gap.csv", drop=(4, 10))
    out = tmp_path / "o.bvh"
    code, stdout, err = run(["solve", tracks, "--skeleton", rig, "--out", out, "--fps", "25"], capsys)
    assert code == 0, err
    assert read_bvh(out).fps == pytest.approx(25.0)
    assert "filled 1 gap in 'hand' (frames 10-12)" in err
    assert "against the tracks" in stdout
    code, _, err = run(["solve", tracks, "--skeleton", rig, "--out", out, "--fps", "0"], capsys)
    assert code == 2 and "--fps must be a positive number" in err


def test_smoothed_tracks_error_says_against_what(tmp_path, capsys):
    clip = metre_clip(tmp_path / "rig.bvh", T=120)
    P = read_bvh(clip).fk() + np.random.default_rng(0).normal(scale=0.01, size=(120, 7, 3))
    np.savez(tmp_path / "noisy.npz", positions=P, joint_names=np.array(NAMES), parents=PARENTS,
             rest_positions=read_bvh(clip).skeleton.rest_positions, fps=50.0)
    code, stdout, err = run(["solve", tmp_path / "noisy.npz", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0, err
    assert "smoothed" in err
    assert "against the input tracks, which were smoothed before solving" in stdout


def test_notes_use_flags_not_keywords(tmp_path, capsys):
    """Bones stretching over the clip: the advice names --stretch off, never Python keyword syntax."""
    clip = read_bvh(metre_clip(tmp_path / "rig.bvh"))
    P = clip.fk()
    P[:, 2] += (P[:, 2] - P[:, 1]) * np.linspace(0, 0.1, clip.num_frames)[:, None]  # the neck grows
    np.savez(tmp_path / "s.npz", positions=P, joint_names=np.array(NAMES), parents=PARENTS,
             rest_positions=clip.skeleton.rest_positions, fps=50.0)
    code, _, err = run(["solve", tmp_path / "s.npz", "--out", tmp_path / "o.bvh", "--smooth", "off"], capsys)
    assert code == 0, err
    assert "--stretch off" in err and "stretch='off'" not in err


def test_info_height_and_unit(tmp_path, capsys):
    rig = metre_clip(tmp_path / "rig.bvh")
    code, stdout, _ = run(["info", rig], capsys)
    assert code == 0 and "unit: metres? (" in stdout and "units along Y" in stdout
    assert f"skeleton height {read_bvh(rig).skeleton.height:.4g} units (the rest pose's largest extent" in stdout


def test_info_reads_a_z_up_bvh_along_z(tmp_path, capsys):
    """A BVH written Z-up (``solve --up z``) stands along Z: info measured the walk along Y, 72 units
    (0.72 m) for a 1.42 m performer; the hips-to-shoulders direction says which way is up."""
    walk = Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"
    assert run(["solve", walk, "--up", "z", "--out", tmp_path / "w.bvh"], capsys)[0] == 0
    for path, axis in ((walk, "Y"), (tmp_path / "w.bvh", "Z")):
        code, stdout, _ = run(["info", path], capsys)
        assert code == 0 and f"height 142.4 units along {axis}" in stdout and "(1.42 m tall)" in stdout, stdout


def test_a_hinge_joint_of_one_rotation_channel_is_written_with_three(tmp_path, capsys):
    """A rig whose hand bends about Z only, with one rotation channel (``CHANNELS 1 Zrotation``):
    read and solved, the result is written with the hand's Z first and the other two axes after it
    (the solved rotation may turn about any axis), and it reproduces the clip."""
    clip = metre_clip(tmp_path / "full.bvh")
    full = read_bvh(clip)
    R = full.rotations.copy()
    angle = np.linspace(0.0, 1.2, full.num_frames)
    R[:, 4] = axis_angle_to_matrix(np.array([0.0, 0.0, 1.0]), angle)
    write_bvh(tmp_path / "z.bvh", full.skeleton, R, full.root_translation, fps=50.0, order="ZYX",
              end_parents=np.array([2, 4, 6]), end_offsets=np.array([[0, 0.1, 0], [0.08, 0, 0], [0, 0, 0.1]]))
    lines = (tmp_path / "z.bvh").read_text().splitlines()
    hand = next(i for i, line in enumerate(lines) if line.strip() == "JOINT hand")
    channels = next(i for i in range(hand, len(lines)) if "CHANNELS" in lines[i])
    lines[channels] = lines[channels].split("CHANNELS")[0] + "CHANNELS 1 Zrotation"
    motion = lines.index("MOTION") + 3
    for t in range(motion, len(lines)):  # the hand's Y and X columns (6 + 3 * 3 + 1 and + 2) go
        cells = lines[t].split()
        lines[t] = " ".join(cells[:16] + cells[18:])
    hinge = tmp_path / "hinge.bvh"
    hinge.write_text("\n".join(lines) + "\n")
    assert read_bvh(hinge).orders[4] == "Z"
    out = tmp_path / "solved.bvh"
    code, _, err = run(["solve", hinge, "--out", out], capsys)
    assert code == 0, err
    solved = read_bvh(out)
    assert solved.orders[4] == "ZXY" and solved.orders[:4] == ["ZYX"] * 4
    np.testing.assert_allclose(solved.fk(), read_bvh(hinge).fk(), atol=1e-5)


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """``pose2rot info X | head -1``: the reader closes the pipe; the command stops with SIGPIPE's
    status and no 'error: Broken pipe' line."""
    import subprocess
    import sys
    from pathlib import Path

    clip = Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"
    proc = subprocess.Popen([sys.executable, "-m", "pose2rot_core.cli", "info", str(clip)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                                                # gone before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and err == ""


def test_the_error_line_says_which_samples_it_leaves_out(tmp_path, capsys):
    """Noisy tracks whose hand jumps a third of the height up for one frame: the spike is taken as a
    gap and filled, so the written hand is far from what the file says there. The summary's largest
    distance, which --max-position-error reads too, does not measure such samples: it says so."""
    clip = metre_clip(tmp_path / "rig.bvh", T=120)
    P = read_bvh(clip).fk() + np.random.default_rng(0).normal(scale=0.005, size=(120, 7, 3))
    P[60, NAMES.index("hand"), 1] += 0.3 * read_bvh(clip).skeleton.height
    np.savez(tmp_path / "spike.npz", positions=P, joint_names=np.array(NAMES), parents=PARENTS,
             rest_positions=read_bvh(clip).skeleton.rest_positions, fps=50.0)
    code, stdout, err = run(["solve", tmp_path / "spike.npz", "--out", tmp_path / "o.bvh"], capsys)
    assert code == 0, err
    assert "removed 2 outlier samples" in err and "2 samples taken as gaps not counted" in stdout, (err, stdout)
