"""Reading ``.csv`` point tracks: one row per frame, columns ``<name>.x``, ``<name>.y``, ``<name>.z``
(and optional ``<name>.conf`` or ``<name>.visibility``, MediaPipe's score; or all ``<name>_x`` ..., as
FreeMoCap writes them), an optional leading ``frame`` or ``time`` column (a ``time`` column in
seconds gives the frame rate, also of tracks on a rig, which otherwise take the rig's; frames that
either column skips are gaps, whatever its step); empty
cells or "nan" are missing; commas, or semicolons / tabs when the header has no comma (``.tsv`` files too); numbers may
have a decimal comma, as spreadsheets in most European languages write them (between commas, quoted);
UTF-8, UTF-16 (with a byte-order mark or without) or Windows-1252.

:func:`read_csv_points` reads the points by name (no rig needed: Blender's Import Tracks);
:func:`load_csv` puts them on a rig from a BVH file (tracks_io.load_tracks).
"""
from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .bvh import BvhClip
from .errors import UTF16_BOMS, Pose2RotError, read_bytes
from .wording import WARNING_PREFIX
from .tracks import SCORE_HINTS, USUAL_FPS, Tracks, rate_replaced, scores_outside

#: file suffixes read as CSV (a .tsv is tab-separated: the separator is read from the header)
SUFFIXES = (".csv", ".tsv")
COMPONENTS = ("x", "y", "z", "conf", "visibility")
#: a column's component as read: MediaPipe's 'visibility' score is a confidence
_COMPONENT_AS = {"visibility": "conf"}


@dataclass
class CsvPoints:
    """The points of a CSV file: names [N] (header order), positions [T,N,3] (NaN = missing),
    confidence [T,N] (NaN = empty cell, 1 for points without a ``.conf`` column; None when none has one),
    fps from a leading ``time`` column in seconds (0 without one), first_frame the number a leading
    ``frame`` column gives the first row (0 without one): the frame that reports name first."""

    names: list[str]
    positions: np.ndarray
    confidence: np.ndarray | None
    fps: float = 0.0
    first_frame: int = 0
    notes: list[str] = field(default_factory=list)


def _refuse_going_back(kind: str, stamps: np.ndarray, cells: list[str], name: str, lines: list[int]) -> None:
    """Raise where the ``frame`` or ``time`` column (``stamps`` [rows], as written in ``cells``) goes
    back or repeats a value, naming the line (``lines`` [rows])."""
    back = np.flatnonzero(np.diff(stamps) <= 0)
    if back.size:
        r = int(back[0]) + 1
        raise Pose2RotError(f"{name}: line {lines[r]}: the {kind} column goes from {cells[r - 1]} to {cells[r]}; rows "
                            f"must be in {kind} order, each {kind} once: sort the rows, remove the repeated ones, or "
                            f"drop the {kind} column to take the rows in turn")


#: the hint where a CSV's first rows do not agree with its header (a marker export's header of several rows)
SEVERAL_HEADER_ROWS = (" (a header of several rows, as OptiTrack Motive, Vicon Nexus and Qualisys QTM exports have, "
                       "is not read: give the file one header row of '<joint>.x,<joint>.y,<joint>.z' columns)")
#: the hint for a file's last row with fewer cells than the header: a file cut short (a copy or export that stopped)
CUT_SHORT = (", and it is the file's last line: the file looks cut short (a copy or export that stopped): write it "
             "again, or delete that line to solve the frames before it")


