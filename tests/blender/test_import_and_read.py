"""Import Tracks (.bvh/.npz/.csv -> keyed empties) and reading empties back (bulk and per-frame)."""
from __future__ import annotations

import importlib
import re
from dataclasses import replace

import bpy
import numpy as np
import pytest

from blender_helpers import EXT_NAME, clip_path, import_clip, pose_points, rest_copy, scene_frames
from pose2rot_core.bvh import read_bvh
from pose2rot_core.tracks_io import save_tracks, tracks_from_bvh

empties = importlib.import_module(EXT_NAME + ".empties")
C = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def _positions(col, names, frames):
    objs = [col.objects[n] for n in names]
    return empties.read_world_positions(bpy.context.scene, objs, frames)


def _write_csv(path, names, pos, sep=","):
    header = ["frame"] + [f"{n}.{a}" for n in names for a in "xyz"]
    rows = [sep.join(header)]
    for t in range(pos.shape[0]):
        rows.append(sep.join([str(t)] + [f"{v:.9g}" for v in pos[t].reshape(-1)]))
    (path).write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("fmt", ["bvh", "npz", "csv", "tsv"])
def test_import_tracks_matches_blenders_bvh_import(fmt, tmp_path):
    """Each tracks format (a .tsv is a tab-separated CSV, as QTM and spreadsheets write it) imports as
    empties where Blender's own BVH importer puts the joints."""
    clip = read_bvh(clip_path())
    path = clip_path()
    if fmt == "npz":
        path = tmp_path / "clip.npz"
        save_tracks(path, tracks_from_bvh(clip))
    elif fmt in ("csv", "tsv"):
        path = tmp_path / f"clip.{fmt}"
        _write_csv(path, clip.skeleton.names, clip.fk(), "," if fmt == "csv" else "\t")
    assert bpy.ops.pose2rot.import_tracks(filepath=str(path), collection_name="imported") == {'FINISHED'}
    col = bpy.data.collections["imported"]
    scene = bpy.context.scene
    assert scene.pose2rot.tracks == col
    assert (scene.frame_start, scene.frame_end) == (1, clip.num_frames)
    expected = len(clip.skeleton.names) + (0 if fmt in ("csv", "tsv") else len(clip.end_names))
    assert len(col.objects) == expected
    frames = np.array([1, 2, 50, clip.num_frames])
    got = _positions(col, clip.skeleton.names, frames)
    assert np.abs(got - clip.fk()[frames - 1] @ C.T).max() < 1e-3
    src = import_clip()                                   # Blender's importer agrees on every joint
    heads = pose_points(src, frames)
    order = [clip.skeleton.names.index(pb.name) for pb in src.pose.bones]
    assert np.abs(got[:, order] - heads).max() < 1e-3


def test_solve_from_imported_bvh_tracks():
    assert bpy.ops.pose2rot.import_tracks(filepath=str(clip_path())) == {'FINISHED'}
    src = import_clip()
    rig = rest_copy(src)
    assert bpy.ops.pose2rot.solve_rotations(armature=rig.name) == {'FINISHED'}   # collection from the panel
    frames = scene_frames()[::10]
    want = pose_points(src, frames)
    assert np.abs(pose_points(rig, frames) - want).max() / np.ptp(want.reshape(-1, 3), axis=0).max() < 1e-4


def test_import_tracks_scale_brings_a_centimetre_file_to_a_metre_rig():
    """A rig imported in metres (Blender's BVH importer, Scale 0.01) and the same file's tracks in
    centimetres: the solve refuses, saying to import again with Import Tracks' Scale at 0.01 or to
    parent the empties to a scaled empty (it said to scale the empties, which does not move keyed
    empties); imported with Scale 0.01 the bones follow the rig's clip."""
    assert bpy.ops.import_anim.bvh(filepath=str(clip_path()), update_scene_fps=True, global_scale=0.01) == {'FINISHED'}
    src = bpy.context.active_object
    rig = rest_copy(src)
    assert bpy.ops.pose2rot.import_tracks(filepath=str(clip_path()), collection_name="cm") == {'FINISHED'}
    bpy.context.scene.frame_end = 20
    with pytest.raises(RuntimeError, match=r"measure 100× .* import the tracks again with Import Tracks' Scale at "
                                           r"0\.01, or parent the empties to an empty at the world origin scaled by "
                                           r"0\.01"):
        bpy.ops.pose2rot.solve_rotations(armature=rig.name, tracks_collection="cm")
    assert bpy.ops.pose2rot.import_tracks(filepath=str(clip_path()), collection_name="m", global_scale=0.01,
                                          set_scene=False) == {'FINISHED'}
    assert bpy.ops.pose2rot.solve_rotations(armature=rig.name, tracks_collection="m") == {'FINISHED'}
    frames = scene_frames()[::5]
    want = pose_points(src, frames)
    assert np.abs(pose_points(rig, frames) - want).max() / np.ptp(want.reshape(-1, 3), axis=0).max() < 1e-4


