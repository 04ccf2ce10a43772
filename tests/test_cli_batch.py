"""``pose2rot solve`` of several inputs or a folder: one output per clip in the folder --out, failures
reported while the others go on, the summary table, exit statuses 0 / 1 / 2 / 130."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pose2rot_core import cli
from pose2rot_core.bvh import read_bvh
from pose2rot_core.layouts import get_layout
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.tracks_io import save_tracks, tracks_from_bvh

from _humanoid import walker_points
from test_cli import PARENTS, run, small_clip


def truncated(path: Path, source: Path) -> Path:
    """A BVH cut short in its hierarchy: a file that cannot be read."""
    path.write_text(source.read_text()[:300])
    return path


def recording(folder: Path) -> Path:
    """A FreeMoCap recording folder (output_data/mediapipe_body_3d_xyz.npy, millimetres) of a generated
    walker, whose rigid layout skeleton ends about 1.6 % of its height from some points."""
    points = walker_points(0, "mediapipe33")
    layout = get_layout("mediapipe33")
    body = np.full((points.positions.shape[0], 33, 3), np.nan)
    body[:, [layout.index(n) for n in points.names]] = points.positions * 1000
    (folder / "output_data").mkdir(parents=True)
    np.save(folder / "output_data" / "mediapipe_body_3d_xyz.npy", body)
    return folder


def test_several_clips_are_solved_as_one_input_each_and_a_bad_one_is_reported(tmp_path, capsys):
    a = small_clip(tmp_path / "a.bvh")
    save_tracks(tmp_path / "t.npz", tracks_from_bvh(read_bvh(a)))
    bad = truncated(tmp_path / "bad.bvh", a)
    out = tmp_path / "out"
    code, stdout, err = run(["solve", a, bad, tmp_path / "t.npz", "--out", out], capsys)
    assert code == 1, err
    assert sorted(p.name for p in out.iterdir()) == ["a.bvh", "t.bvh"]        # nothing of the failed clip
    assert run(["solve", a, "--out", tmp_path / "one.bvh"], capsys)[0] == 0
    assert (out / "a.bvh").read_text() == (tmp_path / "one.bvh").read_text()   # as one input is solved
    rows = stdout.splitlines()
    assert rows[0].startswith("clip") and "status" in rows[0]
    assert [r.split()[0] for r in rows[2:5]] == ["a.bvh", "bad.bvh", "t.npz"]
    assert rows[2].endswith("ok") and "   30      7  " in rows[2]
    assert "failed: " in rows[3] and "is it cut short?" in rows[3]
    assert rows[-1] == "2 of 3 clips converted, 1 failed"
    assert f"[1/3] a.bvh: ok -> {out / 'a.bvh'}" in err and "[2/3] bad.bvh: failed" in err
    assert "bad.bvh: error: " in err and "solved 30 frames" not in stdout


def test_a_folder_stands_for_its_clips_named_as_the_blender_batch_names_them(tmp_path, capsys):
    clips = tmp_path / "clips"
    clips.mkdir()
    take = small_clip(clips / "take.bvh")
    save_tracks(clips / "take.npz", tracks_from_bvh(read_bvh(take)))
    recording(clips / "walk_rec")
    (clips / "notes.txt").write_text("not a clip")
    (clips / "other").mkdir()
    code, stdout, err = run(["solve", clips, "--out", tmp_path / "new" / "out", "--format", "npz"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "new" / "out").iterdir()) == ["take_bvh.npz", "take_npz.npz",
                                                                           "walk_rec.npz"]
    assert "pose2rot: note: folder" in err and "subfolders not searched: other" in err
    assert stdout.splitlines()[-1] == "3 of 3 clips converted, 1 with warnings"
    assert "walk_rec: warning: " in err                                        # its lines led by its name
    names = np.load(tmp_path / "new" / "out" / "take_npz.npz")["joint_names"]
    assert list(names) == list(read_bvh(take).skeleton.names)


def test_a_clip_far_from_its_tracks_fails_and_an_earlier_output_stays_untouched(tmp_path, capsys):
    a = small_clip(tmp_path / "a.bvh")
    rec = recording(tmp_path / "rec")
    out = tmp_path / "out"
    out.mkdir()
    (out / "rec.bvh").write_text("an earlier run's")
    code, stdout, err = run(["solve", rec, a, "--out", out, "--max-position-error", "1"], capsys)
    assert code == 1, err
    assert (out / "rec.bvh").read_text() == "an earlier run's" and (out / "a.bvh").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["a.bvh", "rec.bvh"]       # no part file left
    row = next(r for r in stdout.splitlines() if r.startswith("rec "))
    assert "failed: the solution is 1.5" in row and "nothing was written" in row
    assert "(an earlier run's rec.bvh stays in --out)" in row
    assert stdout.splitlines()[-1] == "1 of 2 clips converted, 1 failed"


@pytest.mark.parametrize("case, said", [
    ("same name", "would all be written as 'walk.bvh'"),
    ("out is a file", "is a file, not a folder"),
    ("out names a file", "names a file, but the 2 clips"),
    ("over an input", "would write over the input 'walk.bvh'"),
    ("order with npz", "--order is for BVH output: --format npz"),
    ("folder with no clips", "has no .npz, .csv"),
    ("frames no range", "--frames 5:2 selects no frames: the end must be after the start (e.g. 2:5)"),
    ("frames no numbers", "--frames must look like A:B with whole frame numbers"),
    ("scale no number", "--scale must be a positive number or 'auto', got '-1'"),
    ("rig cut short", "cut.bvh: line 17: unbalanced braces"),
    ("reference cut short", "cut.bvh: line 17: unbalanced braces"),
    ("map not json", "bad.json: not valid JSON"),
    ("map without rig", "--map needs the rig it maps onto: --skeleton RIG.bvh"),
])
def test_bad_arguments_stop_a_batch_before_any_clip(tmp_path, capsys, case, said):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    clips = [small_clip(tmp_path / "a" / "walk.bvh", T=5), small_clip(tmp_path / "b" / "run.bvh", T=5)]
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("")
    inputs, out, more = clips, tmp_path / "out", []
    if case == "same name":
        inputs = [clips[0], small_clip(tmp_path / "b" / "walk.bvh", T=5)]
    elif case == "out is a file":
        out = tmp_path / "file"
    elif case == "out names a file":
        out = tmp_path / "x.bvh"
    elif case == "over an input":
        inputs, out = [tmp_path / "a"], tmp_path / "a"
    elif case == "order with npz":
        more = ["--format", "npz", "--order", "zyx"]
    elif case == "folder with no clips":
        inputs = [tmp_path / "a" / "walk.bvh", tmp_path / "empty"]
    elif case.startswith(("frames", "scale")):    # were: every clip failed, exit 1, --out made
        more = {"frames no range": ["--frames", "5:2"], "frames no numbers": ["--frames", "a:b"],
                "scale no number": ["--scale", "-1"]}[case]
    elif case.startswith(("rig", "reference", "map")):              # files every clip reads, read once first
        cut, bad = truncated(tmp_path / "cut.bvh", clips[0]), tmp_path / "bad.json"
        bad.write_text("{bad")
        more = {"rig cut short": ["--skeleton", cut], "reference cut short": ["--reference", cut],
                "map not json": ["--skeleton", clips[0], "--map", bad], "map without rig": ["--map", bad]}[case]
    code, stdout, err = run(["solve", *inputs, "--out", out, *more], capsys)
    assert code == 2 and said in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "x.bvh").exists() and stdout == ""
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["walk.bvh"]


def test_one_input_writes_the_file_out_as_before_and_format_must_agree(tmp_path, capsys):
    a = small_clip(tmp_path / "a.bvh", T=5)
    code, stdout, err = run(["solve", a, "--out", tmp_path / "a_solved.npz", "--format", "npz"], capsys)
    assert code == 0 and stdout.startswith("solved 5 frames x 7 joints"), err
    code, _, err = run(["solve", a, "--out", tmp_path / "b.npz", "--format", "bvh"], capsys)
    assert code == 2 and "--format bvh is for several inputs" in err and "write b.bvh" in err, err


@pytest.mark.parametrize("b_written", [False, True])
def test_a_stop_says_which_clips_were_written(tmp_path, capsys, monkeypatch, b_written):
    """Stopped while solving b.bvh, before its file was written or just after: the clips written are named."""
    clips = [small_clip(tmp_path / f"{n}.bvh", T=5) for n in "abc"]
    solve_one = cli.solve_one

    def stopped_at_b(args, out, say, **batch):
        if Path(args.tracks).name == "b.bvh" and not b_written:
            raise KeyboardInterrupt
        solved = solve_one(args, out, say, **batch)
        if Path(args.tracks).name == "b.bvh":
            raise KeyboardInterrupt
        return solved

    monkeypatch.setattr(cli, "solve_one", stopped_at_b)
    code, stdout, err = run(["solve", *clips, "--out", tmp_path / "out"], capsys)
    written = ["a.bvh", "b.bvh"] if b_written else ["a.bvh"]
    assert code == 130 and stdout == ""
    assert f"pose2rot: {len(written)} of 3 clips written before the stop: {', '.join(written)}\n" in err, err
    assert err.endswith("pose2rot: interrupted\n")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == written


def test_joint_names_a_bvh_cannot_hold_are_told_to_take_format_npz(tmp_path, capsys):
    """A clip whose joint names no BVH can hold was told the one-input advice, 'write quaternions with
    --out OUT/t.npz', which a batch refuses (--out is its folder): it names --format npz now."""
    a = small_clip(tmp_path / "a.bvh", T=5)
    tracks = tracks_from_bvh(read_bvh(a))
    names = ["l Arm" if j == 2 else "l_Arm" if j == 3 else n for j, n in enumerate(tracks.skeleton.names)]
    save_tracks(tmp_path / "t.npz", replace(tracks, skeleton=Skeleton(names, PARENTS, tracks.skeleton.rest_positions)))
    code, stdout, err = run(["solve", a, tmp_path / "t.npz", "--out", tmp_path / "out"], capsys)
    assert code == 1, err
    row = next(r for r in stdout.splitlines() if r.startswith("t.npz "))
    assert "both become 'l_Arm'" in row and row.endswith("or write quaternions with --format npz (for the whole batch)")
    assert "--out" not in row
    code, stdout, err = run(["solve", a, tmp_path / "t.npz", "--out", tmp_path / "out", "--format", "npz"], capsys)
    assert code == 0 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.bvh", "a.npz", "t.npz"], err


