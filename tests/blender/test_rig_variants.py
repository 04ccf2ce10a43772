"""Any armature: bone roll, object rotation + uniform scale, bone flags (checked against core FK)."""
from __future__ import annotations

import importlib
import re

import bpy
import numpy as np
from mathutils import Matrix

from blender_helpers import (EXT_NAME, action_fcurves, angle_deg, import_clip, pose_points, rest_copy, scene_frames,
                             track_empties)
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.rotations import quat_to_matrix
from pose2rot_core.solution import Solution

pipeline = importlib.import_module(EXT_NAME + ".pipeline")
rig_io = importlib.import_module(EXT_NAME + ".rig")


def _pose_globals(obj, frames):
    """Armature-space joint orientations G_j = A_j M_j^T [T,N,3,3] (pose.bones order)."""
    scene = bpy.context.scene
    n = len(obj.pose.bones)
    M = np.array([np.array(obj.data.bones[pb.name].matrix_local.to_3x3()) for pb in obj.pose.bones])
    buf = np.empty(16 * n, np.float32)
    out = np.empty((len(frames), n, 3, 3))
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        obj.pose.bones.foreach_get("matrix", buf)
        out[t] = buf.reshape(n, 4, 4).transpose(0, 2, 1)[:, :3, :3] @ np.swapaxes(M, -1, -2)
    return out


def _height(points):
    return np.ptp(points.reshape(-1, 3), axis=0).max()


def test_arbitrary_bone_roll_gives_the_same_joint_rotations():
    src = import_clip(frames=40)
    track_empties(src)
    plain = rest_copy(src, "Plain")
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    rolled = rest_copy(src, "Rolled")
    bpy.ops.object.mode_set(mode='EDIT')
    rng = np.random.default_rng(0)
    for eb in rolled.data.edit_bones:
        eb.roll = float(rng.uniform(-np.pi, np.pi))
    bpy.ops.object.mode_set(mode='OBJECT')
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    frames = scene_frames()
    want = pose_points(src, frames)
    assert 100 * np.abs(pose_points(rolled, frames) - want).max() / _height(want) < 0.01
    leaves = [i for i, pb in enumerate(src.pose.bones) if not pb.children]
    tails = pose_points(src, frames, "tail")[:, leaves]
    assert 100 * np.abs(pose_points(rolled, frames, "tail")[:, leaves] - tails).max() / _height(want) < 0.01
    assert angle_deg(_pose_globals(rolled, frames), _pose_globals(plain, frames)).max() < 0.2   # float32 rest matrices


def test_rotated_uniformly_scaled_object():
    src = import_clip(frames=40)
    frames = scene_frames()
    track_empties(src, "plain_tracks")
    plain = rest_copy(src, "Plain")
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="plain_tracks") == {'FINISHED'}
    xf = Matrix.Translation((3.0, -2.0, 1.0)) @ Matrix.Rotation(0.7, 4, (0.3, 0.5, 0.8)) @ Matrix.Scale(0.02, 4)
    src.matrix_world = xf
    bpy.context.view_layer.update()
    track_empties(src, "moved_tracks")
    moved = rest_copy(src, "Moved")
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="moved_tracks") == {'FINISHED'}
    want = pose_points(src, frames)
    assert 100 * np.abs(pose_points(moved, frames) - want).max() / _height(want) < 0.01
    assert angle_deg(_pose_globals(moved, frames), _pose_globals(plain, frames)).max() < 0.2   # float32 rest matrices


def _hand_rig():
    """Root - a (rolled) - b (connected) ; a - c (no inherit rotation) - d (no local location)."""
    arm = bpy.data.armatures.new("Hand")
    obj = bpy.data.objects.new("Hand", arm)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode='EDIT')
    spec = [("root", None, (0, 0, 0), (0, 0.2, 1), 0.3, False),
            ("a", "root", (0.1, 0.3, 1.2), (0.5, 0.2, 1.9), 1.1, False),
            ("b", "a", (0.5, 0.2, 1.9), (0.9, -0.1, 2.3), -0.7, True),
            ("c", "a", (-0.3, 0.4, 1.5), (-0.8, 0.1, 1.8), 2.0, False),
            ("d", "c", (-0.9, 0.2, 2.0), (-1.2, 0.6, 2.4), -2.5, False)]
    for name, parent, head, tail, roll, connect in spec:
        eb = arm.edit_bones.new(name)
        eb.head, eb.tail, eb.roll = head, tail, roll
        if parent:
            eb.parent = arm.edit_bones[parent]
            eb.use_connect = connect
    bpy.ops.object.mode_set(mode='OBJECT')
    arm.bones["c"].use_inherit_rotation = False
    arm.bones["d"].use_local_location = False
    bpy.context.view_layer.update()
    return obj


