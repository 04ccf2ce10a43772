"""Batch: solve track files (.npz/.csv/.tsv/.bvh/.npy, FreeMoCap recordings, or folders of them) onto a rig, one .blend
(and BVH) per clip.

The rig is ``--rig RIG.blend`` (its armature), ``--rig RIG.bvh`` (imported with Blender's BVH
importer, at rest), the .blend Blender has open, or, for BVH and .npz tracks, the clip's own skeleton. For
every track file the rig is loaded afresh, the tracks are imported as empties, the armature is
solved over the clip's frames and ``OUT/<clip>.blend`` is saved; ``--bvh`` also writes
``OUT/<clip>.bvh`` in the rig BVH's rotation orders (``--order`` to change) and Y-up (``--up``).
Files of one name in one folder (``take.csv`` beside ``take.npz``) are written as ``take_csv`` and
``take_npz``.
``--layout NAME`` says what the points of .npy files are; ``--map MAP.json`` drives the bones through
a bone map (empties named like the points, not like the bones; see docs/RETARGETING.md); without it,
a .blend rig's armature drives them through the Bone Map it keeps, if any.
Clips are converted ``--jobs N`` at a time (default: one per CPU core), each in its own process
(Blender in the background, or Python with the bpy module, as this run), so a clip that fails
cannot harm the others; a single clip is converted in this process. The run ends with a summary table of every clip's result; the
exit status is 1 when any clip failed, 2 for bad arguments.

    blender -b --python-exit-code 1 --python <extension folder>/batch.py -- TRACKS... --out OUT [--rig RIG]
    python pose2rot_blender/batch.py --extension-zip dist/pose2rot-<version>.zip TRACKS... --out OUT   # bpy module

(the add-on preferences show the first line with this system's extension folder). The solve options
are the command line's (``--solver``, ``--twist``, ``--stretch``, ``--smooth``,
``--max-position-error``); the learned model's settings come from the add-on preferences, each
replaced where given (``--checkpoint``, ``--config``, ``--t5``, ``--device``, ``--model-python``).
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import math
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:                                     # run as a script, the core is importable only later
    from pose2rot_core.bonemap import BoneMap
    from pose2rot_core.options import SolveOptions

    from .batch_rigs import BvhRig
    from .runtime import LearnedSettings


#: options users bring from the command line (pose2rot solve) -> what the batch does instead
COMMAND_LINE_OPTIONS = {
    "--frames": "--frames is the command line's (pose2rot solve): the batch converts every clip whole; solve "
                "part of a clip with pose2rot solve --frames, or in Blender with the scene's frame range",
    "--skeleton": "--skeleton is the command line's: the batch takes the rig as --rig RIG.bvh (or RIG.blend)"}


def _parser() -> argparse.ArgumentParser:
    from pose2rot_core.cli import OneLineParser, add_solver_arguments, refuse_empty
    from pose2rot_core.cli_layouts import LAYOUT_WANTED
    from pose2rot_core.tracks_io import FILE_SUFFIXES

    ap = OneLineParser(prog=how_run(), name="pose2rot batch", elsewhere=COMMAND_LINE_OPTIONS,
                       description="Solve track files onto a rig, one .blend (and BVH) per clip.")
    refuse_empty(ap, ap.add_argument("tracks", nargs="+", metavar="TRACKS", help=(
        f"track files ({'/'.join(FILE_SUFFIXES)}), FreeMoCap recording folders, or folders holding them")),
        "a track file, FreeMoCap recording or folder", exists=True)
    ap.add_argument("--out", required=True, help="output folder (created when missing)")
    refuse_empty(ap, ap.add_argument("--rig", help="rig: a .blend (its armature) or a .bvh (imported at rest); "
                                                   "default: the .blend Blender has open, or for BVH tracks the "
                                                   "clip's own skeleton"), "a .blend or .bvh rig, or leave --rig out",
                 exists=True)
    ap.add_argument("--armature", default="", help="armature object name in a .blend rig (default: the only one)")
    add_solver_arguments(ap, learned=False)
    _model_arguments(ap)
    ap.add_argument("--bvh", action="store_true", help="also write OUT/<clip>.bvh")
    ap.add_argument("--order", help="rotation order of every BVH joint, e.g. ZXY (default: the rig BVH's own "
                                    "orders; ZXY for a .blend rig)")
    ap.add_argument("--up", choices=("y", "z"), default="y",
                    help="up axis of the written BVH (default y, as BVH files and Blender's importer expect)")
    ap.add_argument("--scale", type=_positive_scale, default=1.0,
                    help="multiply the track files' positions by this (their units to the rig's: 0.01 for "
                         "centimetres on a metre rig; default 1)")
    refuse_empty(ap, ap.add_argument("--layout", default="NONE", help="what the points of .npy files are "
                                                                      "(humanml3d22, mediapipe33, ...)"),
                 LAYOUT_WANTED)
    refuse_empty(ap, ap.add_argument("--map", dest="bone_map", help="MAP.json: drive the bones through this bone map"),
                 "a bone map file (MAP.json), or leave --map out", exists=True)
    refuse_empty(ap, ap.add_argument("--extension-zip", help="install this pose2rot zip first when the extension is "
                                                             "missing"),
                 "the pose2rot .zip, or leave --extension-zip out")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="clips converted at the same time, each in its own process (default: the number of CPU "
                         "cores)")
    ap.add_argument("--worker", metavar="TASK", help=argparse.SUPPRESS)  # one clip: its task file (batch_worker)
    return ap


def _positive_scale(text: str) -> float:
    """--scale's value: a positive finite number (argparse names the option when this raises)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"'{text}' is no scale: give a positive number, the factor from the track "
                                         "files' units to the rig's (0.01 for centimetres on a metre rig)")
    return value


