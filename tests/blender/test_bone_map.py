"""Bone maps in Blender: a Mixamo-like rig driven by empties named like MediaPipe landmarks through a
saved map; layouts in Import Tracks; the batch entry point with --map/--layout."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import bpy
import numpy as np
import pytest

from blender_helpers import (EXT_NAME, action_fcurves, angle_deg, basis_rotations, fails_cleanly, import_clip, pose_points,
                             rest_copy, scene_frames, track_empties)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))         # tests/: the generated humanoids
from _humanoid import humanoid, walk  # noqa: E402

from pose2rot_core.bonemap import BoneMap  # noqa: E402
from pose2rot_core.bvh import write_bvh  # noqa: E402
from pose2rot_core.layouts import get_layout  # noqa: E402

empties = importlib.import_module(EXT_NAME + ".empties")
importing = importlib.import_module(EXT_NAME + ".importing")
keys = importlib.import_module(EXT_NAME + ".keys")
mapping = importlib.import_module(EXT_NAME + ".mapping")
pipeline = importlib.import_module(EXT_NAME + ".pipeline")
BATCH = Path(importlib.import_module(EXT_NAME).__file__).parent / "batch.py"


def _rows():
    """The Bone Map table of the panel's armature."""
    return bpy.context.scene.pose2rot.armature.pose2rot_map


def _mixamo_scene(tmp_path: Path, frames: int = 40):
    """A generated Mixamo-named humanoid walking (Blender's BVH import), its rest copy 'Rig', and
    empties named like MediaPipe landmarks at its joints ('landmarks', layout mediapipe33)."""
    rng = np.random.default_rng(3)
    rig, canon = humanoid(rng, naming="mixamo")
    R, root = walk(rig, canon, frames, rng, amplitude=0.3)
    write_bvh(tmp_path / "walk.bvh", rig, R, root, fps=30.0)
    scene = bpy.context.scene
    assert bpy.ops.import_anim.bvh(filepath=str(tmp_path / "walk.bvh"), update_scene_fps=True) == {'FINISHED'}
    src = bpy.context.active_object
    scene.frame_start, scene.frame_end = 1, frames
    target = rest_copy(src, "Rig")
    layout = get_layout("mediapipe33")
    joint_of = {c: n.split(":")[-1] for c, n in canon.items()}
    points = [p for p in layout.points if layout.canonical.get(p) in joint_of]
    heads = pose_points(src, scene_frames())
    bones = [pb.name for pb in src.pose.bones]
    col = bpy.data.collections.new("landmarks")
    scene.collection.children.link(col)
    col[importing.LAYOUT_KEY] = "mediapipe33"
    positions = np.stack([heads[:, bones.index(next(b for b in bones if b.endswith(joint_of[layout.canonical[p]])))]
                          for p in points], axis=1)
    empties.write_empties(col, points, positions, 1, 0.02)
    scene.pose2rot.armature, scene.pose2rot.tracks = target, col
    return src, target, col, dict(zip(points, positions.transpose(1, 0, 2)))


def test_mediapipe_empties_drive_a_mixamo_rig_through_a_saved_map(tmp_path):
    src, target, col, landmark = _mixamo_scene(tmp_path)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    table = {e.bone: e.source for e in _rows()}
    assert table["mixamorig:LeftForeArm"] == "left_elbow"
    assert json.loads(table["mixamorig:Hips"]) == {"mean": ["left_hip", "right_hip"]}
    assert bpy.ops.pose2rot.map_save(filepath=str(tmp_path / "map.json")) == {'FINISHED'}
    assert bpy.ops.pose2rot.map_clear() == {'FINISHED'} and len(_rows()) == 0
    assert bpy.ops.pose2rot.map_load(filepath=str(tmp_path / "map.json")) == {'FINISHED'}
    assert {e.bone: e.source for e in _rows()} == table
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks") == {'FINISHED'}
    frames = scene_frames()
    heads = pose_points(target, frames)
    names = [pb.name for pb in target.pose.bones]
    height = np.ptp(heads.reshape(-1, 3), axis=0).max()
    for bone, point in table.items():
        if not point.startswith("{"):
            err = np.linalg.norm(heads[:, names.index(bone)] - landmark[point], axis=-1).max()
            assert err < 0.01 * height, (bone, err / height)
    keyed = {fc.data_path for fc in action_fcurves(target.animation_data.action)}
    assert all(f'pose.bones["{n}"].rotation_quaternion' in keyed for n in names)


def test_empties_keyed_every_few_frames_drive_a_rig_through_a_map(tmp_path):
    """Landmark empties keyed every 4th frame (the others deleted: Blender's curves between): read
    as keys, the frames between them are not taken for data the rig's rigid bones must reach: no
    joint is named far from its empty there (read as data, 14 were); on the keys the mapped bones
    sit on their empties (the map's fingers miss by 0.1 % there, as with every frame keyed)."""
    src, target, col, landmark = _mixamo_scene(tmp_path)
    for obj in col.objects:
        for fc in keys.object_fcurves(obj):
            for kp in reversed(list(fc.keyframe_points)):
                if (round(kp.co[0]) - 1) % 4:
                    fc.keyframe_points.remove(kp)
            fc.update()
    scene = bpy.context.scene
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    from pose2rot_core.options import SolveOptions

    plan = pipeline.compute_plan(scene, target, col, pipeline.SceneRange(1, 40), SolveOptions(use_reference=False),
                                 bone_map=mapping.table_map(target))
    between = (np.arange(1, 41) - 1) % 4 != 0
    assert not plan.solution.check.far[between].any(), plan.warnings
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks") == {'FINISHED'}
    on_keys = np.arange(1, 41, 4)
    heads = pose_points(target, on_keys)
    names = [pb.name for pb in target.pose.bones]
    height = np.ptp(heads.reshape(-1, 3), axis=0).max()
    for e in _rows():
        if not e.source.startswith("{"):
            err = np.linalg.norm(heads[:, names.index(e.bone)] - landmark[e.source][on_keys - 1], axis=-1).max()
            assert err < 0.01 * height, (e.bone, err / height)


def test_a_map_naming_a_missing_empty_fails_cleanly(tmp_path):
    _mixamo_scene(tmp_path, frames=10)
    scene = bpy.context.scene
    entry = _rows().add()
    entry.bone, entry.source = "mixamorig:Hips", "pelvis_marker"
    fails_cleanly("uses point 'pelvis_marker', which is not among the points of collection 'landmarks' "
                  r"\(the Bone Map of 'Rig' is in use: Automatic Map remakes it for these empties, Clear Map matches bones",
                  armature="Rig", tracks_collection="landmarks")
    entry.source = '{"mean": ["left_hip",'
    fails_cleanly("the source of 'mixamorig:Hips' is not valid JSON", armature="Rig", tracks_collection="landmarks")
    entry.source = '["left_hip", "right_hip"]'       # the mean written as a list was read as one point's name
    fails_cleanly(r'a source is a point name, \{"mean": \[...\]\} or', armature="Rig", tracks_collection="landmarks")
    entry.source = "pelvis"
    for damaged in ("{bad", "[1]"):                     # the hidden map settings, set by a script or a damaged file
        scene.pose2rot.armature.pose2rot_map_extra = damaged
        fails_cleanly(r"saved map settings of 'Rig' \(pose2rot_map_extra\) are not a JSON object", armature="Rig",
                      tracks_collection="landmarks")
    scene.pose2rot.armature.pose2rot_map_extra = ""


