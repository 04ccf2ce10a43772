"""``pose2rot solve`` of several inputs, or of a folder of them, or of one given a folder --out: a batch into
the folder --out.

Every clip (batch_files.track_files: the track files and FreeMoCap recordings given or in the folders
given, less the rig --skeleton a folder holds) is solved as ``pose2rot solve`` solves one input
(cli.solve_one: the same checks, notes and warnings, each line led by the clip's name) and written to
``OUT/<clip>.bvh`` (``--format npz``: ``.npz``), named as the Blender batch names its outputs
(batch_files.output_names). Options no clip could take (a --frames or --scale that is no value, a rig,
reference or map that cannot be read) are refused before any clip. A clip that fails is reported and
the others go on; as every output is written whole (errors.write_whole), a failed clip leaves nothing.
``--jobs N`` above 1 solves N clips at a time in worker processes (cli_workers), to the same files.
One line per clip as it ends on stderr (a bar over the clips on a terminal), the summary table
(batch_summary.format_summary) on stdout at the end; exit status 0 when every clip was solved, 1 when
any failed, 2 for bad arguments (nothing solved).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from .batch_files import clip_files, clip_label, output_names, readable
from .batch_summary import ClipResult, format_summary
from .errors import Pose2RotError
from .options import OptionError
from .pointsets import FREEMOCAP_BODY, LayoutUnfit, LayoutWanted, freemocap_body
from .shared_files import SharedFiles
from .tracks_io import POINT_SUFFIXES
from .wording import WARNING_PREFIX, names

#: the output suffixes --out may not end in with several inputs (they name a file, not a folder)
FILE_SUFFIXES = (".bvh", ".npz")


def is_batch(args: argparse.Namespace) -> bool:
    """Whether ``solve``'s inputs ``args.tracks`` make a batch: several, or one folder that is no FreeMoCap
    recording (which is one clip), or one clip given the folder ``args.out`` (names_folder: a shell
    pattern that matched one file still writes into the folder)."""
    first = Path(args.tracks[0])
    return len(args.tracks) > 1 or (first.is_dir() and freemocap_body(first) is None) or names_folder(args.out)


def names_folder(text: str) -> bool:
    """Whether the --out ``text`` can only name a folder: it ends in a path separator, or is an existing
    folder whose name is no output file's (a folder 'x.bvh' is refused as a file name)."""
    if not text.strip() or text.endswith(tuple({"/", os.sep, os.altsep or "/"})):
        return bool(text.strip())
    try:
        return Path(text).is_dir() and Path(text).suffix.lower() not in FILE_SUFFIXES
    except OSError:                                 # a path the system refuses (too long): the file checks say why
        return False


def solve_batch(args: argparse.Namespace) -> int:
    """Solve every clip of ``args.tracks`` into the folder ``args.out`` (checked, and created, before any
    clip: a Pose2RotError otherwise), ``args.jobs`` at a time (cli_workers; 1: one after the other in this
    process), print the summary table (the clips in their given order); 0 when every clip was solved, else
    1. On Ctrl-C or SIGTERM, says which clips were written before it stops (the interrupt goes on to
    cli.main)."""
    from .cli import warnings_place

    outputs, shared = checked_batch(args)
    mixed = len({needs_layout(path) for path in outputs}) == 2
    results: dict[Path, ClipResult] = {}
    say, counted, close = _clip_progress(len(outputs))
    started = time.time()

    def ended(path: Path, result: ClipResult, lines: list[str]) -> None:
        for line in lines:
            say(line)
        results[path] = result
        counted(result, outputs[path])

    try:
        if args.jobs > 1 and len(outputs) > 1:
            from .cli_workers import in_workers

            in_workers(args, shared, mixed, outputs, args.jobs, ended)
        else:
            for path, out in outputs.items():
                ended(path, solve_clip(args, path, out, say, shared, mixed), [])
    except KeyboardInterrupt:
        close()
        _say_written(_written(outputs, results, started), len(outputs))
        raise
    close()
    print(format_summary([results[path] for path in outputs], warnings_place()))
    return 1 if any(r.failed for r in results.values()) else 0


def checked_batch(args: argparse.Namespace) -> tuple[dict[Path, Path], SharedFiles]:
    """({clip file (batch_files.track_files, each once): its output in the folder --out}, the files every
    clip reads, read once: shared_files), after checking the options every clip shares, that --out is a
    folder that can be written (created when missing) and that no output would replace an input or a
    folder."""
    from .cli import _check_fps_option, _order_option, frame_bounds, given_output, scale_factor, solve_options
    from .cli_layouts import layout_arg

    solve_options(args)
    layout_arg(args.layout)
    _check_fps_option(args.fps)
    shared = shared_files(args)
    for text, check in ((args.frames, frame_bounds), (args.scale, scale_factor)):
        if text is not None:
            check(text)                     # what no clip could take, refused once, before any
    suffix = f".{args.format or 'bvh'}"
    if _order_option(args.order) and suffix == ".npz":
        raise Pose2RotError("--order is for BVH output: --format npz writes quaternions, which have no rotation "
                            "order; leave --order out")
    folder = given_output(args.out, "--out", "a folder for the clips' files (created when missing)")
    files = _without_rig(clip_files(args.tracks, "pose2rot"), args)
    clip_names = output_names(files, suffix)
    outputs = {f: folder / f"{clip_names[f]}{suffix}" for f in files}
    _check_folder(folder, args.out, len(files))
    _check_outputs(outputs, [*files, *(Path(p) for p in (args.skeleton, args.reference, args.map) if p)], args.out)
    folder.mkdir(parents=True, exist_ok=True)
    return outputs, shared


