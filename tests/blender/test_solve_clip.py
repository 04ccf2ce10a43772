"""End to end on a real clip: Blender's BVH import -> empties -> Solve Rotations on a rest copy."""
from __future__ import annotations

import importlib

import bpy
import numpy as np
import pytest

from blender_helpers import (EXT_NAME, ROOT, action_fingerprint, angle_deg, basis_rotations, import_clip, keys, pose_points,
                             rest_copy, scene_frames, track_empties)
from pose2rot_core.bvh import read_bvh
from pose2rot_core.options import SolveOptions
from pose2rot_core.solvers import solve
from pose2rot_core.tracks_io import tracks_from_bvh

#: Blender's BVH importer maps file (x, y, z) to (x, -z, y)
C = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
pipeline = importlib.import_module(EXT_NAME + ".pipeline")
LINEAR = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value


@pytest.fixture
def solved():
    """(source armature, solved rest copy, frames) on the dev clip."""
    src = import_clip()
    track_empties(src)
    rig = rest_copy(src)
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    return src, rig, scene_frames()


def test_heads_follow_the_tracks(solved):
    src, rig, frames = solved
    want, got = pose_points(src, frames), pose_points(rig, frames)
    height = np.ptp(want.reshape(-1, 3), axis=0).max()
    assert 100 * np.abs(got - want).max() / height < 0.01


def _dev_clips() -> list:
    """examples/*.bvh plus the shared dev clips when this machine has them."""
    found = {p.name: p for p in sorted((ROOT.parent / "shared" / "data" / "bvh").glob("*.bvh"))}
    found.update({p.name: p for p in sorted((ROOT / "examples").glob("*.bvh"))})
    return [pytest.param(p, id=name) for name, p in sorted(found.items())]


def _matches_the_command_line(path) -> None:
    """The same tracks (Import Tracks of the BVH: the core's FK joints and End Sites) solved in
    Blender and by the core alone give the same local rotations (<= 0.5 deg) and exact heads."""
    assert bpy.ops.pose2rot.import_tracks(filepath=str(path), collection_name="tracks") == {'FINISHED'}
    src = import_clip(path)
    rig = rest_copy(src)
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    frames = scene_frames()
    clip = read_bvh(path)
    core = solve(tracks_from_bvh(clip))
    names = [pb.name for pb in rig.pose.bones]
    order = [clip.skeleton.names.index(n) for n in names]
    M = np.array([np.array(rig.data.bones[n].matrix_local.to_3x3()) for n in names])
    L_blender = M[None] @ basis_rotations(rig, frames) @ np.swapaxes(M, -1, -2)[None]   # armature axes
    L_core = C @ core.rotations[:, order] @ C.T
    want = pose_points(src, frames)
    assert 100 * np.abs(pose_points(rig, frames) - want).max() / np.ptp(want.reshape(-1, 3), axis=0).max() < 0.01
    L_file = C @ clip.rotations[:, order] @ C.T
    assert abs(angle_deg(L_blender, L_file).mean() - angle_deg(L_core, L_file).mean()) < 0.05
    assert angle_deg(L_blender, L_core).max() <= 0.5


@pytest.mark.parametrize("path", _dev_clips())
def test_rotations_match_the_command_line(path):
    _matches_the_command_line(path)


def _swaying_motion(seed: int, frames: int, joints: int, degrees: float) -> str:
    """A BVH MOTION section after its 'MOTION' line: ``frames`` frames at 30 fps of a root at (0, 10, 0)
    and ``joints`` joints swaying by up to ``degrees`` on each axis, in sines of 0.2-0.6 Hz drawn
    with ``seed``."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None] / 30.0
    angles = degrees * np.sin(2.0 * np.pi * rng.uniform(0.2, 0.6, (joints, 3)) * t + rng.uniform(0, 6.3, (joints, 3)))
    rows = [" ".join(f"{v:.4f}" for v in np.concatenate([[0.0, 10.0, 0.0], a.ravel()])) for a in angles]
    return f"Frames: {frames}\nFrame Time: 0.0333333\n" + "\n".join(rows) + "\n"


def test_zero_length_end_sites_do_not_aim(tmp_path):
    """A hand whose children are zero-length joints with zero-length End Sites: Blender's importer
    lengthens those bones, but their tip tracks sit on the heads and must not aim the hand."""
    text = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Leg
  {
    OFFSET 0 -4 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    End Site
    {
      OFFSET 0 -5 0
    }
  }
  JOINT Arm
  {
    OFFSET 5 0 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT Hand
    {
      OFFSET 3.5 0 0
      CHANNELS 3 Zrotation Yrotation Xrotation
      JOINT FingerBase
      {
        OFFSET 0 0 0
        CHANNELS 3 Zrotation Yrotation Xrotation
        JOINT Index1
        {
          OFFSET 0.7 0 0
          CHANNELS 3 Zrotation Yrotation Xrotation
          End Site
          {
            OFFSET 0 0 0
          }
        }
      }
      JOINT Thumb
      {
        OFFSET 0 0 0
        CHANNELS 3 Zrotation Yrotation Xrotation
        End Site
        {
          OFFSET 0 0 0
        }
      }
    }
  }
}
MOTION
"""
    path = tmp_path / "zero_tips.bvh"
    path.write_text(text + _swaying_motion(4, 60, 7, 40.0))
    _matches_the_command_line(path)


