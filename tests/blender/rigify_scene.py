"""Child process of test_rigify.py: Rigify's human metarig, the rig generated from it and the CMU walk's
empties; runs Automatic Map and Solve Rotations on the armatures named on the command line and prints
one JSON line per attempt. Blender 4.2's bpy module crashes on exit once Rigify has been enabled, so this
runs apart from the test session and leaves with os._exit after flushing what it printed."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import bpy
import addon_utils  # noqa: E402  (Blender's scripts are on the path once bpy is imported)

EXT_MODULE = "bl_ext.user_default.pose2rot"
ROOT = Path(__file__).resolve().parents[2]


def build_scene(frames: int) -> None:
    """'metarig', 'rig' (generated from it) and the empties 'cmu' over the scene's first ``frames`` frames."""
    addon_utils.enable(EXT_MODULE, default_set=True)
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    assert bpy.ops.object.armature_human_metarig_add() == {'FINISHED'}
    assert bpy.ops.pose.rigify_generate() == {'FINISHED'}
    assert bpy.ops.pose2rot.import_tracks(filepath=str(ROOT / "examples" / "cmu_08_01.bvh"),
                                          collection_name="cmu") == {'FINISHED'}
    scene = bpy.context.scene
    scene.frame_end = frames
    scene.pose2rot.tracks = bpy.data.collections["cmu"]


def attempt(operator: str, armature: str) -> dict:
    """Run ``operator`` (map_auto or solve_rotations) on ``armature``: its result or its error's message."""
    obj = bpy.data.objects[armature]
    bpy.context.scene.pose2rot.armature = obj
    op = getattr(bpy.ops.pose2rot, operator)
    try:
        result = op() if operator == "map_auto" else op(armature=armature, tracks_collection="cmu")
        out = {"result": sorted(result)}
    except RuntimeError as err:
        out = {"error": str(err).strip()}
    ad = obj.animation_data
    return {"operator": operator, "armature": armature, "table": {row.bone: row.source for row in obj.pose2rot_map},
            "action": bool(ad and ad.action), **out}


def main(steps: list[str]) -> None:
    """``steps``: 'OPERATOR:ARMATURE' to run, or 'delete:OBJECT'."""
    build_scene(20)
    for step in steps:
        what, name = step.split(":", 1)
        if what == "delete":
            bpy.data.objects.remove(bpy.data.objects[name])
        else:
            print("RESULT " + json.dumps(attempt(what, name)))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