def test_a_map_naming_the_rig_s_joints_under_another_prefix_advises_the_panel_s_button(tmp_path):
    """A Bone Map whose bones lack the rig's 'mixamorig:' prefix (a map written for another export):
    Solve Rotations advised 'pose2rot map --skeleton, or Automatic Map in Blender', the command line's
    step first; in Blender it names the panel's button only."""
    _mixamo_scene(tmp_path, frames=10)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    for entry in _rows():
        entry.bone = entry.bone.removeprefix("mixamorig:")
    fails_cleanly(r"^Error: map: bone '\w+' is not a joint of armature 'Rig', which has 'mixamorig:\w+' "
                  r"\(\d+ of the map's \d+ bones .*\): rename them in the map as the rig names them, "
                  r"or propose a map for this rig with Automatic Map \(the Bone Map of 'Rig' is in use: "
                  r"Automatic Map remakes it",
                  armature="Rig", tracks_collection="landmarks")

class _DrawnLayout:
    """Stands for a panel's layout: every row, column and box is itself, and the operators drawn
    are kept as (idname, text, icon), the labels' texts as they are."""

    def __init__(self):
        self.operators, self.labels = [], []

    def operator(self, idname, text=None, icon='NONE'):
        self.operators.append((idname, text, icon))

    def label(self, text="", icon='NONE'):
        self.labels.append(text)

    def __getattr__(self, name):                       # row(), column(), label(), template_list(), ...
        return lambda *args, **kwargs: self


def test_one_mapped_bone_is_counted_so(tmp_path, capfd):
    """Empties of one hip only: Automatic Map said '1 bones mapped ..., 24 keep their pose', and a
    map of one row read '1 bones' in the panel, Save Map and Load Map."""
    _, target, col, _ = _mixamo_scene(tmp_path, frames=5)
    for obj in list(col.objects):
        if obj.name != "left_hip":
            bpy.data.objects.remove(obj)
    capfd.readouterr()
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert "Info: 1 bone mapped (mixamo rig), 1 solved between them, 24 keep their pose" in capfd.readouterr().out
    drawn = _DrawnLayout()
    mapping.POSE2ROT_PT_map.draw(type("Panel", (), {"layout": drawn})(), bpy.context)
    assert "1 row: Solve Rotations uses this map" in drawn.labels, drawn.labels
    assert bpy.ops.pose2rot.map_save(filepath=str(tmp_path / "one.json")) == {'FINISHED'}
    assert bpy.ops.pose2rot.map_load(filepath=str(tmp_path / "one.json")) == {'FINISHED'}
    out = capfd.readouterr().out
    assert f"saved 1 bone to {tmp_path / 'one.json'}" in out and "loaded 1 bone into the Bone Map of 'Rig'" in out

def test_bone_map_rows_are_added_and_removed_with_the_list_s_buttons(tmp_path):
    """A bone Automatic Map leaves out could be mapped only through Save Map, an edited MAP.json and
    Load Map, and a row removed only by clearing its Bone field: the list had no + and − buttons.
    Add Row maps the armature's active bone (a blank row when it has one), Remove Row takes the
    selected row away, both beside the list as in Blender's lists, with undo steps."""
    src, target, col, landmark = _mixamo_scene(tmp_path, frames=20)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    drawn = _DrawnLayout()
    mapping.POSE2ROT_PT_map.draw(type("Panel", (), {"layout": drawn})(), bpy.context)
    assert [("pose2rot.map_add_row", "", 'ADD'), ("pose2rot.map_remove_row", "", 'REMOVE'),
            ("pose2rot.map_clear", "", 'X')] == drawn.operators[:3], drawn.operators
    for name in ("map_add_row", "map_remove_row"):
        assert 'UNDO' in getattr(mapping, f"POSE2ROT_OT_{name}").bl_options
    rows = len(_rows())
    target.pose2rot_map_index = [e.bone for e in _rows()].index("mixamorig:LeftForeArm")
    assert bpy.ops.pose2rot.map_remove_row() == {'FINISHED'}
    assert len(_rows()) == rows - 1 and "mixamorig:LeftForeArm" not in {e.bone for e in _rows()}
    assert mapping.table_map(target) is not None
    target.data.bones.active = target.data.bones["mixamorig:LeftForeArm"]   # picked in Pose Mode
    assert bpy.ops.pose2rot.map_add_row() == {'FINISHED'}
    assert target.pose2rot_map_index == rows - 1 and _rows()[rows - 1].bone == "mixamorig:LeftForeArm"
    _rows()[rows - 1].source = "left_elbow"
    assert bpy.ops.pose2rot.map_add_row() == {'FINISHED'}                 # its bone has a row: a blank one
    assert (_rows()[rows].bone, _rows()[rows].source, target.pose2rot_map_index) == ("", "", rows)
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks") == {'FINISHED'}
    assert _solves_onto_landmarks(target, landmark)
    while len(_rows()):
        assert bpy.ops.pose2rot.map_remove_row() == {'FINISHED'}
    with pytest.raises(RuntimeError, match="No row of the Bone Map is selected"):
        bpy.ops.pose2rot.map_remove_row()

def test_a_bone_with_two_rows_is_refused_with_how_to_remove_one(tmp_path):
    """A bone given a second row (Add Row, or a row's Bone edited): Solve Rotations said 'has two rows
    in the table; remove one of them', without how (the list had no button for it), which rows, or the
    ending that the other map errors have. It names the rows' sources and the panel's button; done so,
    the solve goes on."""
    _mixamo_scene(tmp_path, frames=10)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert bpy.ops.pose2rot.map_add_row() == {'FINISHED'}
    _rows()[-1].bone, _rows()[-1].source = "mixamorig:LeftForeArm", "left_wrist"
    said = (r"^Error: bone map: 'mixamorig:LeftForeArm' has 2 rows \(sources 'left_elbow', 'left_wrist'\); keep "
            r"one: select the other in the Bone Map and press − beside the list \(Remove Row\)")
    fails_cleanly(said + r" \(the Bone Map of 'Rig' is in use: Automatic Map remakes it for these empties, Clear Map "
                  r"matches bones to empties by name\)$", armature="Rig", tracks_collection="landmarks")
    with pytest.raises(RuntimeError, match=said + "$"):
        bpy.ops.pose2rot.map_save(filepath=str(tmp_path / "map.json"))
    assert bpy.ops.pose2rot.map_remove_row() == {'FINISHED'}                 # the added row is the one selected
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks") == {'FINISHED'}

