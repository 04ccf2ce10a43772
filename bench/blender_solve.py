"""Benchmark: pose2rot's Solve Rotations vs Blender's own constraint-and-bake way, in one run.

    VENV/bin/python bench/blender_solve.py [--clip examples/cmu_08_01.bvh] [--frames N]

Both start from the same rest copy of the clip's armature (Blender's BVH importer) and the same
keyed empties (bone heads, plus leaf tails as ``<bone>_end``):
- pose2rot: ``bpy.ops.pose2rot.solve_rotations`` end to end (read empties, solve, write keys), timed
  on its second call (the first also imports the core's solver modules; printed too);
- Blender: Copy Location on the root bone to its empty, Damped Track on every bone to the empty of
  its child (the child nearest the bone's tail; ``<bone>_end`` for leaves), then
  ``bpy.ops.nla.bake(visual_keying=True, clear_constraints=True)`` (setup included in the time).
Prints both times, the ratio, and both accuracies against the source animation: bone-head position
error (% of height) and mean local-rotation error (degrees, all bones) vs the file's rotations.
"""
from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pose2rot_bench_")

import bpy  # noqa: E402
import numpy as np  # noqa: E402


def install_extension():
    zips = sorted((ROOT / "dist").glob("pose2rot-*.zip"))
    if not zips:
        subprocess.run([sys.executable, str(ROOT / "build.py")], check=True, cwd=ROOT)
        zips = sorted((ROOT / "dist").glob("pose2rot-*.zip"))
    bpy.ops.extensions.package_install_files(filepath=str(zips[-1]), repo="user_default", enable_on_install=True)

    return importlib.import_module("bl_ext.user_default.pose2rot.empties")


def rest_copy(src, name):
    obj = bpy.data.objects.new(name, src.data.copy())
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.update()
    return obj


def accuracy(obj, frames, heads_ref, rots_ref, height):
    heads, _, rots = _rig().sample_pose(obj, frames)
    pos = 100 * np.linalg.norm(heads - heads_ref, axis=-1) / height
    c = (np.einsum("tnij,tnij->tn", rots, rots_ref) - 1) / 2
    ang = np.degrees(np.arccos(np.clip(c, -1, 1)))
    return pos.mean(), pos.max(), ang.mean()


def blender_way(obj, col, frames):
    """Constraints to the empties, then a visual-keying bake. Returns seconds."""
    t0 = time.perf_counter()
    view_layer = bpy.context.view_layer
    view_layer.objects.active = obj
    obj.select_set(True)
    empties = {o.name: o for o in col.objects}
    bones = obj.data.bones
    root = next(b for b in bones if b.parent is None)
    c = obj.pose.bones[root.name].constraints.new('COPY_LOCATION')
    c.target = empties[root.name]
    for b in bones:
        pb = obj.pose.bones[b.name]
        if b.children:
            child = min(b.children, key=lambda ch: (ch.head_local - b.tail_local).length)
            target = empties[child.name]
        else:
            target = empties.get(b.name + "_end")
            if target is None:
                continue
        d = pb.constraints.new('DAMPED_TRACK')
        d.target, d.track_axis = target, 'TRACK_Y'
    bpy.ops.object.mode_set(mode='POSE')
    bpy.ops.pose.select_all(action='SELECT')
    bpy.ops.nla.bake(frame_start=int(frames[0]), frame_end=int(frames[-1]), only_selected=True, visual_keying=True,
                     clear_constraints=True, bake_types={'POSE'})
    bpy.ops.object.mode_set(mode='OBJECT')
    return time.perf_counter() - t0


def stage_times(src, col, frames):
    """Seconds of the operator's stages on a fresh rest copy: read (armature + empties), core solve,
    convert to pose channels, write keys."""

    pipeline = importlib.import_module("bl_ext.user_default.pose2rot.pipeline")
    convert = importlib.import_module("bl_ext.user_default.pose2rot.convert")
    from pose2rot_core.solvers import solve

    scene = bpy.context.scene
    obj = rest_copy(src, "stages")
    settings = pipeline.SolveSettings(frame_start=int(frames[0]), frame_end=int(frames[-1]))
    t0 = time.perf_counter()
    rig, tracks, _ = pipeline.gather_tracks(scene, obj, col, settings)
    t1 = time.perf_counter()
    sol = solve(tracks)
    t2 = time.perf_counter()
    idx, locs = convert.location_channels(sol, rig.rest, 1e-6 * rig.skeleton.height)
    plan = pipeline.Plan(armature=obj.name, bone_names=rig.skeleton.names, frames=frames,
                         quaternions=convert.basis_quaternions(sol, rig.rest), location_bones=idx, locations=locs)
    t3 = time.perf_counter()
    pipeline.apply_plan(obj, plan)
    t4 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, t4 - t3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=str(ROOT / "examples" / "cmu_08_01.bvh"))
    ap.add_argument("--frames", type=int, default=0, help="use only the first N frames (default: all)")
    args = ap.parse_args()
    empties_mod = install_extension()
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    bpy.ops.import_anim.bvh(filepath=args.clip, update_scene_fps=True)
    src = bpy.context.active_object
    last = int(round(src.animation_data.action.frame_range[1]))
    scene.frame_start, scene.frame_end = 1, min(last, args.frames) if args.frames else last
    frames = np.arange(scene.frame_start, scene.frame_end + 1)
    heads, tails, rots = _rig().sample_pose(src, frames)
    names = [pb.name for pb in src.pose.bones]
    leaves = [i for i, pb in enumerate(src.pose.bones) if not pb.children]
    col = bpy.data.collections.new("tracks")
    scene.collection.children.link(col)
    empties_mod.write_empties(col, names + [names[i] + "_end" for i in leaves],
                              np.concatenate([heads, tails[:, leaves]], axis=1), int(frames[0]), 1.0)
    height = float(np.ptp(heads.reshape(-1, 3), axis=0).max())

    def run_operator(name):
        obj = rest_copy(src, name)
        bpy.context.view_layer.objects.active = obj
        t0 = time.perf_counter()
        assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
        return obj, time.perf_counter() - t0

    _, t_cold = run_operator("pose2rot_first")           # includes importing the core's solver modules
    ours, t_ours = run_operator("pose2rot")

    theirs = rest_copy(src, "blender")
    t_blender = blender_way(theirs, col, frames)

    stages = stage_times(src, col, frames)
    a_ours = accuracy(ours, frames, heads, rots, height)
    a_blender = accuracy(theirs, frames, heads, rots, height)
    print(f"clip {Path(args.clip).name}: {len(names)} bones x {len(frames)} frames, Blender {bpy.app.version_string}")
    print(f"pose2rot Solve Rotations : {t_ours:8.3f} s   head error mean {a_ours[0]:.2e} % / max {a_ours[1]:.2e} % "
          f"of height, rotation error {a_ours[2]:.2f} deg")
    print(f"Damped Track + nla.bake  : {t_blender:8.3f} s   head error mean {a_blender[0]:.2e} % / max "
          f"{a_blender[1]:.2e} % of height, rotation error {a_blender[2]:.2f} deg")
    print("pose2rot stages (separate run): read {:.3f} s, core solve {:.3f} s, convert {:.3f} s, "
          "write keys {:.3f} s".format(*stages))
    print(f"speed-up: {t_blender / t_ours:.1f}x (goal >= 50x); first call of the session {t_cold:.3f} s "
          f"({t_blender / t_cold:.1f}x)")


def _rig():
    """The installed extension's rig module (bulk pose sampling)."""
    return importlib.import_module("bl_ext.user_default.pose2rot.rig")


if __name__ == "__main__":
    main()