def test_bulk_and_per_frame_reads_agree():
    """Keys on every frame are read in bulk; sparse keys, and as many keys as frames but one frame
    later, are evaluated; a parented empty goes through frame_set. All equal matrix_world per frame."""
    scene = bpy.context.scene
    col = bpy.data.collections.new("pts")
    scene.collection.children.link(col)
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(30, 1, 3))
    empties.write_empties(col, ["dense"], dense, 1, 0.1)
    empties.write_empties(col, ["shifted"], rng.normal(size=(30, 1, 3)), 2, 0.1)
    sparse = bpy.data.objects.new("sparse", None)
    col.objects.link(sparse)
    for f in (1, 10, 30):
        sparse.location = rng.normal(size=3)
        sparse.keyframe_insert("location", frame=f)
    holder = bpy.data.objects.new("holder", None)
    col.objects.link(holder)
    holder.rotation_euler = (0.3, 0.2, 0.1)
    holder.keyframe_insert("rotation_euler", frame=1)
    holder.rotation_euler = (1.3, -0.2, 0.5)
    holder.keyframe_insert("rotation_euler", frame=30)
    child = bpy.data.objects.new("child", None)
    col.objects.link(child)
    child.parent = holder
    child.location = (1.0, 2.0, 0.5)
    objs = [col.objects[n] for n in ("dense", "sparse", "child", "shifted")]
    frames = np.arange(1, 31)
    assert empties._location_curves(objs[0]) is not None and empties._location_curves(objs[2]) is None
    got = empties.read_world_positions(scene, objs, frames)
    want = np.empty_like(got)
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        want[t] = [np.array(o.matrix_world.translation) for o in objs]
    assert np.abs(got - want).max() < 1e-5
    assert np.abs(got[:, 0] - dense[:, 0]).max() < 1e-6


def test_a_point_without_data_gets_no_empty(tmp_path):
    """A joint with no data in any frame is imported as no empty (never one resting at the origin):
    its bone is solved without a track, and a root without one is refused with the bone's name."""
    clip = read_bvh(clip_path())
    tracks = tracks_from_bvh(clip)
    names = clip.skeleton.names
    lost = names.index("rShin")
    P = tracks.positions.copy()
    P[:, lost] = np.nan
    path = tmp_path / "lost.npz"
    save_tracks(path, replace(tracks, positions=P))
    assert bpy.ops.pose2rot.import_tracks(filepath=str(path), collection_name="lost") == {'FINISHED'}
    col = bpy.data.collections["lost"]
    assert "rShin" not in col.objects and list(col["pose2rot_no_data"]) == ["rShin"]
    rig = rest_copy(import_clip())
    assert bpy.ops.pose2rot.solve_rotations(armature=rig.name) == {'FINISHED'}
    P[:, 0] = np.nan
    root_path = tmp_path / "no_root.npz"
    save_tracks(root_path, replace(tracks, positions=P))
    assert bpy.ops.pose2rot.import_tracks(filepath=str(root_path), collection_name="no_root") == {'FINISHED'}
    rig2 = rest_copy(import_clip())
    with pytest.raises(RuntimeError, match=f"the root bone '{names[0]}' has no track"):
        bpy.ops.pose2rot.solve_rotations(armature=rig2.name)
    assert rig2.animation_data is None or rig2.animation_data.action is None


def test_import_tracks_of_a_rate_no_scene_plays_names_the_files_rate():
    """A file of 1e-7 fps (a frame every 1e7 s) is set to the nearest rate a scene plays (1e-6 fps):
    the report said only that the scene changed, the note on the rate written over; it now names the
    file's frame time, the range scenes play, and how much longer the motion plays, as the batch does."""
    importing = importlib.import_module(EXT_NAME + ".importing")
    scene = bpy.context.scene
    before = importing.scene_timing(scene)
    scene.render.fps, scene.render.fps_base = 1, 1e6  # what Import Tracks sets for it (blender_space.scene_fps)
    note, warn = importing.scene_change_note(before, scene, None, 1e-7)
    assert warn and "the scene is now 1e-06 fps" in note
    assert "the file's frame time, 1e+07 s (1e-07 fps), is beyond the frame rates a Blender scene can play" in note
    assert "0.1x as long" in note and "Set scene range and fps" not in note