def test_a_mapped_point_without_data_in_any_frame_is_solved_as_unmapped(tmp_path):
    """A landmark the file has no data for in any frame (a hand the tracker never saw) gets no empty
    on import; a map that names it solved through it as the command line does: its bone counts as
    unmapped and the others follow their empties. It failed: 'uses point 'left_wrist', which is not
    among the points of collection', a point the imported file does have."""
    src, target, col, landmark = _mixamo_scene(tmp_path, frames=20)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert {e.bone: e.source for e in _rows()}["mixamorig:LeftHand"] == "left_wrist"
    layout = get_layout("mediapipe33")
    X = np.zeros((20, 33, 3))                                         # Z up in Blender -> Y up in the file
    for p, track in landmark.items():
        X[:, layout.points.index(p)] = track @ np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    X[:, layout.points.index("left_wrist")] = np.nan
    np.save(tmp_path / "lost_hand.npy", X)
    for obj in list(col.objects):                                     # the imported empties take their names
        bpy.data.objects.remove(obj)
    assert bpy.ops.pose2rot.import_tracks(filepath=str(tmp_path / "lost_hand.npy"), layout="mediapipe33",
                                          collection_name="lost", set_scene=False) == {'FINISHED'}
    assert "left_wrist" not in bpy.data.collections["lost"].objects
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="lost") == {'FINISHED'}
    heads = pose_points(target, scene_frames())
    names = [pb.name for pb in target.pose.bones]
    height = np.ptp(heads.reshape(-1, 3), axis=0).max()
    for bone, point in (("mixamorig:LeftForeArm", "left_elbow"), ("mixamorig:RightHand", "right_wrist")):
        err = np.linalg.norm(heads[:, names.index(bone)] - landmark[point], axis=-1).max()
        assert err < 0.01 * height, (bone, err / height)


def test_automatic_map_needs_an_armature_and_a_collection_of_empties(tmp_path):
    _mixamo_scene(tmp_path, frames=5)
    scene = bpy.context.scene
    empty = bpy.data.collections.new("no_empties")
    scene.collection.children.link(empty)
    for tracks, message in ((None, "no tracks collection"), (empty, "collection 'no_empties' has no empties")):
        scene.pose2rot.tracks = tracks
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.pose2rot.map_auto()
    scene.pose2rot.armature = None
    bpy.context.view_layer.objects.active = None
    with pytest.raises(RuntimeError, match="no armature"):
        bpy.ops.pose2rot.map_auto()
    assert len(bpy.data.objects["Rig"].pose2rot_map) == 0


def test_automatic_map_matching_no_bone_says_so_and_keeps_the_table(tmp_path):
    """Empties that match no bone (another rig's tracks): one error, the table as it was, not an
    empty table reported as '0 bones mapped'."""
    _mixamo_scene(tmp_path, frames=5)
    scene = bpy.context.scene
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    rows = [(e.bone, e.source) for e in _rows()]
    others = bpy.data.collections.new("others")
    scene.collection.children.link(others)
    for name in ("foo", "bar"):
        others.objects.link(bpy.data.objects.new(name, None))
    scene.pose2rot.tracks = others
    with pytest.raises(RuntimeError, match="no bone of 'Rig' matches an empty of 'others' \\(empties foo, bar\\)"):
        bpy.ops.pose2rot.map_auto()
    assert [(e.bone, e.source) for e in _rows()] == rows


def test_a_map_with_another_solver_is_refused_in_blenders_words(tmp_path):
    """Points through a bone map take the geometric solver only: the panel's label names the setting."""
    _mixamo_scene(tmp_path, frames=10)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    prefs = bpy.context.preferences.addons[EXT_NAME].preferences
    prefs.checkpoint = str(tmp_path / "walk.bvh")                    # any existing file passes the options' check
    try:
        fails_cleanly("Error: 'Solver' must be geometric for points on a layout or a bone map, got 'hybrid'",
                      armature="Rig", tracks_collection="landmarks", solver='HYBRID')
    finally:
        prefs.checkpoint = ""


def test_import_tracks_reads_a_layout_npy(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 22, 3)) + np.array([0.0, 1.0, 0.0])
    np.save(tmp_path / "motion.npy", X)
    assert bpy.ops.pose2rot.import_tracks(filepath=str(tmp_path / "motion.npy"), layout="humanml3d22",
                                          collection_name="h") == {'FINISHED'}
    col = bpy.data.collections["h"]
    assert col[importing.LAYOUT_KEY] == "humanml3d22"
    assert sorted(o.name for o in col.objects) == sorted(get_layout("humanml3d22").points)
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (1, 12, 20)
    scene.frame_set(5)
    got = np.array(bpy.data.objects["left_knee"].matrix_world.translation)
    x, y, z = X[4, get_layout("humanml3d22").points.index("left_knee")]
    np.testing.assert_allclose(got, [x, -z, y], atol=1e-5)            # Y up -> Z up
    with pytest.raises(RuntimeError, match="has 22 points"):
        np.save(tmp_path / "short.npy", X[:, :21])
        bpy.ops.pose2rot.import_tracks(filepath=str(tmp_path / "short.npy"), layout="humanml3d22")