def test_quaternion_keys_are_continuous_and_bulk(solved):
    _, rig, frames = solved
    action = rig.animation_data.action
    assert action.get("pose2rot")
    fp = action_fingerprint(action)
    q = np.stack([np.stack([fp[(f'pose.bones["{pb.name}"].rotation_quaternion', i)][1::2] for i in range(4)], -1)
                  for pb in rig.pose.bones], 1)                          # [T,J,4]
    assert q.shape[:2] == (len(frames), len(rig.pose.bones))
    assert (np.sum(q[1:] * q[:-1], -1) > 0).all()
    assert (f'pose.bones["{rig.pose.bones[0].name}"].location', 0) in fp   # the root moves


def test_keys_are_linear_grouped_by_bone_with_computed_handles(solved):
    """Every key LINEAR (written in bulk as unsigned bytes), each bone's curves in the channel group
    of its name, handles computed by ``update()`` (not left at the origin)."""
    _, rig, frames = solved
    curves = keys.object_fcurves(rig)
    assert len(curves) >= 4 * len(rig.pose.bones)
    for fc in curves:
        n = len(fc.keyframe_points)
        assert n == len(frames)
        interpolation = np.empty(n, np.int32)
        fc.keyframe_points.foreach_get("interpolation", interpolation)
        assert (interpolation == LINEAR).all()
        assert {fc.keyframe_points[0].interpolation, fc.keyframe_points[-1].interpolation} == {'LINEAR'}
        assert fc.group is not None and fc.data_path.startswith(f'pose.bones["{fc.group.name}"].')
        co, handle = np.empty(2 * n, np.float32), np.empty(2 * n, np.float32)
        fc.keyframe_points.foreach_get("co", co)
        fc.keyframe_points.foreach_get("handle_left", handle)
        assert (handle[2::2] < co[2::2]).all() and (handle[2::2] > co[0:-2:2]).all()


def test_existing_actions_untouched_and_previous_restorable(capfd):
    """The rig's own action is kept (fake user) by the first solve and given back by Restore; a
    re-solve keeps the earlier solve too, with its edits, and says so (each solve's action piled up
    in the file without a word)."""
    src = import_clip(frames=60)
    track_empties(src)
    rig = rest_copy(src)
    other = src.animation_data.action
    before_other = action_fingerprint(other)
    rig.animation_data_create().action = other          # the rig already plays the clip's action
    for pb in rig.pose.bones:
        pb.rotation_mode = 'ZXY'
    modes = {pb.name: pb.rotation_mode for pb in rig.pose.bones}
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    assert rig.animation_data.action != other and other.use_fake_user
    after = action_fingerprint(other)
    assert after.keys() == before_other.keys()
    assert all(np.array_equal(after[k], before_other[k]) for k in after)
    first = rig.animation_data.action
    first["hand edit"] = 1
    capfd.readouterr()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}   # solve again
    assert f"the earlier solve's action '{first.name}' stays in the file (fake user" in capfd.readouterr().out
    assert rig.animation_data.action != first and first.use_fake_user  # the earlier solve stays in the file
    assert bpy.data.actions.get(first.name) == first and first.get("hand edit") == 1
    assert bpy.ops.pose2rot.restore_action() == {'FINISHED'}
    assert rig.animation_data.action == other and not other.use_fake_user  # as it was: no fake user
    assert {pb.name: pb.rotation_mode for pb in rig.pose.bones} == modes
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    rig.animation_data.action = None                    # unlinked between two solves
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    assert bpy.ops.pose2rot.restore_action() == {'FINISHED'}
    assert rig.animation_data.action == other            # still the one from before the first solve