def test_import_tracks_of_a_rate_that_looks_wrong_is_warned(tmp_path):
    """A BVH saying 'Frame Time: 0.0002' (5000 fps, a scene can play it) set the scene to 5000 fps with no word,
    where pose2rot info and solve warn that the rate looks wrong. Import Tracks' report now gives the same
    warning (tracks.rate_warning) in the panel's words, as a warning; a usual rate gets none."""
    importing = importlib.import_module(EXT_NAME + ".importing")
    scene = bpy.context.scene
    fast = tmp_path / "fast.bvh"
    fast.write_text(re.sub(r"Frame Time:\s*\S+", "Frame Time: 0.0002", clip_path().read_text()))
    before = importing.scene_timing(scene)
    col = importing.import_tracks(bpy.context, fast, "fast")
    note, warn = importing.scene_change_note(before, scene, 1, col[importing.FPS_KEY])
    assert warn and "the scene is now 5000 fps" in note, note
    assert note.endswith("; 5000 fps (a frame every 0.0002 s) is outside the 1 to 1,000 fps that clips are taken at: "
                         "the rate looks wrong; correct the file's frame time and import it again"), note
    before = importing.scene_timing(scene)
    col = importing.import_tracks(bpy.context, clip_path(), "usual")
    note, warn = importing.scene_change_note(before, scene, 1, col[importing.FPS_KEY])
    assert not warn and "looks wrong" not in note, note


def test_import_tracks_into_a_scene_of_another_rate_is_warned():
    """Left alone ('Set scene range and fps' off), a 24 fps scene plays one key per frame of a 120 fps
    clip 5x as long: the report says so and how to fix it; at the clip's own rate nothing is said."""
    importing = importlib.import_module(EXT_NAME + ".importing")
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 24, 1.0
    clip = read_bvh(clip_path())
    before = importing.scene_timing(scene)
    col = importing.import_tracks(bpy.context, clip_path(), "slow", set_scene=False)
    note, warn = importing.scene_change_note(before, scene, None, col[importing.FPS_KEY])
    assert warn and f"the file is {clip.fps:g} fps but the scene 24 fps" in note
    assert f"{clip.fps / 24:.3g}x as long" in note and "Set scene range and fps" in note
    scene.render.fps = int(clip.fps)
    assert importing.scene_change_note(importing.scene_timing(scene), scene, None, col[importing.FPS_KEY]) == ("", False)


def test_import_tracks_says_how_it_changed_the_scene(tmp_path):
    """Import Tracks sets the scene's fps and frame range to the clip's: the report says so (the
    other animation in a 24 fps shot then plays at the clip's rate), and keys from a negative start
    frame, which a scene cannot reach, are said to lie outside its range."""
    importing = importlib.import_module(EXT_NAME + ".importing")
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end = 24, 1.0, 1, 500
    before = importing.scene_timing(scene)
    clip = read_bvh(clip_path())
    importing.import_tracks(bpy.context, clip_path(), "walk", frame_start=1)
    note, cut = importing.scene_change_note(before, scene, 1)
    assert note == f"; the scene is now {clip.fps:g} fps, frames 1-{clip.num_frames} (was 24 fps, frames 1-500)"
    assert not cut
    assert importing.scene_change_note(importing.scene_timing(scene), scene, None) == ("", False)
    before = importing.scene_timing(scene)
    importing.import_tracks(bpy.context, clip_path(), "early", frame_start=-20)
    note, cut = importing.scene_change_note(before, scene, -20)
    assert cut and "keys from frame -20 on, but a scene starts at frame 0 at the earliest" in note
    assert bpy.ops.pose2rot.import_tracks(filepath=str(clip_path()), frame_start=-5) == {'FINISHED'}


def test_import_tracks_warns_of_time_stretching():
    """With the scene's Time Stretching on (Old 100, New 200) the imported keys play at other frames
    than they are on, and Solve Rotations refuses: Import Tracks warns and says what to set."""
    importing = importlib.import_module(EXT_NAME + ".importing")
    scene = bpy.context.scene
    scene.render.frame_map_old, scene.render.frame_map_new = 100, 200
    importing.import_tracks(bpy.context, clip_path(), "walk", set_scene=False)
    note, warn = importing.scene_change_note(importing.scene_timing(scene), scene, None)
    assert warn and "Time Stretching: Old 100, New 200" in note and "Solve Rotations needs Old and New equal" in note


def test_import_tracks_refuses_scores_past_1(tmp_path):
    """A CSV whose scores are percentages is refused, naming the file, the line and the column, and
    nothing is imported (every sample was keyed as trusted: none fell below the 0.1 of no data)."""
    names = ["a", "b"]
    pos = np.arange(18, dtype=float).reshape(3, 2, 3) / 10.0
    header = ["frame"] + [f"{n}.{a}" for n in names for a in "xyz"] + ["a.conf", "b.conf"]
    rows = [",".join(header)] + [",".join([str(t)] + [f"{v:g}" for v in pos[t].ravel()] + ["90", "5"])
                                 for t in range(3)]
    (tmp_path / "pct.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(RuntimeError, match="pct.csv: line 2: column 'a.conf' holds 90, but a score runs from 0"):
        bpy.ops.pose2rot.import_tracks(filepath=str(tmp_path / "pct.csv"), collection_name="pct")
    assert "pct" not in bpy.data.collections
