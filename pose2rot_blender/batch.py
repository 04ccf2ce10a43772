"""Batch: solve track files (.npz/.csv/.bvh, or folders of them) onto the armature of a .blend.

For every track file the rig file is opened afresh, the tracks are imported as empties, the
armature is solved over the clip's frames, and ``OUT/<clip>.blend`` is saved (plus
``OUT/<clip>.bvh`` through Blender's own BVH exporter with ``--bvh``). Run it as

    blender -b RIG.blend --python-exit-code 1 --python <extension folder>/batch.py -- TRACKS... --out OUT [--bvh]
    python <extension folder>/batch.py --rig RIG.blend TRACKS... --out OUT     # bpy module (pip install bpy)

or call :func:`convert` from Python with the extension enabled. Options: ``--armature NAME`` (default:
the file's only armature), the command line's solve options ``--solver``, ``--twist``, ``--stretch``
(bone lengths) and ``--smooth`` (the learned model's settings come from the add-on preferences),
``--extension-zip ZIP`` (install the extension first when it is not installed, e.g. into a fresh
``BLENDER_USER_RESOURCES``). Bad input ends with exit code 1 and one line on stderr.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:                                     # run as a script, the core is importable only later
    from pose2rot_core.options import SolveOptions

    from .runtime import LearnedSettings

TRACK_SUFFIXES = (".npz", ".csv", ".bvh")


def _parser() -> argparse.ArgumentParser:
    from pose2rot_core.cli import OneLineParser, add_solver_arguments

    ap = OneLineParser(prog="pose2rot batch", name="pose2rot batch", description="Solve track files onto a rig .blend.")
    ap.add_argument("tracks", nargs="+", help="track files (.npz/.csv/.bvh) or folders holding them")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--rig", help="rig .blend (default: the file Blender has open)")
    ap.add_argument("--armature", default="", help="armature object name (default: the only armature)")
    add_solver_arguments(ap, learned=False)
    ap.add_argument("--bvh", action="store_true", help="also export OUT/<clip>.bvh with Blender's exporter")
    ap.add_argument("--extension-zip", help="install this pose2rot zip first when the extension is missing")
    return ap


def track_files(items: list[str]) -> list[Path]:
    """Expand folders to their track files (sorted); check that every file exists."""
    from pose2rot_core.errors import Pose2RotError

    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in TRACK_SUFFIXES)
            if not found:
                raise Pose2RotError(f"folder '{p}' has no .npz, .csv or .bvh track files")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise Pose2RotError(f"tracks file '{p}' does not exist")
    return out


def _find_armature(name: str):
    import bpy

    from pose2rot_core.errors import Pose2RotError

    if name:
        obj = bpy.data.objects.get(name)
        if obj is None or obj.type != 'ARMATURE':
            raise Pose2RotError(f"no armature object named '{name}' in {bpy.data.filepath or 'the file'}")
        return obj
    arms = [o for o in bpy.data.objects if o.type == 'ARMATURE']
    if len(arms) != 1:
        raise Pose2RotError(f"{bpy.data.filepath or 'the file'} has {len(arms)} armatures"
                            + (f" ({', '.join(a.name for a in arms[:5])})" if arms else "")
                            + ": name one with --armature")
    return arms[0]


def batch_options(args: argparse.Namespace, learned: LearnedSettings) -> SolveOptions:
    """The SolveOptions of the batch arguments, the network's settings from the preferences ``learned``
    (no reference pose: the rig's rest pose gives the roll)."""
    from pose2rot_core.cli import FLAGS, solve_options
    from pose2rot_core.options import OptionError

    from .props import option_labels

    try:
        return solve_options(args, use_reference=False, **learned.model_options())
    except OptionError as e:
        raise e.worded(dict(option_labels(), **{f: FLAGS[f] for f in FLAGS if hasattr(args, f)})) from None


def convert(tracks: list[str], out_dir: str, options: SolveOptions, rig: str | None = None, armature: str = "",
            bvh: bool = False) -> list[dict]:
    """Solve every track file onto the rig as ``options`` say; returns one summary dict per clip."""
    import bpy

    from pose2rot_core.errors import Pose2RotError

    from . import importing, pipeline
    from .prefs import learned_settings

    rig_path = Path(rig or bpy.data.filepath)
    if not rig_path.is_file():
        raise Pose2RotError("no rig .blend: open one in Blender (blender -b RIG.blend ...) or pass --rig RIG.blend")
    files = track_files(tracks)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for path in files:
        bpy.ops.wm.open_mainfile(filepath=str(rig_path))
        context = bpy.context
        scene = context.scene
        obj = _find_armature(armature)
        importing.import_tracks(context, path, f"{path.stem}_tracks", frame_start=1, set_scene=True)
        span = pipeline.SceneRange(frame_start=scene.frame_start, frame_end=scene.frame_end)
        plan, seconds = pipeline.solve_armature(scene, obj, scene.pose2rot.tracks, span, options,
                                                learned_settings(context))
        blend = out / f"{path.stem}.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
        result = {"clip": str(path), "blend": str(blend), "frames": len(plan.frames), "seconds": seconds,
                  "mean_error_pct": plan.mean_error_pct, "max_error_pct": plan.max_error_pct}
        if bvh:
            result["bvh"] = str(_export_bvh(context, obj, out / f"{path.stem}.bvh"))
        results.append(result)
        for line in plan.warnings:
            print(f"{path.name}: warning: {line}")
        print(f"{path.name}: {len(plan.bone_names)} bones x {len(plan.frames)} frames in {seconds:.2f} s, "
              f"position error mean {plan.mean_error_pct:.3g} % / max {plan.max_error_pct:.3g} % of height "
              f"-> {blend.name}{' + ' + Path(result['bvh']).name if bvh else ''}")
    return results


def _export_bvh(context, obj, path: Path) -> Path:
    import bpy

    for o in context.view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj
    scene = context.scene
    bpy.ops.export_anim.bvh(filepath=str(path), frame_start=scene.frame_start, frame_end=scene.frame_end,
                            rotate_mode='NATIVE')
    return path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry (arguments after ``--`` when run inside Blender)."""
    from pose2rot_core.errors import Pose2RotError

    import bpy

    from .prefs import learned_settings

    args = _parser().parse_args(argv)
    try:
        options = batch_options(args, learned_settings(bpy.context))
        convert(args.tracks, args.out, options, args.rig, args.armature, args.bvh)
    except Pose2RotError as e:
        print(f"pose2rot batch: error: {e}", file=sys.stderr)
        return 1
    return 0


def _script_argv() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]


def _bootstrap() -> int:
    """Run as a script (``--python batch.py`` or ``python batch.py``): enable the installed
    extension (installing ``--extension-zip`` when asked) and call its ``batch.main``."""
    import importlib

    import bpy  # noqa: F401  (first: under the bpy module, addon_utils exists only after it)
    import addon_utils

    argv = _script_argv()
    zip_arg = argv[argv.index("--extension-zip") + 1] if "--extension-zip" in argv[:-1] else None
    started = time.perf_counter()

    def installed() -> list[str]:
        return [m.__name__ for m in addon_utils.modules(refresh=True)
                if m.__name__.startswith("bl_ext.") and m.__name__.rsplit(".", 1)[-1] == "pose2rot"]

    names = installed()
    if not names and zip_arg:
        bpy.ops.extensions.package_install_files(filepath=str(Path(zip_arg).resolve()), repo="user_default",
                                                 enable_on_install=True)
        names = installed()
    if not names:
        print("pose2rot batch: error: the pose2rot extension is not installed in this Blender "
              "(install the zip, or pass --extension-zip dist/pose2rot-<version>.zip)", file=sys.stderr)
        return 1
    addon_utils.enable(names[0], default_set=True)
    code = importlib.import_module(names[0] + ".batch").main(argv)
    if code == 0:
        print(f"pose2rot batch: done in {time.perf_counter() - started:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(_bootstrap())