def _model_arguments(ap: argparse.ArgumentParser) -> None:
    """The learned/hybrid model's settings, each replacing its Preferences value when given (a worker
    process, and the bpy module, start without saved Preferences)."""
    from pose2rot_core.cli import refuse_empty

    for flag, what, text in (
            ("--checkpoint", "a checkpoint file", "checkpoint (default: 'Checkpoint' in the Preferences)"),
            ("--config", "an upstream config YAML file", "upstream config YAML (default: the Preferences' or "
                                                         "inferred from the checkpoint)"),
            ("--t5", "a T5 encoder folder or model id", "T5 encoder folder or model id (default: the Preferences')"),
            ("--device", "auto, cpu or cuda", "auto, cpu or cuda (default: the Preferences')"),
            ("--model-python", "a Python interpreter with torch", "run the model in this Python interpreter, which "
                                                                   "has torch (default: as the Preferences say)")):
        refuse_empty(ap, ap.add_argument(flag, help=f"learned/hybrid: {text}"), f"{what}, or leave {flag} out")


def batch_learned(args: argparse.Namespace) -> LearnedSettings:
    """The model's settings of a run: the add-on's Preferences, with each one the batch arguments give
    replaced (--model-python: run the model there)."""
    import bpy

    from .prefs import learned_settings

    given = {field: getattr(args, field) for field in ("checkpoint", "config", "t5", "device")
             if getattr(args, field) is not None}
    if args.model_python is not None:
        given.update(python=args.model_python, runtime="EXTERNAL")
    return replace(learned_settings(bpy.context), **given)


@dataclass(frozen=True)
class Job:
    """What every clip of a run shares: the rig file (None: each BVH clip's own skeleton), the armature
    of a .blend rig ('' for the only one), the output folder, the solve options, the BVH output
    (``bvh``, ``order``, ``up``), the layout of .npy points, the bone map (None: bones by name) and,
    for BVH output, what the rig BVH says of its joints (BvhRig; None: each clip's own); ``run``: the
    run's token in its staged file names (staging_stem); ``learned``: the model's settings
    (batch_learned); ``scale``: what the track files' positions are multiplied by (--scale)."""

    rig: Path | None
    armature: str
    out: Path
    options: SolveOptions
    bvh: bool
    order: str | None
    up: str
    layout: str
    bone_map: BoneMap | None
    rig_bvh: BvhRig | None = None
    run: str = ""
    learned: LearnedSettings | None = None
    scale: float = 1.0


def batch_options(args: argparse.Namespace, learned: LearnedSettings) -> SolveOptions:
    """The SolveOptions of the batch arguments, the network's settings from ``learned`` (batch_learned)
    (no reference pose: the rig's rest pose gives the roll); with --map, checked for points up front."""
    from pose2rot_core.cli import solve_options
    from pose2rot_core.options import OptionError
    from pose2rot_core.wording import names

    from .props import option_labels

    try:
        options = solve_options(args, use_reference=False, **learned.model_options())
        if args.bone_map:
            options.for_points()
        return options
    except OptionError as e:
        flags = {field: name for field, name in names("cli").items() if hasattr(args, field)}
        raise e.worded(dict(option_labels(), **flags)) from None