def test_a_clip_s_lines_and_row_name_its_file_once(tmp_path, capsys):
    """Lines the batch leads with the clip's name said it again ('t.csv: error: t.csv: a CSV file holds
    only positions', 'w.npy: note: w.npy: up axis y'), and so did the failed row: once now."""
    examples = Path(__file__).parents[1] / "examples"
    (tmp_path / "t.csv").write_bytes((examples / "arm_tracks.csv").read_bytes())
    code, stdout, err = run(["solve", tmp_path / "t.csv", small_clip(tmp_path / "a.bvh", T=5), "--out",
                             tmp_path / "out"], capsys)
    assert code == 1 and "t.csv: error: a CSV file holds only positions" in err, err
    row = next(r for r in stdout.splitlines() if r.startswith("t.csv "))
    assert "failed: a CSV file holds only positions" in row, row
    for name in ("w.npy", "v.npy"):
        (tmp_path / name).write_bytes((examples / "retarget" / "humanml3d_walk.npy").read_bytes())
    code, stdout, err = run(["solve", tmp_path / "w.npy", tmp_path / "v.npy", "--layout", "humanml3d22", "--out",
                             tmp_path / "out"], capsys)
    assert code == 0 and "w.npy: note: up axis y" in err and "w.npy: w.npy" not in err, err


