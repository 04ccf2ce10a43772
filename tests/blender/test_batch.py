"""The batch entry point, run as a script under the bpy module in a fresh process: rigs from a .blend,
a BVH or the clip itself, BVH written in the rig's conventions, the summary table and the exit status."""
from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import bpy
import numpy as np
import pytest
from mathutils import Matrix

from blender_helpers import EXT_NAME, clip_path, import_clip, rest_copy, world_heads
from pose2rot_core.batch_files import clip_label, clip_name, track_files
from pose2rot_core.bvh import read_bvh, write_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.rotations import axis_angle_to_matrix, basic_rotation
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.tracks_io import save_tracks, tracks_from_bvh

BATCH = Path(importlib.import_module(EXT_NAME).__file__).parent / "batch.py"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
batch = importlib.import_module(EXT_NAME + ".batch")
batch_outputs = importlib.import_module(EXT_NAME + ".batch_outputs")
batch_rigs = importlib.import_module(EXT_NAME + ".batch_rigs")
batch_worker = importlib.import_module(EXT_NAME + ".batch_worker")


def _run(*args):
    return subprocess.run([sys.executable, str(BATCH), *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)


def _scene_rig_as_bvh(tmp_path: Path):
    """(the walk's first 30 frames as tracks, the BVH the batch writes of them, what it printed): the
    scene saved as the rig's .blend, the tracks as an .npz, solved with ``--rig`` that .blend and
    ``--bvh``."""
    path = tmp_path / "rig.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    tracks = tracks_from_bvh(read_bvh(clip_path())).frames(0, 30)
    save_tracks(tmp_path / "a.npz", tracks)
    proc = _run("--rig", path, tmp_path / "a.npz", "--out", tmp_path / "out", "--bvh")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tracks, read_bvh(tmp_path / "out" / "a.bvh"), proc.stdout


def zyx_clip(path: Path, T: int = 24, seed: int = 0) -> Path:
    """A Y-up clip in metres whose joints all use rotation order ZYX."""
    names = ("root", "spine", "head", "arm", "hand", "leg", "foot")
    parents = np.array([-1, 0, 1, 1, 3, 0, 5])
    offsets = np.array([[0, 1.0, 0], [0, 0.25, 0], [0, 0.3, 0], [0.2, 0.2, 0], [0.25, 0, 0], [0.1, -0.1, 0],
                        [0, -0.8, 0.05]])
    rest = np.zeros((7, 3))
    rest[0] = offsets[0]
    for j in range(1, 7):
        rest[j] = rest[parents[j]] + offsets[j]
    t = np.linspace(0, 1, T)[:, None, None]
    rng = np.random.default_rng(seed)
    r = 0.6 * np.sin(2 * np.pi * t * rng.uniform(0.5, 1.5, (1, 7, 3)) + rng.uniform(0, 6, (1, 7, 3)))
    root = rest[0] + np.concatenate([np.linspace(0, 1, T)[:, None], np.zeros((T, 2))], 1)
    write_bvh(path, Skeleton(names, parents, rest), axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1)), root,
              fps=30.0, order="ZYX", end_parents=np.array([2, 4, 6]),
              end_offsets=np.array([[0, 0.1, 0], [0.08, 0, 0], [0, 0, 0.1]]))
    return path


def _rig_file(tmp_path: Path) -> Path:
    src = import_clip()
    rest_copy(src, "Rig")
    bpy.data.objects.remove(src)
    path = tmp_path / "rig.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    return path


def _summary_row(stdout: str, clip: str) -> list[str]:
    rows = [ln for ln in stdout.splitlines() if ln.startswith(clip + " ")]
    assert len(rows) == 1, stdout
    return rows[0].split()