def clip_job(args: argparse.Namespace, options: SolveOptions, learned: LearnedSettings, rig: Path | None,
             run: str) -> Job:
    """The Job of the batch arguments ``args`` (as :func:`main` checked them: --order upper case) for
    converting clips in this process onto the checked ``rig`` in the run ``run`` (Batch.run; the output
    folder absolute, the bone map loaded, a rig BVH's rotation orders read once), with the model's
    settings ``learned`` (batch_learned)."""
    from pose2rot_core.bonemap import load_map

    from .batch_rigs import bvh_rig

    return Job(rig, args.armature, Path(args.out).resolve(), options, args.bvh, args.order,
               args.up, args.layout, load_map(args.bone_map) if args.bone_map else None,
               bvh_rig(rig) if args.bvh and rig is not None else None, run, learned, args.scale)


@dataclass(frozen=True)
class Batch:
    """The checked inputs of a run: the track files (absolute, each once), each one's output name,
    the rig file (None: each clip's own skeleton) and the run's token, which its staged files are named
    with (another run into the same --out stages its own)."""

    files: list[Path]
    names: dict[Path, str]
    rig: Path | None
    run: str = ""


def checked_batch(args: argparse.Namespace) -> Batch:
    """The Batch of the arguments ``args``, every input checked before any work (a Pose2RotError
    otherwise): the files exist, their outputs neither clash nor overwrite an input, the rig is one
    that clips can be solved onto (check_rig) at a frame rate (check_rates), and ``--out`` is a folder
    (created when missing) that holds no folder under an output's name; outputs a killed run left halfway
    in place there are put in place (_finish_stopped)."""
    from pose2rot_core.batch_files import clip_files, output_names, readable
    from pose2rot_core.errors import Pose2RotError

    from .batch_outputs import output_suffixes
    from .batch_rigs import check_rates, check_rig, rig_source

    if not args.out.strip():                                   # '' is the current folder to Python: not asked for
        raise Pose2RotError("--out is empty: give a folder for the converted files (created when missing)")
    files = clip_files(args.tracks, "pose2rot batch")
    names = output_names(files, ".blend")
    rig = rig_source(args.rig, files)
    rig = rig and rig.resolve()
    out = Path(args.out).resolve()
    written = {(out / f"{names[f]}{x}").resolve() for f in files for x in output_suffixes(args.bvh)}
    clash = sorted(written & ({f.resolve() for f in files} | ({rig} if rig else set())))
    if clash:
        raise Pose2RotError(f"--out '{args.out}' would write over the input '{clash[0].name}': choose another folder")
    if out.exists() and not out.is_dir():
        raise Pose2RotError(f"--out '{args.out}' is a file: give a folder (created when missing)")
    folders = sorted(p.name for p in written if p.is_dir())
    if folders:
        raise Pose2RotError(f"--out '{args.out}' holds a folder named '{readable(folders[0])}', where a clip's output "
                            "goes: move or rename that folder, or choose another --out")
    check_rig(rig, args.armature)
    check_rates(rig, files)
    _writable_folder(out, args.out)
    _finish_stopped(out)
    return Batch(files, names, rig, secrets.token_hex(4))


def _finish_stopped(out: Path) -> None:
    """Put in place the outputs that a run killed while putting a clip's pair in place left halfway in
    ``out`` (batch_outputs.finish_stopped_moves), with a note: never one new file beside an earlier one."""
    from .batch_outputs import finish_stopped_moves

    placed = finish_stopped_moves(out)
    if placed:
        print(f"pose2rot batch: note: --out: {' and '.join(placed)}, which a run stopped while putting them there "
              "had written, are now in place together", file=sys.stderr)


def _writable_folder(out: Path, given: str) -> None:
    """Create the output folder ``out`` when missing and check that files can be written in it (a
    Pose2RotError naming --out ``given`` otherwise), before any clip is solved."""
    from pose2rot_core.errors import Pose2RotError

    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise Pose2RotError(f"--out '{given}': cannot write there ({e.strerror or e}): choose a folder you can "
                            "write to") from None


