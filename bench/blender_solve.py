"""Benchmark: pose2rot's Solve Rotations vs Blender's own constraint-and-bake way, per clip, in one run.

    VENV/bin/python bench/blender_solve.py [--clips DIR_OR_FILE ...] [--frames N] [--repeat N]

Default: ``examples/cmu_08_01.bvh``. A directory stands for its ``*.bvh`` files. For each clip the
empties come from Import Tracks of the BVH (the core's FK joints, End Sites as ``<joint>_end``:
the command line's tracks), and both ways start from a rest copy of Blender's BVH import of it:
- pose2rot: ``bpy.ops.pose2rot.solve_rotations`` end to end (read empties, solve, write keys);
- Blender: Copy Location on the root bone to its empty, Damped Track on every bone to the empty of
  its child (the child nearest the bone's tail; ``<bone>_end`` for leaves), then
  ``bpy.ops.nla.bake(visual_keying=True, clear_constraints=True)`` (setup included in the time).
Times are the best of ``--repeat`` runs of each way on fresh rest copies; the first operator call
of the process (which also imports the core's solver modules) is a separate warm-up, printed.
Per clip: operator and bake seconds and their ratio; Blender vs the core alone on the same tracks
(``solve(tracks_from_bvh(...))``, the command line): max and mean local-rotation difference in
degrees and the max bone-head distance from the source animation (% of height); both ways' mean
rotation error vs the file; the operator's stages (read rig + empties, core solve, convert to
pose channels, write keys, final frame update; a separate run, milliseconds).

Blender's own floor, what no solver can avoid, measured on the same clip (best of ``--repeat``):
finding every empty's location curves (its action, slot and channelbag: keys.object_fcurves) and
reading them in bulk (``keyframe_points.foreach_get("co")``; the read alone is printed too), writing
one new action with a quaternion curve per bone and location curves on the bones the operator keys
locations on (``keyframe_points.add`` + ``foreach_set("co")`` + ``update()``), and one ``frame_set``.
The floor's keys hold the clip's own motion (Blender's import of it: its bones' rotations as
quaternions, the located bones' heads): ``update()`` computes every key's handles, which costs less
on constant curves. A second
table gives the operator against it: the whole operator over the floor, read / write / update
stages over the floor's matching calls, and the bake over the operator.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pose2rot_bench_")

import bpy  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(ROOT))
from build import install_into_running_blender  # noqa: E402

EXT = "bl_ext.user_default.pose2rot"
COLUMNS = ("clip", "bones", "frames", "operator s", "bake s", "ratio", "vs CLI max deg", "vs CLI mean deg",
           "head max % ht", "rot err op deg", "rot err bake deg", "bake head mean % ht",
           "read ms", "solve ms", "convert ms", "write ms", "update ms")
FLOOR_COLUMNS = ("clip", "joint-frames", "floor ms", "operator ms", "op / floor", "read / floor read",
                 "write / floor write", "update / frame_set", "bake / op")


def clip_paths(items: list[str]) -> list[Path]:
    out = []
    for item in items:
        p = Path(item)
        out.extend(sorted(p.glob("*.bvh")) if p.is_dir() else [p])
    if not out:
        raise SystemExit(f"no .bvh files in {' '.join(items)}")
    return out


def rest_copy(src: bpy.types.Armature, name: str) -> bpy.types.Object:
    """A new armature object on a copy of ``src`` (the imported clip's rest armature), active."""
    obj = bpy.data.objects.new(name, src.copy())
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.context.view_layer.update()
    return obj


def remove(obj: bpy.types.Object) -> None:
    """Delete a rig copy with its armature and action, so that later runs do not evaluate it."""
    arm, action = obj.data, obj.animation_data.action if obj.animation_data else None
    bpy.data.objects.remove(obj)
    bpy.data.armatures.remove(arm)
    if action is not None:
        bpy.data.actions.remove(action)


def run_operator(src: bpy.types.Armature, name: str) -> tuple[bpy.types.Object, float]:
    obj = rest_copy(src, name)
    t0 = time.perf_counter()
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks") == {'FINISHED'}
    return obj, time.perf_counter() - t0


def blender_way(src: bpy.types.Armature, col: bpy.types.Collection, frames: np.ndarray,
                name: str) -> tuple[bpy.types.Object, float]:
    """Constraints to the empties, then a visual-keying bake, on a rest copy. Returns (object, seconds)."""
    obj = rest_copy(src, name)
    t0 = time.perf_counter()
    obj.select_set(True)
    empties = {o.name: o for o in col.objects}
    bones = obj.data.bones
    root = next(b for b in bones if b.parent is None)
    c = obj.pose.bones[root.name].constraints.new('COPY_LOCATION')
    c.target = empties[root.name]
    for b in bones:
        if b.children:
            target = empties.get(min(b.children, key=lambda ch: (ch.head_local - b.tail_local).length).name)
        else:
            target = empties.get(b.name + "_end")
        if target is None:
            continue
        d = obj.pose.bones[b.name].constraints.new('DAMPED_TRACK')
        d.target, d.track_axis = target, 'TRACK_Y'
    bpy.ops.object.mode_set(mode='POSE')
    bpy.ops.pose.select_all(action='SELECT')
    bpy.ops.nla.bake(frame_start=int(frames[0]), frame_end=int(frames[-1]), only_selected=True, visual_keying=True,
                     clear_constraints=True, bake_types={'POSE'})
    bpy.ops.object.mode_set(mode='OBJECT')
    seconds = time.perf_counter() - t0
    obj.select_set(False)
    return obj, seconds


def stage_times(src: bpy.types.Armature, col: bpy.types.Collection, frames: np.ndarray
                ) -> tuple[tuple[float, ...], list[str]]:
    """(seconds of the operator's stages on a fresh rest copy: read (armature + empties), core solve,
    convert to pose channels, write keys, final frame update; the bones it keys locations on)."""
    pipeline = importlib.import_module(EXT + ".pipeline")
    from pose2rot_core import blender_space as convert
    from pose2rot_core.solvers import solve

    obj = rest_copy(src, "stages")
    span = pipeline.SceneRange(frame_start=int(frames[0]), frame_end=int(frames[-1]))
    t0 = time.perf_counter()
    rig, tracks, _ = pipeline.gather_tracks(bpy.context.scene, obj, col, span)
    t1 = time.perf_counter()
    sol = solve(tracks)
    t2 = time.perf_counter()
    idx, locs = convert.location_channels(sol, rig.rest, 1e-6 * rig.skeleton.height)
    plan = pipeline.Plan(armature=obj.name, bone_names=rig.skeleton.names, frames=frames,
                         quaternions=convert.basis_quaternions(sol, rig.rest), location_bones=idx, locations=locs)
    t3 = time.perf_counter()
    pipeline.apply_plan(obj, plan)
    t4 = time.perf_counter()
    scene = bpy.context.scene
    scene.frame_set(scene.frame_current)
    t5 = time.perf_counter()
    remove(obj)
    return (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), [plan.bone_names[j] for j in plan.location_bones]


def floor_read(col: bpy.types.Collection) -> tuple[float, float]:
    """Seconds to find every empty's location curves (one pass over the curves its action gives it,
    keys.object_fcurves: action, slot, channelbag) and to read them in bulk (foreach_get of the keys'
    "co"): (find and read, read alone)."""
    keys = importlib.import_module(EXT + ".keys")
    objects = list(col.objects)
    t0 = time.perf_counter()
    curves = [fc for o in objects for fc in keys.object_fcurves(o) if fc.data_path == "location"]
    t1 = time.perf_counter()
    for fc in curves:
        co = np.empty(2 * len(fc.keyframe_points), np.float32)
        fc.keyframe_points.foreach_get("co", co)
    t2 = time.perf_counter()
    return t2 - t0, t2 - t1


def floor_write(src: bpy.types.Armature, frames: np.ndarray, values: np.ndarray, located: list[str]
                ) -> tuple[float, float]:
    """Seconds to write one new action on a rest copy (created as the operator's keys.ActionWriter
    does): a quaternion curve per bone and location curves on the ``located`` bones (those the
    operator keys locations on), holding ``values`` [T,4N+3K] (bone after bone, then the locations),
    written with keyframe_points.add + foreach_set("co") + update(), nothing else; and of one
    frame_set with it."""
    keys = importlib.import_module(EXT + ".keys")
    obj = rest_copy(src, "floor")
    names = [b.name for b in obj.data.bones]
    co = np.empty((values.shape[1], len(frames), 2), np.float32)
    co[:, :, 0] = frames
    co[:, :, 1] = values.T
    t0 = time.perf_counter()
    curves = keys.ActionWriter(obj, "floor").fcurves
    paths = [(f'pose.bones["{n}"].rotation_quaternion', 4) for n in names] + [(f'pose.bones["{n}"].location', 3)
                                                                                for n in located]
    channels = [(path, c) for path, count in paths for c in range(count)]
    for (path, c), keys_co in zip(channels, co.reshape(len(channels), -1)):
        fc = curves.new(path, index=c)
        fc.keyframe_points.add(len(frames))
        fc.keyframe_points.foreach_set("co", keys_co)
        fc.update()
    t1 = time.perf_counter()
    scene = bpy.context.scene
    scene.frame_set(scene.frame_current)
    t2 = time.perf_counter()
    remove(obj)
    return t1 - t0, t2 - t1


def floor_times(src: bpy.types.Armature, col: bpy.types.Collection, frames: np.ndarray, values: np.ndarray,
                located: list[str], repeat: int) -> tuple[float, float, float, float]:
    """Best-of-``repeat`` seconds of Blender's own floor: (finding and bulk reading the empties'
    curves, the bulk read alone, action write of ``values`` with locations on ``located``, one frame_set)."""
    best = [float("inf")] * 4
    for _ in range(repeat):
        times = (*floor_read(col), *floor_write(src, frames, values, located))
        best = [min(b, t) for b, t in zip(best, times)]
    return best[0], best[1], best[2], best[3]


def clip_channels(rots: np.ndarray, heads: np.ndarray, located: list[int]) -> np.ndarray:
    """The clip's own motion as the floor's channel values [T,4N+3K]: Blender's import's basis
    rotations [T,N,3,3] as continuous quaternions, then the heads [T,K,3] of the ``located`` bones
    (indices in pose-bone order)."""
    from pose2rot_core.rotations import matrix_to_quat, quat_continuity

    q = quat_continuity(matrix_to_quat(rots), axis=0)
    return np.concatenate([q.reshape(len(q), -1), heads[:, located].reshape(len(q), -1)], axis=1)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c = (np.einsum("...ij,...ij->...", a, b) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def bench_clip(path: Path, frames_limit: int, repeat: int, warm: bool) -> dict:
    """One table row for ``path`` (fresh file); ``warm``: first make the operator's warm-up call."""
    from pose2rot_core.axes import Y_UP_TO_Z_UP
    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.solvers import solve
    from pose2rot_core.tracks_io import tracks_from_bvh

    rig_mod = importlib.import_module(EXT + ".rig")
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    assert bpy.ops.pose2rot.import_tracks(filepath=str(path), collection_name="tracks") == {'FINISHED'}
    col = bpy.data.collections["tracks"]
    assert bpy.ops.import_anim.bvh(filepath=str(path), update_scene_fps=True) == {'FINISHED'}
    imported = bpy.context.active_object
    if frames_limit:
        scene.frame_end = min(scene.frame_end, scene.frame_start + frames_limit - 1)
    frames = np.arange(scene.frame_start, scene.frame_end + 1)
    heads, _, rots = rig_mod.sample_pose(imported, frames)
    height = float(np.ptp(heads.reshape(-1, 3), axis=0).max())
    row = {"clip": path.stem, "bones": len(imported.pose.bones), "frames": len(frames)}
    src = imported.data
    src.use_fake_user = True
    remove_action = imported.animation_data.action
    bpy.data.objects.remove(imported)                  # the scene holds the empties and the rig being solved
    bpy.data.actions.remove(remove_action)
    if warm:
        first, row["cold"] = run_operator(src, "pose2rot_first")
        remove(first)

    t_ours, t_bake = [], []
    for r in range(repeat):                            # one rig in the scene at a time
        ours, t = run_operator(src, f"pose2rot_{r}")
        t_ours.append(t)
        if r == repeat - 1:
            o_heads, _, o_rots = rig_mod.sample_pose(ours, frames)
            names = [pb.name for pb in ours.pose.bones]
            M = np.array([np.array(ours.data.bones[n].matrix_local.to_3x3()) for n in names])
        remove(ours)
        theirs, t = blender_way(src, col, frames, f"blender_{r}")
        t_bake.append(t)
        if r == repeat - 1:
            b_heads, _, b_rots = rig_mod.sample_pose(theirs, frames)
        remove(theirs)
    row["operator s"], row["bake s"] = min(t_ours), min(t_bake)
    row["ratio"] = row["bake s"] / row["operator s"]

    clip = read_bvh(path)
    around = int(np.ceil(importlib.import_module(EXT + ".pipeline").AROUND_SECONDS * clip.fps))
    read = tracks_from_bvh(clip).frames(0, min(clip.num_frames, len(frames) + around))  # as the operator reads it
    core = solve(read, frames=(0, len(frames)))
    order = [clip.skeleton.names.index(n) for n in names]
    Mt = np.swapaxes(M, -1, -2)[None]
    L_core = Y_UP_TO_Z_UP @ core.rotations[:, order] @ Y_UP_TO_Z_UP.T            # armature axes
    diff = angle_deg(M[None] @ o_rots @ Mt, L_core)
    row["vs CLI max deg"], row["vs CLI mean deg"] = diff.max(), diff.mean()
    row["head max % ht"] = 100 * np.linalg.norm(o_heads - heads, axis=-1).max() / height
    row["rot err op deg"] = angle_deg(o_rots, rots).mean()
    row["rot err bake deg"] = angle_deg(b_rots, rots).mean()
    row["bake head mean % ht"] = 100 * np.linalg.norm(b_heads - heads, axis=-1).mean() / height
    runs = [stage_times(src, col, frames) for _ in range(repeat)]
    stages, located = np.min([r[0] for r in runs], axis=0), runs[0][1]
    for key, s in zip(("read ms", "solve ms", "convert ms", "write ms", "update ms"), stages):
        row[key] = 1000 * s
    read, bare_read, write, update = floor_times(src, col, frames,
                                                 clip_channels(rots, heads, [names.index(n) for n in located]),
                                                 located, repeat)
    row["floor read ms"], row["floor write ms"], row["frame_set ms"] = 1000 * read, 1000 * write, 1000 * update
    row["bare read ms"] = 1000 * bare_read
    row["joint-frames"] = row["bones"] * row["frames"]
    row["floor ms"], row["operator ms"] = 1000 * (read + write + update), 1000 * row["operator s"]
    row["op / floor"] = row["operator ms"] / row["floor ms"]
    row["read / floor read"] = stages[0] / read
    row["write / floor write"] = stages[3] / write
    row["update / frame_set"] = stages[4] / update
    row["bake / op"] = row["ratio"]
    return row


def fmt(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(value)
    return f"{value:.2e}" if 0 < abs(value) < 0.01 else f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", nargs="+", default=[str(ROOT / "examples" / "cmu_08_01.bvh")],
                    help="BVH files and/or directories of them (default: examples/cmu_08_01.bvh)")
    ap.add_argument("--clip", dest="clips", nargs=1, help=argparse.SUPPRESS)   # older spelling
    ap.add_argument("--frames", type=int, default=0, help="use only the first N frames of each clip (default: all)")
    ap.add_argument("--repeat", type=int, default=3, help="time each way this many times, keep the best (default 3)")
    args = ap.parse_args()
    install_into_running_blender()
    rows = [bench_clip(p, args.frames, max(1, args.repeat), warm=i == 0) for i, p in enumerate(clip_paths(args.clips))]

    print(f"\nBlender {bpy.app.version_string}, best of {max(1, args.repeat)}; first operator call of the process "
          f"{rows[0]['cold']:.3f} s ({rows[0]['clip']})")
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(fmt(row[c]) for c in COLUMNS) + " |")
    ours, bake = sum(r["operator s"] for r in rows), sum(r["bake s"] for r in rows)
    print(f"all {len(rows)} clips: operator {ours:.3f} s, bake {bake:.3f} s, ratio {bake / ours:.1f}x "
          f"(per clip {min(r['ratio'] for r in rows):.1f}x..{max(r['ratio'] for r in rows):.1f}x); "
          f"stages: read {sum(r['read ms'] for r in rows):.0f} ms, solve {sum(r['solve ms'] for r in rows):.0f} ms, "
          f"convert {sum(r['convert ms'] for r in rows):.0f} ms, write {sum(r['write ms'] for r in rows):.0f} ms, "
          f"update {sum(r['update ms'] for r in rows):.0f} ms")
    print("\nAgainst Blender's own floor (finding and bulk-reading the empties' curves + one new action + one "
          "frame_set):")
    print("| " + " | ".join(FLOOR_COLUMNS) + " |")
    print("|" + "---|" * len(FLOOR_COLUMNS))
    for row in rows:
        print("| " + " | ".join(fmt(row[c]) for c in FLOOR_COLUMNS) + " |")
    floor = sum(r["floor ms"] for r in rows)
    print(f"summed over the clips: floor {floor:.0f} ms, operator {1000 * ours:.0f} ms ({1000 * ours / floor:.2f}x the "
          f"floor; goal <= 1.5x), bake {bake / ours:.1f}x the operator (goal >= 20x)")
    total = {key: sum(r[key] for r in rows) for key in ("read ms", "write ms", "update ms", "floor read ms",
                                                        "bare read ms", "floor write ms", "frame_set ms")}
    print(f"stages summed over the clips against the floor's calls (goal <= 1.2x): read "
          f"{total['read ms'] / total['floor read ms']:.2f}x (the bulk read alone, curves found beforehand: "
          f"{total['read ms'] / total['bare read ms']:.2f}x), write {total['write ms'] / total['floor write ms']:.2f}x, "
          f"update {total['update ms'] / total['frame_set ms']:.2f}x")


if __name__ == "__main__":
    main()