def test_bone_flags_match_core_forward_kinematics():
    """Random rotations + root and 'd' translations written through the plan reproduce core FK
    (heads and joint orientations) with rolls, a connected bone, no inherited rotation and no
    local location."""
    obj = _hand_rig()
    rig = rig_io.read_rig(obj)
    skel = rig.skeleton
    T, J = 12, skel.num_joints
    rng = np.random.default_rng(3)
    R = quat_to_matrix(rng.normal(size=(T, J, 4)))
    offsets = np.broadcast_to(skel.offsets, (T, J, 3)).copy()
    d = skel.names.index("d")
    offsets[:, d] += rng.normal(scale=0.2, size=(T, 3))
    translating = np.zeros(J, bool)
    translating[d] = True
    sol = Solution(skeleton=skel, rotations=R, root_translation=rng.normal(size=(T, 3)),
                   local_offsets=offsets, translating=translating)
    from pose2rot_core import blender_space as convert
    idx, locs = convert.location_channels(sol, rig.rest, 1e-9)
    plan = pipeline.Plan(armature=obj.name, bone_names=skel.names, frames=np.arange(1, T + 1),
                         quaternions=convert.basis_quaternions(sol, rig.rest), location_bones=idx, locations=locs)
    pipeline.apply_plan(obj, plan)
    G, P = forward_kinematics(skel, R, sol.root_translation, offsets)
    frames = np.arange(1, T + 1)
    order = [skel.names.index(pb.name) for pb in obj.pose.bones]
    assert np.abs(pose_points(obj, frames) - P[:, order]).max() < 1e-4
    assert angle_deg(_pose_globals(obj, frames), G[:, order]).max() < 0.2   # float32 rest matrices


def _shrunk_copy(src, name: str, factor: float):
    """A rest copy whose bones are all ``factor`` times as long (about the root's head)."""
    rig = rest_copy(src, name)
    bpy.ops.object.mode_set(mode='EDIT')
    origin = rig.data.edit_bones[0].head.copy()
    for eb in rig.data.edit_bones:
        eb.head = origin + factor * (eb.head - origin)
        eb.tail = origin + factor * (eb.tail - origin)
    bpy.ops.object.mode_set(mode='OBJECT')
    bpy.context.view_layer.update()
    return rig


def test_smaller_rig_keeps_its_bone_lengths_and_takes_the_rotations():
    """Retargeting: tracks of a performer larger than the rig. By default the rig keeps its bone
    lengths (location keys on the root only) and its bones point where the tracks' bones do;
    'Match the tracks' translates the bones that can move instead."""
    src = import_clip(frames=30)
    track_empties(src)
    frames = scene_frames()
    plain = rest_copy(src, "Plain")
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    small = _shrunk_copy(src, "Small", 0.8)
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    paths = {fc.data_path for fc in action_fcurves(small.animation_data.action)}
    moved = {p for p in paths if p.endswith(".location")}
    assert moved == {f'pose.bones["{small.pose.bones[0].name}"].location'}, moved
    assert angle_deg(_pose_globals(small, frames), _pose_globals(plain, frames)).max() < 0.2
    exact = _shrunk_copy(src, "Exact", 0.8)
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", bone_lengths='EXACT') == {'FINISHED'}
    exact_paths = {fc.data_path for fc in action_fcurves(exact.animation_data.action)}
    assert len({p for p in exact_paths if p.endswith(".location")}) > 1


def test_the_report_names_every_bone_off_its_rest_length_worst_first(capfd):
    """A rig 0.8 times the tracks' size keeps its bone lengths, and the operator's report said so
    naming only the worst bone; it now names the furthest four, the worst first, each with how far
    it is off, and counts the rest, in the panel's words."""
    src = import_clip(frames=30)
    track_empties(src)
    _shrunk_copy(src, "Small", 0.8)
    capfd.readouterr()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    notes = [line for line in capfd.readouterr().out.splitlines() if "bones differ from their rest length (" in line]
    assert len(notes) == 1, notes
    figures = [float(f) for f in re.findall(r"'[^']+' by ([\d.]+) %", notes[0])]
    assert len(figures) == 4 and figures == sorted(figures, reverse=True) and " more bones): " in notes[0], notes
    assert notes[0].endswith("(Bone lengths: Match the tracks moves them onto the tracks)"), notes