def test_batch_with_map_and_layout(tmp_path):
    """The batch drives a .blend rig through --map, or, without it, through the Bone Map its armature
    keeps (before, it matched by name and failed: 'root bone has no track')."""
    src, target, col, _ = _mixamo_scene(tmp_path, frames=20)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert bpy.ops.pose2rot.map_save(filepath=str(tmp_path / "map.json")) == {'FINISHED'}
    layout = get_layout("mediapipe33")
    points = [e.name for e in col.objects]
    heads = empties.read_world_positions(bpy.context.scene, [bpy.data.objects[p] for p in points], scene_frames())
    X = np.full((20, 33, 3), np.nan)
    for i, p in enumerate(points):
        X[:, layout.points.index(p)] = heads[:, i] @ np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    X[np.isnan(X)] = 0.0                                              # landmarks the rig has no joint for
    np.save(tmp_path / "clip.npy", X)
    for o in list(bpy.data.objects):
        if o.name != "Rig":
            bpy.data.objects.remove(o)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "rig.blend"), copy=True)
    proc = subprocess.run([sys.executable, str(BATCH), "--rig", tmp_path / "rig.blend", tmp_path / "clip.npy",
                           "--layout", "mediapipe33", "--map", tmp_path / "map.json", "--out", tmp_path / "out"],
                          capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "clip.npy:" in proc.stdout and (tmp_path / "out" / "clip.blend").is_file()
    proc = subprocess.run([sys.executable, str(BATCH), "--rig", tmp_path / "rig.blend", tmp_path / "clip.npy",
                           "--layout", "mediapipe33", "--out", tmp_path / "own"],   # no --map: the rig keeps one
                          capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (tmp_path / "own" / "clip.blend").is_file()


def test_automatic_map_of_imported_bvh_empties_reads_their_tree(tmp_path):
    """Import Tracks of a BVH keeps its joints' tree, so Automatic Map tells the spine joints apart
    as the command line's map of that BVH does (the shipped CMU walk onto the shipped Mixamo rig:
    without the tree the abdomen and chest went unmapped, the pelvis turned upside down to meet the
    thighs, and the spine folded back by 177 degrees)."""
    root = Path(__file__).resolve().parents[2]
    assert bpy.ops.import_anim.bvh(filepath=str(root / "examples" / "retarget" / "rig_mixamo.bvh")) == {'FINISHED'}
    rig = bpy.context.active_object
    assert bpy.ops.pose2rot.import_tracks(filepath=str(root / "examples" / "cmu_08_01.bvh"),
                                          collection_name="cmu") == {'FINISHED'}
    scene = bpy.context.scene
    scene.pose2rot.armature = rig
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    table = {e.bone: e.source for e in _rows()}
    assert table["mixamorig:Spine"] == "abdomen" and table["mixamorig:Spine2"] == "chest", table
    assert bpy.ops.pose2rot.solve_rotations(armature=rig.name, tracks_collection="cmu") == {'FINISHED'}
    heads = pose_points(rig, scene_frames()[::10])
    names = [pb.name for pb in rig.pose.bones]
    chain = [names.index(f"mixamorig:{n}") for n in ("Hips", "Spine", "Spine1", "Spine2", "Neck", "Head")]
    bones = np.diff(heads[:, chain], axis=1)
    bones /= np.linalg.norm(bones, axis=-1, keepdims=True)
    assert np.degrees(np.arccos(np.clip((bones[:, 1:] * bones[:, :-1]).sum(-1), -1.0, 1.0))).max() < 35.0


def test_automatic_map_counts_bones_and_tips_apart(capfd):
    """The CMU walk's empties (43 joints, 14 End Sites) onto its own rig: Automatic Map said '57 bones
    mapped' on a 43-bone rig; it says the bones and the tips apart."""
    src = import_clip(frames=5)
    col = track_empties(src)
    scene = bpy.context.scene
    scene.pose2rot.armature, scene.pose2rot.tracks = rest_copy(src), col
    capfd.readouterr()
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert "43 bones and 14 bone tips mapped (" in capfd.readouterr().out



def test_save_and_load_map_count_bones_and_tips_apart(tmp_path, capfd):
    """The CMU walk's map onto its own rig (43 bones, 14 End Sites as bone tips): Save Map said 'saved 57
    bones' and Load Map 'loaded 57 bones' of a 43-bone rig, where Automatic Map says the bones and the
    tips apart; loaded onto an armature of other bone names, the rows naming none are counted as such."""
    src = import_clip(frames=5)
    col = track_empties(src)
    scene = bpy.context.scene
    scene.pose2rot.armature, scene.pose2rot.tracks = rest_copy(src), col
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    capfd.readouterr()
    assert bpy.ops.pose2rot.map_save(filepath=str(tmp_path / "map.json")) == {'FINISHED'}
    assert bpy.ops.pose2rot.map_load(filepath=str(tmp_path / "map.json")) == {'FINISHED'}
    out = capfd.readouterr().out
    assert f"saved 43 bones and 14 bone tips to {tmp_path / 'map.json'}" in out, out
    assert "loaded 43 bones and 14 bone tips into the Bone Map of " in out, out
    other = rest_copy(src, "Other")
    for bone in other.data.bones[:3]:
        bone.name = "x" + bone.name
    scene.pose2rot.armature = other
    assert bpy.ops.pose2rot.map_load(filepath=str(tmp_path / "map.json")) == {'FINISHED'}
    assert "loaded 40 bones and 14 bone tips and 3 rows naming no bone into the Bone Map of 'Other'" in \
        capfd.readouterr().out

def test_automatic_map_of_a_second_import_of_the_same_layout(tmp_path):
    """A second take imported into one file has empties named 'left_hip.001' ... (Blender's names are
    unique): Automatic Map found no bone for them (h77, red-team); now it maps them as the first take's,
    virtual points included, and the solve puts the rig where the first take's map does."""
    root = Path(__file__).resolve().parents[2]
    assert bpy.ops.import_anim.bvh(filepath=str(root / "examples" / "retarget" / "rig_mixamo.bvh")) == {'FINISHED'}
    rig = bpy.context.active_object
    scene = bpy.context.scene
    body = root / "examples" / "retarget" / "freemocap_walk" / "output_data" / "mediapipe_body_3d_xyz.npy"
    tables, heads = [], []
    for take in ("take1", "take2"):
        assert bpy.ops.pose2rot.import_tracks(filepath=str(body), collection_name=take) == {'FINISHED'}
        scene.pose2rot.armature, scene.pose2rot.tracks = rig, bpy.data.collections[take]
        assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
        tables.append({e.bone: e.source for e in _rows()})
        assert bpy.ops.pose2rot.solve_rotations(armature=rig.name, tracks_collection=take) == {'FINISHED'}
        heads.append(pose_points(rig, scene_frames()[::10]))
    assert tables[1]["mixamorig:LeftForeArm"] == "left_elbow.001"
    assert json.loads(tables[1]["mixamorig:Hips"]) == {"mean": ["left_hip.001", "right_hip.001"]}
    assert tables[1].keys() == tables[0].keys()
    np.testing.assert_allclose(heads[1], heads[0], atol=1e-4 * np.ptp(heads[0]))


def test_a_saved_map_drives_a_second_import_through_its_numbered_empties(tmp_path, capfd):
    """The map saved for the first take names 'left_hip'; the second take imported into the same file has
    'left_hip.001' (h188, red-team: the solve stopped, the empty missing). The saved map now reads each point
    from its numbered copy in the picked collection, says so, and puts the rig where the first take does."""
    root = Path(__file__).resolve().parents[2]
    assert bpy.ops.import_anim.bvh(filepath=str(root / "examples" / "retarget" / "rig_mixamo.bvh")) == {'FINISHED'}
    rig = bpy.context.active_object
    scene = bpy.context.scene
    body = root / "examples" / "retarget" / "freemocap_walk" / "output_data" / "mediapipe_body_3d_xyz.npy"
    heads = []
    for take in ("take1", "take2"):
        assert bpy.ops.pose2rot.import_tracks(filepath=str(body), collection_name=take) == {'FINISHED'}
    scene.pose2rot.armature, scene.pose2rot.tracks = rig, bpy.data.collections["take1"]
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    saved = {e.bone: e.source for e in _rows()}
    assert json.loads(saved["mixamorig:Hips"]) == {"mean": ["left_hip", "right_hip"]}
    capfd.readouterr()
    for take in ("take1", "take2"):
        assert bpy.ops.pose2rot.solve_rotations(armature=rig.name, tracks_collection=take) == {'FINISHED'}
        heads.append(pose_points(rig, scene_frames()[::10]))
    assert {e.bone: e.source for e in _rows()} == saved                   # the table is not rewritten
    assert "'left_hip' from 'left_hip.001'" in capfd.readouterr().out
    np.testing.assert_allclose(heads[1], heads[0], atol=1e-4 * np.ptp(heads[0]))


def test_bones_a_map_drives_through_a_mean_are_solved_over_old_keys(tmp_path):
    """Fingers driven through {"mean": ...} sources tell their hand's roll: a rig whose every bone
    is keyed before the solve gets the same hand rotations as a fresh one (the keys of bones no
    track reaches are carried over; the hand was taken for one and kept its old key, 40 degrees off)."""
    src, target, col, _ = _mixamo_scene(tmp_path, frames=20)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    for e in _rows():
        if e.bone in ("mixamorig:LeftHandIndex1", "mixamorig:LeftHandPinky1"):
            e.source = '{"mean": ["%s", "%s"]}' % (e.source, e.source)
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks") == {'FINISHED'}
    names = [pb.name for pb in target.pose.bones]
    hand = names.index("mixamorig:LeftHand")
    fresh = basis_rotations(target, scene_frames())[:, hand]
    keyed = rest_copy(src, "Keyed")
    for pb in keyed.pose.bones:
        pb.rotation_mode = 'XYZ'
        pb.rotation_euler = (0.3, 0.0, 0.0)
        pb.keyframe_insert("rotation_euler", frame=1)
    mapping.set_table(keyed, mapping.table_map(target))              # the same map on the keyed rig
    assert bpy.ops.pose2rot.solve_rotations(armature="Keyed", tracks_collection="landmarks") == {'FINISHED'}
    assert angle_deg(basis_rotations(keyed, scene_frames())[:, hand], fresh).max() < 0.1


def _landmarks_at(src, frames: np.ndarray):
    """(collection 'landmarks' of MediaPipe-named empties at the CMU armature ``src``'s limb joints,
    toe tips and nose over ``frames``, {point: positions [T,3]})."""
    heads, tails = pose_points(src, frames), pose_points(src, frames, "tail")
    bones = [pb.name for pb in src.pose.bones]
    where = {"hip": ("Thigh", heads), "knee": ("Shin", heads), "ankle": ("Foot", heads),
             "foot_index": ("Foot", tails), "shoulder": ("Shldr", heads), "elbow": ("ForeArm", heads),
             "wrist": ("Hand", heads)}
    at = {f"{side}_{point}": ends[:, bones.index(prefix + bone)]
          for side, prefix in (("left", "l"), ("right", "r")) for point, (bone, ends) in where.items()}
    at["nose"] = tails[:, bones.index("head")]
    col = bpy.data.collections.new("landmarks")
    bpy.context.scene.collection.children.link(col)
    col[importing.LAYOUT_KEY] = "mediapipe33"
    empties.write_empties(col, list(at), np.stack(list(at.values()), axis=1), int(frames[0]), 0.02)
    return col, at


def test_a_map_drives_the_tails_of_leaf_bones(tmp_path):
    """A bone map may drive a leaf bone's tail (`<bone>_end`), as docs/RETARGETING.md says and the
    command line's maps do: Blender refused such rows ('not a joint of armature') and Automatic Map
    left the toe landmarks unused, so the feet never pitched (their tails 5 % of the height off the
    toe empties, said nowhere). Now Automatic Map maps the toes onto the feet's tails and the solve
    puts them there."""
    src = import_clip(frames=40)
    frames = scene_frames()
    heads = pose_points(src, frames)
    col, at = _landmarks_at(src, frames)
    rig = rest_copy(src, "Rig")
    scene = bpy.context.scene
    scene.pose2rot.armature, scene.pose2rot.tracks = rig, col
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    table = {e.bone: e.source for e in _rows()}
    assert table["lFoot_end"] == "left_foot_index" and table["rFoot_end"] == "right_foot_index", table
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks") == {'FINISHED'}
    solved = pose_points(rig, frames, "tail")
    names = [pb.name for pb in rig.pose.bones]
    height = np.ptp(heads.reshape(-1, 3), axis=0).max()
    for foot, toe in (("lFoot", "left_foot_index"), ("rFoot", "right_foot_index")):
        assert np.linalg.norm(solved[:, names.index(foot)] - at[toe], axis=-1).max() < 0.005 * height, foot


def test_the_summary_says_what_a_mapped_solve_is_measured_against(tmp_path):
    """Through a map the points are scaled to the rig (FreeMoCap's millimetres onto a rig in
    centimetres: ×0.09), and the position errors are those bones' heads against the scaled points;
    the summary called them 'bone heads against their empties', which end up to 14 heights away."""
    root = Path(__file__).resolve().parents[2]
    assert bpy.ops.import_anim.bvh(filepath=str(root / "examples" / "retarget" / "rig_mixamo.bvh")) == {'FINISHED'}
    rig = bpy.context.active_object
    scene = bpy.context.scene
    body = root / "examples" / "retarget" / "freemocap_walk" / "output_data" / "mediapipe_body_3d_xyz.npy"
    assert bpy.ops.pose2rot.import_tracks(filepath=str(body), collection_name="take") == {'FINISHED'}
    col = bpy.data.collections["take"]
    scene.pose2rot.armature, scene.pose2rot.tracks = rig, col
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    from pose2rot_core.options import SolveOptions

    span = pipeline.SceneRange(frame_start=scene.frame_start, frame_end=scene.frame_end)
    plan = pipeline.compute_plan(scene, rig, col, span, SolveOptions(), bone_map=mapping.table_map(rig))
    assert plan.against.startswith("the points the map places (from their empties, scaled ×0.0"), plan.against


def test_automatic_map_reads_up_from_the_armature_object(tmp_path):
    """A rig exported Y-up (its bones turned -90 degrees about X, its object +90: the same pose in the
    world) was read with Z up: Automatic Map warned that hip, knee and ankle do not stand one above
    the other, and with command-line flags; it now reads up in the armature's own space."""
    from mathutils import Matrix

    src = import_clip(frames=10)
    col, _ = _landmarks_at(src, scene_frames())
    rig = rest_copy(src, "Rig")
    assert not mapping.propose(rig, col).doubtful
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode='EDIT')
    for bone in rig.data.edit_bones:
        bone.transform(Matrix.Rotation(-np.pi / 2, 4, 'X'))
    bpy.ops.object.mode_set(mode='OBJECT')
    rig.matrix_world = Matrix.Rotation(np.pi / 2, 4, 'X')
    bpy.context.view_layer.update()
    proposal = mapping.propose(rig, col)
    assert not proposal.doubtful, proposal.doubtful
    assert proposal.bone_map.bones["lShin"] == "left_knee"


def test_part_of_the_shot_solved_through_a_map_is_what_the_whole_solve_gives_there(tmp_path):
    """Through a bone map, re-solving frames 15-25 read those frames alone: their keys moved up to
    2 degrees from the whole solve's and stepped at both ends (the README says a part is solved with
    the keys around it, as by name, where nothing moves). Now it reads the keys around it too."""
    src, target, col, _ = _mixamo_scene(tmp_path)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks") == {'FINISHED'}
    frames = np.arange(15, 26)
    whole = basis_rotations(target, frames)
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks", frame_start=15,
                                            frame_end=25) == {'FINISHED'}
    assert angle_deg(basis_rotations(target, frames), whole).max() < 0.1  # float32 matrices: 0.02 at most