@pytest.mark.parametrize("given, said", [
    (["--bvh"], "--bvh is the Blender batch's: pose2rot solve writes BVH files (--format bvh, the default"),
])
def test_the_blender_batch_s_bvh_is_answered(tmp_path, capsys, given, said):
    """README's Batch section shows the Blender batch's --bvh; given to pose2rot solve it was only
    'unrecognized arguments: --bvh', leaving a user to guess what the command line writes."""
    clips = [small_clip(tmp_path / f"{n}.bvh", T=5) for n in "ab"]
    with pytest.raises(SystemExit) as stop:
        cli.main([str(a) for a in ["solve", *clips, "--out", tmp_path / "out", *given]])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and said in err, err
    assert not (tmp_path / "out").exists()


def test_the_rig_kept_beside_its_csv_takes_is_no_clip(tmp_path, capsys):
    """`pose2rot solve takes/ --skeleton takes/rig.bvh` took the rig for a clip too: it failed ('a .bvh tracks
    file carries its own skeleton: leave out --skeleton'), and the batch with it (exit 1, '2 of 3 clips
    converted'). The rig a folder brings in is left out now, with a note; a folder of nothing else is refused."""
    examples = Path(__file__).parents[1] / "examples"
    takes = tmp_path / "takes"
    takes.mkdir()
    rig = takes / "rig.bvh"
    rig.write_bytes((examples / "arm.bvh").read_bytes())
    for name in ("take1.csv", "take2.csv"):
        (takes / name).write_bytes((examples / "arm_tracks.csv").read_bytes())
    code, stdout, err = run(["solve", takes, "--skeleton", rig, "--out", tmp_path / "out"], capsys)
    assert code == 0 and stdout.splitlines()[-1] == "2 of 2 clips converted", stdout + err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["take1.bvh", "take2.bvh"]
    assert f"pose2rot: note: {rig} is the rig (--skeleton), not a clip: not converted" in err, err
    for name in ("take1.csv", "take2.csv"):
        (takes / name).unlink()
    code, stdout, err = run(["solve", takes, "--skeleton", rig, "--out", tmp_path / "out2"], capsys)
    assert code == 2 and f"the only track file given is the rig {rig} (--skeleton)" in err and stdout == "", err
    assert not (tmp_path / "out2").exists()


