"""The operator's Blender stages done in bulk: the empties' keys read once (and their keyed range
taken from them), the solved bones' pose reset with foreach_set, the keys' values gathered per curve."""
from __future__ import annotations

import importlib

import bpy
import numpy as np
from mathutils import Euler

from blender_helpers import EXT_NAME, import_clip, rest_copy

empties = importlib.import_module(EXT_NAME + ".empties")
keys = importlib.import_module(EXT_NAME + ".keys")
pipeline = importlib.import_module(EXT_NAME + ".pipeline")


def _keyed_empty(name: str, frames: np.ndarray) -> bpy.types.Object:
    obj = bpy.data.objects.new(name, None)
    bpy.context.scene.collection.objects.link(obj)
    keys.ActionWriter(obj, name).write_channels("location", "Location", frames, np.zeros((len(frames), 3)))
    return obj


def test_curve_keys_range_is_what_fcurve_range_gives():
    """First and last key of every curve, as FCurve.range() takes them: keys left out of time order
    (written without update()) count by their place; a curve without keys counts for nothing
    (Blender skips it, so the empty keeps its own value there; FCurve.range() gives it 0..0)."""
    plain = _keyed_empty("plain", np.array([3.0, 4.0, 5.0]))
    odd = _keyed_empty("odd", np.array([1.0, 2.0, 3.0]))
    x, y, z = sorted(keys.object_fcurves(odd), key=lambda fc: fc.array_index)
    x.keyframe_points.foreach_set("co", np.array([7, 0, 2, 0, 9, 0], np.float32))     # middle key before the first
    y.keyframe_points.foreach_set("co", np.array([6, 0, 8, 0, 4, 0], np.float32))     # last key before the first
    while len(z.keyframe_points):
        z.keyframe_points.remove(z.keyframe_points[0])
    for objects in ([plain], [odd], [plain, odd]):
        got = empties.CurveKeys(empties.found_curves(empties.vetted_curves(objects))).range()
        assert got == empties.keyed_range(objects)
    assert empties.CurveKeys(empties.found_curves(empties.vetted_curves([odd]))).range() == (6.0, 9.0)
    assert empties.CurveKeys([]).range() is None


def test_reset_pose_in_bulk_turns_only_the_solved_bones():
    """Every bone but the kept one: quaternion mode holding the pose it had (the mode's setter turns
    the Euler rotation), no location, unit scale; the kept bone exactly as it was."""
    rig = rest_copy(import_clip(frames=2))
    pbones = rig.pose.bones
    for i, pb in enumerate(pbones):
        pb.rotation_mode = 'YZX'
        pb.rotation_euler = (0.1 * i, -0.2, 0.3)
        pb.location = (1.0, i, 2.0)
        pb.scale = (2.0, 3.0, 0.5)
    kept = pbones[1].name
    pipeline._reset_pose(pbones, {kept})
    for i, pb in enumerate(pbones):
        if pb.name == kept:
            assert pb.rotation_mode == 'YZX'
            assert tuple(pb.location) == (1.0, 1.0, 2.0) and tuple(pb.scale) == (2.0, 3.0, 0.5)
            continue
        assert pb.rotation_mode == 'QUATERNION'
        want = Euler((0.1 * i, -0.2, 0.3), 'YZX').to_quaternion()
        assert np.allclose(tuple(pb.rotation_quaternion), tuple(want), atol=1e-6)
        assert tuple(pb.location) == (0.0, 0.0, 0.0) and tuple(pb.scale) == (1.0, 1.0, 1.0)


def test_plan_channels_hold_each_bones_own_values():
    """Quaternion curves bone by bone, location curves after their bone's, kept bones left out; each
    curve's values exactly the plan's column for it, a bone's quaternions times its sign (those that
    join the keys kept beside the solved frames, carry.joined_signs)."""
    rng = np.random.default_rng(3)
    T, names = 5, ("root", 'arm "L"', "hand")
    plan = pipeline.Plan(armature="Rig", bone_names=names, frames=np.arange(1, T + 1),
                         quaternions=rng.normal(size=(T, 3, 4)), location_bones=np.array([0, 2]),
                         locations=rng.normal(size=(T, 2, 3)))
    channels, frames, values = pipeline._plan_channels(plan, {"arm \"L\""}, np.array([1.0, 1.0, -1.0]))
    assert [(p.rsplit(".", 1)[-1], c, g) for p, c, g in channels] == (
        [("rotation_quaternion", c, "root") for c in range(4)] + [("location", c, "root") for c in range(3)]
        + [("rotation_quaternion", c, "hand") for c in range(4)] + [("location", c, "hand") for c in range(3)])
    assert channels[7][0] == 'pose.bones["hand"].rotation_quaternion'
    want = np.concatenate([plan.quaternions[:, 0], plan.locations[:, 0], -plan.quaternions[:, 2],
                           plan.locations[:, 1]], axis=1)
    assert np.array_equal(frames, plan.frames) and np.array_equal(values, want)