def convert(args: argparse.Namespace, options: SolveOptions, learned: LearnedSettings, batch: Batch,
            argv: list[str] | None = None) -> list:
    """Solve every track file of ``batch`` onto its rig as ``options`` and the model's settings
    ``learned`` say; print a line as each clip ends and the summary table; return the
    pose2rot_core.batch_summary.ClipResult of every clip (failed ones included). Several clips go to worker processes, ``args.jobs`` at a time, run with the batch
    arguments ``argv`` (without ``argv``: all in this process). On Ctrl-C or SIGTERM, raises Interrupted
    with the clips that ended."""
    from pose2rot_core.batch_files import clip_label
    from pose2rot_core.batch_summary import format_summary

    from .batch_outputs import output_suffixes, replaced_outputs
    from .batch_worker import in_workers

    files, names = batch.files, batch.names
    ended: list = []
    written: dict[str, list] = {}
    started = time.time()
    try:
        if len(files) > 1 and argv is not None:
            in_workers(batch, argv, args.jobs, ended, written, Path(args.out).resolve())
        else:
            job = clip_job(args, options, learned, batch.rig, batch.run)
            for path in files:
                clip_ended(ended, convert_one(path, job, names[path], written), len(files))
    except KeyboardInterrupt:
        earlier = _stopped(batch, Path(args.out).resolve(), output_suffixes(args.bvh), ended, started)
        raise Interrupted(ended, len(files), earlier) from None
    order = {clip_label(f): i for i, f in enumerate(files)}
    results = sorted(replaced_outputs(ended, written), key=lambda r: order.get(r.clip, len(order)))
    print(format_summary(results))
    return results