def test_a_pose_set_by_hand_comes_back_with_restore(capfd):
    """A rig without an action, posed by hand (a moved, scaled, Euler-turned root and a quaternion
    arm): solving keys over it, Restore Previous Action gives that pose back, and says the solved
    action is kept (it said "removed the solved action")."""
    src = import_clip(frames=20)
    track_empties(src)
    rig = rest_copy(src)
    root, arm = rig.pose.bones[0], rig.pose.bones[5]
    root.location, root.scale, root.rotation_mode, root.rotation_euler = (1, 2, 3), (2, 2, 2), 'XYZ', (0.3, 0.2, 0.1)
    arm.rotation_mode, arm.rotation_quaternion = 'QUATERNION', (0.9, 0.1, 0.3, 0.0)
    posed = [(tuple(pb.location), tuple(pb.scale), tuple(pb.rotation_euler), tuple(pb.rotation_quaternion),
              pb.rotation_mode) for pb in (root, arm)]
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    assert tuple(root.location) != posed[0][0]
    solved = rig.animation_data.action.name
    capfd.readouterr()
    assert bpy.ops.pose2rot.restore_action() == {'FINISHED'}
    assert rig.animation_data.action is None and bpy.data.actions.get(solved) is not None
    assert f"the armature had no action before: it has none now; the solved action '{solved}' is kept" in \
        capfd.readouterr().out
    back = [(tuple(pb.location), tuple(pb.scale), tuple(pb.rotation_euler), tuple(pb.rotation_quaternion),
             pb.rotation_mode) for pb in (root, arm)]
    np.testing.assert_allclose([x for b in back for v in b[:4] for x in v],
                               [x for b in posed for v in b[:4] for x in v], atol=1e-6)
    assert [b[4] for b in back] == [b[4] for b in posed]


def test_undo_restores_the_previous_state():
    """Operators called from Python push no undo step (Blender skips nested pushes), so the test
    pushes the step the UI pushes after an UNDO operator, then undoes it."""
    src = import_clip(frames=30)
    track_empties(src)
    rest_copy(src)
    n_actions = len(bpy.data.actions)
    bpy.ops.ed.undo_push(message="before solve")
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    assert len(bpy.data.actions) == n_actions + 1
    bpy.ops.ed.undo_push(message="Solve Rotations")
    assert bpy.ops.ed.undo() == {'FINISHED'}
    rig = bpy.data.objects["Rig"]                        # undo reloads data: fetch again
    assert rig.animation_data is None or rig.animation_data.action is None
    assert len(bpy.data.actions) == n_actions