def read_csv_points(path: str | Path) -> CsvPoints:
    """Every ``<name>.x/.y/.z`` triple of a CSV file, by name (see the module docstring)."""
    path = Path(path)
    header, body, lines = _rows(path)
    skip = 1 if header[0].lower() in ("frame", "time") else 0
    columns = _columns(header, skip, path.name)
    cells = np.asarray([["nan" if i < skip or not c.strip() else c.strip() for i, c in enumerate(r)] for r in body],
                       dtype=str)
    values, cells = _as_numbers(cells)
    if values is None:
        r, c = _first_bad_cell(cells)
        raise Pose2RotError(f"{path.name}: line {lines[r]}: column '{header[c]}' holds '{cells[r, c][:40]}', "
                            f"which is not a number ({_number_hint(cells[r, c])})") from None
    _check_scores(values, header, columns, lines, path.name)
    _check_finite(values, cells, header, lines, path.name)
    names = list(columns)
    positions = np.stack([values[:, [columns[n][a] for a in "xyz"]] for n in names], axis=1)
    confidence = None
    if any("conf" in comps for comps in columns.values()):
        confidence = np.stack([values[:, comps["conf"]] if "conf" in comps else np.ones(len(body))
                               for comps in columns.values()], axis=1)
    kind, cells = header[0].lower(), list(_decimal_points(np.asarray([r[0] for r in body], dtype=str)))
    stamps = _leading_stamps(kind, cells)
    fps = _time_fps(kind, stamps)
    if 0 < fps < MIN_TIME_FPS:
        raise Pose2RotError(f"{path.name}: the time column steps by {1 / fps:.4g} per row ({fps:.3g} frames per "
                            "second): it counts seconds; if it holds milliseconds, divide it by 1000, or name the "
                            "first column 'frame' for frame numbers")
    if fps == np.inf:  # a step so small its inverse overflows (1e-320 s)
        raise Pose2RotError(f"{path.name}: the time column steps by {np.nanmedian(np.diff(stamps)):.3g} s per row, "
                            "which gives no usable frame rate: write the time of each row in seconds (0.0333333 a "
                            "row for 30 fps)")
    frames, fps, notes = _row_frames(kind, stamps, cells, fps, path.name, lines)
    if frames is not None:  # rows at their own frames; frames without a row are gaps
        positions, confidence = (None if x is None else _at_frames(x, frames) for x in (positions, confidence))
    return CsvPoints(names, positions, confidence, fps, _first_frame(kind, stamps), notes)


def _check_scores(values: np.ndarray, header: list[str], columns: dict[str, dict[str, int]], lines: list[int],
                  name: str) -> None:
    """Raise at the first score (a ``.conf`` or ``.visibility`` cell of ``values`` [rows, columns])
    outside 0 (no trust) to 1 (past it by more than rounding, below it, or infinite), naming the
    file ``name``, its line (``lines`` [rows]) and the column: a score of another scale (a
    percentage, the argument of a sigmoid) would otherwise trust or drop samples at random. Empty
    cells and 'nan' (no score given) trust the position, as a point without a score column."""
    cols = [comps["conf"] for comps in columns.values() if "conf" in comps]
    scores = values[:, cols]
    bad = scores_outside(scores)
    if not bad.any():
        return
    r, k = np.argwhere(bad)[0]
    v = scores[r, k]
    raise Pose2RotError(f"{name}: line {lines[r]}: column '{header[cols[k]]}' holds {v:g}, but a score runs from 0 "
                        f"(no trust) to 1 (largest {np.nanmax(scores):g}, smallest {np.nanmin(scores):g}): "
                        f"{SCORE_HINTS[int(v < 0)]}")


def _check_finite(values: np.ndarray, cells: np.ndarray, header: list[str], lines: list[int], name: str) -> None:
    """Raise at the first infinite position in ``values`` [rows, columns] (``cells``: the text read),
    naming the file ``name``, its line (``lines`` [rows]) and the column: a missing value is an empty
    cell (or 'nan'), and an infinity, which some exporters write for a lost marker, is no position."""
    bad = np.isinf(values)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise Pose2RotError(f"{name}: line {lines[r]}: column '{header[c]}' holds '{cells[r, c][:40]}', which is "
                            "infinite; leave the cell empty for a missing value")


def _leading_stamps(kind: str, cells: list[str]) -> np.ndarray | None:
    """[rows] the numbers of a leading ``frame`` or ``time`` column (``kind``, lower case; empty
    cells NaN), or None for any other column or one holding something that is not a number."""
    if kind not in ("frame", "time"):
        return None
    try:
        return np.array([float(c) if c.strip() else np.nan for c in cells])
    except ValueError:
        return None