@pytest.mark.parametrize("out", ["solved/", "made"])
def test_one_clip_and_a_folder_out_is_a_batch_of_one(tmp_path, capsys, out):
    """`pose2rot solve takes/*.bvh --out solved/` worked while the pattern matched two files and was refused
    when it matched one ('--out must end in .bvh or .npz, got 'solved'', or '... is a directory'): a
    folder --out (ending in '/', or one that exists) takes the one clip as a batch of one now."""
    a = small_clip(tmp_path / "a.bvh", T=5)
    (tmp_path / "made").mkdir()
    code, stdout, err = run(["solve", a, "--out", f"{tmp_path}/{out}"], capsys)
    assert code == 0 and stdout.splitlines()[-1] == "1 of 1 clips converted", err
    assert sorted(p.name for p in (tmp_path / out.rstrip("/")).iterdir()) == ["a.bvh"]
    (tmp_path / "o.npz").mkdir()                                            # a folder named as a file: refused
    code, _, err = run(["solve", a, "--out", tmp_path / "o.npz"], capsys)
    assert code == 2 and "is a directory" in err, err


def test_a_clip_s_path_is_not_repeated_before_its_error(tmp_path, capsys):
    """The batch reads its clips by their absolute paths, and a reader's error led by that path came out as
    'cut.bvh: error: /tmp/.../cut.bvh: line 17: ...' and 'failed: /tmp/.../cut.bvh: line 17: ...'."""
    a = small_clip(tmp_path / "a.bvh", T=5)
    truncated(tmp_path / "cut.bvh", a)
    code, stdout, err = run(["solve", tmp_path, "--out", tmp_path / "out"], capsys)
    assert code == 1 and "cut.bvh: error: line 17: unbalanced braces" in err, err
    row = next(r for r in stdout.splitlines() if r.startswith("cut.bvh "))
    assert "failed: line 17: unbalanced braces" in row and str(tmp_path) not in row, row


