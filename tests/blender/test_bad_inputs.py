"""Bad input: one clear error message from the operator, and nothing in the file changes."""
from __future__ import annotations

import importlib
import re

import bpy
import numpy as np
import pytest
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.options import SolveOptions

from blender_helpers import EXT_NAME, action_fcurves, fails_cleanly as _fails, import_clip, rest_copy, track_empties

pipeline = importlib.import_module(EXT_NAME + ".pipeline")


@pytest.fixture
def scene_ready():
    src = import_clip(frames=20)
    track_empties(src)
    rig = rest_copy(src)
    return rig


def test_no_active_armature(scene_ready):
    bpy.context.view_layer.objects.active = None
    _fails("no armature", tracks_collection="tracks")


def test_active_object_is_not_an_armature(scene_ready):
    bpy.context.view_layer.objects.active = bpy.data.objects["hip"]
    _fails("'hip' is an empty, not an armature: select an armature object", tracks_collection="tracks")


def test_an_object_named_that_is_not_an_armature(scene_ready):
    _fails("'hip' is an empty, not an armature", tracks_collection="tracks", armature="hip")


def test_unknown_armature_name(scene_ready):
    _fails(r"no object named 'nope' \(armature='nope'\)", tracks_collection="tracks", armature="nope")


def test_an_armature_only_in_another_scene_is_refused(scene_ready):
    """The armature named by the operator was moved to another scene: it was solved in this one without a
    word, while the panel does not offer it (its armature must be in the scene); now refused, naming where
    it is and how to bring it here."""
    bpy.data.scenes.new("Other").collection.objects.link(scene_ready)
    bpy.context.scene.collection.objects.unlink(scene_ready)
    _fails(r"the armature 'Rig' is not in the scene 'Scene' \(it is in 'Other'\), .*: switch to a scene it is in "
           r"and solve there, or link it into this one \(Object > Link/Transfer Data > Link Objects to Scene\)$",
           tracks_collection="tracks", armature="Rig")


def test_unknown_collection(scene_ready):
    _fails("no collection named 'nope'", tracks_collection="nope")


def test_no_collection_picked(scene_ready):
    _fails("no tracks collection")


def test_empty_collection(scene_ready):
    bpy.context.scene.collection.children.link(bpy.data.collections.new("empty"))
    _fails("has no empties", tracks_collection="empty")


#: a command-line flag in a message (--layout, --map), not a range such as 'frames 1--5' or a word with one
FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def test_unmatched_collection(scene_ready):
    """Empties made for another rig: the error names the panel's way to a bone map, Automatic Map; it
    also named the batch's (--map MAP.json), a flag the panel does not have. The batch, solving through
    the same code, says --map and the command that writes one (it named only the button)."""
    col = bpy.data.collections.new("others")
    bpy.context.scene.collection.children.link(col)
    for name in ("foo", "bar"):
        col.objects.link(bpy.data.objects.new(name, None))
    with pytest.raises(RuntimeError, match=r"no empty in 'others' matches a bone.* or pair them up in a bone map "
                                           r"\(Automatic Map in the Bone Map panel\)$") as e:
        bpy.ops.pose2rot.solve_rotations(tracks_collection="others")
    assert not FLAG.search(str(e.value)), str(e.value)
    scene = bpy.context.scene
    span = pipeline.SceneRange(frame_start=scene.frame_start, frame_end=scene.frame_end)
    with pytest.raises(Pose2RotError, match="--map MAP.json, which Save Map in Blender's Bone Map panel or "
                                            "`pose2rot map --skeleton RIG.bvh --source TRACKS --out MAP.json` writes"):
        pipeline.compute_plan(scene, scene_ready, col, span, SolveOptions(), interface="cli")