def _first_frame(kind: str, stamps: np.ndarray | None) -> int:
    """The number in the first row of a leading ``frame`` column of whole numbers (which count up:
    see _refuse_going_back), else 0; ``stamps``: see _leading_stamps."""
    if kind != "frame" or stamps is None or not len(stamps):
        return 0
    whole = bool(np.isfinite(stamps).all() and (stamps == np.round(stamps)).all())
    return int(stamps[0]) if whole else 0


#: a time column slower than this many rows per second is not in seconds (MediaPipe's timestamp_ms): the
#: lowest of the rates clips are taken at
MIN_TIME_FPS = USUAL_FPS[0]
#: rows are placed at their frames only up to this many frames (and a hundred times the rows)
MOST_FRAMES = 100_000


def _row_frames(kind: str, stamps: np.ndarray | None, cells: list[str], fps: float, name: str, lines: list[int]
                ) -> tuple[np.ndarray | None, float, list[str]]:
    """([rows] the frame of each row (from 0) by the leading ``frame`` column (whole numbers
    counting up) or ``time`` column (seconds, about ``fps``) when rows skip frames (a tracker's
    dropped frames, or one run on every other frame), else None (rows taken one frame each: consecutive, or the
    column says nothing clear); the frame rate, refined over the whole column for ``time``; a note
    where the column's numbers could not put the rows on frames (not whole, times off one rate's
    frames) and the rows were taken one frame each). A column of numbers that goes back or repeats
    is refused (``lines`` [rows]: the rows' line numbers in the file, for the message): the rows
    would be taken in another order than it says. ``kind``, ``stamps``: the column's name (lower
    case) and numbers (see _leading_stamps), ``cells`` its text."""
    if stamps is None or len(cells) < 2 or not np.isfinite(stamps).all():
        return None, fps, []
    if kind == "frame" and np.any(stamps != np.round(stamps)):
        return None, fps, [f"{name}: the frame column holds numbers that are not whole; its rows are taken one "
                           "frame each"]
    _refuse_going_back(kind, stamps, cells, name, lines)
    if kind == "time":
        if not fps > 0:
            return None, fps, []
        steps = np.diff(stamps)
        stamps, fps = _time_steps(stamps - stamps[0], fps)
        if stamps is None:
            return None, fps, [f"{name}: the time column's steps ({steps.min():.4g} to {steps.max():.4g} s) do not "
                               f"fall on the frames of one rate; its rows are taken one frame each at {fps:.4g} fps"]
    frames = np.round(stamps) - np.round(stamps[0])
    steps = np.diff(frames)
    if steps.min() < 1 or steps.max() == 1:
        return None, fps, []
    if frames[-1] >= max(MOST_FRAMES, 100 * len(cells)):
        raise Pose2RotError(f"{name}: the {kind} column spans {int(frames[-1]) + 1:,} frames for {len(cells):,} rows; "
                            f"split the file where it jumps, or drop the {kind} column to take the rows in turn")
    return frames.astype(np.int64), fps, []


def _time_steps(times: np.ndarray, fps: float) -> tuple[np.ndarray | None, float]:
    """(times [rows] (seconds from the first) in frames, the frame rate fitted over the whole
    column), the rate first read from its median step ``fps`` (times rounded to milliseconds put
    that off by a percent, enough to lose count of frames over a second); None for frames when the
    times do not fall on frames (within a quarter)."""
    steps = np.diff(times)
    single = steps[np.abs(steps * fps - 1.0) < 0.5]  # steps of one frame: their mean is finer than the median
    fps = 1.0 / float(single.mean()) if single.size and single.mean() > 0 else fps
    count = np.round(times * fps)
    if count[-1] > 0:
        fps = float(count[-1] / times[-1])
    if abs(fps - round(fps)) < 5e-4 * fps:  # 29.999 from times in milliseconds is 30 (29.97 stays)
        fps = float(round(fps))
    frames = times * fps
    return (frames if np.all(np.abs(frames - np.round(frames)) < 0.25) else None), fps