def test_animation_no_track_tells_is_carried_over():
    """Fingers keyed by hand, whose empties are gone, and channels the solve does not write (a
    custom property) keep their keys in the solved action; a finger without keys and every tracked
    bone are the solve's (before, the curl and the property were dropped: rest-pose quaternions
    replaced the fingers' keys)."""
    src = import_clip(frames=20)
    track_empties(src)
    for name in ("lIndex1", "lIndex2", "lIndex2_end", "lMid1", "lMid2", "lMid2_end"):
        bpy.data.objects.remove(bpy.data.objects[name])
    rig = rest_copy(src)
    finger = rig.pose.bones["lIndex1"]
    finger.rotation_mode = 'XYZ'
    for frame, curl in ((1, 0.2), (10, 1.1), (20, 0.4)):
        finger.rotation_euler = (curl, 0.0, 0.3)
        finger.keyframe_insert("rotation_euler", frame=frame)
    rig["grip"] = 0.0
    rig.keyframe_insert('["grip"]', frame=1)
    rig["grip"] = 1.0
    rig.keyframe_insert('["grip"]', frame=20)
    spread = next(fc for fc in keys.object_fcurves(rig) if fc.data_path.endswith("rotation_euler") and fc.array_index == 2)
    spread.modifiers.new('CYCLES')
    spread.mute = True
    old = rig.animation_data.action
    old.use_frame_range, old.frame_start, old.frame_end = True, 10, 15  # the old clip's range
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    assert tuple(rig.animation_data.action.frame_range) == (1.0, 20.0)  # the solve's, not the old one's
    curves = {(fc.data_path, fc.array_index): fc for fc in keys.object_fcurves(rig)}
    curl = curves[('pose.bones["lIndex1"].rotation_euler', 0)]
    assert [tuple(k.co) for k in curl.keyframe_points] == [(1, pytest.approx(0.2)), (10, pytest.approx(1.1)),
                                                          (20, pytest.approx(0.4))]
    assert finger.rotation_mode == 'XYZ'
    assert ('pose.bones["lIndex1"].rotation_quaternion', 0) not in curves
    assert ('pose.bones["lMid1"].rotation_quaternion', 0) in curves  # no keys of its own: the reference
    assert ('pose.bones["lHand"].rotation_quaternion', 0) in curves
    assert ('["grip"]', 0) in curves
    spread = curves[('pose.bones["lIndex1"].rotation_euler', 2)]
    assert spread.mute and [m.type for m in spread.modifiers] == ['CYCLES']  # kept as it was
    bpy.context.scene.frame_set(10)
    assert finger.rotation_euler[0] == pytest.approx(1.1) and rig["grip"] == pytest.approx(9 / 19, abs=0.05)
    hand = pose_points(rig, np.array([10]))[0, [pb.name for pb in rig.pose.bones].index("lHand")]
    assert np.linalg.norm(hand - np.array(bpy.data.objects["lHand"].matrix_world.translation)) < 1e-4


def test_animation_no_track_tells_that_an_nla_strip_holds_still_plays():
    """Fingers keyed by hand in an action pushed down to an NLA strip (no active action), their
    empties gone: the solved action keyed them at their reference rotation, which overrode the
    strip, so the curl vanished with no word. The solved action leaves them to the strip now (no
    keys of its own on them), the report says they keep their animation, the tracked bones follow."""
    src = import_clip(frames=20)
    track_empties(src)
    for name in ("lIndex1", "lIndex2", "lIndex2_end"):
        bpy.data.objects.remove(bpy.data.objects[name])
    rig = rest_copy(src)
    finger = rig.pose.bones["lIndex1"]
    finger.rotation_mode = 'QUATERNION'
    for frame, curl in ((1, 0.0), (20, 0.6)):
        finger.rotation_quaternion = (np.cos(curl / 2), np.sin(curl / 2), 0.0, 0.0)
        finger.keyframe_insert("rotation_quaternion", frame=frame)
    ad = rig.animation_data
    ad.nla_tracks.new().strips.new("curl", 1, ad.action)
    ad.action = None
    scene = bpy.context.scene
    plan, _ = pipeline.solve_armature(scene, rig, bpy.data.collections["tracks"],
                                      pipeline.SceneRange(frame_start=1, frame_end=20),
                                      SolveOptions(use_reference=False), pipeline.LearnedSettings())
    assert "lIndex1 keeps the animation it had: no track below it tells its pose" in plan.report, plan.report
    assert not any(fc.data_path.startswith('pose.bones["lIndex1"]') for fc in keys.object_fcurves(rig))
    scene.frame_set(20)
    assert tuple(finger.rotation_quaternion) == pytest.approx((np.cos(0.3), np.sin(0.3), 0.0, 0.0), abs=1e-5)
    hand = pose_points(rig, np.array([20]))[0, [pb.name for pb in rig.pose.bones].index("lHand")]
    assert np.linalg.norm(hand - np.array(bpy.data.objects["lHand"].matrix_world.translation)) < 1e-4


def test_a_bone_that_translates_to_its_own_empty_is_solved_though_nothing_is_below_it():
    """An eye without a tip, its empty moved off the bone: the solve translates it onto its empty
    on a re-solve too (its rotation is free, its location is not: the earlier solve's keys must not
    be kept for it)."""
    src = import_clip(frames=10)
    track_empties(src, ends=False)
    rig = rest_copy(src)
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", bone_lengths='EXACT') == {'FINISHED'}
    eye = bpy.data.objects["leftEye"]
    for fc in keys.object_fcurves(eye):
        if fc.data_path == "location" and fc.array_index == 0:
            for k in fc.keyframe_points:
                k.co[1] += 0.3
                k.handle_left[1] += 0.3
                k.handle_right[1] += 0.3
            fc.update()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", bone_lengths='EXACT') == {'FINISHED'}
    head = pose_points(rig, np.array([5]))[0, [pb.name for pb in rig.pose.bones].index("leftEye")]
    assert np.linalg.norm(head - np.array(eye.matrix_world.translation)) < 1e-4



