"""The ``pose2rot`` command line.

Every failure caused by input ends with one readable line on stderr and exit status 2
(1 for unexpected internal errors, with ``--debug`` showing the traceback).
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import __version__
from .axes import AXES
from .batch_summary import ClipResult
from .cli_layouts import LAYOUT_WANTED, add_point_arguments, is_point_set, point_info
from .errors import Pose2RotError, not_there
from .export import DEFAULT_ORDER, write_solution
from .layouts import LAYOUTS
from .options import AUTO_TWIST, PRECISIONS, SOLVERS, OptionError, SolveOptions, twist_choices
from .shared_files import SharedFiles
from .tracks import FPS_FLAG, rate_warning, usable_rate
from .tracks_csv import SUFFIXES as CSV_SUFFIXES
from .wording import (WARNING_PREFIX, cli_line, counted, label, names, notes_for, percent, setting,
                      tracks_were_smoothed)


# ------------------------------------------------------------------------------ helpers
def warnings_place() -> str:
    """Where a reader of stdout finds the notes and warnings printed on stderr: 'above' where both go to
    one place (a terminal, one log for both), 'in FILE' where stderr goes to a file of its own (its
    path, where the system names it), else 'on stderr'."""
    try:
        out, err = (os.fstat(stream.fileno()) for stream in (sys.stdout, sys.stderr))
    except (AttributeError, OSError, ValueError):             # streams with no file behind them
        return "above" if sys.stdout is sys.stderr else "on stderr"
    if (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino):
        return "above"
    if not stat.S_ISREG(err.st_mode):
        return "on stderr"
    try:
        return f"in {os.readlink(f'/proc/self/fd/{sys.stderr.fileno()}')}"
    except OSError:                                           # no /proc: not Linux
        return "on stderr"


#: seconds a step runs before its progress bar shows (a short clip's steps draw none)
PROGRESS_DELAY = 1.0


def _progress_bar(total_desc: str):
    """A progress callback (fraction, message) drawing a tqdm bar on stderr when tqdm is installed and
    stderr is a terminal, shown once the step has run PROGRESS_DELAY seconds and redrawn while no
    fraction comes (its elapsed time goes on); (callback, close)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None, lambda: None
    bar = tqdm(total=100, desc=total_desc, unit="%", leave=False, file=sys.stderr, delay=PROGRESS_DELAY,
               miniters=0, disable=not sys.stderr.isatty())

    def update(fraction: float, message: str) -> None:
        bar.set_postfix_str(message, refresh=False)
        bar.update(int(round(100 * fraction)) - bar.n)        # drawn once past the delay

    return update, _redrawn(bar)


def _redrawn(bar) -> Callable[[], None]:
    """Redraw the tqdm ``bar`` (made with miniters=0: a call without progress draws it) every half second
    from a thread once it has run PROGRESS_DELAY seconds, so that a step that reports nothing for a
    while (reading a file, cleaning tracks) still shows its time; returns what stops the thread and
    closes the bar (a disabled bar: no thread)."""
    if bar.disable:
        return bar.close
    done = threading.Event()

    def redraw() -> None:
        while not done.wait(0.5):
            bar.update(0)                                     # drawn once past the delay (miniters 0)

    drawer = threading.Thread(target=redraw, daemon=True)
    drawer.start()

    def close() -> None:
        done.set()
        drawer.join()
        bar.close()

    return close


@contextlib.contextmanager
def step_shown(desc: str):
    """While inside, a step without a measure of its progress (reading a file, writing one) shows as
    ``desc`` and the seconds it has taken on stderr, once it has run PROGRESS_DELAY seconds (a tqdm
    bar redrawn by a thread; nothing without tqdm or a terminal)."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is None:
        yield
        return
    close = _redrawn(tqdm(desc=desc, bar_format="{desc}: {elapsed}", leave=False, file=sys.stderr,
                          delay=PROGRESS_DELAY, miniters=0, disable=not sys.stderr.isatty()))
    try:
        yield
    finally:
        close()


def _parse_frames(text: str | None, num_frames: int, first_frame: int = 0) -> tuple[int, int]:
    """'A:B' (Python slice style, either side optional; frames as the file numbers them, from
    ``first_frame``; negative: from the end) -> (start, stop) indices within the clip."""
    if not text:
        return 0, num_frames
    a, b = frame_bounds(text)
    start = first_frame if a is None else a
    stop = first_frame + num_frames if b is None else b
    start = start + num_frames if start < 0 else start - first_frame
    stop = stop + num_frames if stop < 0 else stop - first_frame
    last = first_frame + num_frames
    if start < 0 or start >= num_frames or stop < 0 or stop > num_frames:
        raise Pose2RotError(f"--frames {text} reaches outside the {num_frames}-frame clip "
                            f"(frames {first_frame}..{last - 1}; the whole clip is {first_frame}:{last})")
    if start >= stop:
        raise Pose2RotError(f"--frames {text} selects no frames: the end must be after the start (e.g. "
                            f"{first_frame + start}:{first_frame + min(start + 10, num_frames)})")
    return start, stop


def frame_bounds(text: str) -> tuple[int | None, int | None]:
    """The A and B of --frames 'A:B' (None where a side is left out), refused where they are no whole
    numbers, or where they select no frames in a clip of any length (both given, of one sign, B not
    after A: '5:2', '-2:-5')."""
    try:
        a, b = (int(side) if side.strip() else None for side in text.split(":"))
    except ValueError:
        raise Pose2RotError(f"--frames must look like A:B with whole frame numbers (e.g. 0:100, 10: or -50:), "
                            f"got '{text}'") from None
    if a is not None and b is not None and (a < 0) == (b < 0) and b <= a:
        example = f"{b}:{a}" if b < a else f"{a}:{a + 10}" if a >= 0 else f"{a}:"
        raise Pose2RotError(f"--frames {text} selects no frames: the end must be after the start (e.g. {example})")
    return a, b


def _output_path(text: str, suffixes: tuple[str, ...], option: str = "--out", inputs: tuple[str, ...] = ()
                 ) -> Path:
    """Check an output path before any work: a known suffix, an existing directory, not a directory
    itself, not one of the ``inputs`` (which the result would overwrite)."""
    out = given_output(text, option, f"a file name ending in {' or '.join(suffixes)} (NAME{suffixes[0]})")
    same = [i for i in inputs if i and Path(i).exists() and out.exists() and os.path.samefile(out, i)]
    if same:
        raise Pose2RotError(f"{option} {out} is the input file '{same[0]}': the result would overwrite it; "
                            "write to another file")
    _check_file_name(out, suffixes, option)
    _check_no_file_above(out, option)
    if not out.parent.is_dir():
        raise Pose2RotError(f"{option} {out}: the directory '{out.parent}' does not exist; create it first")
    _check_writable(out, option)
    return out


def given_path(text: str, option: str, what: str) -> Path:
    """The path ``option`` gives, refused when it is empty or blank (an empty path is the current
    folder to Python, '.', where nothing was asked to be written); ``what``: what to give instead."""
    if not text.strip():
        raise Pose2RotError(f"{option} is empty: give {what}")
    return Path(text)


def given_output(text: str, option: str, what: str) -> Path:
    """given_path of an output, also refused where a name in it, or the whole path, is longer than the
    file system takes (_check_name_length), before anything asks the system about it."""
    out = given_path(text, option, what)
    _check_name_length(out, option)
    return out


#: the attribute of parsed arguments that lists the arguments refused when given empty (see refuse_empty)
EMPTY_REFUSED = "empty_refused"


def usage_name(action: argparse.Action) -> str:
    """How the usage line names the argument ``action``: its (long) flag, or a positional's metavar."""
    return action.option_strings[-1] if action.option_strings else action.metavar or action.dest