def _at_frames(x: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """x [rows,...] placed at ``frames`` [rows] of a longer clip [frames[-1] + 1, ...], NaN between."""
    out = np.full((int(frames[-1]) + 1,) + x.shape[1:], np.nan)
    out[frames] = x
    return out


#: the frame rate of tracks of one frame whose files give none (a rig's 'Frame Time: 0'): only the
#: frame time of the files written from them, as one frame has no time between frames (the batch sets
#: its scene to it for such tracks: pose2rot_blender.batch_rigs)
RATELESS_FPS = 30.0


def load_csv(path: Path, clip: BvhClip, report: list[str] | None = None, fps: float | None = None) -> Tracks:
    """CSV points on the rig of BVH ``clip`` (names must match its joints or End Sites exactly), at
    ``fps`` frames per second where given, else the rate of a leading ``time`` column, else the rig's."""
    clip.check_rest_pose()
    points = read_csv_points(path)
    if report is not None:
        report += rate_replaced(path.name, points.fps, fps)
    fps = csv_rate(fps or points.fps or clip.fps, points.positions.shape[0], path.name, clip.name)
    sk, end_names, rig = clip.skeleton, list(clip.end_names), Path(clip.name).name
    known = list(sk.names) + [n for n in end_names if n not in sk.names]
    unknown = [n for n in points.names if n not in known]
    if unknown:
        none_known = len(unknown) == len(points.names)
        raise Pose2RotError(f"{path.name}: {_unknown_names(unknown, known, rig, end_names, none_known)}")
    root = sk.names[0]
    if root not in points.names:
        raise Pose2RotError(f"{path.name}: no columns for the root joint '{root}' of {rig} "
                            f"({root}.x, {root}.y, {root}.z): the root position places the whole clip")
    column = {n: i for i, n in enumerate(points.names)}
    joints = [column.get(n) for n in sk.names]
    T, J = points.positions.shape[0], sk.num_joints
    positions = np.full((T, J, 3), np.nan)
    have = [j for j in range(J) if joints[j] is not None]
    positions[:, have] = points.positions[:, [joints[j] for j in have]]
    confidence = None
    if points.confidence is not None:
        confidence = np.ones((T, J))
        confidence[:, have] = points.confidence[:, [joints[j] for j in have]]
    if report is not None:
        report.extend(points.notes)
    absent = [n for n in sk.names if n not in column]
    if absent and report is not None:
        report.append(f"{path.name}: no columns for {len(absent)} rig joint{'s' if len(absent) != 1 else ''} "
                      "(treated as missing): " + ", ".join(absent))
    if report is not None:
        report.extend(_standing_along_another_axis(positions, clip, path.name))
    ends = [k for k, n in enumerate(end_names) if n in column and n not in sk.names]
    end_kw: dict = {}
    if ends:
        end_kw = dict(end_positions=points.positions[:, [column[end_names[k]] for k in ends]],
                      end_parents=clip.end_parents[ends], end_rest_offsets=clip.end_offsets[ends],
                      end_names=tuple(end_names[k] for k in ends))
    try:
        return Tracks(skeleton=sk, positions=positions, fps=fps, up_axis="y", confidence=confidence,
                      rotation_orders=tuple(clip.orders), first_frame=points.first_frame, **end_kw)
    except Pose2RotError as e:  # a value the tracks refuse (an infinite position): say which file holds it
        raise Pose2RotError(f"{path.name}: {e}") from None


#: how the command line asks for the rate of tracks that have none (csv_rate); other interfaces give their own
FPS_WANTED = "give the tracks' frames per second with --fps F"


def csv_rate(fps: float, frames: int, name: str, rig: str, wanted: str = FPS_WANTED) -> float:
    """The rate ``fps`` of the CSV ``name`` of ``frames`` rows on the rig BVH ``rig`` (0: neither
    file gives one, the rig saying 'Frame Time: 0'), RATELESS_FPS for one frame; refused otherwise,
    the error ending with ``wanted``: how the interface takes a rate (``solve``'s ``--fps``, the
    batch's ``--rig``)."""
    if fps:
        return fps
    if frames == 1:
        return RATELESS_FPS
    raise Pose2RotError(f"{name}: no frame rate: the CSV has no 'time' column and its rig {Path(rig).name} says "
                        f"'Frame Time: 0'; {wanted}")


def _standing_along_another_axis(positions: np.ndarray, clip: BvhClip, name: str) -> list[str]:
    """A warning where the CSV's points [T,J,3] on the rig of ``clip`` stand along another axis than the
    rig's own motion does (their legs, hips to ankles, point down another axis in most frames; the
    rig's Y where its motion does not tell): a CSV's positions are taken in the rig's axes, so the
    result would lie down or stand on its head."""
    from .pointsets import UPRIGHT, by_anatomy, legs_up

    named = by_anatomy(clip.skeleton, positions)
    found = legs_up(named, UPRIGHT)
    own = (legs_up(replace(named, positions=clip.fk()), UPRIGHT) if clip.num_frames else None) or "y"
    if found in (None, own):
        return []
    return [f"{WARNING_PREFIX}{name}: the points stand along {found.upper()} (their legs point down it), the rig "
            f"along {own.upper()}: a CSV's positions are taken in the rig's axes, so the result lies down or stands on "
            "its head; write the CSV in the rig's axes (from Z up to Y up: (x, y, z) -> (x, z, -y))"]


def csv_text(raw: bytes, name: str) -> str:
    """The text of the CSV file ``name`` from its bytes ``raw``: UTF-16 with a byte-order mark
    (spreadsheets' "Unicode text") or without one (see _utf16_without_bom), else UTF-8, else
    Windows-1252 (spreadsheet exports on Windows); a Pose2RotError for binary data."""
    codec = "utf-16" if raw.startswith(UTF16_BOMS) else _utf16_without_bom(raw[:4096])
    if codec:
        return raw.decode(codec, errors="replace")
    if b"\0" in raw[:4096]:
        raise Pose2RotError(f"{name}: not a CSV file: it holds binary data, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _utf16_without_bom(head: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" where the first bytes ``head`` of a file are UTF-16 text without a
    byte-order mark, as some exporters write it: every other byte zero, the others none, and the
    characters they spell (all below U+0100, as a CSV's digits and names are) printable or spaces;
    else None. Binary data with a zero in every other byte spells control characters."""
    head = head[: len(head) // 2 * 2]
    for codec, high, low in (("utf-16-le", head[1::2], head[::2]), ("utf-16-be", head[::2], head[1::2])):
        if head and not high.strip(b"\0") and b"\0" not in low:
            if all(c.isprintable() or c.isspace() for c in head.decode(codec)):
                return codec
    return None


def _rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """(header cells, body rows, file line number of each body row) of a CSV file, blank lines dropped (a
    row of empty cells stays: a frame the tracker lost, which pandas writes as ',,,')."""
    name = path.name
    text = csv_text(read_bytes(path, "CSV"), name)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ","  # a header without commas but with ';' or tabs sets the separator
    if "," not in first and (";" in first or "\t" in first):
        delimiter = ";" if first.count(";") >= first.count("\t") else "\t"
    numbered = [(i + 1, r) for i, r in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter))
                if len(r) > 1 or (r and r[0].strip())]   # a row of empty cells (',,,') is a frame without data
    if not numbered:
        raise Pose2RotError(f"{name}: empty CSV file")
    header = [c.strip() for c in numbered[0][1]]
    if len(numbered) == 1:
        raise Pose2RotError(f"{name}: the CSV has a header but no frames")
    for line, r in numbered[1:]:
        if len(r) != len(header):
            cut = line == numbered[-1][0] and len(r) < len(header)
            raise Pose2RotError(f"{name}: line {line}: {len(r)} cells but the header has {len(header)} columns"
                                + (CUT_SHORT if cut else SEVERAL_HEADER_ROWS if line <= 12 else ""))
    body = [r for _, r in numbered[1:]]
    if len(header) > 1 and not header[-1] and not any(r[-1].strip() for r in body):  # every line ends in a separator
        header, body = header[:-1], [r[:-1] for r in body]
    return header, body, [line for line, _ in numbered[1:]]


def _as_numbers(cells: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """(values, the cells read) of a str array: as written, or, where that fails, with decimal
    commas read (_decimal_points: only then, so a long file is read once); values None where some
    cell is no number even so."""
    try:
        return cells.astype(np.float64), cells
    except ValueError:
        cells = _decimal_points(cells)
    try:
        return cells.astype(np.float64), cells
    except ValueError:
        return None, cells


def _decimal_points(cells: np.ndarray) -> np.ndarray:
    """``cells`` (a str array) with numbers written with a decimal comma (``-0,25``, ``1,5e-3``:
    spreadsheets in most European languages write them, with ';' between cells, or quoted between
    commas) given a decimal point; any other cell as it is."""
    comma = (np.char.count(cells, ",") == 1) & (np.char.count(cells, ".") == 0)
    return np.where(comma, np.char.replace(cells, ",", "."), cells)


def _columns(header: list[str], skip: int, name: str) -> dict[str, dict[str, int]]:
    """name -> component -> column index, every column checked (after ``skip`` leading ones)."""
    columns: dict[str, dict[str, int]] = {}
    sep = component_separator(header[skip:])
    for c, col in enumerate(header[skip:], start=skip):
        base, dot, comp = col.rpartition(sep)
        if not col:
            raise Pose2RotError(f"{name}: column {c + 1} has no name (pandas writes its row index so, "
                                "unless to_csv is given index=False): remove the column, or name it 'frame' if it "
                                "numbers the frames")
        if not dot or comp.lower() not in COMPONENTS:
            lead = "; a first column of frame numbers or times is named 'frame' or 'time' (seconds)" if c == 0 else ""
            raise Pose2RotError(f"{name}: column '{col}' is not '<joint>.x', '<joint>.y', '<joint>.z' or "
                                f"'<joint>.conf' ('.visibility'; or all with '_': '<joint>_x', as FreeMoCap writes)"
                                f"{lead}")
        comps = columns.setdefault(base, {})
        kind = _COMPONENT_AS.get(comp.lower(), comp.lower())
        if kind in comps and kind != comp.lower():
            raise Pose2RotError(f"{name}: columns '{header[comps[kind]]}' and '{col}' both give the score of '{base}': "
                                "keep one")
        if kind in comps:
            raise Pose2RotError(f"{name}: column '{col}' appears twice")
        comps[kind] = c
    if not columns:
        raise Pose2RotError(f"{name}: no '<joint>.x', '<joint>.y', '<joint>.z' columns in the CSV header")
    if len(columns) > 1 and all("z" not in comps and {"x", "y"} <= set(comps) for comps in columns.values()):
        raise Pose2RotError(f"{name}: every point has .x and .y columns and none has .z: these are 2-D image "
                            "coordinates, and pose2rot needs 3-D positions (lift them to 3-D first, e.g. with a "
                            "3-D pose estimator, or give the tracker's 3-D output)")
    for base, comps in columns.items():
        absent = [a for a in "xyz" if a not in comps]
        if absent:
            raise Pose2RotError(f"{name}: joint '{base}' has no column {', '.join(f'{base}.{a}' for a in absent)}"
                                + _misspelt_partner(base, columns))
    return columns


def component_separator(columns: list[str]) -> str:
    """'.' for '<joint>.x' headers, '_' for a header written '<joint>_x' throughout (FreeMoCap's CSV
    files): a header with any '.x'-style column is read with '.'."""
    dotted = any(col.rpartition(".")[2].lower() in COMPONENTS for col in columns)
    underscored = all(col.rpartition("_")[1] and col.rpartition("_")[2].lower() in COMPONENTS for col in columns)
    return "_" if underscored and not dotted and columns else "."


def point_names(header: list[str]) -> list[str]:
    """The point names a CSV header row (its cells) gives, in order ('' cells and a leading frame or
    time column left out)."""
    cells = [c.strip().strip('"') for c in header if c.strip()]
    cells = cells[1:] if cells and cells[0].lower() in ("frame", "time") else cells
    sep = component_separator(cells)
    return [c.rpartition(sep)[0] for c in cells if c.rpartition(sep)[2].lower() == "x"]


def _misspelt_partner(base: str, columns: dict[str, dict[str, int]]) -> str:
    """A hint when another joint of the header that lacks components too has a name close to
    ``base`` ('elbo.x' beside 'elbow.y', 'elbow.z': one joint, misspelt once), else ''."""
    partial = [b for b, comps in columns.items() if b != base and not set("xyz") <= set(comps)]
    match = difflib.get_close_matches(base, partial, n=1, cutoff=0.6)
    if not match:
        return ""
    other = match[0]
    shown = ", ".join(f"{other}.{a}" for a in "xyz" if a in columns[other])
    return f"; beside {shown}: is '{base}' a misspelling of '{other}' (or the other way round)?"


def _time_fps(kind: str, times: np.ndarray | None) -> float:
    """Frames per second of a leading ``time`` column in seconds (its median step; ``times``: see
    _leading_stamps); 0 for any other first column (``kind``, lower case), or times that are not
    numbers."""
    if kind != "time" or times is None or len(times) < 2:
        return 0.0
    step = np.nanmedian(np.diff(times)) if np.isfinite(np.diff(times)).any() else np.nan
    return 1.0 / float(step) if step > 0 else 0.0


def _unknown_names(unknown: list[str], known: list[str], rig: str, ends: list[str], none_known: bool) -> str:
    """The error for CSV joints ``unknown`` that are not among the ``known`` names of the rig BVH
    ``rig`` (its joints and End Sites ``ends``): close matches, a bone tip's own name for a tip
    named after its joint ('hand_tip' -> 'hand_end'), and, when the CSV uses no name of the rig
    (``none_known``), a hint at the right rig or a bone map."""
    if none_known:
        return (f"none of the CSV's joint names are in the skeleton {rig} (for example "
                + ", ".join(f"'{u}'" for u in unknown[:3]) + "): give the rig the tracks were made for (--skeleton), "
                "or put the tracks on this rig through a bone map (--map MAP.json, made by: pose2rot map "
                "--skeleton RIG.bvh --source TRACKS --out MAP.json)")
    hints = [f"'{u}' -> '{m}'" for u in unknown for m in [_closest_name(u, known, ends)] if m]
    return ("unknown joint names in CSV (not in the skeleton " + rig + "): "
            + ", ".join(f"'{u}'" for u in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
            + "; joint names must match exactly" + (f" (close matches: {', '.join(hints[:5])})" if hints else ""))


def _closest_name(name: str, known: list[str], ends: list[str]) -> str | None:
    """The rig name most like ``name``: the only one that differs from it in case alone ('LEFTEYE' ->
    'leftEye', which the ratio of matching letters misses), else the closest by that ratio; a bone
    tip's End Site name where ``name`` is its joint's name with a tip word added ('hand_tip',
    'handTip' -> 'hand_end')."""
    same = [k for k in known if k.casefold() == name.casefold()]
    match = same if len(same) == 1 else difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not match:
        return None
    tips = [e for e in ends if e.startswith(match[0]) and e != match[0]]
    return tips[0] if name.startswith(match[0]) and name != match[0] and len(tips) == 1 else match[0]


def _number_hint(cell: str) -> str:
    """What to do about a cell that is no number: one with both '.' and ',' has thousands separators."""
    if "." in cell and "," in cell:
        return "write numbers without thousands separators, as 1584.972"
    return "leave the cell empty for a missing value"


def _first_bad_cell(cells: np.ndarray) -> tuple[int, int]:
    for r in range(cells.shape[0]):
        for c in range(cells.shape[1]):
            try:
                float(cells[r, c])
            except ValueError:
                return r, c
    return 0, 0