def _import_fails(path, **settings) -> str:
    """The one line with which Import Tracks refuses the file at ``path`` (nothing imported)."""
    before = set(bpy.data.objects)
    with pytest.raises(RuntimeError) as e:
        bpy.ops.pose2rot.import_tracks(filepath=str(path), **settings)
    assert set(bpy.data.objects) == before
    lines = str(e.value).strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_import_tracks_names_its_own_settings_not_flags(tmp_path):
    """Import Tracks said how to fix a file with the command line's flags: a .npy of 22 points "--layout
    humanml3d22" (with "; Blender: Layout in Import Tracks" after it), SMPL-H joints "then --layout
    humanml3d22", a FreeMoCap recording read with another layout "--layout on the command line, Layout in
    Blender's Import Tracks". Each now names the dialog's own setting, and no message it gives names a flag."""
    np.save(tmp_path / "m22.npy", np.zeros((4, 22, 3)))
    np.save(tmp_path / "m52.npy", np.zeros((4, 52, 3)))
    np.save(tmp_path / "m21.npy", np.zeros((4, 21, 3)))
    np.save(tmp_path / "m33.npy", np.zeros((4, 33, 3)))
    body = tmp_path / "rec" / "output_data" / "mediapipe_body_3d_xyz.npy"
    body.parent.mkdir(parents=True)
    np.save(body, np.ones((4, 33, 3)))
    setting = "as 'Layout' in Import Tracks"
    for path, layout, says in [
            ("m22.npy", "NONE", f"say what its points are with 'Layout' in Import Tracks (its [4,22,3] has 22 points "
                                f"a frame: humanml3d22 {setting})"),
            ("m52.npy", "NONE", f"save motion[:, :22], then humanml3d22 {setting})"),
            ("m21.npy", "NONE", "fits no layout's point count, [T,P,3] with P of a layout: mediapipe33 33,"),
            ("m33.npy", "freemocap", f"give the recording folder, or mediapipe33 {setting})"),
            (body, "coco17", f"layout coco17 does not fit it (give freemocap {setting}, or no layout)")]:
        message = _import_fails(tmp_path / path, layout=layout)
        assert says in message and not FLAG.search(message), message


def test_two_characters_empties_in_one_collection(scene_ready):
    """Every empty copied under a second namespace: each bone has two empties alike, so none is
    matched; the error says why instead of asking whether it is the right armature."""
    col = bpy.data.collections["tracks"]
    for o in list(col.objects):
        o.name = "mixamorig:" + o.name
        twin = o.copy()
        twin.name = o.name.replace("mixamorig:", "mixamorig1:")
        col.objects.link(twin)
    _fails("match bones of 'Rig' only two or more alike", tracks_collection="tracks")


def test_a_stray_twin_empty_is_warned(scene_ready):
    """One empty twice (a second character's hand): that bone has no track, and a warning names
    both empties instead of the solve dropping them silently."""
    hand = bpy.data.objects["lHand"]
    hand.name = "mixamorig:lHand"
    twin = hand.copy()
    twin.name = "mixamorig1:lHand"
    bpy.data.collections["tracks"].objects.link(twin)
    scene = bpy.context.scene
    plan = pipeline.compute_plan(scene, scene_ready, bpy.data.collections["tracks"],
                                 pipeline.SceneRange(frame_start=scene.frame_start, frame_end=scene.frame_end),
                                 SolveOptions())
    assert any("mixamorig:lHand, mixamorig1:lHand" in line for line in plan.warnings), plan.warnings


def test_root_without_track(scene_ready):
    bpy.data.objects.remove(bpy.data.objects["hip"])
    _fails(r"root bone 'hip' has no track in 'tracks' \(42 of 43 bones matched by name\).* bone map",
           tracks_collection="tracks")


def test_empty_frame_range(scene_ready):
    _fails("empty frame range 10..5", tracks_collection="tracks", frame_start=10, frame_end=5)


def test_non_uniform_scale(scene_ready):
    scene_ready.scale = (1.0, 2.0, 1.0)
    bpy.context.view_layer.update()
    _fails("non-uniform object scale", tracks_collection="tracks")


def test_learned_without_checkpoint(scene_ready):
    prefs = bpy.context.preferences.addons[EXT_NAME].preferences
    prefs.checkpoint = ""
    _fails(r"'Checkpoint' in Preferences > Add-ons > pose2rot is not set: the learned solver needs one",
           tracks_collection="tracks", solver='LEARNED')
    prefs.checkpoint = "/nonexistent/model.pt"
    _fails("'Checkpoint' in Preferences > Add-ons > pose2rot '/nonexistent/model.pt' does not exist",
           tracks_collection="tracks", solver='HYBRID')
    prefs.checkpoint = ""