def _stopped(batch: Batch, out: Path, suffixes: tuple[str, ...], ended: list, started: float) -> list[str]:
    """After a stop: what the clips not reported converted left under this run's staged names is removed,
    once the renames of a pair begun are completed (batch_outputs.remove_staged); one that left none and
    whose .blend was put in place during this run (its last step, just before its result is reported)
    counts as converted (its ClipResult in ``ended``). Returns the output files
    (``suffixes``: the run's) in ``out`` of the clips still not converted that an earlier run wrote (put
    in place before this run ``started``): they are not this run's results."""
    from pose2rot_core.batch_files import clip_label, readable
    from pose2rot_core.batch_summary import ClipResult

    from .batch_outputs import remove_staged

    converted = {r.clip for r in ended if not r.failed}
    earlier: list[str] = []
    for path in batch.files:
        label, name = clip_label(path), batch.names[path]
        if label in converted:
            continue
        outputs = [out / f"{name}{x}" for x in suffixes]
        if not remove_staged(out, name, batch.run) and outputs[0].is_file() and outputs[0].stat().st_mtime >= started:
            ended[:] = [r for r in ended if r.clip != label] + [ClipResult(label)]
            continue
        earlier += [readable(p.name) for p in outputs if p.is_file() and p.stat().st_mtime < started]
    return earlier


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a run: the ClipResults of the clips that ended (``ended``) of ``total``,
    and the outputs in --out of clips not converted that an earlier run wrote (``earlier``)."""

    def __init__(self, ended: list, total: int, earlier: list[str] | None = None):
        super().__init__(f"interrupted after {len(ended)} of {total} clips")
        self.ended, self.total, self.earlier = ended, total, earlier or []


def clip_ended(ended: list, result, total: int) -> None:
    """Record a clip's ClipResult and print its progress line ('[3/8] walk.bvh: ok'), flushed, so that a
    log shows how far a run got."""
    ended.append(result)
    state = f"failed: {result.message}" if result.failed else "ok"
    print(f"[{len(ended)}/{total}] {result.clip}: {state}", flush=True)


def convert_one(path: Path, job: Job, name: str, written: dict[str, list] | None = None):
    """One clip onto the rig, its outputs named ``name`` (output_names): a ClipResult, with status
    'failed' and the message on bad input (nothing written; an earlier run's outputs, untouched, named).
    ``written`` gets the clip's outputs as [path, (device, inode)] pairs (batch_outputs.replaced_outputs
    reads them)."""
    from pose2rot_core.batch_files import clip_label, readable
    from pose2rot_core.batch_summary import ClipResult
    from pose2rot_core.errors import Pose2RotError

    from .batch_outputs import output_suffixes, remove_staged

    t0 = time.perf_counter()
    label = clip_label(path)
    outputs = [job.out / f"{name}{x}" for x in output_suffixes(job.bvh)]
    try:
        with _blender_chatter_hidden():
            plan, staged, timing = _solve_and_save(path, job, name, outputs)
    except Pose2RotError as e:
        remove_staged(job.out, name, job.run)
        stale = [p.name for p in outputs if p.is_file()]
        message = str(e) + (f" (an earlier run's {readable(' and '.join(stale))} stays in --out)" if stale else "")
        print(f"{label}: error: {message}", file=sys.stderr)
        return ClipResult(label, seconds=time.perf_counter() - t0, status="failed", message=message)
    for line in plan.report:
        print(f"{label}: note: {line}")
    warnings = [*timing, *plan.warnings]
    for line in warnings:
        print(f"{label}: warning: {line}")
    if written is not None:
        written[label] = [[str(p), mine] for p, mine in zip(outputs, staged)]
    return ClipResult(label, frames=len(plan.frames), bones=len(plan.bone_names),
                      max_error_pct=plan.max_error_pct, flips=int(plan.solution.check.flips.sum()),
                      seconds=time.perf_counter() - t0, warnings=len(warnings))


@contextlib.contextmanager
def _blender_chatter_hidden():
    """While inside, what Blender and its importers print on stdout (file descriptor 1) goes nowhere: for
    one clip, 'parsing bvh .../walk_rig.bvh', 'updating scene FPS (was 24) to BVH FPS (30)' (the rest rig of
    a 120 fps .npz) and 'Info: Saved copy as ".pose2rot-....blend"' (a staged name) read as what happened
    to the clip, between the batch's own lines, which say it (a worker's stdout is filtered so already).
    stderr is kept: a failure's words reach the batch as an exception."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _solve_and_save(path: Path, job: Job, name: str, outputs: list[Path]):
    """Load the rig, import the clip's tracks as empties, solve, write the .blend and the BVH under
    the run's staged names and put them in place as ``outputs`` together; (the solve's Plan, the (device,
    inode) of each output as put in place, the warnings of the clip's frame rate: _timing)."""
    import bpy

    from pose2rot_core.batch_files import readable
    from pose2rot_core.errors import Pose2RotError, WriteError

    from . import importing, mapping, pipeline
    from .batch_outputs import put_in_place, save_blend, staging_stem, write_failed
    from .batch_rigs import bvh_rig, export_bvh, load_rig, world_matrices

    obj = load_rig(job.rig, path, job.armature)
    context = bpy.context
    scene = context.scene
    col = importing.import_tracks(context, path, f"{readable(name)}_tracks", frame_start=1, set_scene=True,
                                  layout=job.layout, scale=job.scale)
    bone_map = job.bone_map
    if bone_map is not None:
        mapping.set_table(obj, bone_map)                         # the saved .blend keeps the map
    else:                                                        # the map the rig .blend keeps, if any
        bone_map = mapping.table_map(mapping.map_owner(scene, obj))
    span = pipeline.SceneRange(frame_start=scene.frame_start, frame_end=scene.frame_end)
    plan, _ = pipeline.solve_armature(scene, obj, col, span, job.options, job.learned,
                                      bone_map=bone_map, interface="cli")      # the batch's options are its flags
    staged = [job.out / f"{staging_stem(name, job.run)}{p.suffix}" for p in outputs]
    save_blend(staged[0], outputs[0].name)
    if job.bvh:
        source = bvh_rig(path) if job.rig_bvh is None else job.rig_bvh
        try:
            export_bvh(staged[1], plan, source, job.order, job.up, pipeline.frame_rate(scene),
                       world_matrices(obj, plan.frames))
        except WriteError as e:
            raise Pose2RotError(write_failed(outputs[1].name, e.cause)) from None
    ours = put_in_place(staged, outputs, job.out)
    return plan, ours, _timing(col, pipeline.frame_rate(scene), outputs)


#: how the batch asks for another rate where a clip's looks wrong (tracks.rate_warning; it has no --fps)
RATE_WANTED = "correct the file's frame time (a BVH's 'Frame Time:', a CSV's 'time' column: seconds)"