def shared_files(args: argparse.Namespace) -> SharedFiles:
    """The files every clip reads (the rig --skeleton, --reference, --map, which needs the rig), read once,
    before any clip: one that cannot be read would fail them all, one by one; each clip is given them as
    read."""
    from .cli_layouts import check_map_rig

    check_map_rig(args)
    return SharedFiles.of(args).read_all()


def _without_rig(files: list[Path], args: argparse.Namespace) -> list[Path]:
    """The clip ``files`` less the rig BVH ``args.skeleton`` where a folder given brought it in (kept beside
    its CSV takes): as a clip it would fail, a BVH carrying its own skeleton given a rig, or be the rig
    retargeted onto itself through --map. A note says so; the rig given as an input itself stays (and fails)."""
    if not args.skeleton or not Path(args.skeleton).is_file():
        return files
    given = {Path(os.path.abspath(t)) for t in args.tracks}
    rig = [f for f in files if f not in given and f.is_file() and os.path.samefile(f, args.skeleton)]
    clips = [f for f in files if f not in rig]
    if rig and not clips:
        raise Pose2RotError(f"the only track file given is the rig {readable(str(rig[0]))} (--skeleton): give the "
                            "clips to solve on it (CSV takes, or sources with --map)")
    if rig:
        print(f"pose2rot: note: {readable(str(rig[0]))} is the rig (--skeleton), not a clip: not converted",
              file=sys.stderr)
    return clips


def _check_folder(folder: Path, given: str, clips: int) -> None:
    """Refuse an --out (``given``) that names a file for a batch of ``clips`` clips: one that is a file, or,
    still missing, ends as a BVH or .npz file does; or one in which no file can be written."""
    from .cli import _check_writable

    if folder.suffix.lower() in FILE_SUFFIXES and not folder.is_dir():
        raise Pose2RotError(f"--out {given} names a file, but the {clips} clips of several inputs or a folder are "
                            f"written to a folder, one file per clip: give a folder (created when missing), e.g. "
                            f"--out {folder.with_suffix('')}")
    _check_writable(folder, "--out", folder=True)


def _check_outputs(outputs: dict[Path, Path], inputs: list[Path], given: str) -> None:
    """Refuse outputs that would replace one of the ``inputs`` (the clips, the rig, ...) or that are
    folders, before any clip is solved."""
    taken = {p.resolve() for p in inputs}
    for out in outputs.values():
        if out.resolve() in taken:
            raise Pose2RotError(f"--out '{given}' would write over the input '{readable(out.name)}': choose another "
                                "folder")
        if out.is_dir():
            raise Pose2RotError(f"--out '{given}' holds a folder named '{readable(out.name)}', where a clip's output "
                                "goes: move or rename that folder, or choose another --out")


def solve_clip(args: argparse.Namespace, path: Path, out: Path, say: Callable[[str], None], files: SharedFiles,
               mixed: bool) -> ClipResult:
    """Solve the clip ``path`` to ``out`` as cli.solve_one does with the other ``args`` and the batch's shared
    ``files``, its lines led by its name (batch_files.clip_label) to ``say``; ``mixed``: the batch holds
    clips that need --layout and others (needs_layout), and a failure for --layout says what that
    means for the batch (_layout_advice); its ClipResult, 'failed' with the reason where its input
    is bad or its solve refused (nothing written; an earlier run's file there is named). --debug: an
    unexpected error stops the batch with its traceback."""
    from .cli import solve_one

    label = clip_label(path)
    source = path.parent if path.name == FREEMOCAP_BODY else path       # solve reads the recording's folder
    clip_args = argparse.Namespace(**{**vars(args), "tracks": str(source), "out": str(out)})
    t0 = time.perf_counter()
    try:
        _check_own_skeleton(clip_args, path)
        result, _ = solve_one(clip_args, out, lambda line: say(f"{label}: {_unnamed(line, path)}"),
                              batch=True, files=files)
    except Exception as e:  # noqa: BLE001 - one clip's failure, whatever it is, leaves the others to go on
        if args.debug and not isinstance(e, Pose2RotError):
            raise
        message = (_unnamed(_failure(e), path) + (_layout_advice(e, args.layout) if mixed else "")
                   + (f" (an earlier run's {readable(out.name)} stays in --out)" if out.is_file() else ""))
        say(f"{label}: error: {message}")
        return ClipResult(label, seconds=time.perf_counter() - t0, status="failed", message=message)
    return replace(result, clip=label, seconds=time.perf_counter() - t0)