def test_automatic_map_warns_of_a_map_a_solve_would_refuse(tmp_path):
    """Empties named like MediaPipe landmarks but not imported as that layout had no mean of the hips:
    Automatic Map said '14 bones mapped' and Solve then refused the map (nothing places the body). Such
    empties now get the layouts' pelvis between the hips; without hip empties Automatic Map warns that
    a solve would stop, and of nothing where the layout places the body."""
    src = import_clip(frames=10)
    col, _ = _landmarks_at(src, scene_frames())
    rig = rest_copy(src, "Rig")
    assert not mapping.proposal_warnings(rig, mapping.propose(rig, col))
    del col[importing.LAYOUT_KEY]
    proposal = mapping.propose(rig, col)
    assert proposal.bone_map.bones["hip"] == {"mean": ["left_hip", "right_hip"]}
    assert not mapping.proposal_warnings(rig, proposal)
    for side in ("left", "right"):
        bpy.data.objects.remove(bpy.data.objects[f"{side}_hip"])
    warnings = mapping.proposal_warnings(rig, mapping.propose(rig, col))
    assert any("no point and none of its children one, so a solve with it stops" in w for w in warnings), warnings


def test_the_panel_says_when_the_bone_map_is_in_use(tmp_path):
    """With the Bone Map filled the panel's box still read 'Matched 2 of 26 bones' (names the solve
    no longer uses); it now says the map is in use, and by name again once the map is cleared."""
    src, target, col, _ = _mixamo_scene(tmp_path)
    panel = importlib.import_module(EXT_NAME + ".panel")
    scene = bpy.context.scene
    assert panel.status_line(scene, target, col)[0].startswith("Matched ")
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    text, _ = panel.status_line(scene, target, col)
    assert text == f"Bone Map in use: {len(_rows())} rows (Clear Map to match by name)"
    mapping.set_table(target, BoneMap(bones={_rows()[0].bone: _rows()[0].source}))   # one row: counted so
    assert panel.status_line(scene, target, col)[0] == "Bone Map in use: 1 row (Clear Map to match by name)"
    assert bpy.ops.pose2rot.map_clear() == {'FINISHED'}
    assert panel.status_line(scene, target, col)[0].startswith("Matched ")