def test_a_blend_relative_checkpoint_in_an_unsaved_blend_says_so(scene_ready):
    """A '//' checkpoint in a .blend not saved yet was said not to exist ('//model.pt' resolved against
    no folder), with no word of why; now the preference says it is relative to a .blend not saved."""
    assert not bpy.data.filepath
    prefs = bpy.context.preferences.addons[EXT_NAME].preferences
    prefs.checkpoint = "//model.pt"
    try:
        _fails(r"'Checkpoint' in Preferences > Add-ons > pose2rot is '//model.pt', relative \(//\) to the folder of "
               r"the .blend file, and this .blend is not saved yet: save it first, or give an absolute path",
               tracks_collection="tracks", solver='HYBRID')
    finally:
        prefs.checkpoint = ""


def test_empties_in_other_units(scene_ready):
    """Empties 100 times the armature's size (centimetres against metres): refused, the factor named."""
    units = bpy.data.objects.new("units", None)
    bpy.context.scene.collection.objects.link(units)
    units.scale = (100.0, 100.0, 100.0)
    for empty in bpy.data.collections["tracks"].objects:
        empty.parent = units
    _fails(r"measure 100× the bones of 'Rig' \(42 of 42 bones, centimetres against metres\?\): scale the empties "
           r"by 0\.01 .*: import the tracks again with Import Tracks' Scale at 0\.01, or parent the empties to an "
           r"empty at the world origin scaled by 0\.01", tracks_collection="tracks")


def test_an_armature_object_scaled_up_is_named(scene_ready):
    """The armature object scaled by 1.3 (a character made bigger): its bones miss the empties, a
    warning (not a note) says its scale is why; scaled by 2.5 the refusal says so too."""
    scene_ready.scale = (1.3, 1.3, 1.3)
    bpy.context.view_layer.update()
    scene = bpy.context.scene
    plan = pipeline.compute_plan(scene, scene_ready, bpy.data.collections["tracks"],
                                 pipeline.SceneRange(frame_start=scene.frame_start, frame_end=scene.frame_end),
                                 SolveOptions())
    assert any("the armature object is scaled by 1.3" in line for line in plan.warnings), plan.warnings
    scene_ready.scale = (2.5, 2.5, 2.5)
    _fails("the armature object is scaled by 2.5: set its scale to 1", tracks_collection="tracks")


def test_result_too_far_from_the_empties_is_refused(scene_ready):
    """An empty pulled off its bone with rigid bones: past the panel's limit nothing is written."""
    heads = np.array([bpy.data.objects[n].location[:] for n in ("hip", "head")])
    bpy.data.objects["head"].delta_location = (0.0, 0.0, 0.2 * float(np.ptp(heads[:, 2]) or 1.0))
    bpy.context.view_layer.update()
    bpy.context.scene.pose2rot.max_position_error = 1.0
    _fails(r"the solution is .* % of the skeleton height from the tracks at joint .*\(allowed: 1 %\); "
           r"\d+ [a-z ]+ ends? further: '.*' \(frames? .*; nothing was written", tracks_collection="tracks",
           bone_lengths='OFF')
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", bone_lengths='OFF',
                                            max_position_error=50.0) == {'FINISHED'}


def test_an_armature_scaled_by_its_parent_names_the_parent(scene_ready):
    """The armature's own scale is 1 but its parent halves it: the refusal names the parent and
    its scale, not the armature's own scale (which is already 1)."""
    parent = bpy.data.objects.new("Stage", None)
    bpy.context.scene.collection.objects.link(parent)
    parent.scale = (0.4, 0.4, 0.4)
    scene_ready.parent = parent
    bpy.context.view_layer.update()
    _fails(r"its parent 'Stage' scales the armature by 0\.4: set the parent's scale to 1, or scale the empties with "
           "it$", tracks_collection="tracks")


def _glitch(name: str, frames: range, rise: float) -> None:
    """Raise the empty ``name`` by ``rise`` of the empties' height (world Z) on ``frames``: a tracker's glitch."""
    rise *= float(np.ptp([o.location.z for o in bpy.data.collections["tracks"].objects]))
    for fc in action_fcurves(bpy.data.objects[name].animation_data.action):
        if fc.data_path == "location" and fc.array_index == 2:
            for key in fc.keyframe_points:
                if int(round(key.co[0])) in frames:
                    key.co[1] += rise
            fc.update()


