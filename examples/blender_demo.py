"""The main job in Blender: a shipped clip's joint tracks solved onto its armature.

    VENV/bin/python examples/blender_demo.py [--clip examples/cmu_08_01.bvh] [--out out/demo.blend]

Run with a bpy venv (``pip install "bpy==4.2.*" "numpy<2"`` or ``"bpy==5.0.*"``, Python 3.11). Steps:
build the extension zip when dist/ has none, install it into a temporary BLENDER_USER_RESOURCES
(your own Blender config is not touched), import the clip with Blender's own BVH importer, key one
empty per bone head (plus ``<bone>_end`` at leaf tails) from its animation, move the clip aside, add
``Rig``, a rest copy of the armature, and point the pose2rot panel at it and at the empties. That is saved
(``Rig`` still at rest, ready for Solve Rotations); then the panel's Solve Rotations runs here and
its accuracy and time are printed.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pose2rot_demo_")

import bpy  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(ROOT))
from build import install_into_running_blender  # noqa: E402


@dataclass
class DemoScene:
    """The demo scene: the imported clip, the rest copy ``Rig``, the empties and the clip's own pose
    (world heads [T,N,3] and basis rotations [T,N,3,3] in ``clip.pose.bones`` order at ``frames``)."""

    clip: bpy.types.Object
    rig: bpy.types.Object
    tracks: bpy.types.Collection
    frames: np.ndarray
    heads: np.ndarray
    rotations: np.ndarray
    leaves: list[int]


def build_scene(clip_path: str) -> DemoScene:
    """Install the extension, then build the demo scene in a new file (``Rig`` at rest, panel set)."""
    install_into_running_blender()
    empties = importlib.import_module("bl_ext.user_default.pose2rot.empties")
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    bpy.ops.import_anim.bvh(filepath=clip_path, update_scene_fps=True)
    src = bpy.context.active_object
    scene.frame_start, scene.frame_end = 1, int(round(src.animation_data.action.frame_range[1]))
    frames = np.arange(scene.frame_start, scene.frame_end + 1)
    heads, tails, rots = _rig().sample_pose(src, frames)

    names = [pb.name for pb in src.pose.bones]
    leaves = [i for i, pb in enumerate(src.pose.bones) if not pb.children]
    tracks = bpy.data.collections.new("tracks")
    scene.collection.children.link(tracks)
    empties.write_empties(tracks, names + [names[i] + "_end" for i in leaves],
                          np.concatenate([heads, tails[:, leaves]], axis=1), int(frames[0]), 1.0)

    rig = bpy.data.objects.new("Rig", src.data.copy())                   # the rest pose, no animation
    scene.collection.objects.link(rig)
    src.name = f"{Path(clip_path).stem} (clip)"
    src.location.x -= 0.6 * float(np.ptp(heads[0], axis=0).max())     # the clip walks beside the rig
    bpy.context.view_layer.objects.active = rig
    bpy.context.view_layer.update()
    scene.pose2rot.armature, scene.pose2rot.tracks = rig, tracks
    return DemoScene(src, rig, tracks, frames, heads, rots, leaves)


def solve_from_panel() -> float:
    """Solve Rotations with the panel's settings (the operator reads them); returns the seconds it took."""
    t0 = time.perf_counter()
    if bpy.ops.pose2rot.solve_rotations() != {'FINISHED'}:
        raise SystemExit("pose2rot demo: Solve Rotations failed")
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=str(ROOT / "examples" / "cmu_08_01.bvh"))
    ap.add_argument("--out", default=str(ROOT / "out" / "demo.blend"))
    args = ap.parse_args()
    demo = build_scene(args.clip)
    from pose2rot_core.rotations import geodesic_angle                 # the installed extension's core
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    bpy.context.preferences.filepaths.save_version = 0                 # no demo.blend1 backups
    bpy.ops.wm.save_as_mainfile(filepath=str(out))
    seconds = solve_from_panel()

    got_heads, _, got_rots = _rig().sample_pose(demo.rig, demo.frames)
    heads = demo.heads
    height = float(np.ptp(heads.reshape(-1, 3), axis=0).max())
    pos_err = 100 * np.linalg.norm(got_heads - heads, axis=-1) / height
    ang = np.degrees(geodesic_angle(got_rots, demo.rotations))
    inner = [i for i in range(heads.shape[1]) if i not in demo.leaves]
    print(f"{Path(args.clip).name}: {heads.shape[1]} bones x {len(demo.frames)} frames solved in {seconds:.2f} s "
          f"(Blender {bpy.app.version_string})")
    print(f"rotation error vs the file: mean {ang.mean():.2f} deg (all bones), {ang[:, inner].mean():.2f} deg "
          f"(non-leaf); bone heads: mean {pos_err.mean():.2e} %, max {pos_err.max():.2e} % of height")
    print(f"saved {out} (Rig at rest: open it, then Sidebar > pose2rot > Solve Rotations)")
    return 0


def _rig():
    """The installed extension's rig module (bulk pose sampling)."""
    return importlib.import_module("bl_ext.user_default.pose2rot.rig")


if __name__ == "__main__":
    sys.exit(main())