def test_a_clip_with_its_own_skeleton_beside_csv_takes_is_told_the_batch_s_way(tmp_path, capsys):
    """A tracks .npz in a folder of CSV takes solved with --skeleton RIG.bvh was told the one-input advice,
    'leave out the rig BVH (--skeleton)', which would fail every CSV take of the batch."""
    examples = Path(__file__).parents[1] / "examples"
    takes = tmp_path / "takes"
    takes.mkdir()
    (takes / "take.csv").write_bytes((examples / "arm_tracks.csv").read_bytes())
    (takes / "arm.npz").write_bytes((examples / "arm_tracks.npz").read_bytes())
    code, stdout, err = run(["solve", takes, "--skeleton", examples / "arm.bvh", "--out", tmp_path / "out"], capsys)
    assert code == 1 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["take.bvh"], err
    row = next(r for r in stdout.splitlines() if r.startswith("arm.npz "))
    assert "failed: a .npz tracks file carries its own skeleton" in row, row
    assert "convert it in a batch without --skeleton (the rig is for CSV clips)" in row and "leave out" not in row


def test_the_rig_reference_and_map_are_read_once_for_the_whole_batch(tmp_path, capsys, monkeypatch):
    """Every clip read the rig --skeleton, --reference and --map again (a batch of 3 CSV takes read the rig 4
    times: once to check it, once per clip); each is read once now, and the clips solve as one input does."""
    from pose2rot_core import bonemap, bvh

    examples = Path(__file__).parents[1] / "examples"
    rig, reference = tmp_path / "rig.bvh", tmp_path / "pose.bvh"
    for path in (rig, reference):
        path.write_bytes((examples / "arm.bvh").read_bytes())
    takes = [tmp_path / f"take{i}.csv" for i in range(3)]
    for take in takes:
        take.write_bytes((examples / "arm_tracks.csv").read_bytes())
    reads: list[str] = []
    bvh_text, load_map = bvh.bvh_text, bonemap.load_map
    monkeypatch.setattr(bvh, "bvh_text", lambda path: reads.append(Path(path).name) or bvh_text(path))
    monkeypatch.setattr(bonemap, "load_map", lambda path: reads.append(Path(path).name) or load_map(path))
    code, _, err = run(["solve", *takes, "--skeleton", rig, "--reference", reference, "--out", tmp_path / "out"],
                       capsys)
    assert code == 0 and sorted(reads) == ["pose.bvh", "rig.bvh"], (reads, err)
    assert run(["solve", takes[1], "--skeleton", rig, "--reference", reference, "--out", tmp_path / "one.bvh"],
               capsys)[0] == 0
    assert (tmp_path / "out" / "take1.bvh").read_text() == (tmp_path / "one.bvh").read_text()

    walk = examples / "retarget" / "humanml3d_walk.npy"
    mixamo = examples / "retarget" / "rig_mixamo.bvh"
    assert cli.main(["map", "--skeleton", str(mixamo), "--layout", "humanml3d22", "--out",
                     str(tmp_path / "map.json")]) == 0
    for name in ("w1.npy", "w2.npy"):
        (tmp_path / name).write_bytes(walk.read_bytes())
    reads.clear()
    code, _, err = run(["solve", tmp_path / "w1.npy", tmp_path / "w2.npy", "--layout", "humanml3d22", "--skeleton",
                        mixamo, "--map", tmp_path / "map.json", "--frames", "0:10", "--out", tmp_path / "out2"], capsys)
    assert code == 0 and sorted(reads) == ["map.json", "rig_mixamo.bvh"], (reads, err)
    assert run(["solve", tmp_path / "w2.npy", "--layout", "humanml3d22", "--skeleton", mixamo, "--map",
                tmp_path / "map.json", "--frames", "0:10", "--out", tmp_path / "one2.bvh"], capsys)[0] == 0
    assert (tmp_path / "out2" / "w2.bvh").read_text() == (tmp_path / "one2.bvh").read_text()