def test_each_armature_keeps_its_own_bone_map(tmp_path):
    """Two characters in one scene: the Bone Map lived on the scene, so a map made for one armature
    drove the other too, and switching the panel's armature showed (and solved through) the wrong
    table. Each armature now keeps its own: 'Rig' solves through its map whatever the panel shows,
    'Rig2' without one matches by name (its hips find no landmark named so: refused, nothing
    changed), and after its own Automatic Map both solve onto the landmarks."""
    src, target, col, landmark = _mixamo_scene(tmp_path, frames=20)
    scene = bpy.context.scene
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    table = {e.bone: e.source for e in target.pose2rot_map}
    other = rest_copy(src, "Rig2")
    scene.pose2rot.armature = other
    assert len(other.pose2rot_map) == 0
    panel = importlib.import_module(EXT_NAME + ".panel")
    assert panel.status_line(scene, other, col)[0].startswith("Matched 2 of ")       # by name: 'Rig's map is not its
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks") == {'FINISHED'}
    with pytest.raises(RuntimeError, match="the root bone 'mixamorig:Hips' has no track in 'landmarks'"):
        bpy.ops.pose2rot.solve_rotations(armature="Rig2", tracks_collection="landmarks")
    assert other.animation_data is None or other.animation_data.action is None
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert {e.bone: e.source for e in other.pose2rot_map} == table == {e.bone: e.source for e in target.pose2rot_map}
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig2", tracks_collection="landmarks") == {'FINISHED'}
    for rig in (target, other):
        heads = pose_points(rig, scene_frames())
        names = [pb.name for pb in rig.pose.bones]
        height = np.ptp(heads.reshape(-1, 3), axis=0).max()
        err = np.linalg.norm(heads[:, names.index("mixamorig:LeftForeArm")] - landmark["left_elbow"], axis=-1).max()
        assert err < 0.01 * height, (rig.name, err / height)


def _solves_onto_landmarks(rig, landmark) -> bool:
    """Whether ``rig``'s left forearm sits on the 'left_elbow' empty in every frame (1 % of the height)."""
    heads = pose_points(rig, scene_frames())
    names = [pb.name for pb in rig.pose.bones]
    height = np.ptp(heads.reshape(-1, 3), axis=0).max()
    err = np.linalg.norm(heads[:, names.index("mixamorig:LeftForeArm")] - landmark["left_elbow"], axis=-1).max()
    return bool(err < 0.01 * height)


def test_a_bone_map_an_older_version_kept_on_the_scene_drives_armatures_without_their_own(tmp_path):
    """Files saved when the Bone Map lived on the scene keep their map, and it drives every armature
    without a map of its own, as it did (two rigs solve through it); the panel shows it. An
    armature's own map (Automatic Map) leaves it for the others; Clear Map, where it is the one in
    use, clears it, with a note, and the armature matches by name again."""
    src, target, col, landmark = _mixamo_scene(tmp_path, frames=20)
    scene = bpy.context.scene
    panel = importlib.import_module(EXT_NAME + ".panel")
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    table = {e.bone: e.source for e in target.pose2rot_map}
    for bone, source in table.items():                           # as an older version stored it
        entry = scene.pose2rot_map.add()
        entry.bone, entry.source = bone, source
    mapping.clear_table(target)
    other = rest_copy(src, "Rig2")
    for rig in (target, other):
        assert panel.status_line(scene, rig, col)[0] == f"Bone Map in use: {len(table)} rows (Clear Map to match by name)"
        assert bpy.ops.pose2rot.solve_rotations(armature=rig.name, tracks_collection="landmarks") == {'FINISHED'}
        assert _solves_onto_landmarks(rig, landmark), rig.name
    scene.pose2rot.armature = other
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert {e.bone: e.source for e in other.pose2rot_map} == table and len(scene.pose2rot_map) == len(table)
    scene.pose2rot.armature = target
    assert bpy.ops.pose2rot.map_clear() == {'FINISHED'}
    assert len(scene.pose2rot_map) == 0 and len(other.pose2rot_map) == len(table)
    with pytest.raises(RuntimeError, match="the root bone 'mixamorig:Hips' has no track in 'landmarks'"):
        bpy.ops.pose2rot.solve_rotations(armature="Rig", tracks_collection="landmarks")
    assert bpy.ops.pose2rot.solve_rotations(armature="Rig2", tracks_collection="landmarks") == {'FINISHED'}


def _overridden_rig(lib: Path):
    """A library override of the 'Rig' of ``lib`` (linked with its 'landmarks'), picked in the panel
    with them."""
    with bpy.data.libraries.load(str(lib), link=True) as (_, data_to):
        data_to.objects, data_to.collections = ["Rig"], ["landmarks"]
    scene = bpy.context.scene
    scene.collection.objects.link(data_to.objects[0])
    scene.collection.children.link(data_to.collections[0])
    rig = data_to.objects[0].override_create(remap_local_usages=True)
    scene.pose2rot.armature, scene.pose2rot.tracks = rig, data_to.collections[0]
    return rig


def test_a_library_override_armature_keeps_its_own_map(tmp_path):
    """A character linked from a library and overridden (the way shots use rigs): Automatic Map failed
    with a Python error once the map lived on the armature. Its override now keeps the map, solves
    through it, and keeps it when the file is saved and opened again."""
    _, _, _, landmark = _mixamo_scene(tmp_path, frames=10)
    lib = tmp_path / "lib.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(lib), copy=True)       # the library's rig has no map
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    rig = _overridden_rig(lib)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    rows = [(e.bone, e.source) for e in rig.pose2rot_map]
    assert len(rows) > 10
    assert bpy.ops.pose2rot.solve_rotations(armature=rig.name, tracks_collection="landmarks") == {'FINISHED'}
    shot = tmp_path / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(shot))
    bpy.ops.wm.open_mainfile(filepath=str(shot))
    again = next(o for o in bpy.data.objects if o.type == 'ARMATURE' and o.override_library is not None)
    assert [(e.bone, e.source) for e in again.pose2rot_map] == rows