def refuse_empty(p: argparse.ArgumentParser, action: argparse.Action, what: str, exists: bool = False) -> None:
    """Refuse the argument ``action`` of ``p`` (as add_argument returns it) given empty or blank, as an unset
    shell variable gives it: a path would be the current folder to Python, an option's value would read as
    not given. main names it as its usage line does (an option's flag, a positional's metavar) and says
    ``what`` to give instead. ``exists``: the argument is an input path, also refused where nothing is there
    (see given_input)."""
    name = usage_name(action)
    p.set_defaults(**{EMPTY_REFUSED: {**(p.get_default(EMPTY_REFUSED) or {}), action.dest: (name, what, exists)}})


def refuse_empty_inputs(args: argparse.Namespace) -> None:
    """Refuse an argument that its command marked with refuse_empty given empty or blank, or, for an input
    path, naming nothing, by its name, before the command reads anything."""
    for dest, (name, what, exists) in getattr(args, EMPTY_REFUSED, {}).items():
        value = getattr(args, dest, None)
        for text in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            given_path(text, name, what)
            if exists:
                given_input(text, name)


def given_input(text: str, name: str) -> Path:
    """The input path ``text`` of the argument ``name`` (its flag, a positional's metavar), refused where no
    file or folder is there, in every command's one form: "NAME 'PATH' does not exist; check the path" (a
    link to nothing: where it leads, errors.not_there)."""
    path = Path(text)
    if not path.exists():                       # False also for a link to nothing, or in a loop of links
        raise Pose2RotError(f"{name} '{text}' {not_there(path)}")
    return path


def _check_file_name(out: Path, suffixes: tuple[str, ...], option: str) -> None:
    """Refuse an output file ``out`` that is an existing directory, or whose name does not end in
    one of the ``suffixes`` (lower case; any case matches) or is nothing but one."""
    if out.is_dir():                                      # before the suffix: 'out/' has none
        raise Pose2RotError(f"{option} {out} is a directory; give a file name in it"
                            + (f" ending in {' or '.join(suffixes)} ({out / ('NAME' + suffixes[0])})" if suffixes else ""))
    if out.name.lower() in suffixes:                      # '.bvh': to Python, a hidden file without a suffix
        raise Pose2RotError(f"{option} {out} has no name before its suffix: give a name such as "
                            f"NAME{out.name.lower()}")
    if suffixes and out.suffix.lower() not in suffixes:
        raise Pose2RotError(f"{option} must end in {' or '.join(suffixes)}, got '{out.name}'")


#: the longest name (bytes) most file systems take, where the system does not say (a folder still missing)
NAME_MAX = 255


def _check_name_length(out: Path, option: str, given: bool = False) -> None:
    """Refuse an output ``out`` that the system would refuse as too long (it answered every question about
    it, 'does it exist', with 'File name too long' and the path alone, or, below a folder still missing,
    'does not exist'): a name in it longer than its file system takes (os.pathconf's PC_NAME_MAX, else
    NAME_MAX), or the whole path. ``given``: ``out`` is an input, a path no file can have."""
    fix = (", so no file can have it: check the path", ", so no file can be there: check the path") if given else (
        ": give a shorter name", ": give a shorter path (fewer or shorter folder names)")
    folder, limit = Path(out.anchor or "."), NAME_MAX
    for name in out.parts[1 if out.anchor else 0:]:
        with contextlib.suppress(OSError, ValueError):    # a folder still missing: the last limit known
            limit = os.pathconf(folder, "PC_NAME_MAX")
        size = len(os.fsencode(name))
        if size > limit:
            shown = name if len(name) <= 40 else f"{name[:24]}...{name[-12:]}"
            raise Pose2RotError(f"{option}: the name '{shown}' is {size} bytes long, more than the {limit} that the "
                                f"file system takes for a name{fix[0]}")
        folder = folder / name
    try:
        os.lstat(out)
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise Pose2RotError(f"{option}: the path is {len(os.fsencode(str(out)))} bytes long, more than the file "
                                f"system takes{fix[1]}") from None


