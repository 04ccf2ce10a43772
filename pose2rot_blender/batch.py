"""Batch: solve track files (.npz/.csv/.bvh/.npy, FreeMoCap recordings, or folders of them) onto the armature of a .blend.

For every track file the rig file is opened afresh, the tracks are imported as empties, the
armature is solved over the clip's frames, and ``OUT/<clip>.blend`` is saved (plus
``OUT/<clip>.bvh`` through Blender's own BVH exporter with ``--bvh``). Run it as

    blender -b RIG.blend --python-exit-code 1 --python <extension folder>/batch.py -- TRACKS... --out OUT [--bvh]
    python <extension folder>/batch.py --rig RIG.blend TRACKS... --out OUT     # bpy module (pip install bpy)

or call :func:`convert` from Python with the extension enabled. Options: ``--armature NAME`` (default:
the file's only armature), ``--solver geometric|learned|hybrid`` (learned settings come from the
add-on preferences), ``--smooth auto|off|SECONDS``, ``--stretch auto|exact|off`` (bone lengths, as the
command line's), ``--extension-zip ZIP`` (install the extension first when it is not installed,
e.g. into a fresh ``BLENDER_USER_RESOURCES``), ``--layout NAME`` (what the points of .npy files are),
``--map MAP.json`` (drive the bones through a bone map: empties named like the points, not like the
bones). Bad input ends with exit code 1 and one line on stderr.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

TRACK_SUFFIXES = (".npz", ".csv", ".bvh", ".npy")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):                   # one line, not usage + error
        print(f"pose2rot batch: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="pose2rot batch", description="Solve track files onto a rig .blend.")
    ap.add_argument("tracks", nargs="+", help="track files (.npz/.csv/.bvh) or folders holding them")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--rig", help="rig .blend (default: the file Blender has open)")
    ap.add_argument("--armature", default="", help="armature object name (default: the only armature)")
    ap.add_argument("--solver", default="geometric", choices=("geometric", "learned", "hybrid"))
    ap.add_argument("--smooth", default="auto", help="track smoothing: auto, off, or a kernel width in seconds")
    ap.add_argument("--stretch", default="auto", choices=("auto", "exact", "off"),
                    help="bone lengths: auto keeps the rig's (joints that move relative to their parent still "
                         "translate), exact matches every track, off keeps every bone rigid")
    ap.add_argument("--bvh", action="store_true", help="also export OUT/<clip>.bvh with Blender's exporter")
    ap.add_argument("--layout", default="NONE", help="what the points of .npy files are (humanml3d22, mediapipe33, ...)")
    ap.add_argument("--map", dest="bone_map", help="MAP.json: drive the bones through this bone map")
    ap.add_argument("--extension-zip", help="install this pose2rot zip first when the extension is missing")
    return ap


def track_files(items: list[str]) -> list[Path]:
    """Expand folders to their track files (sorted); check that every file exists."""
    from pose2rot_core.errors import Pose2RotError

    from pose2rot_core.pointsets import FREEMOCAP_BODY

    out: list[Path] = []
    for item in items:
        p = Path(item)
        recording = p / "output_data" / FREEMOCAP_BODY
        if recording.is_file():                          # a FreeMoCap recording is one clip
            out.append(recording)
        elif p.is_dir():
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


def convert(tracks: list[str], out_dir: str, rig: str | None = None, armature: str = "",
            solver: str = "geometric", bvh: bool = False, smooth: str | float = "auto",
            stretch: str = "auto", layout: str = "NONE", bone_map: str | None = None) -> list[dict]:
    """Solve every track file onto the rig; returns one summary dict per clip."""
    import bpy

    from pose2rot_core.bonemap import load_map
    from pose2rot_core.errors import Pose2RotError

    from . import importing, mapping, pipeline
    from .prefs import learned_settings

    loaded_map = load_map(bone_map) if bone_map else None

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
        col = importing.import_tracks(context, path, f"{_clip_name(path)}_tracks", frame_start=1, set_scene=True,
                                      layout=layout)
        if loaded_map is not None:
            mapping.set_table(scene, loaded_map)                 # the saved .blend keeps the map
        settings = pipeline.SolveSettings(solver=solver.upper(), frame_start=scene.frame_start,
                                          frame_end=scene.frame_end, smooth=_smooth_value(smooth),
                                          stretch=None if stretch == "auto" else stretch, bone_map=loaded_map)
        plan, seconds = pipeline.solve_armature(scene, obj, col, settings, learned_settings(context))
        blend = out / f"{_clip_name(path)}.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
        result = {"clip": str(path), "blend": str(blend), "frames": len(plan.frames), "seconds": seconds,
                  "mean_error_pct": plan.mean_error_pct, "max_error_pct": plan.max_error_pct}
        if bvh:
            result["bvh"] = str(_export_bvh(context, obj, out / f"{_clip_name(path)}.bvh"))
        results.append(result)
        for line in plan.warnings:
            print(f"{path.name}: warning: {line}")
        print(f"{path.name}: {len(plan.bone_names)} bones x {len(plan.frames)} frames in {seconds:.2f} s, "
              f"position error mean {plan.mean_error_pct:.3g} % / max {plan.max_error_pct:.3g} % of height "
              f"-> {blend.name}{' + ' + Path(result['bvh']).name if bvh else ''}")
    return results


def _clip_name(path: Path) -> str:
    """A clip's name for its outputs: the file's stem, the recording folder's name for FreeMoCap."""
    from pose2rot_core.pointsets import FREEMOCAP_BODY

    return path.parent.parent.name if path.name == FREEMOCAP_BODY else path.stem


def _smooth_value(smooth: str | float) -> str | float:
    from pose2rot_core.errors import Pose2RotError

    if isinstance(smooth, str) and smooth.lower() in ("auto", "off"):
        return smooth.lower()
    try:
        return float(smooth)
    except ValueError:
        raise Pose2RotError(f"--smooth must be auto, off or seconds, got '{smooth}'") from None


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

    args = _parser().parse_args(argv)
    try:
        convert(args.tracks, args.out, args.rig, args.armature, args.solver, args.bvh, args.smooth, args.stretch,
                args.layout, args.bone_map)
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