def test_the_summary_says_where_the_warnings_are(tmp_path, capsys):
    """A row with warnings said '1 warning (above)' on stdout, where they are not when stderr goes
    elsewhere (a log of its own, another program): the row says where they are now."""
    import subprocess
    import sys

    rec = recording(tmp_path / "rec")
    code, stdout, err = run(["solve", rec, "--out", f"{tmp_path}/o0/"], capsys)        # stdout, stderr apart
    assert code == 0 and "rec: warning: " in err and "ok, 1 warning (on stderr)" in stdout, stdout + err
    command = [sys.executable, "-m", "pose2rot_core.cli", "solve", str(rec)]
    env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[1])}
    with open(tmp_path / "table.txt", "w") as table, open(tmp_path / "log.txt", "w") as log:
        subprocess.run([*command, "--out", f"{tmp_path}/o1/"], stdout=table, stderr=log, env=env, check=True)
    assert f"ok, 1 warning (in {tmp_path / 'log.txt'})" in (tmp_path / "table.txt").read_text()
    with open(tmp_path / "both.txt", "w") as both:
        subprocess.run([*command, "--out", f"{tmp_path}/o2/"], stdout=both, stderr=both, env=env, check=True)
    said = (tmp_path / "both.txt").read_text()
    assert "ok, 1 warning (above)" in said and said.index("rec: warning: ") < said.index("ok, 1 warning"), said


def test_layout_advice_in_a_batch_of_npy_clips_and_others_speaks_of_the_batch(tmp_path, capsys):
    """A folder of a .npy clip and a BVH: the .npy was told 'say what its points are with --layout
    humanml3d22', which fails the BVH (read as humanml3d22 points it was told 'layout humanml3d22 needs
    points the file lacks'), as if each were the only input. Each advice says what --layout does to a
    batch now; a batch of .npy clips alone keeps the one-input advice."""
    examples = Path(__file__).parents[1] / "examples"
    mixed, alone = tmp_path / "mixed", tmp_path / "alone"
    for folder in (mixed, alone):
        folder.mkdir()
        (folder / "w.npy").write_bytes((examples / "retarget" / "humanml3d_walk.npy").read_bytes())
    small_clip(mixed / "a.bvh", T=5)

    def row(stdout: str, clip: str) -> str:
        return next(r for r in stdout.splitlines() if r.startswith(f"{clip} "))

    code, stdout, err = run(["solve", mixed, "--frames", "0:5", "--out", tmp_path / "o1"], capsys)
    assert code == 1 and row(stdout, "a.bvh").endswith("  ok"), stdout + err
    assert row(stdout, "w.npy").endswith(
        "--layout humanml3d22); a batch gives --layout to every clip, and its clips that are not .npy take none: "
        "convert the .npy clips in a batch of their own, with --layout"), stdout
    code, stdout, err = run(["solve", mixed, recording(tmp_path / "rec"), "--frames", "0:5", "--layout", "humanml3d22",
                             "--out", tmp_path / "o2"], capsys)
    assert code == 1 and row(stdout, "w.npy").endswith("  ok"), stdout + err
    for clip in ("a.bvh", "rec"):               # a FreeMoCap recording was told '(give --layout freemocap, ...)'
        assert row(stdout, clip).endswith(
            "; --layout humanml3d22 is for the batch's .npy clips, but a batch gives it to every clip: convert this "
            "one in a batch without --layout"), stdout
    code, stdout, err = run(["solve", alone, "--out", tmp_path / "o3/"], capsys)
    assert code == 1 and row(stdout, "w.npy").endswith("--layout humanml3d22)"), stdout + err