def _too_long_input(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str | None:
    """The error naming the argument of the command ``args`` (as ``parser`` parsed them) whose path the
    system refused as too long (an input: the file's name or path longer than it takes; see
    _check_name_length), by the name its usage line gives it (a flag, a positional's metavar); None
    where no argument's is."""
    for name, text in _given_texts(args, parser):
        try:
            _check_name_length(Path(text), name, given=True)
        except Pose2RotError as e:
            return str(e)
    return None


def _given_texts(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """(usage name, text) of every text argument given to the command ``args`` names (its subcommands
    followed, as ``parser`` parsed them)."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            out += _given_texts(args, chosen) if chosen is not None else []
            continue
        value = getattr(args, action.dest, None)
        name = usage_name(action)
        out += [(name, v) for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
    return out


def _check_no_file_above(out: Path, option: str) -> None:
    """Refuse an output ``out`` inside a file (notes.txt/x.bvh): the nearest of its folders that
    exists is a file (a link is followed), so nothing can be written or created below it."""
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise Pose2RotError(f"{option} {out}: '{above}' is a file, not a folder: give {option} inside a folder")


def _check_writable(out: Path, option: str, folder: bool = False) -> None:
    """Refuse, before any work, an output ``out`` that could not be written at the end (as
    errors.write_whole writes it: the file a link names): a file there that is read-only, or a
    directory in which no file can be created (the result is written beside it and put in its
    place). A device or pipe is written directly, and not checked. ``folder``: ``out`` is a folder
    the command writes its files in, refused where something else (a file) is there. A folder
    still missing is checked where it would be created (its nearest existing parent)."""
    import tempfile

    from .errors import write_target

    _check_no_file_above(out, option)
    if not folder and out.is_symlink():
        _check_link(out, option)
    if folder and out.exists() and not out.is_dir():
        raise Pose2RotError(f"{option} {out} is a file, not a folder: give a folder for the run's files "
                            "(it is created where missing)")
    target, direct = (out, False) if folder else write_target(out)
    if direct:
        return
    if not folder and target.is_file() and not os.access(target, os.W_OK):
        raise Pose2RotError(f"{option} {out} is read-only: make it writable, or write to another file")
    where = next(p for p in ([target] if folder else []) + list(target.parents) if p.is_dir())
    try:
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as e:
        raise Pose2RotError(f"{option} {out}: cannot write in the directory '{where}' "
                            f"({e.strerror or e}): choose a directory you can write to") from None


def _check_link(out: Path, option: str) -> None:
    """Refuse an output ``out`` that is a link no file can be written through (a write replaces the file
    a link names): links in a loop, or a link into a folder that is gone."""
    try:
        target = out.resolve()
    except (RuntimeError, OSError):                     # a loop of links (OSError from Python 3.13)
        raise Pose2RotError(f"{option} {out} is a link in a loop of links that names no file: remove the link, "
                            "or write to another file") from None
    if not target.parent.is_dir():
        raise Pose2RotError(f"{option} {out} is a link to '{target}', whose folder does not exist: create "
                            f"'{target.parent}', or remove the link")


#: flags that only the network solvers read
MODEL_FLAGS = ("checkpoint", "config", "t5", "window")
#: the network's settings, refused with the geometric solver when set to other than their defaults
MODEL_SETTINGS = ("device", "precision")
#: flags that only the geometric step reads (the geometric and hybrid solvers)
GEOMETRIC_FLAGS = ("twist", "stretch")
#: a frame of the tracks within this mean bone angle of the --reference pose shows that pose
SAME_POSE_DEGREES = 0.5
#: the most jitter eval adds (fraction of the height): a tenth of the body per axis already hides the pose
MAX_NOISE = 0.1


def solve_options(args: argparse.Namespace, **others) -> SolveOptions:
    """The SolveOptions of parsed arguments (their ``dest`` names are the option fields; fields without
    an argument come from ``others``, else their defaults). Flags the solver would ignore are refused."""
    given = {field: getattr(args, field) for field in _option_fields() if hasattr(args, field)}
    _refuse_ignored_flags(given)
    return SolveOptions(**dict(others, use_ends=not getattr(args, "no_ends", False), **given))


def _refuse_ignored_flags(given: dict) -> None:
    """Flags the chosen solver would ignore are refused: a model flag with the geometric solver (the
    user most likely meant the learned one), a --twist or --stretch other than its default with
    --solver learned (it takes every rotation from the network and keeps the rig's bone lengths)."""
    solver = given.get("solver", "geometric")
    defaults = SolveOptions.__dataclass_fields__
    flag = next((f for f in MODEL_FLAGS if given.get(f) is not None), None) or next(
        (f for f in MODEL_SETTINGS if given.get(f) not in (None, defaults[f].default)), None)
    if flag and solver == "geometric":
        raise Pose2RotError(f"--{flag} is for --solver learned or hybrid; the geometric solver (the default) "
                            f"uses no model: add --solver learned or hybrid, or leave --{flag} out")
    flag = next((f for f in GEOMETRIC_FLAGS if given.get(f) not in (None, defaults[f].default)), None)
    if flag and solver == "learned":
        raise Pose2RotError(f"--{flag} {given[flag]} has no effect with --solver learned, which takes every "
                            f"rotation from the network: leave --{flag} out, or use --solver hybrid (the "
                            "network's roll, the bones put on their tracks by the geometric solver)")


def option_arguments(options: SolveOptions) -> list[str]:
    """Command-line arguments that give ``options`` (fields left at their defaults are left out)."""
    out: list[str] = []
    for field, value in options.changed().items():
        if field == "use_ends":
            out.append(label("use_ends", "cli"))
        elif value is not None:
            out += [label(field, "cli"), str(value)]
    return out


def _option_fields() -> list[str]:
    """The SolveOptions fields that the command line gives as ``--name VALUE``."""
    from dataclasses import fields

    return [f.name for f in fields(SolveOptions) if f.name in names("cli") and f.name != "use_ends"]


def add_solver_arguments(p: argparse.ArgumentParser, learned: bool = True) -> None:
    """The solve options as arguments of ``p`` (``learned``: also the network's settings)."""
    from .solvers.geometric import STRETCH_MODES

    d = SolveOptions()
    p.add_argument("--solver", choices=SOLVERS, default=d.solver, help="default: geometric (no torch needed)")
    p.add_argument("--twist", choices=twist_choices(), default=d.twist,
                   help="roll policy of the geometric/hybrid solver (default: auto, which is "
                        + " and ".join(f"{policy} for {solver}" for solver, policy in AUTO_TWIST.items())
                        + ": hybrid keeps the network's own twist)")
    p.add_argument("--stretch", choices=STRETCH_MODES, default=d.stretch,
                   help="auto: solve the translation of joints whose distance to the parent changes over the clip, "
                        "keep the rig's bone lengths elsewhere (rigid bones when the tracks are smoothed); exact: "
                        "also translate bones whose length differs from the tracks, so every joint lands on its "
                        "track; off: rigid bones (default: auto, which keeps bones rigid for --layout/--map points; "
                        "the learned solver takes none)")
    p.add_argument("--smooth", default=d.smooth,
                   help="auto: smooth only measurably noisy tracks (clean mocap is untouched); off; or a number: "
                        "Gaussian kernel std in seconds of the zero-phase local quadratic filter (default auto)")
    p.add_argument("--max-position-error", type=float, metavar="PCT",
                   help="refuse the solve (nothing written) when a joint ends further than PCT percent of the "
                        "skeleton height from its track (default: only warn); samples taken as gaps (glitches, "
                        "spikes, held samples: named in notes) are not measured")
    if not learned:
        return
    refuse_empty(p, p.add_argument(
        "--checkpoint", help="learned/hybrid: checkpoint (.pt with model_state, state dict, or .safetensors)"),
        "a checkpoint file (.pt or .safetensors), or leave --checkpoint out")
    refuse_empty(p, p.add_argument(
        "--config", help="learned/hybrid: upstream config YAML (default: inferred from the checkpoint)"),
        "an upstream config YAML file, or leave --config out (it is inferred from the checkpoint)")
    refuse_empty(p, p.add_argument(
        "--t5", help="learned/hybrid: T5 encoder directory or model id for joint-name embeddings"),
        "a T5 encoder folder or model id (t5-base), or leave --t5 out")
    refuse_empty(p, p.add_argument(
        "--device", default=d.device, help="learned/hybrid: auto (CUDA when available), cpu or cuda"),
        "auto, cpu or cuda, or leave --device out (auto)")
    p.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                   help=f"learned/hybrid: autocast precision on GPU (default {d.precision})")
    p.add_argument("--window", type=int, help="learned/hybrid: frames per network pass for long clips")


def _reference_from_bvh(tracks, clip, path: str, frame: int, bvh_tracks: bool):
    """The local rotations of ``frame`` of the BVH ``clip`` read from ``path``, matched to the tracks' joints
    by name (``bvh_tracks``: the tracks are a BVH clip's, whose own frame --reference-frame alone takes)."""
    if not 0 <= frame < clip.num_frames:
        raise Pose2RotError(f"--reference-frame {frame} is outside {path} (0..{clip.num_frames - 1})")
    names = tracks.skeleton.names
    lookup = {n: i for i, n in enumerate(clip.skeleton.names)}
    missing = [n for n in names if n not in lookup]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise Pose2RotError(f"--reference {path} lacks {counted(len(missing), 'joint')} of the tracks ({shown}): give "
                            "a BVH of the tracks' own skeleton (its joints named as theirs), or leave --reference out"
                            + (" (--reference-frame N alone takes that frame of the clip)"
                               if bvh_tracks else ""))
    return clip.rotations[frame][[lookup[n] for n in names]]


def _shows_pose(tracks, rotations, frame: int) -> bool:
    """Whether the tracks' ``frame`` shows the pose of local ``rotations`` [J,3,3] (bones within
    SAME_POSE_DEGREES on average): then it is their reference frame, where the solve keeps that
    pose's roll exactly (the clip the tracks came from, by any path or as their .npz)."""
    from .fk import bone_turn

    return 0 <= frame < tracks.num_frames and bone_turn(tracks.skeleton, rotations,
                                                        tracks.positions[frame]) <= SAME_POSE_DEGREES


# ------------------------------------------------------------------------------ commands
def cmd_solve(args: argparse.Namespace) -> int:
    """``solve``: one input to the file --out, or several (a folder of them) to the folder --out (cli_batch)."""
    from .batch_files import check_jobs
    from .cli_batch import is_batch, solve_batch

    check_jobs(args.jobs)
    if is_batch(args):
        return solve_batch(args)
    args.tracks = args.tracks[0]
    out = _output_path(args.out, (".bvh", ".npz"), inputs=(args.tracks, args.skeleton, args.reference))
    check_format(args.format, out)
    _, line = solve_one(args, out, lambda note: print(note, file=sys.stderr))
    print(line)
    return 0


def check_format(fmt: str | None, out: Path) -> None:
    """Refuse a --format ``fmt`` (None: not given) that is not the suffix of the one output file ``out``."""
    if fmt is not None and out.suffix.lower() != f".{fmt}":
        raise Pose2RotError(f"--format {fmt} is for several inputs written to the folder --out; with one input the "
                            f"suffix of --out says the format ({out.name}): leave --format out, or write "
                            f"{out.with_suffix('.' + fmt).name}")


def solve_one(args: argparse.Namespace, out: Path, say: Callable[[str], None], batch: bool = False,
              files: SharedFiles | None = None) -> tuple[ClipResult, str]:
    """Solve the one input ``args.tracks`` as the other ``args`` say and write it to the checked ``out``;
    each note and warning goes to ``say`` (a line); ``batch``: ``out`` is one clip's file in a batch's
    folder (advice names --format, not the file); ``files``: the rig, reference and map as the batch read
    them once (None: read here). Returns (its batch_summary.ClipResult, the line that
    says what was solved and written)."""
    from dataclasses import replace

    from .cli_layouts import cmd_solve_points, wants_points
    from .solvers import solve

    options = solve_options(args)
    files = files or SharedFiles.of(args)
    order = _order_option(args.order)
    if order and out.suffix.lower() == ".npz":
        raise Pose2RotError(f"--order is for BVH output: {out.name} holds quaternions, which have no rotation "
                            "order; write a .bvh file or leave --order out")
    if wants_points(args):
        return cmd_solve_points(args, options, out, order, say, files)
    if args.up_axis not in (None, "auto"):
        csv = Path(args.tracks).suffix.lower() in CSV_SUFFIXES
        raise Pose2RotError(f"--up-axis is for point sets (--layout, --map); {Path(args.tracks).name} holds tracks "
                            "on a skeleton, in its axes (a .npz's up_axis, else Y up): leave --up-axis out, "
                            + ("and write a Z-up CSV in the rig's axes ((x, y, z) -> (x, z, -y))" if csv else
                               "or turn the output with --up"))
    report: list[str] = []
    with step_shown(f"reading {Path(args.tracks).name}"):
        tracks = _checked_scale(_solve_tracks(args, report, files), args, report)
    report += rate_notes(tracks.fps, args.fps is not None)
    bvh_tracks = Path(args.tracks).suffix.lower() == ".bvh"
    if args.reference:
        frame = args.reference_frame or 0
        reference = _reference_from_bvh(tracks, files.reference(), args.reference, frame, bvh_tracks)
        tracks = replace(tracks, reference_rotations=reference,
                         reference_frame=frame if _shows_pose(tracks, reference, frame) else None)
    start, stop = _parse_frames(args.frames, tracks.num_frames, tracks.first_frame)
    _check_bvh_names(tracks.skeleton.names, out, Path(args.tracks).name, batch)
    update, close = _progress_bar(f"solve ({args.solver})")
    t0 = time.perf_counter()
    try:  # the whole clip is solved, the range kept
        sol = solve(tracks, options, progress=update, frames=(start, stop), units_checked=True)  # see _checked_scale
    finally:
        close()
    seconds = time.perf_counter() - t0
    tracks = tracks.frames(start, stop)
    error = sol.check.max_error_percent  # against the samples that were data (solve always checks)
    with step_shown(f"writing {out.name}"):
        write_solution(out, sol, tracks.fps, tracks.up_axis, args.up or tracks.up_axis,
                       order or tracks.rotation_orders, tracks.end_parents, tracks.end_rest_offsets,
                       list(tracks.end_names) or None)
    lines = notes_for(report + sol.report, "cli")
    for line in lines:
        say(cli_line(line if bvh_tracks else _reference_advice(line)))
    against = ("the input tracks, which were smoothed before solving" if tracks_were_smoothed(sol.report)
               else "the tracks") + _samples_not_counted(sol, tracks)
    return (solved_clip(sol, tracks.skeleton.num_joints, error, seconds, lines),
            f"solved {counted(sol.num_frames, 'frame')} x {counted(tracks.skeleton.num_joints, 'joint')} with the "
            f"{sol.solver} solver in {seconds:.3f} s; max position error {error:.2g} % of height (against {against}) "
            f"-> {out}")


def solved_clip(sol, joints: int, error: float, seconds: float, lines: list[str]) -> ClipResult:
    """The batch_summary.ClipResult of a solve ``sol`` of ``joints`` joints, its largest miss ``error`` (% of
    the height), the ``seconds`` it took and its note ``lines`` (those led by 'warning: ' counted)."""
    return ClipResult("", frames=sol.num_frames, bones=joints, max_error_pct=error, seconds=seconds,
                      flips=0 if sol.check is None else int(sol.check.flips.sum()),
                      warnings=sum(line.startswith(WARNING_PREFIX) for line in lines))


def _reference_pose(frame: int | str) -> str:
    """How tracks that are no BVH clip (positions only) are given the reference pose they show at ``frame``."""
    return (f"--reference POSE.bvh --reference-frame {frame}, with POSE.bvh a BVH of the tracks' rig whose frame "
            f"{frame} holds the pose they show at frame {frame}")


def _reference_advice(note: str) -> str:
    """A note in the command line's words (a warning of the hybrid solver's rolls) for tracks that are no BVH
    clip: its advice of --reference-frame N alone, which only BVH tracks take (the pose from their own
    rotations), made the --reference that gives these tracks their pose."""
    return note.replace(setting("reference_frame", "N", "cli"), _reference_pose("N"))


def _check_bvh_names(names: Sequence[str], out: Path, source: str, batch: bool) -> None:
    """Refuse, before the solve, joint ``names`` (from the file ``source``) that a BVH ``out`` cannot hold;
    ``batch``: ``out`` is a batch's, whose format --format sets."""
    from .bvh import unwritable_names

    problem = unwritable_names(names) if out.suffix.lower() == ".bvh" else ""
    if problem:
        npz = "--format npz (for the whole batch)" if batch else f"--out {out.with_suffix('.npz')}"
        raise Pose2RotError(f"{source}: {problem} in the tracks file, or write quaternions with {npz}")


def _solve_tracks(args: argparse.Namespace, report: list[str], files: SharedFiles):
    """The tracks of ``solve`` (tracks_io.load_tracks, on the rig of ``files`` where --skeleton is given,
    read after the tracks file's own checks) at --fps where given; with --reference-frame and no
    --reference, BVH tracks whose reference pose is that frame of the clip (read once,
    tracks_io.tracks_from_bvh)."""
    from .bvh import read_bvh
    from .tracks_io import at_fps, load_tracks, tracks_from_bvh, tracks_source

    _check_fps_option(args.fps)
    if args.reference or args.reference_frame is None:
        tracks_source(args.tracks, args.skeleton)
        return load_tracks(args.tracks, skeleton_bvh=files.rig() if args.skeleton else None, report=report,
                           fps=args.fps)
    path = tracks_source(args.tracks, args.skeleton)
    if path.suffix.lower() != ".bvh":
        raise Pose2RotError(f"--reference-frame {args.reference_frame} alone takes the pose from the rotations of BVH "
                            f"tracks; {path.name} holds positions: add {_reference_pose(args.reference_frame)}")
    return at_fps(tracks_from_bvh(read_bvh(path), args.reference_frame, "--reference-frame"), args.fps, report, path.name)


def _check_fps_option(fps: float | None) -> None:
    """Refuse an --fps that is no frame rate (None: not given)."""
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise Pose2RotError(f"--fps must be a positive number of frames per second, got {fps:g}")
    if fps is not None and not usable_rate(fps):
        raise Pose2RotError(f"--fps {fps:.4g} gives no frame time (a frame every 1/{fps:.4g} s is past the largest "
                            "number): give the clip's frames per second, e.g. --fps 30")


def _order_option(text: str | None) -> str | None:
    """--order checked (upper case), or None for the input rig's own orders."""
    from .rotations import EULER_ORDERS

    if text is None:
        return None
    if text.upper() not in EULER_ORDERS:
        raise Pose2RotError(f"--order must be one of {', '.join(EULER_ORDERS)}, got '{text}'")
    return text.upper()


def _checked_scale(tracks, args: argparse.Namespace, report: list[str]):
    """Apply --scale to loaded tracks; without --scale, refuse tracks whose bones are a constant
    factor of more than units.REFUSE_FACTOR off the skeleton's (see units.scale_problem)."""
    from .units import auto_scale, scale_problem, scale_tracks

    if args.scale is None:
        problem = scale_problem(tracks)
        if problem is not None:
            if problem.refused:
                raise Pose2RotError(scale_advice(problem) + ", or --scale 1 to solve them as they are")
            report.append(scale_advice(problem))
        return tracks
    factor = scale_factor(args.scale)
    if factor is None:
        factor = auto_scale(tracks)
        report.append(f"tracks scaled by {factor:.4g} to the skeleton's bone lengths (--scale auto)")
        return scale_tracks(tracks, factor)
    tracks = scale_tracks(tracks, factor)
    problem = scale_problem(tracks)
    if problem is not None and (factor != 1.0 or problem.refused):  # solved, but not silently
        report.append(f"{WARNING_PREFIX}with --scale {args.scale} {problem.what}: the solve will be far from the "
                      f"tracks; --scale {factor / problem.factor:.4g} (or --scale auto) brings them to the "
                      "skeleton's size")
    return tracks


def scale_factor(text: str) -> float | None:
    """The factor --scale ``text`` gives (None: 'auto', each clip's own fit), refused where it is neither a
    positive number nor 'auto'."""
    if text.strip().lower() == "auto":
        return None
    try:
        factor = float(text)
    except ValueError:
        factor = float("nan")
    if not (np.isfinite(factor) and factor > 0):
        raise Pose2RotError(f"--scale must be a positive number or 'auto', got '{text}'")
    return factor


def scale_advice(problem) -> str:
    """What a bone-scale mismatch (units.ScaleProblem) is and the --scale that fixes it."""
    return (f"{problem.what}: pass --scale {1 / problem.factor:.4g} (or --scale auto) to bring the tracks to the "
            "skeleton's size")


def _samples_not_counted(sol, tracks) -> str:
    """'; N samples taken as gaps not counted' for the samples of ``tracks`` with data that the
    solve's check does not measure (glitches, spikes, held samples: the solve filled them, and its
    position there may be far from what the file says), else ''."""
    if sol.check is None:
        return ""
    given = np.isfinite(tracks.positions).all(axis=-1)
    n = int((given & np.isnan(sol.check.error)).sum())
    return f"; {n} {'sample' if n == 1 else 'samples'} taken as gaps not counted" if n else ""


def furthest_from_track(sol, tracks, joints: np.ndarray | slice = slice(None)) -> tuple[float, int | None]:
    """(largest distance of a solved joint of ``joints`` (indices or a [J] mask, default all) from its
    track in % of the skeleton height, that joint's index); (NaN, None) where none has data (nor
    where the solve's check found a gap). Measured as the solve's check measures it, where there is
    one: against the tracks as the solve read them (left and right a tracker swapped put back)."""
    if sol.check is not None:
        err = sol.check.error * tracks.skeleton.height  # [T,J], NaN where no data
    else:
        err = np.linalg.norm(sol.positions - tracks.positions, axis=-1)
    keep = np.zeros(err.shape[1], bool)
    keep[joints] = True
    err = np.where(keep, err, np.nan)
    if not np.isfinite(err).any():
        return float("nan"), None
    worst = np.where(np.isnan(err), -np.inf, err).max(axis=0)  # [J]
    j = int(np.argmax(worst))
    return float(worst[j] / tracks.skeleton.height * 100), j


def cmd_eval(args: argparse.Namespace) -> int:
    from .bvh import read_bvh
    from .evaluate import evaluate_clip, format_joint_table, format_table

    if not (np.isfinite(args.noise) and 0 <= args.noise <= MAX_NOISE):
        raise Pose2RotError(f"--noise is a fraction of the skeleton height from 0 to {MAX_NOISE:g} (0.005 is 0.5 %), "
                            f"got {args.noise:g}")
    if args.seed is not None and args.seed < 0:
        raise Pose2RotError(f"--seed is a whole number 0 or more, got {args.seed}")
    if args.seed is not None and args.noise == 0:
        print(cli_line("--seed draws the jitter of --noise; without --noise it changes nothing"), file=sys.stderr)
    if args.plot is not None:
        _output_path(args.plot, (".png", ".pdf", ".svg"), "--plot", inputs=tuple(map(str, args.clips)))
    options = solve_options(args)
    protocols = ("rest", "ref") if args.protocol == "both" else (args.protocol,)
    scores, failed = [], []
    for path in args.clips:
        try:
            with step_shown(f"reading {Path(path).name}"):
                clip = read_bvh(_clip_path(str(given_input(path, "CLIP")), "eval"))
            scores.extend(evaluate_clip(clip, proto, options, noise=args.noise, seed=args.seed or 0)
                          for proto in protocols)
        except Pose2RotError as e:
            if len(args.clips) == 1:
                raise
            failed.append(_naming_clip(str(e), path))
    if not scores:
        raise Pose2RotError(f"no clip could be evaluated: {failed[0]}" + (f" (and {len(failed) - 1} more)"
                                                                          if len(failed) > 1 else ""))
    if args.joints:
        for s in scores:
            print(f"\n{s.clip} — {s.protocol}")
            print(format_joint_table(s))
        print()
    print(format_table(scores))
    if args.plot:
        from .plots import plot_errors

        plot_errors(scores, args.plot)
        print(f"errors per joint and per frame, worst frames drawn -> {args.plot}")
    for line in failed:                                          # the others' results stand; the exit status says it
        print(f"pose2rot: error: not evaluated: {line}", file=sys.stderr)
    return 1 if failed else 0


def _naming_clip(message: str, path: str) -> str:
    """eval's ``message`` on the clip at ``path``, one of several, led by the clip's path where it does not
    name the clip already (led by its path or file name, or quoting its path), so that the path is said once."""
    named = message.startswith((path, Path(path).name)) or f"'{path}'" in message
    return message if named else f"{path}: {message}"


def cmd_info(args: argparse.Namespace) -> int:
    path = Path(args.file)
    _check_fps_option(args.fps)
    # a CSV without the rig of its tracks is described as the points it holds
    points = (args.skeleton is None and path.suffix.lower() in CSV_SUFFIXES) or is_point_set(
        path, args.layout, args.skeleton is None)
    if points:
        positions, up, names, fps = point_info(path, args.layout, args.fps)
    elif path.suffix.lower() == ".bvh":
        from .bvh import read_bvh

        clip = read_bvh(path)
        sk = clip.skeleton
        orders = sorted(set(o for o in clip.orders if o))
        fps = args.fps or clip.fps
        rate = f" at {fps:.4g} fps ({_seconds(clip.num_frames / fps)})" if fps else ", no frame rate ('Frame Time: 0')"
        print(f"{path.name}: BVH, {counted(sk.num_joints, 'joint')}, {counted(len(clip.end_parents), 'end site')}, "
              f"{counted(clip.num_frames, 'frame')}{rate}")
        print(f"rotation orders: {', '.join(orders) or 'none'}; joints with position channels: "
              f"{int(clip.has_position_channels.sum())}")
        positions = clip.fk()
        up = _bvh_up(clip, positions)
    else:
        from .placeholders import gate_low_confidence
        from .tracks_io import load_tracks
        from .units import scale_problem

        tracks = load_tracks(path, skeleton_bvh=args.skeleton, fps=args.fps)
        sk, fps = tracks.skeleton, tracks.fps
        positions, up = gate_low_confidence(tracks.positions, tracks.confidence)[0], tracks.up_axis
        missing = np.isnan(positions).any(-1).mean() * 100  # as the solver counts them
        print(f"{path.name}: tracks, {counted(sk.num_joints, 'joint')}, {counted(tracks.num_frames, 'frame')} at "
              f"{tracks.fps:.4g} fps, "
              f"up axis {tracks.up_axis}, {percent(missing)} % samples missing, "
              f"reference {'frame ' + str(tracks.reference_frame) if tracks.reference_rotations is not None else 'none'}, "
              f"{counted(len(tracks.end_parents) if tracks.has_ends else 0, 'bone tip')}")
        problem = scale_problem(tracks)
        if problem is not None:
            print(f"bone lengths: {scale_advice(problem)}")
    for line in rate_notes(fps, bool(args.fps)):
        print(line)
    if not points:
        positions, names = positions if len(positions) else sk.rest_positions[None], sk.names
    print(height_line(positions, up, "point" if points else "joint"))
    if not points:
        print(skeleton_height_line(sk))
    print(("points: " if points else "joints: ") + ", ".join(names))
    return 0


def rate_notes(fps: float, given: bool) -> list[str]:
    """[the warning] where a clip's frame rate ``fps`` (0: the files give none) looks wrong, in the command
    line's words (tracks.rate_warning): to give the clip's rate with --fps, or to check the --fps ``given``; else
    [] (info prints it, solve adds it to its notes)."""
    warning = rate_warning(fps, "check the --fps given" if given else FPS_FLAG) if fps else ""
    return [warning] if warning else []


def _seconds(duration: float) -> str:
    """A clip's ``duration`` in seconds as info prints it: to the hundredth, or to two figures where
    shorter (a clip of absurd frame times is said to last 2.4e-08 s, not 0.00 s)."""
    return f"{duration:.2f} s" if duration >= 0.01 or duration == 0 else f"{duration:.2g} s"


def _bvh_up(clip, positions: np.ndarray) -> str:
    """The up axis of a BVH clip's motion (its joint ``positions`` [T,J,3]) where its joints' names
    tell it: opposite its legs (hips to ankles, on two feet or four), else from its hips to its
    shoulders, each only within 45 degrees of an axis (a Z-up export); else the format's Y (a
    quadruped's trunk lies along its body)."""
    from .pointsets import UPRIGHT, by_anatomy, detect_up, legs_up

    named = by_anatomy(clip.skeleton, positions)
    return legs_up(named, UPRIGHT) or detect_up(named, UPRIGHT) or "y"


def _clip_path(path: str, command: str) -> str:
    """``path`` for ``eval`` and ``tracks``, which read BVH clips: a tracks or points file (.csv, .npz,
    .npy) is one error that says so instead of a BVH parse error on its first line."""
    suffix = Path(path).suffix.lower()
    if suffix in (*CSV_SUFFIXES, ".npz", ".npy"):
        raise Pose2RotError(f"{Path(path).name}: pose2rot {command} takes BVH clips (their own joint positions), "
                            f"not a {suffix} file of tracks or points; solve those with: pose2rot solve")
    return path


def height_line(positions: np.ndarray, up: str, noun: str = "joint") -> str:
    """'height 142.8 units along Y (median over frames); unit: centimetres? (1.43 m tall)' for
    joint (``noun``: or point) positions [T,J,3] in file units."""
    from .units import standing_height, unit_guess

    if positions.shape[1] == 1:
        return f"height unknown: a single {noun} has no height"
    height = standing_height(positions, up)
    if not np.isfinite(height):
        return "height unknown: no frame has data for the joints that show it"
    return f"height {height:.4g} units along {up.upper()} (median over frames); unit: {unit_guess(height)}"


def skeleton_height_line(skeleton) -> str:
    """info's line on the height behind every % in pose2rot's messages: the rest pose's largest
    extent; where it has none, why (one joint, of which % are of 1 unit; joints at one point)."""
    if skeleton.rest_extent > 0:
        return (f"skeleton height {skeleton.height:.4g} units (the rest pose's largest extent: what every % of the "
                "height in pose2rot's messages is of)")
    if skeleton.num_joints == 1:
        return ("skeleton height unknown: the rig is a single joint; every % of the height in pose2rot's messages "
                "is of 1 unit")
    return ("skeleton height unknown: the rest pose puts the joints at one point, so it gives no bone lengths or "
            "height")


def cmd_tracks(args: argparse.Namespace) -> int:
    from .bvh import read_bvh
    from .tracks_io import save_tracks, tracks_from_bvh

    out = _output_path(args.out, (".npz",), inputs=(args.clip,))
    with step_shown(f"reading {Path(args.clip).name}"):
        clip = read_bvh(_clip_path(args.clip, "tracks"))
    tracks = tracks_from_bvh(clip, args.reference_frame, "--reference-frame")
    with step_shown(f"writing {out.name}"):
        save_tracks(out, tracks)
    print(f"wrote {tracks.num_frames} frames x {tracks.skeleton.num_joints} joints"
          f" (+{len(clip.end_parents)} end sites) -> {out}")
    return 0


# ------------------------------------------------------------------------------ parser
class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, in the form of every other pose2rot error:
    ``NAME: error: MESSAGE (see 'PROG --help')``, exit status 2. NAME: the ``name`` keyword, else the
    first word of the program name (subcommands share their parent's). ``elsewhere``: {option another
    pose2rot interface takes: what to give here instead} (default: :data:`BATCH_OPTIONS`), added to
    the error that does not recognize that option."""

    def __init__(self, *args, name: str | None = None, elsewhere: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = name or self.prog.split()[0]
        self.elsewhere = BATCH_OPTIONS if elsewhere is None else elsewhere

    def error(self, message: str):  # type: ignore[override]
        hint = _spelt_elsewhere(message, self.elsewhere)
        self.exit(2, f"{self.name}: error: {message}{hint} (see '{self.prog} --help')\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """argparse's, but an option no command knows is the chosen command's error (argparse makes
        it the top parser's, whose help lists no command's options)."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            chosen = next((a.choices[command] for a in self._actions
                           if isinstance(a, argparse._SubParsersAction) and command in a.choices), self)
            chosen.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