def test_map_buttons_refuse_a_linked_armature_and_forget_a_deleted_one(tmp_path):
    """Clear Map on an armature linked from a library (not overridden) cleared its map in memory, a
    change the file could not keep, without a word: the map buttons now refuse it as the solve
    does. An armature deleted after it was picked lingered in the panel's setting, and Automatic
    Map filled the deleted object's map: the panel now falls back to the active armature."""
    _mixamo_scene(tmp_path, frames=10)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    lib = tmp_path / "lib.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(lib), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    with bpy.data.libraries.load(str(lib), link=True) as (_, data_to):
        data_to.objects, data_to.collections = ["Rig"], ["landmarks"]
    scene = bpy.context.scene
    linked = data_to.objects[0]
    scene.collection.objects.link(linked)
    scene.collection.children.link(data_to.collections[0])
    scene.pose2rot.armature, scene.pose2rot.tracks = linked, data_to.collections[0]
    rows = len(linked.pose2rot_map)
    for op in (bpy.ops.pose2rot.map_clear, bpy.ops.pose2rot.map_auto, bpy.ops.pose2rot.map_add_row,
               bpy.ops.pose2rot.map_remove_row):
        with pytest.raises(RuntimeError, match="armature 'Rig' is linked from .* and cannot be given a Bone Map here; "
                                               "make a library override first"):
            op()
    assert len(linked.pose2rot_map) == rows > 0
    local = linked.override_create(remap_local_usages=True)
    scene.pose2rot.armature = local
    for collection in local.users_collection:                       # deleted after it was picked (Object > Delete
        collection.objects.unlink(local)                             # unlinks it; the setting keeps it alive)
    bpy.context.view_layer.objects.active = None
    with pytest.raises(RuntimeError, match="no armature: select an armature object"):
        bpy.ops.pose2rot.map_auto()


def _library_rig_with_a_map(tmp_path):
    """('lib.blend' whose 'Rig' keeps the Automatic Map of the landmarks, that map's rows, the
    landmarks) with an empty file open afterwards."""
    _, _, _, landmark = _mixamo_scene(tmp_path, frames=10)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    rows = [(e.bone, e.source) for e in bpy.data.objects["Rig"].pose2rot_map]
    lib = tmp_path / "lib.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(lib), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    return lib, rows, landmark


@pytest.mark.parametrize("button", ["clear", "auto", "load"])
def test_an_override_of_a_rig_whose_library_keeps_a_map_gets_one_map(tmp_path, button):
    """An override keeps the rows its library gave it (Blender does not let it remove them): Clear
    Map left them all, and Automatic Map or Load Map added theirs beside them, so the solve stopped
    at 'has two rows'. Now such rows are overwritten or blanked: one map, kept through a save."""
    lib, rows, _ = _library_rig_with_a_map(tmp_path)
    rig = _overridden_rig(lib)
    (tmp_path / "small.json").write_text(json.dumps({"bones": dict(rows[:12])}))
    {"clear": bpy.ops.pose2rot.map_clear, "auto": bpy.ops.pose2rot.map_auto,
     "load": lambda: bpy.ops.pose2rot.map_load(filepath=str(tmp_path / "small.json"))}[button]()
    parsed = {bone: json.loads(source) if source.startswith("{") else source for bone, source in rows}
    want = {"clear": None, "auto": parsed, "load": dict(list(parsed.items())[:12])}[button]
    got = mapping.table_map(rig)
    assert (got is None) if want is None else (got.bones == want)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shot.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "shot.blend"))
    again = next(o for o in bpy.data.objects if o.type == 'ARMATURE' and o.override_library is not None)
    got = mapping.table_map(again)
    assert (got is None) if want is None else (got.bones == want)
    if want is not None:
        assert bpy.ops.pose2rot.solve_rotations(armature=again.name, tracks_collection="landmarks") == {'FINISHED'}


def test_remove_row_blanks_a_row_an_override_got_from_its_library(tmp_path):
    """Blender cannot remove a row a library override got from its library: Remove Row blanks it
    (no row of the map), so the map loses the bone all the same; the override's own rows go."""
    lib, rows, _ = _library_rig_with_a_map(tmp_path)
    rig = _overridden_rig(lib)
    assert bpy.ops.pose2rot.map_add_row() == {'FINISHED'}
    rig.pose2rot_map[-1].bone, rig.pose2rot_map[-1].source = "mixamorig:Head", "nose"
    assert bpy.ops.pose2rot.map_remove_row() == {'FINISHED'}              # the override's own row: gone
    assert len(rig.pose2rot_map) == len(rows)
    rig.pose2rot_map_index = 0
    assert bpy.ops.pose2rot.map_remove_row() == {'FINISHED'}
    assert len(rig.pose2rot_map) == len(rows) and rows[0][0] not in mapping.table_map(rig).bones
    assert rig.pose2rot_map_index == 0