def _hand_fan_clip(path):
    """A BVH whose wrist has three End Sites in a fan (a keypoint converter's hand), written at path."""
    fan = "".join(f"\n      End Site\n      {{\n        OFFSET {x} {y} 0\n      }}" for x, y in ((2, 0), (0, 2), (-2, 0)))
    text = f"""HIERARCHY
ROOT Hips
{{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Arm
  {{
    OFFSET 0 5 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT Wrist
    {{
      OFFSET 0 4 0
      CHANNELS 3 Zrotation Yrotation Xrotation{fan}
    }}
  }}
}}
MOTION
"""
    path.write_text(text + _swaying_motion(7, 40, 3, 35.0))
    return path


def _tail_off_empty(rig, bone: str, empty) -> float:
    """The farthest, over the scene's frames, that ``bone``'s tail of ``rig`` is from ``empty``, in
    % of the rig's height."""
    frames = scene_frames()
    tails = pose_points(rig, frames, "tail")[:, [pb.name for pb in rig.pose.bones].index(bone)]
    want = np.empty_like(tails)
    for i, f in enumerate(frames):
        bpy.context.scene.frame_set(int(f))
        want[i] = empty.matrix_world.translation
    height = np.ptp(pose_points(rig, frames).reshape(-1, 3), axis=0).max()
    return 100 * float(np.abs(tails - want).max()) / height


def test_a_joint_with_several_end_sites_aims_its_tail_at_the_last(tmp_path):
    """Blender's BVH importer puts a bone's tail on its joint's last End Site, and Import Tracks names
    a joint's End Sites ``<joint>_end``, ``_end2``, ``_end3`` in file order: a wrist with three
    (a keypoint converter's fan) had its tail aimed at the first, 90 degrees from where it rests, so
    the wrist came out turned and the elbow twisted to follow, with no warning. The tail now lands on
    the last End Site's empty."""
    path = _hand_fan_clip(tmp_path / "fan.bvh")
    assert bpy.ops.pose2rot.import_tracks(filepath=str(path), collection_name="tracks") == {'FINISHED'}
    rig = rest_copy(import_clip(path))
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    assert _tail_off_empty(rig, "Wrist", bpy.data.objects["Wrist_end3"]) < 0.01
    panel = importlib.import_module(EXT_NAME + ".panel")  # the panel lists the other two as used, not "Unused"
    assert panel._match_summary(rig, bpy.data.collections["tracks"]).unmatched_tracks == []


def test_the_other_end_sites_of_a_joint_aim_it_as_on_the_command_line(tmp_path):
    """The End Sites Blender's importer drops (all but a joint's last) still tell the wrist's roll:
    Import Tracks keeps their rest offsets, and where the armature's tail is the file's last End
    Site (the armature is that file's skeleton) they aim the wrist with it, as the command line's
    three tips do (before: the wrist's roll a guess, 180 degrees off on a keypoint clip)."""
    _matches_the_command_line(_hand_fan_clip(tmp_path / "fan.bvh"))


def _prop_in_hand_clip(path):
    """A BVH whose wrist has a child joint (a prop held in the hand) and an End Site of its own along
    the forearm (an Xsens export), written at path."""
    text = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
  JOINT Elbow
  {
    OFFSET 5 0 0
    CHANNELS 3 Yrotation Xrotation Zrotation
    JOINT Wrist
    {
      OFFSET 4 0 0
      CHANNELS 3 Yrotation Xrotation Zrotation
      JOINT Prop
      {
        OFFSET 1.5 -0.5 1
        CHANNELS 3 Yrotation Xrotation Zrotation
        End Site
        {
          OFFSET 0 0 6
        }
      }
      End Site
      {
        OFFSET 3 0 0
      }
    }
  }
}
MOTION
"""
    path.write_text(text + _swaying_motion(11, 40, 4, 35.0))
    return path


def test_the_end_site_of_a_joint_with_children_aims_its_tail(tmp_path):
    """An End Site on a joint with children (an Xsens wrist holding a prop joint): Blender's importer
    makes it the wrist's tail, but only leaf bones took their ``<bone>_end`` empty, so the wrist's
    roll about its prop was a guess and its tail came out ~5 % of the height off its End Site (Import
    Tracks + Solve and the batch; the command line exact). Where Import Tracks kept that End Site's
    rest offset and it is the bone's tail, the tail now follows its empty, as on the command line."""
    path = _prop_in_hand_clip(tmp_path / "prop.bvh")
    _matches_the_command_line(path)
    rig = bpy.data.objects["Rig"]
    assert [c.name for c in rig.data.bones["Wrist"].children] == ["Prop"]
    assert _tail_off_empty(rig, "Wrist", bpy.data.objects["Wrist_end"]) < 0.01