def test_bvh_folder_without_a_rig_keeps_orders_and_y_up(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    zyx_clip(clips / "a.bvh")
    zyx_clip(clips / "b.bvh", T=30, seed=1)
    out = tmp_path / "new" / "out"                       # created when missing
    proc = _run(clips, "--out", out, "--bvh")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {p.name for p in out.iterdir()} == {"a.blend", "a.bvh", "b.blend", "b.bvh"}
    for name, frames in (("a", 24), ("b", 30)):
        row = _summary_row(proc.stdout, f"{name}.bvh")
        assert row[1:3] == [str(frames), "7"] and float(row[3]) < 1e-3 and row[4] == "0" and row[-1] == "ok"
        written, original = read_bvh(out / f"{name}.bvh"), read_bvh(clips / f"{name}.bvh")
        assert written.orders == original.orders == ["ZYX"] * 7
        order = [written.skeleton.names.index(n) for n in original.skeleton.names]
        np.testing.assert_allclose(written.fk()[:, order], original.fk(), atol=1e-4)     # Y-up, same places
        assert written.has_position_channels.sum() == 1                                   # only the root moves
    assert "2 of 2 clips converted" in proc.stdout


def test_the_flips_column_counts_turns_the_tracks_do_not_call_for(tmp_path):
    """A clip whose arm really turns 70 degrees in one frame: the solve follows it, and the safety
    check (the command line's warnings) calls that no flip, but the batch's flips column counted
    every turn over 30 degrees (1 here, 6 on a CSV with one glitch the command line did not warn of)."""
    clips = tmp_path / "clips"
    clips.mkdir()
    path = zyx_clip(clips / "turn.bvh")
    clip = read_bvh(path)
    arm = clip.skeleton.names.index("arm")
    rotations = clip.rotations.copy()
    rotations[12:, arm] = rotations[12:, arm] @ basic_rotation(2, np.radians(70.0))
    write_bvh(path, clip.skeleton, rotations, clip.root_translation, fps=30.0, order="ZYX",
              end_parents=clip.end_parents, end_offsets=clip.end_offsets)
    proc = _run(clips, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = _summary_row(proc.stdout, "turn.bvh")
    assert row[4] == "0" and row[-1] == "ok", proc.stdout


def test_files_of_one_name_in_a_folder_are_written_under_their_types(tmp_path):
    """A folder holding take.bvh and take.npz (the shipped examples hold arm_tracks.csv and .npz):
    both are converted, as take_bvh and take_npz, instead of the whole batch being refused."""
    clips = tmp_path / "clips"
    clips.mkdir()
    save_tracks(clips / "take.npz", tracks_from_bvh(read_bvh(zyx_clip(clips / "take.bvh"))))
    out = tmp_path / "out"
    proc = _run(clips, "--out", out, "--jobs", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {p.name for p in out.iterdir()} == {"take_bvh.blend", "take_npz.blend"}
    assert "2 of 2 clips converted" in proc.stdout


def test_a_zero_length_end_site_is_written_at_its_joint(tmp_path):
    """A BVH whose End Site has no length: Blender's importer makes that bone 0.1 long, and the
    batch wrote its tail as the End Site (the dev clips' tips up to 5 % of the height off, where the
    command line's are exact); it stays at its joint."""
    clip = tmp_path / "arm0.bvh"
    clip.write_text((Path(__file__).resolve().parents[2] / "examples" / "arm.bvh").read_text()
                    .replace("OFFSET 0.1 0 0", "OFFSET 0 0 0"))
    proc = _run(clip, "--out", tmp_path / "out", "--bvh")
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = read_bvh(tmp_path / "out" / "arm0.bvh")
    assert not written.end_offsets.any(), written.end_offsets


def test_help_without_the_extension_installed(tmp_path):
    """``batch.py --help`` in a Blender without the extension shows how to run it, not an error."""
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path))
    proc = subprocess.run([sys.executable, str(BATCH), "--help"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "--extension-zip" in proc.stdout and "--rig" in proc.stdout, proc.stderr


def test_without_the_extension_installed_nothing_is_converted(tmp_path):
    """A Blender without the extension (and no --extension-zip): one error line, exit 2 as for every
    run that converts nothing, no --out folder."""
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    proc = subprocess.run([sys.executable, str(BATCH), str(clip_path()), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("pose2rot batch: error: the pose2rot extension is not "
                                                           "installed in this Blender")
    assert not (tmp_path / "out").exists()


def test_rig_from_a_bvh_and_a_failing_clip(tmp_path):
    rig = zyx_clip(tmp_path / "rig.bvh")
    clips = tmp_path / "clips"
    clips.mkdir()
    save_tracks(clips / "good.npz", tracks_from_bvh(read_bvh(rig)).frames(0, 10))
    (clips / "bad.csv").write_text("frame,root.x,root.y,root.z\n0,0,1,x\n")
    out = tmp_path / "out"
    proc = _run(clips, "--rig", rig, "--out", out, "--bvh", "--order", "xyz", "--up", "z")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert _summary_row(proc.stdout, "good.npz")[-1] == "ok"
    bad = [ln for ln in proc.stdout.splitlines() if ln.startswith("bad.csv ")][0]
    assert "failed: bad.csv: line 2" in bad and "not a number" in bad
    assert "1 of 2 clips converted, 1 failed" in proc.stdout
    assert {p.name for p in out.iterdir()} == {"good.blend", "good.bvh"}
    written = read_bvh(out / "good.bvh")
    assert written.orders == ["XYZ"] * 7
    C = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    order = [written.skeleton.names.index(n) for n in read_bvh(rig).skeleton.names]
    np.testing.assert_allclose(written.fk()[:, order], read_bvh(rig).fk()[:10] @ C.T, atol=1e-4)


def test_a_bvh_with_braces_beside_its_words_is_a_rig_and_a_clip(tmp_path):
    """A BVH whose braces share a line with other words ('ROOT root{', 'JOINT spine {', 'OFFSET 0 0.1 0 }'),
    which the core reads, failed as --rig or as a clip with Blender's importer's traceback ('could not
    convert string to float'): it reads the line after a joint's as its OFFSET. Blender now imports a copy
    with each brace on a line of its own: the run converts the clip as with the file laid out as usual."""
    clip = zyx_clip(tmp_path / "c.bvh")
    text = clip.read_text()
    stuck = re.sub(r"\n\s*\}", " }", re.sub(r"\n\s*\{", " {", re.sub(r"\n\s*\{", "{", text, count=2), count=1), count=1)
    assert stuck.startswith("HIERARCHY\nROOT root{") and " {\n" in stuck and " }\n" in stuck, stuck[:400]
    rig = tmp_path / "r.bvh"
    rig.write_text(stuck)
    source = read_bvh(clip)
    for given, out, name in (([clip, "--rig", rig], tmp_path / "out", "c"), ([rig], tmp_path / "own", "r")):
        proc = _run(*given, "--out", out, "--bvh")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        exported = read_bvh(out / f"{name}.bvh")
        assert exported.skeleton.names == source.skeleton.names and set(exported.orders) == {"ZYX"}
        err = np.abs(exported.fk() - source.fk()).max() / source.skeleton.height
        assert err < 1e-4, err


def _without_motion(clip: Path, path: Path) -> Path:
    text = clip.read_text()
    path.write_text(text[:text.index("Frames:")] + "Frames: 0\nFrame Time: 0.0333333\n")
    return path


def test_a_bvh_without_motion_is_a_rig_but_no_clip(tmp_path):
    """A BVH of the rig alone (Frames: 0) serves as --rig (Blender's importer needs a frame: it
    reads a copy with one); as a clip in a folder it fails alone, in the core's words."""
    rig = _without_motion(zyx_clip(tmp_path / "source.bvh"), tmp_path / "rig.bvh")
    clips = tmp_path / "clips"
    clips.mkdir()
    save_tracks(clips / "good.npz", tracks_from_bvh(read_bvh(tmp_path / "source.bvh")).frames(0, 10))
    proc = _run(clips, "--rig", rig, "--out", tmp_path / "out", "--bvh")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _summary_row(proc.stdout, "good.npz")[-1] == "ok"
    _without_motion(zyx_clip(tmp_path / "c.bvh"), clips / "still.bvh")
    zyx_clip(clips / "moving.bvh")
    (clips / "good.npz").unlink()
    proc = _run(clips, "--out", tmp_path / "out2")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "the clip has no motion ('Frames: 0')" in " ".join(_summary_row(proc.stdout, "still.bvh"))
    assert _summary_row(proc.stdout, "moving.bvh")[-1] == "ok"


def test_blend_rig_and_the_armature_choice(tmp_path):
    rig = _rig_file(tmp_path)
    tracks = tracks_from_bvh(read_bvh(clip_path()))
    save_tracks(tmp_path / "a.npz", tracks.frames(0, 30))
    out = tmp_path / "out"
    proc = _run("--rig", rig, tmp_path / "a.npz", "--out", out, "--bvh")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _summary_row(proc.stdout, "a.npz")[1:3] == ["30", "43"]
    exported = read_bvh(out / "a.bvh")                   # Y-up again, in ZXY (a .blend rig has no BVH orders)
    assert set(exported.orders) == {"ZXY"}
    order = [exported.skeleton.names.index(n) for n in tracks.skeleton.names]
    err = np.abs(exported.fk()[:, order] - tracks.positions[:30]).max() / tracks.skeleton.height
    assert err < 1e-4, err
    bpy.ops.wm.open_mainfile(filepath=str(out / "a.blend"))
    assert bpy.data.objects["Rig"].animation_data.action.get("pose2rot")
    proc = _run("--rig", rig, tmp_path / "a.npz", "--out", out, "--armature", "Nope")
    assert proc.returncode == 2 and "--rig: no armature object named 'Nope' in rig.blend" in proc.stderr


def test_an_armature_with_no_blend_rig_to_pick_it_in_is_refused(tmp_path):
    """--armature with a .bvh rig, or with no --rig, was ignored (exit 0, the clip converted as if it
    were not given); it is now refused in one line saying it picks an armature in a .blend rig (exit 2,
    nothing made)."""
    clip = zyx_clip(tmp_path / "c.bvh")
    for rig, said in ((["--rig", clip], "but the rig is 'c.bvh', a BVH of one skeleton"),
                      ([], "but no --rig is given")):
        proc = _run(clip, *rig, "--armature", "Nope", "--out", tmp_path / "out")
        assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
        last = proc.stderr.strip().splitlines()[-1]
        assert last == (f"pose2rot batch: error: --armature 'Nope' picks an armature in a .blend rig, {said}: pass "
                        "--rig RIG.blend, or leave --armature out"), last
        assert not (tmp_path / "out").exists()


def test_a_rig_no_clip_can_use_stops_the_run_first(tmp_path):
    """A .blend rig with several armatures and no --armature, or a --rig BVH that cannot be read: every
    clip failed alike, each after Blender started for it, and the run ended 'finished with failures'
    (exit 1); a .blend rig Blender cannot open ended in a traceback. Each is now a bad argument: one
    line naming --rig, exit 2, nothing made (not --out)."""
    import_clip()
    import_clip()
    rig = tmp_path / "two.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(rig), copy=True)
    names = sorted(o.name for o in bpy.data.objects if o.type == 'ARMATURE')
    broken = tmp_path / "broken.bvh"
    broken.write_text("HIERARCHY\nROOT hips\n{\n")
    save_tracks(tmp_path / "a.npz", tracks_from_bvh(read_bvh(clip_path())).frames(0, 10))
    save_tracks(tmp_path / "b.npz", tracks_from_bvh(read_bvh(clip_path())).frames(10, 20))
    junk = tmp_path / "junk.blend"
    junk.write_text("not a .blend")
    for given, said in ((rig, f"--rig: two.blend has 2 armatures ({', '.join(names)}): name one with --armature"),
                        (broken, f"--rig: {broken}: line"),
                        (junk, "--rig: cannot open 'junk.blend' as a .blend file: Blender says: File format is not")):
        proc = _run(tmp_path / "a.npz", tmp_path / "b.npz", "--rig", given, "--out", tmp_path / "out", "--jobs", 2)
        assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith(f"pose2rot batch: error: {said}"), last
        assert "[1/2]" not in proc.stdout and not (tmp_path / "out").exists()


@pytest.mark.parametrize("placed", ["fbx", "turned", "parented"])
def test_the_bvh_of_a_placed_blend_rig_is_where_the_tracks_are(tmp_path, placed):
    """A .blend rig whose armature object is not at the world origin: imported from FBX (turned 90
    degrees about X, scale 0.01 over bones in centimetres), placed and turned in the shot, or parented
    to a moving object. The .blend's bones followed the tracks, but --bvh wrote the armature's own
    space: the FBX rig's BVH 100 times the tracks' size and lying down, the others turned and off, while
    the summary said 2e-05 %. The BVH now has its joints and End Sites where the tracks are."""
    src = import_clip()
    rig = rest_copy(src, "Rig")
    bpy.data.objects.remove(src)
    if placed == "fbx":
        inside = Matrix.Rotation(-np.pi / 2, 4, 'X') @ Matrix.Scale(100.0, 4)
        bpy.ops.object.mode_set(mode='EDIT')
        rig.data.transform(inside)
        bpy.ops.object.mode_set(mode='OBJECT')
        rig.matrix_world = rig.matrix_world @ inside.inverted()
    elif placed == "turned":
        rig.location, rig.rotation_euler = (3.0, 1.0, 0.0), (0.0, 0.0, 0.7)
    else:
        mover = bpy.data.objects.new("mover", None)
        bpy.context.scene.collection.objects.link(mover)
        for frame, place in ((1, (0.0, 0.0, 0.0)), (30, (2.0, 1.0, 0.5))):
            mover.location, mover.rotation_euler = place, (0.01 * frame, 0.0, 0.05 * frame)
            mover.keyframe_insert("location", frame=frame)
            mover.keyframe_insert("rotation_euler", frame=frame)
        rig.parent = mover
    tracks, exported, _ = _scene_rig_as_bvh(tmp_path)
    order = [exported.skeleton.names.index(n) for n in tracks.skeleton.names]
    height = tracks.skeleton.height
    assert np.abs(exported.fk()[:, order] - tracks.positions).max() / height < 1e-4
    ends = exported.end_site_positions()
    for k, name in enumerate(exported.end_names):
        got = ends[:, k]
        want = tracks.end_positions[:, list(tracks.end_names).index(name)]
        assert np.abs(got - want).max() / height < 1e-4, name


@pytest.mark.parametrize("kind", ["tracks", "rig"])
@pytest.mark.parametrize("how", ["nothing", "dangling link", "link loop"])
def test_a_missing_tracks_or_rig_file_is_worded_as_the_core_words_it(tmp_path, kind, how):
    """A tracks file or --rig that is a link to nothing, or a link in a loop of links, was said to 'not
    exist' (as a path where nothing is), though the link is there; the batch now says what the core's
    commands say (errors.missing_file): which link leads nowhere and how to point it at the file."""
    from pose2rot_core.errors import missing_file

    path = tmp_path / ("a.npz" if kind == "tracks" else "rig.blend")
    if how == "dangling link":
        path.symlink_to(tmp_path / "gone" / path.name)
    elif how == "link loop":
        other = tmp_path / f"b{path.suffix}"
        path.symlink_to(other)
        other.symlink_to(path)
    with pytest.raises(Pose2RotError) as e:
        if kind == "tracks":
            track_files([str(path)], "pose2rot batch")
        else:
            batch_rigs.rig_source(str(path), [])
    assert str(e.value) == str(missing_file(path, kind))
    assert ("does not exist" in str(e.value)) == (how == "nothing")


def test_a_rig_that_is_a_folder_is_named_so(tmp_path):
    """A folder given as --rig (named like a .blend) was said not to exist."""
    (tmp_path / "rig.blend").mkdir()
    with pytest.raises(Pose2RotError, match=r"^--rig '.*rig\.blend' is a folder: give a \.blend or a \.bvh file$"):
        batch_rigs.rig_source(str(tmp_path / "rig.blend"), [])


def test_bad_arguments_and_missing_inputs(tmp_path):
    proc = _run(tmp_path / "missing.npz", "--out", tmp_path / "out")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith(f"pose2rot batch: error: TRACKS '{tmp_path / 'missing.npz'}' does not exist; check "
                                "the path"), lines[-1]
    assert "pose2rot batch:" not in proc.stdout     # no 'finished with failures' line: nothing was started
    proc = _run(tmp_path / "missing.npz")
    assert proc.returncode == 2 and "--out" in proc.stderr.strip().splitlines()[-1]
    save_tracks(tmp_path / "t.npz", tracks_from_bvh(read_bvh(zyx_clip(tmp_path / "c.bvh"))))
    (tmp_path / "t.csv").write_text("frame,root.x,root.y,root.z\n0,0,1,0\n1,0,1,0\n")
    proc = _run(tmp_path / "t.csv", "--out", tmp_path / "out")
    assert proc.returncode == 2 and "no rig for t.csv: pass --rig RIG.blend or --rig RIG.bvh" in proc.stderr
    proc = _run(tmp_path / "t.npz", "--out", tmp_path / "out", "--rig", tmp_path / "c.bvh", "--order", "abc")
    assert proc.returncode == 2 and "--order must be one of" in proc.stderr
    proc = _run(tmp_path / "t.npz", "--out", tmp_path / "out", "--layout", "bogus")
    assert proc.returncode == 2 and "--layout must be one of" in proc.stderr
    (tmp_path / "MAP.json").write_text('{"bones": {"root": "a", "root": "b"}}')
    proc = _run(tmp_path / "t.npz", "--out", tmp_path / "out", "--map", tmp_path / "MAP.json")
    assert proc.returncode == 2 and "--map: MAP.json: 'root' is given twice" in proc.stderr
    save_tracks(tmp_path / "t2.npz", tracks_from_bvh(read_bvh(tmp_path / "c.bvh")))
    (tmp_path / "other").mkdir()
    save_tracks(tmp_path / "other" / "t.npz", tracks_from_bvh(read_bvh(tmp_path / "c.bvh")))
    proc = _run(tmp_path / "t.npz", tmp_path / "t2.npz", tmp_path / "other", "--out", tmp_path / "same",
                "--rig", tmp_path / "c.bvh", "--jobs", "2")
    assert proc.returncode == 2 and "would all be written as 't.blend'" in proc.stderr
    assert not (tmp_path / "same").exists()  # refused before any work
    proc = _run(tmp_path / "t.npz", tmp_path / "t.npz", "--out", tmp_path / "once")  # one file given twice: once
    assert proc.returncode == 0 and "1 of 1 clips converted" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    proc = _run(tmp_path / "t.npz", "--out", tmp_path / "out", "--extension-zip", tmp_path / "pose2rot.zip")
    assert proc.returncode == 2 and (f"--extension-zip '{tmp_path / 'pose2rot.zip'}' does not exist; check the path"
                                     in proc.stderr.strip().splitlines()[-1])
    before = (tmp_path / "c.bvh").read_bytes()
    proc = _run(tmp_path / "c.bvh", "--out", tmp_path, "--bvh")  # the input's own folder
    assert proc.returncode == 2 and "would write over the input 'c.bvh'" in proc.stderr.strip().splitlines()[-1]
    assert (tmp_path / "c.bvh").read_bytes() == before
    proc = _run(tmp_path / "t.npz", "--out", tmp_path / "t2.npz")
    assert proc.returncode == 2 and "is a file: give a folder" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("given, said", [
    (["--frames", "1:50"], "--frames is the command line's (pose2rot solve): the batch converts every clip whole"),
    (["--skeleton=rig.bvh"], "--skeleton is the command line's: the batch takes the rig as --rig RIG.bvh")])
def test_the_command_line_s_options_say_what_the_batch_takes(tmp_path, given, said):
    """README's Batch says '--solver etc. as in solve', and solve's --frames or --skeleton given to the
    batch said only 'unrecognized arguments'; the line now says what the batch does instead (exit 2,
    nothing made)."""
    proc = _run(zyx_clip(tmp_path / "c.bvh"), "--out", tmp_path / "out", *given)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and last.startswith("pose2rot batch: error: unrecognized arguments: ") and said in last
    assert not (tmp_path / "out").exists()


def test_an_empty_out_is_refused_as_empty(tmp_path, monkeypatch):
    """--out '' is the current folder to Python: the batch wrote its files there, where no one asked for
    them. It is refused as empty before any work, the current folder left as it was."""
    save_tracks(tmp_path / "t.npz", tracks_from_bvh(read_bvh(zyx_clip(tmp_path / "c.bvh"))))
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    proc = _run(tmp_path / "t.npz", "--out", "")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == (
        "pose2rot batch: error: --out is empty: give a folder for the converted files (created when missing)"), \
        proc.stderr
    assert not any(here.iterdir())


@pytest.mark.parametrize("flag", ["--rig", "--map", "--layout", "--checkpoint", "--config", "--t5", "--device",
                                  "--model-python", "--extension-zip", "TRACKS"])
def test_a_text_argument_given_empty_is_refused_by_its_name(tmp_path, flag):
    """An unset shell variable gives an argument as ''. The batch's own options read it as not given
    (--config '' fell back to the Preferences', --layout '' solved .npy points as tracks, --rig ''
    took the .blend Blender has open) and an empty TRACKS was the current folder; as on the command
    line, each is refused by its name, one line, exit 2, before any work."""
    save_tracks(tmp_path / "t.npz", tracks_from_bvh(read_bvh(zyx_clip(tmp_path / "c.bvh"))))
    given = [tmp_path / "t.npz", ""] if flag == "TRACKS" else [tmp_path / "t.npz", flag, ""]
    proc = _run(*given, "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"pose2rot batch: error: {flag} is empty: give "), \
        proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_freemocap_recording_or_its_output_data_folder_is_one_clip(tmp_path):
    """Given as the recording folder or as its output_data folder (as on the command line), a FreeMoCap
    recording is one clip, its body landmarks file, named after the recording; its other .npy files are
    not clips."""
    data = tmp_path / "walk" / "output_data"
    data.mkdir(parents=True)
    body = data / "mediapipe_body_3d_xyz.npy"
    np.save(body, np.zeros((2, 33, 3)))
    np.save(data / "mediapipe_right_hand_3d_xyz.npy", np.zeros((2, 21, 3)))
    for item in (tmp_path / "walk", data):
        files = track_files([str(item)], "pose2rot batch")
        assert files == [body] and clip_name(files[0]) == "walk"
        assert clip_label(files[0]) == "walk"                  # its row in the summary, not the .npy's name
    assert clip_label(tmp_path / "a.bvh") == "a.bvh"


def test_the_preferences_show_the_installed_batch_command():
    line = batch.command_line()
    assert line.startswith("blender -b --python-exit-code 1 --python ")
    assert Path(line.split('"')[1]) == BATCH.resolve() and BATCH.is_file()


@pytest.mark.parametrize("smooth", ["fast"])
def test_bad_smooth_value_is_a_bad_argument(tmp_path, smooth):
    proc = _run(zyx_clip(tmp_path / "c.bvh"), "--out", tmp_path / "out", "--smooth", smooth)
    assert proc.returncode == 2 and "--smooth must be 'auto', 'off' or a width in seconds (e.g. 0.03), got 'fast'" \
        in proc.stderr


def test_solve_options_of_the_command_line(tmp_path):
    """The batch takes the command line's solve options: a limit no clean clip can meet fails the clip
    (nothing written for it); a bad value is one line naming the flag."""
    clip = zyx_clip(tmp_path / "c.bvh")
    proc = _run(clip, "--out", tmp_path / "out", "--twist", "swing", "--max-position-error", "1e-12")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "(allowed: 1e-12 %); " in proc.stderr and "further: " in proc.stderr and "nothing was written" in proc.stderr
    assert not (tmp_path / "out" / "c.blend").exists()
    proc = _run(clip, "--out", tmp_path / "out", "--max-position-error", "5")
    assert proc.returncode == 0 and _summary_row(proc.stdout, "c.bvh")[-1] == "ok"
    proc = _run(clip, "--out", tmp_path / "out", "--max-position-error", "0")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == ("pose2rot batch: error: --max-position-error must be a "
                                                    "percentage of the height above 0, got 0.0")


def test_jobs_give_the_same_results_as_one_at_a_time(tmp_path):
    """Clips converted by worker processes two at a time and one at a time: the same keys and every clip
    in the summary; a broken BVH (which would crash Blender's own importer) and a CSV without a rig
    fail alone, each with the reason in the summary; --jobs below 1 is one line naming the flag."""
    clips = tmp_path / "clips"
    clips.mkdir()
    for seed in range(3):
        zyx_clip(clips / f"c{seed}.bvh", seed=seed)
    (clips / "bad.bvh").write_text("HIERARCHY\nROOT hips\n{\n")
    (clips / "points.csv").write_text("frame,root.x,root.y,root.z\n0,0,1,0\n")
    runs = {jobs: _run(clips, "--out", tmp_path / f"out{jobs}", "--bvh", "--jobs", jobs) for jobs in (1, 2)}
    for jobs, proc in runs.items():
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert "3 of 5 clips converted, 2 failed" in proc.stdout
        assert "line 3: unbalanced braces" in " ".join(_summary_row(proc.stdout, "bad.bvh"))
        assert "Traceback" not in proc.stderr
        assert "failed: no rig for points.csv: pass --rig" in " ".join(_summary_row(proc.stdout, "points.csv"))
        assert all(_summary_row(proc.stdout, f"c{s}.bvh")[-1] == "ok" for s in range(3))
    for s in range(3):
        one, two = (read_bvh(tmp_path / f"out{jobs}" / f"c{s}.bvh") for jobs in (1, 2))
        np.testing.assert_allclose(one.fk(), two.fk(), atol=1e-9)
    proc = _run(clips, "--out", tmp_path / "out", "--jobs", "0")
    assert proc.returncode == 2 and "error: --jobs must be at least 1, got 0" in proc.stderr.strip().splitlines()[-1]


def _hinged(clip: Path, path: Path) -> Path:
    """``clip`` with its hand reduced to one rotation channel (Zrotation), its motion columns too."""
    lines = clip.read_text().splitlines()
    hand = next(i for i, line in enumerate(lines) if line.strip() == "JOINT hand")
    channels = next(i for i in range(hand, len(lines)) if "CHANNELS" in lines[i])
    lines[channels] = lines[channels].split("CHANNELS")[0] + "CHANNELS 1 Zrotation"
    for t in range(lines.index("MOTION") + 3, len(lines)):  # the hand's Y and X columns
        cells = lines[t].split()
        lines[t] = " ".join(cells[:16] + cells[18:])
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_bvh_with_hinge_joints_fails_alone_in_words(tmp_path):
    """Blender's BVH importer cannot read a joint with one rotation channel (it stopped with a
    traceback and the summary said only that the worker ended): such a clip fails alone, naming
    the joint and the command line that converts it."""
    clips = tmp_path / "clips"
    clips.mkdir()
    _hinged(zyx_clip(tmp_path / "source.bvh"), clips / "hinge.bvh")
    zyx_clip(clips / "moving.bvh")
    proc = _run(clips, "--out", tmp_path / "out")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    row = " ".join(_summary_row(proc.stdout, "hinge.bvh"))
    assert "fewer than three rotation channels ('hand')" in row and "pose2rot solve" in row
    assert _summary_row(proc.stdout, "moving.bvh")[-1] == "ok"


@pytest.mark.parametrize("up", ["y", "z"])
def test_npz_tracks_bring_their_own_rig(tmp_path, up):
    """.npz tracks carry their skeleton: without --rig, batch builds the clip's rig from it (as from
    a BVH clip's), Y- or Z-up, and the solved clip reproduces the tracks (it said "no rig" before)."""
    from pose2rot_core.axes import axis_change

    clip = read_bvh(zyx_clip(tmp_path / "c.bvh"))
    tracks = tracks_from_bvh(clip)
    if up == "z":
        turn = axis_change("y", "z")
        skel = tracks.skeleton
        tracks = replace(tracks, positions=tracks.positions @ turn.T, end_positions=tracks.end_positions @ turn.T,
                         end_rest_offsets=tracks.end_rest_offsets @ turn.T, up_axis="z",
                         skeleton=Skeleton(skel.names, skel.parents, skel.rest_positions @ turn.T))
    save_tracks(tmp_path / "walk.npz", tracks)
    proc = _run(tmp_path / "walk.npz", "--out", tmp_path / "out", "--bvh")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    written = read_bvh(tmp_path / "out" / "walk.bvh")
    order = [written.skeleton.names.index(n) for n in clip.skeleton.names]
    np.testing.assert_allclose(written.fk()[:, order], clip.fk(), atol=1e-4)



def test_one_clip_converted_in_the_batch_s_process_prints_only_the_batch_s_lines(tmp_path):
    """One clip is converted in the batch's own process, where Blender's words reached the log between
    the batch's lines: for a 120 fps .npz, 'parsing bvh '/tmp/.../walk_rig.bvh'', 'updating scene FPS
    (was 24.000000) to BVH FPS (30.000000)' (its rest rig's) and 'Info: Saved copy as
    ".pose2rot-....blend"' (a staged name the user never sees), as workers' logs never show them."""
    tracks = tracks_from_bvh(read_bvh(zyx_clip(tmp_path / "c.bvh")))
    save_tracks(tmp_path / "walk.npz", replace(tracks, fps=120.0))
    proc = _run(tmp_path / "walk.npz", "--out", tmp_path / "out", "--bvh")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "[1/1] walk.npz: ok" in proc.stdout, proc.stdout
    for chatter in ("parsing bvh", "scene FPS", "Saved copy as", ".pose2rot-"):
        assert chatter not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert read_bvh(tmp_path / "out" / "walk.bvh").frame_time == pytest.approx(1 / 120)


def test_a_pipeline_s_odd_files_and_folders(tmp_path):
    """What a pipeline meets (a red team's findings): clips given as links are named after the link,
    each once per link (they were named after their target, two links one output); a file name that
    is not UTF-8 crashed Blender's data names, a UTF-16 BVH its importer (the command line reads both);
    a folder's FreeMoCap recordings are clips (they were refused) and its other subfolders are named as
    not searched (skipped without a word); a log shows a line as each clip ends."""
    clips = tmp_path / "clips"
    clips.mkdir()
    walk = zyx_clip(tmp_path / "walk.bvh")
    for link in ("take_001.bvh", "take_002.bvh"):
        (clips / link).symlink_to(walk)
    text = walk.read_text()
    (clips / "utf16.bvh").write_bytes(text.encode("utf-16"))
    (clips / os.fsdecode(b"caf\xe9.bvh")).write_text(text)
    (clips / "sub").mkdir()
    zyx_clip(clips / "sub" / "deep.bvh")
    (clips / "folder.bvh").mkdir()                                  # a folder with a clip's name is no clip
    (clips / "gone.bvh").symlink_to(tmp_path / "missing.bvh")
    proc = _run(clips, "--out", tmp_path / "out", "--jobs", "2")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    latin = os.fsdecode(b"caf\xe9.blend")                          # the output keeps the input's name
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([latin, "take_001.blend", "take_002.blend",
                                                                           "utf16.blend"])
    assert "4 of 4 clips converted" in proc.stdout and "Traceback" not in proc.stderr
    assert sorted(ln.split("] ")[0] for ln in proc.stdout.splitlines() if ln.startswith("[")) == [
        f"[{k}/4" for k in range(1, 5)]
    assert f"folder '{clips}': subfolders not searched: folder.bvh, sub (give them too" in proc.stderr
    assert f"folder '{clips}': links to nothing: gone.bvh (their files are gone)" in proc.stderr
    recordings = tmp_path / "sessions"
    for name in ("rec1", "rec2"):
        (recordings / name / "output_data").mkdir(parents=True)
        np.save(recordings / name / "output_data" / "mediapipe_body_3d_xyz.npy", np.zeros((2, 33, 3)))
    assert track_files([str(recordings)], "pose2rot batch") == [
        recordings / n / "output_data" / "mediapipe_body_3d_xyz.npy" for n in ("rec1", "rec2")]


def test_an_output_folder_that_cannot_be_written_stops_the_run_first(tmp_path):
    """--out where no folder can be made: one line naming --out and exit 2 before any clip (every clip
    was solved and then failed, with a traceback each)."""
    clip = zyx_clip(tmp_path / "c.bvh")
    (tmp_path / "file").write_text("")
    proc = _run(clip, clip, "--out", tmp_path / "file" / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"pose2rot batch: error: --out '{tmp_path / 'file' / 'out'}':"
                                                           " cannot write there (")


def test_a_failed_rerun_names_the_earlier_output_and_leaves_no_backups(tmp_path):
    """Run again with a limit the clip misses: its row names the earlier run's outputs that stay (they
    looked like this run's results), and no run leaves Blender's .blend1 backups."""
    clip = zyx_clip(tmp_path / "c.bvh")
    assert _run(clip, "--out", tmp_path / "out", "--bvh").returncode == 0
    assert _run(clip, "--out", tmp_path / "out", "--bvh").returncode == 0
    noisy = tmp_path / "noisy.npz"
    tracks = tracks_from_bvh(read_bvh(clip))
    save_tracks(noisy, replace(tracks, positions=tracks.positions
                               + np.random.default_rng(0).normal(0, 0.02, tracks.positions.shape)))
    assert _run(noisy, "--out", tmp_path / "out").returncode == 0
    proc = _run(noisy, "--out", tmp_path / "out", "--max-position-error", "0.01")
    assert proc.returncode == 1
    assert "(an earlier run's noisy.blend stays in --out)" in " ".join(_summary_row(proc.stdout, "noisy.npz"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["c.blend", "c.bvh", "noisy.blend"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_an_output_name_taken_by_a_folder_stops_the_run_first(tmp_path):
    """A folder in --out under a clip's output name ('c.bvh/') was found only once that clip was solved (its
    row failed, exit 1); it is now refused before any work, as the other output checks are: one line naming
    the folder, exit 2, the earlier outputs untouched. One made while the run solves still keeps a clip's
    outputs together: none is put in place."""
    clip = zyx_clip(tmp_path / "c.bvh")
    out = tmp_path / "out"
    assert _run(clip, "--out", out, "--bvh").returncode == 0
    before = (out / "c.blend").read_bytes()
    (out / "c.bvh").unlink()
    (out / "c.bvh").mkdir()
    proc = _run(clip, "--out", out, "--bvh")
    assert proc.returncode == 2 and "[1/1]" not in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (f"pose2rot batch: error: --out '{out}' holds a folder named "
                                                    "'c.bvh', where a clip's output goes: move or rename that "
                                                    "folder, or choose another --out")
    assert (out / "c.blend").read_bytes() == before
    staged = [tmp_path / "staged.blend", tmp_path / "staged.bvh"]
    for path in staged:
        path.write_text("new")
    with pytest.raises(Pose2RotError, match="cannot write 'c.bvh': a folder of that name is in --out"):
        batch_outputs.put_in_place(staged, [out / "c.blend", out / "c.bvh"], out)
    assert (out / "c.blend").read_bytes() == before


def test_ctrl_c_stops_the_workers_and_says_what_was_converted(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) gave a traceback per worker and no
    summary; SIGTERM to the batch alone left its workers writing. Now one line saying how many clips
    were converted, exit 130, no worker left running, and only the converted clips' files in --out
    (a clip stopped while saving left Blender's 'X.blend@')."""
    import signal

    clips = tmp_path / "clips"
    clips.mkdir()
    for seed in range(8):
        zyx_clip(clips / f"c{seed}.bvh", seed=seed)
    for sig, group in ((signal.SIGINT, True), (signal.SIGTERM, False)):   # a terminal's Ctrl-C; a job manager's stop
        out = tmp_path / f"out{sig}"
        proc = subprocess.Popen([sys.executable, str(BATCH), str(clips), "--out", str(out), "--jobs", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a shell starts it
        for line in proc.stdout:
            if line.startswith("[1/8]"):
                break
        (os.killpg if group else os.kill)(proc.pid, sig)
        stderr = proc.communicate(timeout=120)[1]
        assert proc.returncode == 130, stderr[-3000:]
        assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("pose2rot batch: interrupted: ") and " of 8 clips converted" in last
        converted = int(last.split("interrupted: ")[1].split(" of ")[0])
        time.sleep(1.0)                                    # a worker left running would write on
        written = sorted(p.name for p in out.iterdir())
        assert len(written) == converted and all(n.endswith(".blend") for n in written), written


def test_the_extension_installed_for_a_run_is_removed_after_it(tmp_path):
    """--extension-zip under the bpy module installs into a temporary Blender user folder, which every
    run left behind (1.7 MB each)."""
    from conftest import extension_zip

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "BLENDER_USER_RESOURCES"} | {"TMPDIR": str(scratch)}
    proc = subprocess.run([sys.executable, str(BATCH), "--extension-zip", str(extension_zip()),
                           str(zyx_clip(tmp_path / "c.bvh")), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "c.blend").is_file() and list(scratch.iterdir()) == []


def test_tracks_without_a_frame_rate_take_the_rig_bvh_s(tmp_path):
    """A CSV without a time column solved onto a 30 fps rig BVH: the command line writes it at the
    --skeleton's 30 fps, and so does the batch with --rig (it wrote Blender's default 24 fps, so the
    clip played 1.25x slower, with no word)."""
    rig = tmp_path / "arm30.bvh"
    rig.write_text((EXAMPLES / "arm.bvh").read_text().replace("Frame Time: 0.04166666667", "Frame Time: 0.0333333333"))
    proc = _run(EXAMPLES / "arm_tracks.csv", "--rig", rig, "--out", tmp_path / "out", "--bvh")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_bvh(tmp_path / "out" / "arm_tracks.bvh").frame_time == pytest.approx(1 / 30, rel=1e-4)


def test_tracks_on_a_rig_bvh_without_a_frame_rate_stop_the_run_first(tmp_path):
    """A CSV without a time column onto a --rig BVH saying 'Frame Time: 0' (a rig exported without
    motion) was converted at Blender's default 24 fps with no word, where pose2rot solve asks for the
    rate. The batch now refuses it before any clip, in one line saying how to give the rate, exit 2,
    nothing written; a CSV with a time column on that rig is converted at its own rate."""
    text = (EXAMPLES / "arm.bvh").read_text()
    rig = tmp_path / "rig0.bvh"
    first_row = text.split("Frame Time: 0.04166666667\n")[1].splitlines()[0]
    rig.write_text(text.split("Frames:")[0] + f"Frames: 1\nFrame Time: 0\n{first_row}\n")
    out = tmp_path / "out"
    proc = _run(EXAMPLES / "arm_tracks.npz", EXAMPLES / "arm_tracks.csv", "--rig", rig, "--out", out, "--bvh")
    assert proc.returncode == 2 and "[1/2]" not in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "pose2rot batch: error: arm_tracks.csv: no frame rate: the CSV has no 'time' column and its rig rig0.bvh "
        "says 'Frame Time: 0'; write the clips' frame time into the rig BVH ('Frame Time: 0.0333333' for 30 fps) "
        "and pass it as --rig, or give the CSV a 'time' column in seconds")
    assert not out.exists()
    rows = (EXAMPLES / "arm_tracks.csv").read_text().splitlines()
    timed = tmp_path / "timed.csv"
    timed.write_text("\n".join(["time" + rows[0][len("frame"):]]
                               + [f"{int(r.split(',')[0]) / 30:.6f}{r[r.index(','):]}" for r in rows[1:]]) + "\n")
    proc = _run(timed, "--rig", rig, "--out", out, "--bvh")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_bvh(out / "timed.bvh").frame_time == pytest.approx(1 / 30, rel=1e-4)


def test_one_frame_without_a_rate_is_written_at_the_command_lines_frame_time(tmp_path):
    """A one-frame CSV without a time column on a rig BVH saying 'Frame Time: 0', or a one-frame BVH clip saying
    it, was written by the batch at Blender's default 1/24 s a frame but by pose2rot solve at 1/30 s: neither file
    gives a rate. The batch now sets the scene to the core's rate for such tracks (tracks_csv.RATELESS_FPS), so
    both write the same frame time."""
    from pose2rot_core.cli import main

    text = (EXAMPLES / "arm.bvh").read_text()
    first_row = text.split("Frame Time: 0.04166666667\n")[1].splitlines()[0]
    rig = tmp_path / "rig0.bvh"
    rig.write_text(text.split("Frames:")[0] + f"Frames: 1\nFrame Time: 0\n{first_row}\n")
    one = tmp_path / "one.csv"
    one.write_text("\n".join((EXAMPLES / "arm_tracks.csv").read_text().splitlines()[:2]) + "\n")
    for clip, rig_args in ((one, ["--rig", rig]), (rig, [])):
        out = tmp_path / f"out_{clip.stem}"
        proc = _run(clip, *rig_args, "--out", out, "--bvh")
        assert proc.returncode == 0, proc.stderr[-2000:]
        skeleton = ["--skeleton", str(rig)] if rig_args else []
        assert main(["solve", str(clip), *skeleton, "--out", str(tmp_path / "cli.bvh")]) == 0
        assert read_bvh(out / f"{clip.stem}.bvh").frame_time == pytest.approx(read_bvh(tmp_path / "cli.bvh").frame_time)


def test_points_without_a_rig_are_told_to_give_one(tmp_path):
    """A point-set .npz (points named, no skeleton) with no --rig: its row says to pass --rig (and a
    map), in the batch's own flags; it said to give --layout, or --skeleton and --map, which the
    batch does not take for this."""
    points = tmp_path / "points.npz"
    np.savez(points, positions=np.zeros((3, 2, 3)) + [[0.0, 1.0, 0.0], [0.0, 1.5, 0.0]],
             point_names=np.array(["left_hip", "left_knee"]))
    proc = _run(points, "--out", tmp_path / "out")
    assert proc.returncode == 1, proc.stderr[-2000:]
    row = " ".join(_summary_row(proc.stdout, "points.npz"))
    assert "no rig for points.npz: its points have no skeleton of their own: pass --rig" in row, proc.stdout
    assert "--skeleton" not in row


def test_a_clip_named_like_an_option_is_converted_by_a_worker(tmp_path):
    """'-take.bvh' always failed when clips went to worker processes: its output name, passed as a value
    of --worker, was read as an option. Each worker now reads its clip from a task file."""
    clips = tmp_path / "clips"
    clips.mkdir()
    zyx_clip(clips / "-take.bvh")
    zyx_clip(clips / "take.bvh", seed=1)
    out = tmp_path / "out"
    proc = _run(clips, "--out", out, "--jobs", "1")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert {p.name for p in out.iterdir()} == {"-take.blend", "take.blend"}


def test_every_end_site_of_the_clip_is_written(tmp_path):
    """--bvh wrote one End Site per leaf bone (Blender's tails): several End Sites at one joint became
    one, and a joint with children lost its own (boxing.bvh: 11 -> 5). The rig BVH's End Sites are now
    written as it has them, those at leaf joints where the clip puts them."""
    clip = zyx_clip(tmp_path / "ends.bvh")
    original = read_bvh(clip)
    ends = np.array([2, 4, 4, 6, 3])                       # two at the hand, one at the arm (the hand's parent)
    offsets = np.array([[0, 0.1, 0], [0.08, 0, 0], [0.06, 0.03, 0], [0, 0, 0.1], [0, 0.05, 0.02]])
    write_bvh(clip, original.skeleton, original.rotations, original.root_translation, fps=30.0, order="ZYX",
              end_parents=ends, end_offsets=offsets)
    source = read_bvh(clip)
    proc = _run(clip, "--out", tmp_path / "out", "--bvh")
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = read_bvh(tmp_path / "out" / "ends.bvh")

    def sites(bvh) -> dict:
        """(joint, offset) -> the End Site's positions [T,3], of the End Sites at leaf joints."""
        names, at = bvh.skeleton.names, bvh.end_site_positions()
        return {(names[j], tuple(np.round(o, 6))): at[:, k] for k, (j, o) in enumerate(zip(bvh.end_parents,
                                                                                             bvh.end_offsets))}

    got, want = sites(written), sites(source)
    assert sorted(got) == sorted(want)                     # the arm's End Site too, at its offset
    for key in want:
        if key[0] != "arm":                                # its place turns with the arm's roll
            np.testing.assert_allclose(got[key], want[key], atol=1e-4)


def test_staged_files_are_the_run_s_own(tmp_path):
    """Two runs writing into one --out staged a clip's outputs under the same hidden names and removed
    each other's: a .blend of one clip beside the BVH of another, both runs saying ok. Each run now
    stages under its own token and removes only its own files."""
    mine, theirs = batch_outputs.staging_stem("walk", "aaaa1111"), batch_outputs.staging_stem("walk", "bbbb2222")
    assert mine != theirs
    for stem in (mine, theirs):
        (tmp_path / f"{stem}.blend").write_text("x")
        (tmp_path / f".{stem}.bvh.123.part").write_text("x")
    assert batch_outputs.remove_staged(tmp_path, "walk", "aaaa1111")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{theirs}.blend", f".{theirs}.bvh.123.part"])
    assert batch.checked_batch(batch._parser().parse_args([str(zyx_clip(tmp_path / "c.bvh")), "--out",
                                                          str(tmp_path / "o")])).run != ""


def test_a_worker_that_dies_leaves_nothing_in_out(tmp_path, monkeypatch):
    """A worker killed (the system out of memory sends SIGKILL) after saving its clip's .blend under the
    run's staged name, before putting it in place: the clip failed, but the hidden staged .blend stayed
    in --out. The run now removes it; the clip fails naming the signal, an earlier run's output stays."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "c.blend").write_text("earlier run")
    run = "cafe0123"
    stem = batch_outputs.staging_stem("c", run)
    fake = tmp_path / "python"
    fake.write_text(f"#!{sys.executable}\nimport os, signal\nopen({str(out / (stem + '.blend'))!r}, 'w').write('x')\n"
                    "os.kill(os.getpid(), signal.SIGKILL)\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    clip = tmp_path / "c.bvh"
    ended, written = [], {}
    batch_worker.in_workers(batch.Batch([clip], {clip: "c"}, None, run), [], 1, ended, written, out)
    assert len(ended) == 1 and ended[0].failed and "killed by SIGKILL" in ended[0].message, ended
    assert sorted(p.name for p in out.iterdir()) == ["c.blend"] and (out / "c.blend").read_text() == "earlier run"


class _Died(BaseException):
    """A process's death, raised where a signal would have ended it."""


def _die_between_the_renames(monkeypatch, out: Path, run: str) -> None:
    """Stage a new .blend and BVH of the clip 'c' in ``out`` under the run ``run``'s names and put them in
    place, the process dying after the first rename, as a SIGKILL there would leave them."""
    stem = batch_outputs.staging_stem("c", run)
    staged = [out / f"{stem}.blend", out / f"{stem}.bvh"]
    for path in staged:
        path.write_text(f"new {run}")
    renames, real = [], os.replace

    def replace_once(*args):
        if renames:
            raise _Died
        renames.append(real(*args))

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", replace_once)
        with pytest.raises(_Died):
            batch_outputs.put_in_place(staged, [out / "c.blend", out / "c.bvh"], out)


def test_a_worker_killed_between_its_two_renames_leaves_no_mixed_pair(tmp_path, monkeypatch):
    """A worker killed after putting its clip's new .blend in place and before its BVH left the new .blend
    beside the earlier run's BVH (or beside none), and the run removed the staged BVH: a mixed pair,
    for good. The renames are now listed before they start: the run that sees its worker die puts the
    rest in place (the clip fails, saying so), and so does the next run into that --out when the whole
    run was killed (with a note); either way the pair is whole, and nothing hidden is left."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("c.blend", "c.bvh"):
        (out / name).write_text("earlier run")
    _die_between_the_renames(monkeypatch, out, "cafe0123")
    fake = tmp_path / "python"
    fake.write_text(f"#!{sys.executable}\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    clip = tmp_path / "c.bvh"
    ended = []
    batch_worker.in_workers(batch.Batch([clip], {clip: "c"}, None, "cafe0123"), [], 1, ended, {}, out)
    assert sorted(p.name for p in out.iterdir()) == ["c.blend", "c.bvh"]
    assert {(out / n).read_text() for n in ("c.blend", "c.bvh")} == {"new cafe0123"}
    assert len(ended) == 1 and ended[0].failed and "killed by SIGKILL" in ended[0].message, ended
    assert ended[0].message.endswith("; its c.blend and c.bvh, already written, are put in place together"), \
        ended[0].message
    monkeypatch.undo()
    _die_between_the_renames(monkeypatch, out, "beef4567")               # the whole run killed there
    proc = _run(zyx_clip(tmp_path / "d.bvh"), "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pose2rot batch: note: --out: c.blend and c.bvh, which a run stopped while putting them there had " \
           "written, are now in place together" in proc.stderr, proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["c.blend", "c.bvh", "d.blend"]
    assert {(out / n).read_text() for n in ("c.blend", "c.bvh")} == {"new beef4567"}
    _die_between_the_renames(monkeypatch, out, "dead0001")               # then another run puts its own pair
    stem = batch_outputs.staging_stem("c", "live0002")
    staged = [out / f"{stem}.blend", out / f"{stem}.bvh"]
    for path in staged:
        path.write_text("new live0002")
    batch_outputs.put_in_place(staged, [out / "c.blend", out / "c.bvh"], out)
    assert batch_outputs.remove_staged(out, "c", "dead0001")             # its staged BVH, removed
    assert sorted(p.name for p in out.iterdir()) == ["c.blend", "c.bvh", "d.blend"]
    assert {(out / n).read_text() for n in ("c.blend", "c.bvh")} == {"new live0002"}


def test_a_clip_whose_outputs_another_run_replaced_fails(tmp_path):
    """A clip reported converted whose .blend another run into the same --out replaced later in the run
    fails, naming the file, instead of 'ok' over another clip's outputs."""
    from pose2rot_core.batch_summary import ClipResult

    blend, other = tmp_path / "walk.blend", tmp_path / "other"
    blend.write_text("mine")
    written = {"walk.bvh": [[str(blend), list(batch_outputs.identity(blend))]]}
    assert not batch_outputs.replaced_outputs([ClipResult("walk.bvh")], written)[0].failed
    other.write_text("theirs")
    os.replace(other, blend)
    result = batch_outputs.replaced_outputs([ClipResult("walk.bvh")], written)[0]
    assert result.failed and result.message.startswith("another run writing into the same --out replaced walk.blend")


def test_messages_say_what_happened_in_the_user_s_terms(tmp_path, monkeypatch):
    """A full disk read "cannot write 'x.blend': Error: No such file or directory" (Blender's words); a
    worker killed by SIGKILL gave its code only; an interrupted run did not say that the outputs left in
    --out by clips it did not convert are an earlier run's; the usage line and its errors named a
    'pose2rot batch' command that does not exist."""
    import errno
    import shutil

    def full(*_args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfile", full)
    with pytest.raises(Pose2RotError, match="cannot write 'x.blend': no space left on device"):
        batch_outputs.save_blend(tmp_path / "missing" / ".staged.blend", "x.blend")      # Blender's save fails
    assert "killed by SIGKILL" in batch_worker._worker_end(-9, "") and "memory" in batch_worker._worker_end(-9, "")
    clip = zyx_clip(tmp_path / "walk.bvh")
    run = batch.Batch([clip], {clip: "walk"}, None, "r")
    (tmp_path / "walk.blend").write_text("old")
    assert batch._stopped(run, tmp_path, (".blend",), [], time.time() + 1) == ["walk.blend"]
    proc = _run(clip, "--out", tmp_path / "o", "--jobs", "0")
    assert proc.returncode == 2 and f"(see 'python {BATCH} --help')" in proc.stderr, proc.stderr
    assert "pose2rot batch --help" not in proc.stderr and "pose2rot batch [" not in _run("--help").stdout


def test_frame_times_are_written_as_the_file_has_them_or_warned(tmp_path):
    """Frame times of 1e-6 s and 86,400 s were written 3.05e-5 s and 1 s (Blender clamped the scene
    rates the batch set: 1,000,000 and 0 fps), 'ok' with no word; they are now written as the file has
    them. One no scene can play (1e7 s: a scene plays at least 1e-6 fps) is written at the nearest rate,
    with a warning counted in the summary. Each rate, outside the 1 to 1,000 fps clips are taken at, also
    gets the warning pose2rot solve gives (tracks.rate_warning), counted: they were 'ok' with no word."""
    clips = tmp_path / "clips"
    clips.mkdir()
    source = zyx_clip(tmp_path / "take.bvh").read_text()
    for stem, frame_time in (("micro", "1e-6"), ("day", "86400"), ("beyond", "1e7")):
        (clips / f"{stem}.bvh").write_text(re.sub(r"Frame Time: \S+", f"Frame Time: {frame_time}", source))
    proc = _run(clips, "--out", tmp_path / "out", "--bvh", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    looks_wrong = ("{}.bvh: warning: {} fps (a frame every {} s) is outside the 1 to 1,000 fps that clips are taken "
                   "at: the rate looks wrong; correct the file's frame time (a BVH's 'Frame Time:', a CSV's 'time' "
                   "column: seconds)\n")
    for stem, frame_time, rate in (("micro", 1e-6, "1e+06"), ("day", 86400.0, "1.157e-05")):
        assert read_bvh(tmp_path / "out" / f"{stem}.bvh").frame_time == pytest.approx(frame_time, rel=1e-6)
        assert looks_wrong.format(stem, rate, f"{frame_time:.4g}") in proc.stdout, proc.stdout
        assert _summary_row(proc.stdout, f"{stem}.bvh")[-3:] == ["1", "warning", "(above)"]
    assert read_bvh(tmp_path / "out" / "beyond.bvh").frame_time == pytest.approx(1e6)
    assert ("beyond.bvh: warning: the file's frame time, 1e+07 s (1e-07 fps), is beyond the frame rates a Blender "
            "scene can play (1e-06 to 3.28e+09 fps): beyond.blend and beyond.bvh play at 1e-06 fps") in proc.stdout
    assert looks_wrong.format("beyond", "1e-07", "1e+07") in proc.stdout, proc.stdout
    assert _summary_row(proc.stdout, "beyond.bvh")[-3:] == ["2", "warnings", "(above)"]


def test_a_file_that_is_no_track_file_is_refused_before_any_clip(tmp_path):
    """A file given by name that is no track file (notes.txt) was asked a rig ('no rig for notes.txt: pass
    --rig ...'); with one, the clip failed in the summary ('unknown points format'), exit 1, after the
    others were solved. It is refused up front, naming the file and the kinds of track file there are."""
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    for rig in ([], ["--rig", zyx_clip(tmp_path / "rig.bvh")]):
        proc = _run(zyx_clip(tmp_path / "take.bvh"), notes, *rig, "--out", tmp_path / "out")
        assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert proc.stderr.strip().splitlines()[-1] == (
            f"pose2rot batch: error: '{notes}' is no track file: give .npz, .csv, .tsv, .bvh or .npy files, folders "
            "of them or FreeMoCap recordings")
        assert not (tmp_path / "out").exists()


def test_the_bvh_of_a_blend_rig_with_animated_scale_is_where_blender_shows_it(tmp_path):
    """A .blend rig whose armature object's scale is keyed from 1 to 1.5 over the clip: the .blend's
    bones showed on the tracks, but --bvh wrote every joint below the root at the first frame's
    scale, 16 % of the height off them by the last frame (h198). The BVH's joints now carry the
    scale as position channels and lie where Blender shows the bone heads on every frame; its End
    Sites, which a BVH cannot scale, are warned of."""
    src = import_clip()
    rig = rest_copy(src, "Rig")
    bpy.data.objects.remove(src)
    for frame, size in ((1, 1.0), (30, 1.5)):
        rig.scale = (size,) * 3
        rig.keyframe_insert("scale", frame=frame)
    tracks, exported, printed = _scene_rig_as_bvh(tmp_path)
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "out" / "a.blend"))
    rig = bpy.data.objects["Rig"]
    shown = world_heads(rig, np.arange(1, 31))                        # [T,J,3] Blender's Z up
    fk = exported.fk()[:, [exported.skeleton.names.index(pb.name) for pb in rig.pose.bones]]
    written = np.stack([fk[..., 0], -fk[..., 2], fk[..., 1]], axis=-1)  # the BVH's Y up turned Z up
    assert np.abs(written - shown).max() / tracks.skeleton.height < 1e-4
    assert "the armature object's scale changes over the clip (1 to 1.5)" in printed, printed


def test_the_batch_s_notes_name_its_own_options(tmp_path):
    """RETARGETING's batch with a map: the HumanML3D walk onto the Mixamo example noted that its bones
    keep the rig's lengths '(Bone lengths: Match the tracks moves them onto the tracks)', the panel's
    words, where the batch takes --stretch exact; its notes now name the batch's options."""
    retarget = EXAMPLES / "retarget"
    bone_map = tmp_path / "map.json"
    bone_map.write_text(json.dumps({"bones": {f"mixamorig:{bone}": point for bone, point in [
        ("Hips", "pelvis"), ("LeftUpLeg", "left_hip"), ("LeftLeg", "left_knee"), ("LeftFoot", "left_ankle"),
        ("RightUpLeg", "right_hip"), ("RightLeg", "right_knee"), ("RightFoot", "right_ankle"), ("Neck", "neck"),
        ("LeftArm", "left_shoulder"), ("RightArm", "right_shoulder")]}}))
    proc = _run("--rig", retarget / "rig_mixamo.bvh", retarget / "humanml3d_walk.npy", "--layout", "humanml3d22",
                "--map", bone_map, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "(--stretch exact moves them onto the tracks)" in proc.stdout, proc.stdout
    assert "Bone lengths" not in proc.stdout


def _arm_in_centimetres(path: Path) -> Path:
    """The shipped arm's tracks (metres) written in centimetres at ``path``."""
    lines = (EXAMPLES / "arm_tracks.csv").read_text().splitlines()
    rows = [",".join([r.split(",")[0]] + [v and f"{100 * float(v):.4f}" for v in r.split(",")[1:]]) for r in lines[1:]]
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


def test_track_files_in_other_units_are_converted_by_the_batch_s_scale(tmp_path):
    """The arm's tracks in centimetres onto its metre rig: the batch refused them with the panel's advice
    (Import Tracks' Scale, a scaled parent empty), which a batch cannot follow; it names its own --scale,
    which converts them."""
    cm = _arm_in_centimetres(tmp_path / "cm.csv")
    refused = _run("--rig", EXAMPLES / "arm.bvh", cm, "--out", tmp_path / "a")
    assert refused.returncode != 0
    assert "give --scale 0.01" in refused.stdout + refused.stderr, refused.stdout[-2000:]
    assert "Import Tracks" not in refused.stdout + refused.stderr
    proc = _run("--rig", EXAMPLES / "arm.bvh", cm, "--out", tmp_path / "b", "--scale", "0.01")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (tmp_path / "b" / "cm.blend").is_file()


@pytest.mark.parametrize("scale", ["0", "-1", "nan", "cm"])
def test_a_scale_that_is_no_factor_is_a_bad_argument(tmp_path, scale):
    proc = _run(zyx_clip(tmp_path / "c.bvh"), "--out", tmp_path / "out", "--scale", scale)
    assert proc.returncode == 2 and f"'{scale}' is no scale: give a positive number" in proc.stderr, proc.stderr


def test_a_misspelt_track_name_is_warned_of(tmp_path):
    """The arm's CSV with 'wirst' for 'wrist' onto its rig: the command line refuses it naming the close
    match; the batch (and the panel) solved it with the wrist placed between elbow and hand and no word of
    the column it left unused; it now names the column and the bone it was likely meant for."""
    typo = tmp_path / "typo.csv"
    typo.write_text((EXAMPLES / "arm_tracks.csv").read_text().replace("wrist.", "wirst."))
    proc = _run("--rig", EXAMPLES / "arm.bvh", typo, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "'wirst' (bone 'wrist'): misspelt?" in proc.stdout, proc.stdout[-2000:]
    assert "1 with warnings" in proc.stdout


def test_connected_bones_that_cannot_reach_their_tracks_are_listed_and_limited(tmp_path):
    """The batch's side of test_bad_inputs' connected bones: a .blend rig whose arm bones are connected,
    the elbow's track off the upper arm, --stretch exact. The keys hold the arm far from its tracks (a
    connected bone keeps its head on its parent's tail): the summary lists the clip with a warning that
    names the joints and says to turn Connected off; with --max-position-error 5 the clip fails and
    nothing is written for it."""
    src = import_clip()
    rig = rest_copy(src, "Rig")
    bpy.data.objects.remove(src)
    bpy.ops.object.mode_set(mode='EDIT')
    for bone in rig.data.edit_bones:
        if bone.parent is not None and (bone.head - bone.parent.tail).length < 1e-4:
            bone.use_connect = True
    bpy.ops.object.mode_set(mode='OBJECT')
    path = tmp_path / "rig.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    tracks = tracks_from_bvh(read_bvh(clip_path())).frames(0, 20)
    P = tracks.positions.copy()
    elbow, shoulder = (tracks.skeleton.index(n) for n in ("lForeArm", "lShldr"))
    P[:, elbow] += 0.3 * (P[0, elbow] - P[0, shoulder])
    save_tracks(tmp_path / "arm.npz", replace(tracks, positions=P))
    proc = _run("--rig", path, tmp_path / "arm.npz", "--out", tmp_path / "out", "--stretch", "exact")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert _summary_row(proc.stdout, "arm.npz")[1:3] == ["20", "43"], proc.stdout
    assert re.search(r"connected bones cannot translate .*'lForeArm' \(frames 1-20, up to [\d.]+ %\).*turn Connected "
                     r"off", proc.stdout), proc.stdout[-3000:]
    assert "1 with warnings" in proc.stdout, proc.stdout[-2000:]
    proc = _run("--rig", path, tmp_path / "arm.npz", "--out", tmp_path / "limited", "--stretch", "exact",
                "--max-position-error", "5")
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "connected bones cannot translate" in " ".join(_summary_row(proc.stdout, "arm.npz")), proc.stdout[-3000:]
    assert not (tmp_path / "limited").exists() or not any((tmp_path / "limited").iterdir())



@pytest.mark.parametrize("where", ["other scene", "no scene"])
def test_a_blend_rig_whose_armature_is_not_in_the_scene_it_opens_on(tmp_path, where):
    """A .blend rig whose armature is only in another scene than the one the file opens on, or in none (a
    collection kept by a fake user): the clip was solved (exit 0), its tracks put in the scene the file
    opens on, and the saved .blend opened on the tracks alone, the solved armature out of sight. The
    clips are now solved in the armature's scene, which the saved .blend opens on, or the armature is
    linked into the scene with the tracks; a note says which, once."""
    src = import_clip()
    rig = rest_copy(src, "Rig")
    bpy.data.objects.remove(src)
    for collection in list(rig.users_collection):
        collection.objects.unlink(rig)
    if where == "other scene":
        bpy.data.scenes.new("Other").collection.objects.link(rig)
    else:
        kept = bpy.data.collections.new("Kept")
        kept.use_fake_user = True
        kept.objects.link(rig)
    path = tmp_path / "rig.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    save_tracks(tmp_path / "a.npz", tracks_from_bvh(read_bvh(clip_path())).frames(0, 30))
    save_tracks(tmp_path / "b.npz", tracks_from_bvh(read_bvh(clip_path())).frames(30, 60))
    proc = _run("--rig", path, tmp_path / "a.npz", tmp_path / "b.npz", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = {"other scene": "the armature 'Rig' of rig.blend is not in the scene 'Scene' that the file opens on, "
                           "but in 'Other': the clips are solved in that scene, which the saved .blend files open on",
            "no scene": "the armature 'Rig' of rig.blend is not in the scene 'Scene' that the file opens on nor in "
                        "any other: it is linked into it, with the tracks"}[where]
    assert proc.stderr.count(f"pose2rot batch: note: --rig: {said}\n") == 1, proc.stderr
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "out" / "a.blend"))
    scene = bpy.context.scene
    assert scene.name == ("Other" if where == "other scene" else "Scene")
    assert "Rig" in scene.objects and scene.objects["Rig"].animation_data.action is not None
    assert any(o.type == 'EMPTY' for o in scene.objects)