def test_the_batch_solves_an_overridden_rig_of_a_shot_file(tmp_path):
    """A shot file holds the linked rig and its override, both named 'Rig': the batch said the file
    has 2 armatures, and with --armature Rig and --map the map's rows came beside the library's.
    The override stands for the rig now, and --map replaces its map."""
    lib, rows, _ = _library_rig_with_a_map(tmp_path)
    bpy.ops.wm.open_mainfile(filepath=str(lib))
    layout = get_layout("mediapipe33")
    col = bpy.data.collections["landmarks"]
    points = [e.name for e in col.objects]
    heads = empties.read_world_positions(bpy.context.scene, [bpy.data.objects[p] for p in points], scene_frames())
    X = np.zeros((heads.shape[0], 33, 3))
    for i, p in enumerate(points):
        X[:, layout.points.index(p)] = heads[:, i] @ np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    np.save(tmp_path / "clip.npy", X)
    (tmp_path / "map.json").write_text(json.dumps({"bones": {bone: json.loads(source) if source.startswith("{")
                                                             else source for bone, source in rows}}))
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    with bpy.data.libraries.load(str(lib), link=True) as (_, data_to):
        data_to.objects = ["Rig"]
    bpy.context.scene.collection.objects.link(data_to.objects[0])
    data_to.objects[0].override_create(remap_local_usages=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shot.blend"))
    for extra in ([], ["--armature", "Rig"]):
        out = tmp_path / f"out{len(extra)}"
        proc = subprocess.run([sys.executable, str(BATCH), "--rig", tmp_path / "shot.blend", tmp_path / "clip.npy",
                               "--layout", "mediapipe33", "--map", tmp_path / "map.json", *extra, "--out", out],
                              capture_output=True, text=True, env=dict(os.environ), timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert (out / "clip.blend").is_file()


def test_the_picked_armature_is_not_taken_for_a_namesake(tmp_path):
    """The panel's local 'Rig' with a linked 'Rig' of another file in the scene: the picked one was
    looked up by name, found the linked one first, was taken for deleted, and Automatic Map filled
    the active armature's map instead."""
    lib, _, _ = _library_rig_with_a_map(tmp_path)
    src, local, _, _ = _mixamo_scene(tmp_path, frames=10)
    scene = bpy.context.scene
    with bpy.data.libraries.load(str(lib), link=True) as (_, data_to):
        data_to.objects = ["Rig"]
    scene.collection.objects.link(data_to.objects[0])
    other = rest_copy(src, "Other")
    scene.pose2rot.armature = local
    bpy.context.view_layer.objects.active = other
    panel = importlib.import_module(EXT_NAME + ".panel")
    assert panel.picked_armature(bpy.context) == local
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert len(local.pose2rot_map) > 10 and len(other.pose2rot_map) == 0


def test_automatic_map_of_imported_bvh_empties_gives_one_place_to_one_bone(tmp_path):
    """A BVH whose neck and collars sit on its chest joint (zero-length bones, as the Xia and CMU
    ASF-style rigs have them) imported as tracks: Automatic Map put the Mixamo rig's chest, neck and
    both collars on those empties at one place, and the solve folded the chest. As the command line's
    map does, only the chest keeps that place; the neck and collars are solved between."""
    body, canon = humanoid(np.random.default_rng(2), spine=3, naming="mixamo")
    rest, above = body.rest_positions.copy(), body.ancestor_mask()
    chest = body.names.index(canon["spine3"])
    for c in ("neck", "left_collar", "right_collar"):
        j = body.names.index(canon[c])
        rest[above[:, j]] -= rest[j] - rest[chest]
    source = type(body)(body.names, body.parents, rest)
    R, root = walk(source, canon, 20, np.random.default_rng(3))
    write_bvh(tmp_path / "source.bvh", source, R, root)
    root_dir = Path(__file__).resolve().parents[2]
    assert bpy.ops.import_anim.bvh(filepath=str(root_dir / "examples" / "retarget" / "rig_mixamo.bvh")) == {'FINISHED'}
    rig = bpy.context.active_object
    assert bpy.ops.pose2rot.import_tracks(filepath=str(tmp_path / "source.bvh"), collection_name="src") == {'FINISHED'}
    bpy.context.scene.pose2rot.armature = rig
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    table = {e.bone: e.source for e in _rows()}
    assert table["mixamorig:Spine2"] == canon["spine3"], table
    assert not {"mixamorig:Neck", "mixamorig:LeftShoulder", "mixamorig:RightShoulder"} & set(table), table


def test_load_map_warns_of_rows_that_name_no_bone_of_the_armature(tmp_path, capfd):
    """A map saved for one rig loaded onto another (its bones named without the 'mixamorig:' prefix):
    Load Map said 'loaded 18 bones' and nothing else, and only Solve Rotations refused it, naming its
    first row. Load Map now warns how many rows name no bone of the armature, and how to fix them;
    a map that fits (a leaf bone's tail row included) loads without a word."""
    src, target, col, _ = _mixamo_scene(tmp_path, frames=5)
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert bpy.ops.pose2rot.map_save(filepath=str(tmp_path / "map.json")) == {'FINISHED'}
    other = rest_copy(src, "Other")
    for bone in other.data.bones:
        bone.name = bone.name.split(":")[-1]
    leaf = next(b.name for b in target.data.bones if not b.children)
    bones = json.loads((tmp_path / "map.json").read_text())["bones"]
    (tmp_path / "tip.json").write_text(json.dumps({"bones": dict(bones, **{f"{leaf}_end": "left_index"})}))
    scene = bpy.context.scene
    capfd.readouterr()
    assert bpy.ops.pose2rot.map_load(filepath=str(tmp_path / "tip.json")) == {'FINISHED'}
    assert "Warning" not in capfd.readouterr().out
    scene.pose2rot.armature = other
    assert bpy.ops.pose2rot.map_load(filepath=str(tmp_path / "map.json")) == {'FINISHED'}
    assert len(other.pose2rot_map) == len(bones)
    out = capfd.readouterr().out
    assert (f"{len(bones)} of the map's {len(bones)} rows name no bone of 'Other' ('mixamorig:Hips', ") in out, out
    assert "fix the Bone field of those rows, or press Automatic Map" in out, out


def test_automatic_map_warns_of_a_map_of_the_root_alone(tmp_path, capfd):
    """Empties of another kind of body (a crab's legs onto a human rig) of which only one matches the
    rig's root: Automatic Map said '1 bones mapped' without a word, and Solve Rotations then refused
    the map ('only the rig's root is on points'). Automatic Map now warns that a solve would stop."""
    src = import_clip(frames=5)
    rig = rest_copy(src, "Rig")
    col = bpy.data.collections.new("crab")
    bpy.context.scene.collection.children.link(col)
    empties.write_empties(col, ["hip", "claw_L", "claw_R"], np.random.default_rng(0).normal(size=(5, 3, 3)), 1, 0.02)
    scene = bpy.context.scene
    scene.pose2rot.armature, scene.pose2rot.tracks = rig, col
    capfd.readouterr()
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    assert [(e.bone, e.source) for e in _rows()] == [("hip", "hip")]
    out = capfd.readouterr().out
    assert "the map puts only the rig's root 'hip' on a point, so a solve with it stops" in out, out
    assert "by hand (a row of the Bone Map)" in out, out
    fails_cleanly("only the rig's root 'hip' is on points", armature="Rig", tracks_collection="crab")


def test_a_map_with_the_hands_rows_swapped_is_warned(tmp_path, capfd):
    """The Bone Map of the CMU walk's empties on the Mixamo rig with its left and right hand rows
    swapped (the rest as Automatic Map made it): the forearms reached across the body to the other
    wrist's empty, reported as bones off their rest length only (the arms' and legs' own checks read
    shoulders, elbows, hips and knees). The hands are read on their own now: warned, their rows named;
    the map as made says nothing of them."""
    root = Path(__file__).resolve().parents[2]
    assert bpy.ops.import_anim.bvh(filepath=str(root / "examples" / "retarget" / "rig_mixamo.bvh")) == {'FINISHED'}
    rig = bpy.context.active_object
    assert bpy.ops.pose2rot.import_tracks(filepath=str(root / "examples" / "cmu_08_01.bvh"),
                                          collection_name="cmu") == {'FINISHED'}
    scene = bpy.context.scene
    scene.pose2rot.armature, scene.frame_end = rig, 60
    assert bpy.ops.pose2rot.map_auto() == {'FINISHED'}
    capfd.readouterr()
    assert bpy.ops.pose2rot.solve_rotations(armature=rig.name, tracks_collection="cmu") == {'FINISHED'}
    assert "mirror image" not in capfd.readouterr().out
    left, right = (next(e for e in _rows() if e.bone == f"mixamorig:{side}Hand") for side in ("Left", "Right"))
    left.source, right.source = right.source, left.source
    assert bpy.ops.pose2rot.solve_rotations(armature=rig.name, tracks_collection="cmu") == {'FINISHED'}
    out = capfd.readouterr().out
    assert ("the points of the hands ('mixamorig:LeftHand', 'mixamorig:RightHand') are the mirror image of the "
            "rig's in 100 % of the frames") in out, out
    assert "the forearms reach across the body to fit them: swap those rows' left and right points" in out, out
    assert "points of the arms" not in out and "mirror image of the rig's body" not in out, out