def test_a_joint_with_children_keeps_its_tip_empty_off_a_tail_elsewhere(tmp_path):
    """The other side of the rule above: where a bone with children has its tail somewhere else
    than the End Site Import Tracks kept (here moved onto its child), the ``<bone>_end`` empty would
    aim it at the wrong point: it stays unused, and a leaf bone's tip empty is matched as before."""
    path = _prop_in_hand_clip(tmp_path / "prop.bvh")
    assert bpy.ops.pose2rot.import_tracks(filepath=str(path), collection_name="tracks") == {'FINISHED'}
    rig = rest_copy(import_clip(path))
    tracks = bpy.data.collections["tracks"]
    rig_io = importlib.import_module(EXT_NAME + ".rig")
    objects = list(tracks.all_objects)
    assert pipeline.match_rig(rig_io.read_rig(rig), objects, tracks).end_to_track == {
        "Prop": "Prop_end", "Wrist": "Wrist_end"}
    bpy.ops.object.mode_set(mode='EDIT')
    bone = rig.data.edit_bones["Wrist"]
    bone.tail = rig.data.edit_bones["Prop"].head
    bpy.ops.object.mode_set(mode='OBJECT')
    match = pipeline.match_rig(rig_io.read_rig(rig), objects, tracks)
    assert match.end_to_track == {"Prop": "Prop_end"} and "Wrist_end" in match.unmatched_tracks



def test_the_panel_lists_no_tip_empty_the_solve_uses_as_unused(tmp_path):
    """The panel's match summary took tip empties on leaf bones only: on an Xsens-style wrist (a prop
    joint below it, its own End Site its tail) it listed 'Wrist_end' as Unused while the solve aims
    the wrist with it. It now matches as the solve does (pipeline.match_rig), and follows the rig:
    with the wrist's tail moved onto the prop the solve leaves the empty unused, and so does the panel."""
    path = _prop_in_hand_clip(tmp_path / "prop.bvh")
    assert bpy.ops.pose2rot.import_tracks(filepath=str(path), collection_name="tracks") == {'FINISHED'}
    rig = rest_copy(import_clip(path))
    tracks = bpy.data.collections["tracks"]
    panel = importlib.import_module(EXT_NAME + ".panel")
    summary = panel._match_summary(rig, tracks)
    assert summary.end_to_track == {"Prop": "Prop_end", "Wrist": "Wrist_end"} and summary.unmatched_tracks == []
    assert panel.status_line(bpy.context.scene, rig, tracks)[0] == "Matched 4 of 4 bones, 2 tips"
    bpy.ops.object.mode_set(mode='EDIT')
    rig.data.edit_bones["Wrist"].tail = rig.data.edit_bones["Prop"].head
    bpy.ops.object.mode_set(mode='OBJECT')
    summary = panel._match_summary(rig, tracks)
    assert summary.end_to_track == {"Prop": "Prop_end"} and summary.unmatched_tracks == ["Wrist_end"]


def test_the_panel_reads_no_rig_in_edit_mode(tmp_path, monkeypatch):
    """The panel draws while an armature is in Edit Mode, where reading the rig syncs the edited bones
    (update_from_editmode), which a panel's drawing must not do: there it matches by name."""
    path = _prop_in_hand_clip(tmp_path / "prop.bvh")
    assert bpy.ops.pose2rot.import_tracks(filepath=str(path), collection_name="tracks") == {'FINISHED'}
    rig = rest_copy(import_clip(path))
    panel = importlib.import_module(EXT_NAME + ".panel")
    panel._MATCH_CACHE.clear()
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode='EDIT')
    monkeypatch.setattr(panel.rig_io, "read_rig", lambda arm: pytest.fail("read the rig in Edit Mode"))
    summary = panel._match_summary(rig, bpy.data.collections["tracks"])
    assert summary.end_to_track == {"Prop": "Prop_end"}
    bpy.ops.object.mode_set(mode='OBJECT')