def _timing(collection, played: float, outputs: list[Path]) -> list[str]:
    """The warnings of the clip's own frame rate (the tracks ``collection`` keeps it, where the file has
    one): beyond what a Blender scene can play, so that the ``outputs`` play at ``played`` fps (the
    nearest rate the scene can), never silently another timing than the file's; outside the rates
    clips are taken at (tracks.rate_warning, as ``pose2rot solve`` says). [] for neither."""
    from pose2rot_core.batch_files import readable
    from pose2rot_core.blender_space import scene_fps_beyond
    from pose2rot_core.tracks import rate_warning
    from pose2rot_core.wording import WARNING_PREFIX

    from .importing import FPS_KEY

    fps = collection.get(FPS_KEY)
    if not fps:
        return []
    beyond = scene_fps_beyond(fps, played)
    odd = rate_warning(fps, RATE_WANTED).removeprefix(WARNING_PREFIX)
    return ([f"{beyond}: {readable(' and '.join(p.name for p in outputs))} play at {played:g} fps"] if beyond
            else []) + ([odd] if odd else [])


def how_run() -> str:
    """The command that runs this batch as the user ran it (the usage line and the errors show it): Blender
    with the script given to ``--python``, or Python with the script (the bpy module)."""
    import bpy

    argv = sys.argv
    if bpy.app.binary_path:
        script = argv[argv.index("--python") + 1] if "--python" in argv[:-1] else str(Path(__file__).resolve())
        return f"blender -b --python {script} --"
    return f"python {argv[0] if argv and argv[0].endswith('.py') else Path(__file__).resolve()}"


def command_line() -> str:
    """The command that runs this installed batch script with Blender (shown in the preferences)."""
    return (f'blender -b --python-exit-code 1 --python "{Path(__file__).resolve()}" -- '
            "TRACKS_OR_FOLDER --out OUT_FOLDER [--rig RIG.blend|RIG.bvh] [--bvh]")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry (arguments after ``--`` when run inside Blender): 0 when every clip was
    converted, 1 when any failed, 2 for bad arguments (nothing converted), 130 when interrupted."""
    from pose2rot_core.batch_files import check_jobs
    from pose2rot_core.cli import refuse_empty_inputs
    from pose2rot_core.errors import Pose2RotError
    from pose2rot_core.rotations import EULER_ORDERS

    from .runtime import choose_runtime

    parser = _parser()
    args = parser.parse_args(argv)
    try:
        refuse_empty_inputs(args)
        check_jobs(args.jobs)
    except Pose2RotError as e:
        parser.error(str(e))
    if args.order is not None:
        if args.order.upper() not in EULER_ORDERS:
            parser.error(f"--order must be one of {', '.join(EULER_ORDERS)}, got '{args.order}'")
        args.order = args.order.upper()
    _check_layout_and_map(parser, args)
    try:
        learned = batch_learned(args)
        options = batch_options(args, learned)
        if options.solver != "geometric":
            choose_runtime(learned)             # once, before any clip: torch missing fails them all alike
        if args.worker:
            from .batch_worker import run_worker

            return run_worker(args, options, learned)
        batch = checked_batch(args)
    except Pose2RotError as e:                  # bad arguments: nothing was done
        print(f"pose2rot batch: error: {e}", file=sys.stderr)
        return 2
    try:
        results = convert(args, options, learned, batch, list(argv if argv is not None else _script_argv()))
    except Interrupted as stop:
        done = [r.clip for r in stop.ended if not r.failed]
        earlier = (f"; {', '.join(stop.earlier[:4])}{' ...' if len(stop.earlier) > 4 else ''} in --out "
                   f"{'is' if len(stop.earlier) == 1 else 'are'} from an earlier run" if stop.earlier else "")
        print(f"pose2rot batch: interrupted: {len(done)} of {stop.total} clips converted"
              + (f" ({', '.join(done[:8])}{' ...' if len(done) > 8 else ''})" if done else "") + earlier,
              file=sys.stderr)
        return 130
    return 1 if any(r.failed for r in results) else 0


def _stop(signum, frame) -> None:
    """SIGTERM handler (a job manager's stop, ``timeout``): stop as on Ctrl-C (the workers stopped, what
    they left removed)."""
    raise KeyboardInterrupt


def _check_layout_and_map(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Bad arguments stop the batch before any clip (exit 2): an unknown --layout, a --map that
    cannot be read."""
    from pose2rot_core.bonemap import load_map
    from pose2rot_core.errors import Pose2RotError
    from pose2rot_core.layouts import LAYOUTS

    if args.layout != "NONE" and args.layout not in LAYOUTS:
        parser.error(f"--layout must be one of {', '.join(LAYOUTS)}, got '{args.layout}'")
    if args.bone_map:
        try:
            load_map(args.bone_map)
        except Pose2RotError as e:
            parser.error(f"--map: {e}")