def test_a_glitch_is_warned_in_the_panel_s_words(scene_ready, capfd):
    """The head's empty jumps away for three frames of clean tracks: the warning naming it told the panel's
    user that '--smooth WIDTH treats such samples as gaps', a flag the panel has not; it named Smoothing:
    Fixed, then without the width to set in the panel's Width (s) field; now with two frames' width."""
    _glitch("head", range(8, 11), 0.2)
    capfd.readouterr()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    warned = [line for line in capfd.readouterr().out.splitlines() if line.startswith("Warning: ")]
    assert any("'head' (frames 8-10) jumps away and back" in line and line.endswith(
        "followed as given (clean tracks); Smoothing: Fixed with Width (s) 0.017 treats such samples as gaps and "
        "smooths the rest a little") for line in warned), warned
    assert not any("--" in line for line in warned), warned
    bpy.context.scene.pose2rot.smooth, bpy.context.scene.pose2rot.smooth_width = 'WIDTH', 0.017   # as advised
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    said = capfd.readouterr().out.splitlines()
    assert any("3 samples of 'head' jumping away and back" in line and "treated as gaps" in line for line in said), said
    assert not any(line.startswith("Warning: ") and "jump" in line for line in said), said


def test_a_frozen_empty_is_named_in_the_stretch_warning(capfd):
    """The left hand's empty stops moving for frames 11-31 of 40 while the body moves on: the warning
    listed its five fingers as off their distance to the parent and left 'lHand' in 'and 1 more'; it
    now says that those bones meet at 'lHand', the empty to check."""
    src = import_clip(frames=40)
    track_empties(src)
    rest_copy(src)
    for fc in action_fcurves(bpy.data.objects["lHand"].animation_data.action):
        held = fc.evaluate(11.0)
        for key in fc.keyframe_points:
            if 11.0 <= key.co[0] <= 31.0:
                key.co[1] = held
        fc.update()
    capfd.readouterr()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    warned = [line for line in capfd.readouterr().out.splitlines() if line.startswith("Warning: ")]
    assert any("kept in most frames" in line and "those bones meet at 'lHand' (frames " in line
               for line in warned), warned


def _connected(rig: bpy.types.Object) -> None:
    """Connect every bone whose head is at its parent's tail (as a rig built in Blender has them)."""
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode='EDIT')
    for bone in rig.data.edit_bones:
        if bone.parent is not None and (bone.head - bone.parent.tail).length < 1e-4:
            bone.use_connect = True
    bpy.ops.object.mode_set(mode='OBJECT')


def test_connected_bones_that_cannot_reach_their_empties_are_warned_and_limited(scene_ready, capfd):
    """The elbow's empty off the rig's upper arm, Bone lengths: Match the tracks, on a rig whose arm bones are
    connected: the solve moved the elbow onto its empty, the keys cannot (a connected bone keeps its head on
    its parent's tail), and the arm ended far from its empties, 20 % of the height and more, said in an INFO
    line alone ('connected bones cannot translate'); Max position error let it through. It is now a warning
    naming the joints, and past the limit nothing is written."""
    _connected(scene_ready)
    elbow, shoulder = (bpy.data.objects[n].location for n in ("lForeArm", "lShldr"))
    bpy.data.objects["lForeArm"].delta_location = 0.3 * (elbow - shoulder)
    bpy.context.view_layer.update()
    capfd.readouterr()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", bone_lengths='EXACT') == {'FINISHED'}
    warned = [line for line in capfd.readouterr().out.splitlines() if line.startswith("Warning: ")]
    assert any(re.search(r"connected bones cannot translate .*'lForeArm' \(frames 1-20, up to [\d.]+ %\).*"
                         r"turn Connected off", line) for line in warned), warned
    bpy.context.scene.pose2rot.max_position_error = 5.0
    _fails(r"the keys would hold .* % of the skeleton height from the tracks at joint '.*', frame \d+ \(allowed: "
           r"5 %\): connected bones cannot translate .*; nothing was written", tracks_collection="tracks",
           bone_lengths='EXACT')