def test_float32_tracks_far_from_the_origin_write_no_location_keys():
    """Blender keeps positions in float32: a body 1.4 units tall 1000 units out has its empties
    rounded by up to 3e-5 units (2e-5 of its height), which moved the offsets of its joints by more
    than the clean tolerance (1e-5 of the height): 20-odd bones got tiny location keys and the
    report said they were 'put on the track by translation'. Now only the root bone translates, and
    the bones stay on their empties to a few float32 steps (what Blender's own heads there hold)."""
    src = import_clip(frames=60)
    frames = scene_frames()
    height = float(np.ptp(pose_points(src, frames[:1]).reshape(-1, 3), axis=0).max())
    src.location.x = 1000.0 * height / 1.4
    bpy.context.view_layer.update()
    col = track_empties(src)
    rig = rest_copy(src)
    rig.location = (0.0, 0.0, 0.0)                     # the root bone walks out to the tracks
    bpy.context.view_layer.update()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection=col.name) == {'FINISHED'}
    located = {fc.data_path for fc in keys.object_fcurves(rig) if fc.data_path.endswith(".location")}
    assert located == {f'pose.bones["{rig.pose.bones[0].name}"].location'}
    want = np.empty((len(frames), len(rig.pose.bones), 3))
    names = [pb.name for pb in rig.pose.bones]
    for i, f in enumerate(frames):
        bpy.context.scene.frame_set(int(f))
        want[i] = [col.objects[n].matrix_world.translation for n in names]
    step = float(np.spacing(np.float32(np.abs(want).max())))  # Blender's own heads there: float32 too
    assert np.abs(pose_points(rig, frames) - want).max() <= 4 * step


def test_float32_tracks_of_a_moved_scaled_armature_write_no_location_keys():
    """The armature itself far from the origin and scaled (a centimetre rig at 0.01, 1000 units out):
    its empties are float32 numbers in the world, but the solve reads them in armature space, where
    their rounding (up to 3e-5 world units, 3e-3 of the rig's centimetres) is no longer told by the
    numbers, so 20-odd bones got tiny location keys ('put on the track by translation'). The read
    now hands the core the float32 step in armature units: only the root bone translates, and the
    bones stay on their empties to a few float32 steps (what Blender's own heads there hold), within
    0.01 % of the height (measured: 1 to 1.4 steps, 0.004-0.006 %)."""
    src = import_clip(frames=60)
    src.scale = (0.01,) * 3
    src.location.x = 1000.0
    bpy.context.view_layer.update()
    col = track_empties(src)
    rig = rest_copy(src)
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection=col.name) == {'FINISHED'}
    located = {fc.data_path for fc in keys.object_fcurves(rig) if fc.data_path.endswith(".location")}
    assert located == {f'pose.bones["{rig.pose.bones[0].name}"].location'}
    frames = scene_frames()
    names = [pb.name for pb in rig.pose.bones]
    want = np.empty((len(frames), len(names), 3))
    for i, f in enumerate(frames):
        bpy.context.scene.frame_set(int(f))
        want[i] = [col.objects[n].matrix_world.translation for n in names]
    err = float(np.abs(pose_points(rig, frames) - want).max())
    step = float(np.spacing(np.float32(np.abs(want).max())))  # Blender's own heads there: float32 too
    assert err <= 4 * step and 100 * err / np.ptp(want.reshape(-1, 3), axis=0).max() < 0.01


def test_the_panel_counts_one_tip_in_the_singular():
    """The panel's box read 'Matched 4 of 4 bones, 1 tips' for the shipped arm's tracks (one bone tip,
    'hand_end'); one tip is '1 tip'."""
    path = ROOT / "examples" / "arm.bvh"
    assert bpy.ops.pose2rot.import_tracks(filepath=str(path), collection_name="tracks") == {'FINISHED'}
    rig = rest_copy(import_clip(path))
    panel = importlib.import_module(EXT_NAME + ".panel")
    assert panel.status_line(bpy.context.scene, rig, bpy.data.collections["tracks"])[0] == "Matched 4 of 4 bones, 1 tip"