def _script_argv() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]


def _bootstrap() -> int:
    """Run as a script (``--python batch.py`` or ``python batch.py``): enable the installed
    extension (installing ``--extension-zip`` when asked) and call its ``batch.main``. Under the bpy
    module, ``--extension-zip`` installs into a temporary Blender user folder. Ctrl-C or SIGTERM while
    bpy loads and the extension installs takes effect once they are done: one line, exit 130."""
    import importlib

    argv = _script_argv()
    zip_arg = argv[argv.index("--extension-zip") + 1] if "--extension-zip" in argv[:-1] else None
    if zip_arg and not Path(zip_arg).is_file():
        wrong = "is not a file: give the pose2rot .zip" if Path(zip_arg).exists() else "does not exist; check the path"
        print(f"pose2rot batch: error: --extension-zip '{zip_arg}' {wrong}, or build the zip with: python build.py",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    try:
        with _signals_held():
            name, code = _enabled_extension(argv, zip_arg)
        if name is None:
            return code
        started = time.perf_counter()
        code = importlib.import_module(name + ".batch").main(argv)
    except KeyboardInterrupt:
        print("pose2rot batch: interrupted before any clip was converted", file=sys.stderr)
        return 130
    if not any(a.startswith("--worker") for a in argv) and code not in (2, 130):  # bad arguments, interrupted: said
        print(f"pose2rot batch: {'done' if code == 0 else 'finished with failures'} in "
              f"{time.perf_counter() - started:.1f} s")
    return code


@contextlib.contextmanager
def _signals_held():
    """SIGINT and SIGTERM held back while inside (delivered when it ends): an interrupt while bpy loads
    was swallowed by its imports or left the extension half installed."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):          # Windows: no signal masks
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _enabled_extension(argv: list[str], zip_arg: str | None) -> tuple[str | None, int]:
    """(the enabled extension's module name, 0), installing ``zip_arg`` when it is missing; (None, exit
    status) when there is none: help printed (0), or one error line (2)."""
    if zip_arg and "bpy" not in sys.modules and "BLENDER_USER_RESOURCES" not in os.environ:
        os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pose2rot_batch_")  # the workers share it
        atexit.register(shutil.rmtree, os.environ["BLENDER_USER_RESOURCES"], True)
    try:
        import bpy  # noqa: F401  (first: under the bpy module, addon_utils exists only after it)
    except ImportError:
        how = ("this Python has no bpy module: run the batch with Blender "
               "(blender -b --python-exit-code 1 --python batch.py -- ...) or with a Python 3.11 that has "
               "the bpy module (pip install bpy)")
        if "-h" in argv or "--help" in argv:
            print(__doc__.strip() + f"\n\nNote: {how}.")
            return None, 0
        print(f"pose2rot batch: error: {how}", file=sys.stderr)
        return None, 2
    import addon_utils

    def installed() -> list[str]:
        return [m.__name__ for m in addon_utils.modules(refresh=True)
                if m.__name__.startswith("bl_ext.") and m.__name__.rsplit(".", 1)[-1] == "pose2rot"]

    names = installed()
    if not names and zip_arg:
        bpy.ops.extensions.package_install_files(filepath=str(Path(zip_arg).resolve()), repo="user_default",
                                                 enable_on_install=True)
        names = installed()
    if not names and ("-h" in argv or "--help" in argv):
        print(__doc__.strip() + "\n\nEvery option: add --extension-zip dist/pose2rot-<version>.zip to --help.")
        return None, 0
    if not names:
        print("pose2rot batch: error: the pose2rot extension is not installed in this Blender "
              "(install the zip, or pass --extension-zip dist/pose2rot-<version>.zip)", file=sys.stderr)
        return None, 2
    addon_utils.enable(names[0], default_set=True)
    return names[0], 0


if __name__ == "__main__":
    sys.exit(_bootstrap())