def _check_own_skeleton(clip_args: argparse.Namespace, path: Path) -> None:
    """Refuse, in the batch's words, the rig --skeleton for the clip ``path`` whose tracks carry their own
    skeleton (a BVH, a tracks .npz; not a point set driving the rig through --map). One input is told to
    leave --skeleton out, which in a batch would take the rig from the CSV clips beside it."""
    from .cli_layouts import wants_points
    from .tracks_io import READERS

    suffix = path.suffix.lower()
    if clip_args.skeleton and suffix in READERS and READERS[suffix][1] is None and not wants_points(clip_args):
        raise Pose2RotError(f"a {suffix} tracks file carries its own skeleton, which the rig --skeleton would "
                            "replace: convert it in a batch without --skeleton (the rig is for CSV clips), or put "
                            f"its motion on that rig through a bone map (--map MAP.json, made by: pose2rot map "
                            f"--skeleton RIG.bvh --source {readable(path.name)} --out MAP.json)")


def _unnamed(line: str, path: Path) -> str:
    """A clip's note, warning or error ``line`` without the clip's file ``path`` (the batch's, absolute) or
    its name leading what it says ('note: walk.npy: up axis y' -> 'note: up axis y'): the batch leads the
    line, and the row, with the clip's name."""
    kind = next((k for k in ("note: ", WARNING_PREFIX) if line.startswith(k)), "")
    said = line[len(kind):]
    return kind + next((said[len(lead):] for lead in (f"{path}: ", f"{path.name}: ") if said.startswith(lead)), said)


def needs_layout(path: Path) -> bool:
    """Whether the clip ``path`` needs --layout to be read: a .npy file of bare numbers (a FreeMoCap
    recording's body file says its own)."""
    return path.suffix.lower() in POINT_SUFFIXES and path.name != FREEMOCAP_BODY


def _layout_advice(e: Exception, layout: str | None) -> str:
    """What a clip's failure ``e`` for --layout (``layout``: the one given, or None) means in a batch of
    clips that need it and others, where --layout goes to every clip: '' for any other failure."""
    if isinstance(e, LayoutWanted):
        return ("; a batch gives --layout to every clip, and its clips that are not .npy take none: convert the "
                ".npy clips in a batch of their own, with --layout")
    if isinstance(e, LayoutUnfit) and layout:
        return (f"; --layout {layout} is for the batch's .npy clips, but a batch gives it to every clip: convert "
                "this one in a batch without --layout")
    return ""


def _failure(e: Exception) -> str:
    """Why a clip failed, as cli.main words the exception ``e`` for one input."""
    if isinstance(e, OptionError):
        return e.worded(names("cli"))
    if isinstance(e, Pose2RotError):
        return str(e)
    if isinstance(e, OSError):
        return f"{e.strerror or e}: {e.filename or ''}".rstrip(": ")
    return f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback)"


def _clip_progress(total: int):
    """(say: print a line on stderr, ended: count a clip's ClipResult and its output, close): on a terminal
    a tqdm bar over the ``total`` clips, which the lines are printed above; elsewhere (a log) a line
    per clip as it ends ('[2/5] walk.bvh: ok -> OUT/walk.bvh')."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None and sys.stderr.isatty():
        bar = tqdm(total=total, desc="clips", unit="clip", file=sys.stderr, leave=False)

        def counted(result: ClipResult, out: Path) -> None:
            bar.set_postfix_str(f"{result.clip}: {result.status}", refresh=False)
            bar.update(1)

        return (lambda line: bar.write(line, file=sys.stderr)), counted, bar.close
    done = [0]

    def line(result: ClipResult, out: Path) -> None:
        done[0] += 1
        state = "failed" if result.failed else f"ok -> {out}"
        print(f"[{done[0]}/{total}] {result.clip}: {state}", file=sys.stderr, flush=True)

    return (lambda text: print(text, file=sys.stderr, flush=True)), line, lambda: None


def _written(outputs: dict[Path, Path], results: dict[Path, ClipResult], started: float) -> list[str]:
    """After a stop: the names of the ``outputs`` {clip: output} written by the batch ``started`` at that
    time (time.time()): the clips solved (``results``), and those put in place as the stop came (a file
    written since the batch started; a clip not yet begun has none)."""
    return [out.name for path, out in outputs.items()
            if (not results[path].failed if path in results else out.is_file() and out.stat().st_mtime >= started)]


def _say_written(written: list[str], total: int) -> None:
    """After a stop: say on stderr which outputs (``written``, of ``total`` clips) were written before it."""
    listed = f": {readable(', '.join(written[:8]))}{' ...' if len(written) > 8 else ''}" if written else ""
    print(f"pose2rot: {len(written)} of {total} clips written before the stop{listed}", file=sys.stderr)