#: options users bring from the Blender batch (README, Batch) -> what the command line takes instead
BATCH_OPTIONS = {"--rig": "--rig is the Blender batch's: on the command line give --skeleton RIG.bvh",
                 "--bvh": "--bvh is the Blender batch's: pose2rot solve writes BVH files (--format bvh, the "
                          "default; --format npz for quaternions)"}


def _spelt_elsewhere(message: str, elsewhere: dict[str, str]) -> str:
    """'; HINT' for each unrecognized option of argparse's ``message`` that ``elsewhere`` {option: hint}
    names (another interface's option), else ''."""
    if not message.startswith("unrecognized arguments:"):
        return ""
    given = {word.split("=")[0] for word in message.split()[2:]}
    return "".join(f"; {hint}" for option, hint in elsewhere.items() if option in given)


def add_command(sub, name: str, summary: str, **kwargs) -> argparse.ArgumentParser:
    """The subcommand ``name`` of the subparsers ``sub``; ``summary``: its line in its parent's --help, and
    the first line of its own --help unless ``description`` (a keyword) says more."""
    return sub.add_parser(name, help=summary, description=kwargs.pop("description", summary), **kwargs)


def _add_solve(sub: argparse._SubParsersAction) -> None:
    """The ``solve`` command and its arguments."""
    from .batch_files import THREAD_VARIABLES as THREADS

    p = add_command(sub, "solve", "solve rotations for tracks and write BVH or npz",
                    epilog="Several inputs, or a folder of them (or one, given --out DIR/), are solved one by one "
                           "(--jobs N: N at a time) into the folder --out, one file per clip named after it, and end "
                           "with a summary table; the exit status is 1 when any clip failed.")
    refuse_empty(p, p.add_argument(
        "tracks", nargs="+", metavar="TRACKS",
        help="tracks: .npz, .csv (with --skeleton) or .bvh (its joint positions); or points: .npy with --layout, a "
             "FreeMoCap folder, a point set .npz/.csv with --map; several, or a folder of them (its track files and "
             "FreeMoCap recordings), for a batch"), "a tracks file or point set (pose2rot solve --help lists them)",
        exists=True)
    p.add_argument("--out", required=True,
                   help="output .bvh (the rig's joints, hierarchy, rotation orders and up axis unless --order/--up "
                        "say otherwise) or .npz (quaternions); for several inputs or a folder, or given as a folder "
                        "(ending in /, or one that exists), the output folder (created when missing): OUT/<clip>.bvh "
                        "per clip (take.csv beside take.npz: take_csv.bvh, take_npz.bvh), an existing file of that "
                        "name replaced")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="a batch's clips solved N at a time by N worker processes (default 1: one after the other, "
                        f"in this process); with N above 1 each worker computes on one thread ({', '.join(THREADS)} "
                        "set to 1 unless the environment sets them), so that N workers share the cores")
    p.add_argument("--format", choices=("bvh", "npz"),
                   help="what a batch writes per clip: bvh (default, as mocap tools read it) or npz (quaternions); "
                        "with one input the suffix of --out says it")
    refuse_empty(p, p.add_argument(
        "--skeleton", help="rig BVH for CSV tracks (rest pose, parents, fps, rotation orders), or the rig that --map "
                           "drives"), "a rig BVH file, or leave --skeleton out", exists=True)
    p.add_argument("--fps", type=float, help="frames per second of the tracks (default: the file's; for CSV the "
                                             "--skeleton BVH's; for points their layout's); a rate given replaces "
                                             "the file's own, with a note")
    p.add_argument("--scale", help="multiply the tracks by this factor, or 'auto' to match the skeleton's bone "
                                   "lengths (for tracks in other units than the rig)")
    refuse_empty(p, p.add_argument("--reference", help="BVH whose pose at --reference-frame gives the bone roll to "
                                                       "keep"), "a BVH file, or leave --reference out", exists=True)
    p.add_argument("--reference-frame", type=int, metavar="N",
                   help="frame of the reference pose (default 0); without --reference, BVH tracks take their own "
                        "rotations at frame N as the reference")
    refuse_empty(p, p.add_argument(
        "--frames", help="frame range A:B (Python slice, B excluded; frames as the file numbers them) to write; "
                         "tracks files are solved whole (noise, gaps, smoothing), point sets on the range"),
        "a frame range A:B (e.g. 0:100), or leave --frames out for every frame")
    p.add_argument("--order", help="rotation order of every written BVH joint, e.g. ZXY (default: the rig's own "
                                   f"orders, joint by joint; {DEFAULT_ORDER} for .npz tracks)")
    p.add_argument("--up", choices=("y", "z"), help="up axis of the output (default: the tracks' own: y for BVH "
                                                    "and CSV, the up_axis of .npz tracks)")
    add_solver_arguments(p)
    add_point_arguments(p)
    p.set_defaults(func=cmd_solve)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="pose2rot", description="Turn 3D joint-position tracks into per-bone rotations on any skeleton.",
        epilog="'pose2rot COMMAND --help' says what a command does and lists its options.")
    parser.add_argument("--version", action="version", version=f"pose2rot {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True)

    _add_solve(sub)

    p = add_command(sub, "eval", "round-trip accuracy on BVH clips (FK positions -> solve -> compare)")
    refuse_empty(p, p.add_argument("clips", nargs="+", metavar="CLIP", help="BVH clips"), "the path of a BVH clip")
    p.add_argument("--protocol", choices=("rest", "ref", "both"), default="ref",
                   help="ref: first frame's true rotations are the reference; rest: none; both: a row for each "
                        "(default ref)")
    p.add_argument("--plot", metavar="OUT.png", help="write a picture (.png, .pdf or .svg; needs matplotlib): error "
                                                     "per joint and per frame, and the worst frames drawn (clip vs "
                                                     "solution)")
    p.add_argument("--joints", action="store_true", help="print the per-joint table")
    p.add_argument("--no-ends", action="store_true", help="do not use End Sites as bone-tip tracks")
    p.add_argument("--noise", type=float, default=0.0,
                   help="add Gaussian jitter of this std (fraction of the skeleton height, e.g. 0.005) to the tracks")
    p.add_argument("--seed", type=int, help="random seed of --noise, a whole number 0 or more (default 0)")
    add_solver_arguments(p)
    p.set_defaults(func=cmd_eval)

    p = add_command(sub, "info", "joints, frames, fps, height and unit guess, rotation orders of a BVH, tracks "
                                 "file or point set")
    refuse_empty(p, p.add_argument(
        "file", metavar="FILE", help="a BVH clip, a tracks .npz or .csv (with --skeleton), or a point set: .npy "
                                     "(with --layout), a FreeMoCap folder, a point set .npz/.csv (a CSV without "
                                     "--skeleton is described as points)"),
        "the path of a BVH clip, tracks file or point set", exists=True)
    refuse_empty(p, p.add_argument("--skeleton", help="rig BVH for CSV tracks"),
                 "a rig BVH file, or leave --skeleton out", exists=True)
    refuse_empty(p, p.add_argument("--layout", help=f"what the points of a point set are: {', '.join(LAYOUTS)} "
                                                    "(needed for .npy files)"), LAYOUT_WANTED)
    p.add_argument("--fps", type=float, help="frames per second of the file, as solve --fps (default: the file's; "
                                             "for CSV tracks the --skeleton BVH's)")
    p.set_defaults(func=cmd_info)

    p = add_command(sub, "tracks", "write the joint positions (and End Sites) of a BVH as a tracks .npz")
    refuse_empty(p, p.add_argument("clip", metavar="CLIP", help="BVH clip"), "the path of a BVH clip", exists=True)
    p.add_argument("--out", required=True, help="tracks .npz to write (solve and Blender's Import Tracks read it)")
    p.add_argument("--reference-frame", type=int, metavar="N", help="store frame N's rotations as the reference pose")
    p.set_defaults(func=cmd_tracks)

    for module in ("cli_model", "cli_train", "cli_layouts"):
        try:
            mod = __import__(f"{__package__}.{module}", fromlist=["register"])
        except ImportError:
            continue
        mod.register(sub)
    return parser


_NEGATIVE_STARTS = tuple(f"-{d}" for d in "0123456789")


def _negative_value(option: str, value: str) -> bool:
    """Whether ``value``, which argparse would take for an option, is the value of ``option``: a
    negative frame of --frames, a negative axis of --up-axis (MediaPipe's world landmarks are -y up)."""
    if option == "--frames":
        return value[:2] in _NEGATIVE_STARTS
    return option == "--up-axis" and value in AXES and value.startswith("-")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--frames -50:`` -> ``--frames=-50:``, ``--up-axis -y`` -> ``--up-axis=-y`` (argparse would take
    '-50:' and '-y' for options)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if i + 1 < len(argv) and _negative_value(argv[i], argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def _reader_gone() -> int:
    """The program reading our output stopped (``pose2rot info X | head -1``): stop quietly, as
    other command-line tools do, with the status of a process ended by SIGPIPE (128 + 13); what is
    left to print goes nowhere (printing it would fail again when Python flushes at exit)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 141


class Terminated(KeyboardInterrupt):
    """SIGTERM (a job manager's stop, ``timeout``): the command stops as on Ctrl-C, what it was writing
    removed, with the status of a process ended by SIGTERM (128 + 15)."""


def _terminate(signum, frame) -> None:
    raise Terminated


@contextlib.contextmanager
def _stop_on_sigterm():
    """SIGTERM raises Terminated while inside (in the main thread, where Python runs signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(_join_negative_values([a for a in given if a != "--debug"]))
    args.debug = "--debug" in given  # before the command or after it, as users write it
    try:
        with contextlib.nullcontext() if args.debug else np.errstate(all="ignore"), _stop_on_sigterm():
            refuse_empty_inputs(args)
            return int(args.func(args) or 0)                                # numpy's lines before ours
    except OptionError as e:
        print(f"pose2rot: error: {e.worded(names('cli'))}", file=sys.stderr)
        return 2
    except Pose2RotError as e:
        print(f"pose2rot: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _reader_gone()
    except OSError as e:
        said = f"{e.strerror or e}: {e.filename or ''}".rstrip(": ")
        if e.errno == errno.ENAMETOOLONG:                   # the path alone: name the argument that gave it
            said = _too_long_input(args, parser) or said
        print(f"pose2rot: error: {said}", file=sys.stderr)
        return 2
    except Terminated:
        print("pose2rot: stopped (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("pose2rot: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the one place that turns bugs into one line
        if args.debug:
            raise
        print(f"pose2rot: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
