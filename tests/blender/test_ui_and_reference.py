"""Registration of the UI pieces, the operator reading the panel's settings, and the CURRENT_POSE reference."""
from __future__ import annotations

import importlib

import bpy
import numpy as np
import pytest

from blender_helpers import EXT_NAME, angle_deg, basis_rotations, import_clip, rest_copy, track_empties


def test_panel_preferences_and_properties_are_registered():
    assert bpy.types.POSE2ROT_PT_main.bl_category == "pose2rot"
    assert bpy.types.POSE2ROT_PT_main.bl_region_type == 'UI'
    prefs = bpy.context.preferences.addons[EXT_NAME].preferences
    assert type(prefs).bl_idname == EXT_NAME and prefs.runtime == 'AUTO'
    settings = bpy.context.scene.pose2rot
    assert (settings.solver, settings.reference, settings.smooth) == ('GEOMETRIC', 'REST', 'AUTO')
    for op in ("solve_rotations", "restore_action", "import_tracks", "show_pip_command"):
        getattr(bpy.ops.pose2rot, op).get_rna_type()


def test_panel_matching_summary():
    panel = importlib.import_module(EXT_NAME + ".panel")
    src = import_clip(frames=5)
    col = track_empties(src)
    bpy.data.objects.remove(bpy.data.objects["lFoot"])
    m = panel._match_summary(src, col)
    assert len(m.bone_to_track) == len(src.data.bones) - 1 and m.unmatched_bones == ["lFoot"]
    assert "lFoot_end" in m.end_to_track.values()


def test_current_pose_reference_is_kept_at_its_frame():
    """The rig posed like the source at frame k, reference CURRENT_POSE at k: the solved pose at k
    is that pose (every bone, twist included)."""
    src = import_clip(frames=40)
    track_empties(src)
    k = 25
    bpy.context.scene.frame_set(k)
    rig = rest_copy(src)
    for pb in rig.pose.bones:
        pb.rotation_mode = 'QUATERNION'
        pb.matrix_basis = src.pose.bones[pb.name].matrix_basis.copy()
    bpy.context.view_layer.update()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", reference='CURRENT_POSE',
                                            reference_frame=k) == {'FINISHED'}
    frames = np.array([k])
    assert angle_deg(basis_rotations(rig, frames), basis_rotations(src, frames)).max() < 0.2


def test_operator_takes_the_panel_settings_it_is_not_given():
    src = import_clip(frames=12)
    track_empties(src)
    rig = rest_copy(src)
    settings = bpy.context.scene.pose2rot
    settings.use_scene_range, settings.frame_start, settings.frame_end = False, 3, 7
    settings.solver = 'LEARNED'                          # no checkpoint in the preferences: refused
    with pytest.raises(RuntimeError, match="'Checkpoint' in Preferences > Add-ons > pose2rot is not set"):
        bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks")
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", solver='GEOMETRIC') == {'FINISHED'}
    assert tuple(rig.animation_data.action.frame_range) == (3.0, 7.0)


def test_the_scene_range_is_its_preview_range_while_that_is_on(capfd):
    """A preview range on (the timeline plays frames 5-12 of 1-20): 'Scene frame range' solved frames
    1-20, replacing keys outside the part worked on, where Blender's Bake Action takes the preview
    range; it now solves frames 5-12 and says so. Start and End given, or the panel's own range, win."""
    src = import_clip(frames=20)
    track_empties(src)
    rig = rest_copy(src)
    scene = bpy.context.scene
    scene.use_preview_range = True
    scene.frame_preview_start, scene.frame_preview_end = 5, 12
    capfd.readouterr()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    assert tuple(rig.animation_data.action.frame_range) == (5.0, 12.0)
    assert "frames 5..12: the scene's preview range (turn it off in the Timeline to solve the frame range 1..20)" \
        in capfd.readouterr().out
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", frame_start=1, frame_end=20) == {'FINISHED'}
    assert tuple(rig.animation_data.action.frame_range) == (1.0, 20.0)
    assert "preview range" not in capfd.readouterr().out
    settings = scene.pose2rot
    settings.use_scene_range, settings.frame_start, settings.frame_end = False, 3, 7
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    out = capfd.readouterr().out
    assert "x 5 frames" in out and "preview range" not in out


def test_a_current_pose_away_from_the_reference_frame_is_warned():
    """Reference CURRENT_POSE on a rig its action animates, the playhead on frame 30 and the
    reference frame 1: the current pose is the one at frame 30, so the plan warns, naming both
    frames (the solve was 29 degrees off at frame 1, silently); on frame 1 it does not."""
    pipeline = importlib.import_module(EXT_NAME + ".pipeline")
    from pose2rot_core.options import SolveOptions

    src = import_clip(frames=40)
    col = track_empties(src)
    rig = rest_copy(src)
    rig.animation_data_create().action = src.animation_data.action
    scene = bpy.context.scene
    span = pipeline.SceneRange(frame_start=1, frame_end=40, reference_frame=1)
    scene.frame_set(30)
    plan = pipeline.compute_plan(scene, rig, col, span, SolveOptions(use_reference=True))
    assert any("which its animation puts at frame 30, not at the reference frame 1" in w for w in plan.warnings)
    scene.frame_set(1)
    plan = pipeline.compute_plan(scene, rig, col, span, SolveOptions(use_reference=True))
    assert not any("reference frame" in w for w in plan.warnings), plan.warnings


def test_a_reference_frame_outside_the_range_names_the_panel_field():
    """Reference CURRENT_POSE at frame 1 while the solve covers frames 5-12: refused with the
    field to change, nothing written."""
    src = import_clip(frames=12)
    track_empties(src)
    rig = rest_copy(src)
    with pytest.raises(RuntimeError, match="reference frame 1 is outside the frame range 5..12: set 'Reference frame'"):
        bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", reference='CURRENT_POSE', reference_frame=1,
                                         frame_start=5, frame_end=12)
    assert rig.animation_data is None or rig.animation_data.action is None
