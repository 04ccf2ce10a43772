"""Reading and writing joint-position tracks (.npz, .csv, .bvh) and filling gaps in them.

The ``.npz`` tracks file (loaded with ``allow_pickle=False``):
- ``positions`` float [T,J,3], NaN = missing; ``joint_names`` str [J]; ``parents`` int [J]
  (-1 = root; joints in any order); ``rest_positions`` float [J,3] (global, BVH style);
- optional: ``fps`` scalar, ``up_axis`` "y" (default) or "z", ``reference_frame`` int,
  ``reference_quaternions`` [J,4] (w,x,y,z local rotations of the reference pose),
  ``end_positions`` [T,K,3], ``end_parents`` int [K] (joint index in the file's order),
  ``end_rest_offsets`` [K,3], ``end_names`` str [K], ``confidence`` [T,J] in 0..1;
- other arrays are ignored (with a note); object arrays are refused, never unpickled.

CSV: one row per frame, columns ``<joint>.x``, ``<joint>.y``, ``<joint>.z`` (and optional
``<joint>.conf``), an optional leading ``frame`` or ``time`` column; empty cells or "nan" are
missing; commas, or semicolons / tabs when the header has no comma; UTF-8 or Windows-1252.
The rig (rest pose, parents, fps) comes from a BVH file.
"""
from __future__ import annotations

import csv
import difflib
import io
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .bvh import BvhClip, read_bvh
from .errors import Pose2RotError
from .rotations import matrix_to_quat, quat_to_matrix
from .skeleton import Skeleton
from .tracks import Tracks

_REQUIRED = ("positions", "joint_names", "parents", "rest_positions")
_KNOWN = _REQUIRED + ("fps", "up_axis", "reference_frame", "reference_quaternions", "end_positions", "end_parents",
                      "end_rest_offsets", "end_names", "confidence")


# =============================================================================== public API
def load_tracks(path: str | Path, skeleton_bvh: str | Path | None = None,
                report: list[str] | None = None) -> Tracks:
    """Load tracks from ``.npz``, ``.csv`` (needs ``skeleton_bvh`` for the rig) or ``.bvh``.

    report: optional list that receives notes (e.g. rig joints with no CSV columns).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv", ".bvh"):
        raise Pose2RotError(f"{path.name}: unknown tracks format '{suffix}'; use .npz, .csv or .bvh")
    if path.is_dir():
        raise Pose2RotError(f"tracks path '{path}' is a directory; give the {suffix} file itself")
    if not path.is_file():
        raise Pose2RotError(f"tracks file '{path}' does not exist; check the path")
    if suffix == ".csv":
        if skeleton_bvh is None:
            raise Pose2RotError(f"{path.name}: a CSV file holds only positions; give the rig as a BVH file "
                                "(its rest pose, parents and fps) along with it (--skeleton RIG.bvh)")
        return _load_csv(path, read_bvh(skeleton_bvh), report)
    if skeleton_bvh is not None:
        raise Pose2RotError(f"{path.name}: a {suffix} tracks file carries its own skeleton; "
                            "leave out the skeleton BVH (it is only used with CSV tracks)")
    if suffix == ".bvh":
        return tracks_from_bvh(read_bvh(path))
    return _load_npz(path, report)


def tracks_from_bvh(clip: BvhClip, reference_frame: int | None = None) -> Tracks:
    """A BVH clip's FK joint positions (and End Sites) as tracks on its own skeleton.

    With ``reference_frame`` the clip's local rotations of that frame become the reference pose.
    """
    if clip.num_frames == 0:
        raise Pose2RotError(f"{clip.name}: the clip has no motion ('Frames: 0'); there is nothing to solve")
    ref_rot = None
    if reference_frame is not None:
        if not 0 <= reference_frame < clip.num_frames:
            raise Pose2RotError(f"{clip.name}: reference frame {reference_frame} is outside the clip "
                                f"(0..{clip.num_frames - 1})")
        ref_rot = clip.rotations[reference_frame]
    has_ends = len(clip.end_parents) > 0
    return Tracks(
        skeleton=clip.skeleton, positions=clip.fk(), fps=clip.fps, up_axis="y",
        reference_frame=reference_frame, reference_rotations=ref_rot,
        end_positions=clip.end_site_positions() if has_ends else None,
        end_parents=clip.end_parents if has_ends else None,
        end_rest_offsets=clip.end_offsets if has_ends else None,
        end_names=tuple(clip.end_names) if has_ends else (), rotation_orders=tuple(clip.orders))


def save_tracks(path: str | Path, tracks: Tracks) -> None:
    """Write tracks as ``.npz`` (joints in the skeleton's internal order)."""
    sk = tracks.skeleton
    out: dict[str, np.ndarray] = {
        "positions": tracks.positions,
        "joint_names": np.asarray(sk.names, dtype=str),
        "parents": sk.parents,
        "rest_positions": sk.rest_positions,
        "fps": np.float64(tracks.fps),
        "up_axis": np.asarray(tracks.up_axis, dtype=str),
    }
    if tracks.reference_frame is not None:
        out["reference_frame"] = np.int64(tracks.reference_frame)
    if tracks.reference_rotations is not None:
        out["reference_quaternions"] = matrix_to_quat(tracks.reference_rotations)
    if tracks.end_positions is not None:
        out["end_positions"] = tracks.end_positions
        out["end_parents"] = tracks.end_parents
        out["end_rest_offsets"] = tracks.end_rest_offsets
        out["end_names"] = np.asarray(tracks.end_names, dtype=str).reshape(-1)
    if tracks.confidence is not None:
        out["confidence"] = tracks.confidence
    path = Path(path)
    try:
        with open(path, "wb") as f:
            np.savez_compressed(f, **out)
    except OSError as e:
        raise Pose2RotError(f"cannot write tracks file '{path}': {e.strerror or e}") from None


def check_root(tracks: Tracks) -> None:
    """Raise when the root joint has no position in any frame (nothing can place the clip)."""
    if np.isnan(tracks.positions[:, 0]).any(axis=-1).all():
        name = tracks.skeleton.names[0]
        raise Pose2RotError(f"root joint '{name}' has no data in any frame: the root position places the whole "
                            f"clip; add a track for '{name}' or use a rig whose root is tracked")


def fill_gaps(positions: np.ndarray, names: Sequence[str] | None = None
              ) -> tuple[np.ndarray, list[str], list[int]]:
    """Fill missing samples (NaN) in [T,J,3] tracks.

    Gaps inside a track are filled by cubic Hermite interpolation between the known neighbours,
    with tangents from the parabola through each known sample and its known neighbours (the
    Catmull-Rom tangent for even spacing; exactly linear when a joint has only two known frames). Frames before the first / after the
    last known sample hold that sample. A frame counts as missing when any coordinate is NaN.
    Returns (filled [T,J,3], report lines, indices of joints with no data at all — left NaN).
    """
    P = np.array(positions, np.float64)
    if P.ndim != 3 or P.shape[-1] != 3:
        raise Pose2RotError(f"fill_gaps: positions must be [T,J,3], got {list(P.shape)}")
    T, J = P.shape[:2]
    labels = [f"'{n}'" for n in names] if names is not None else [f"joint {j}" for j in range(J)]
    known_all = ~np.isnan(P).any(axis=-1)  # [T,J]
    report: list[str] = []
    missing: list[int] = []
    t = np.arange(T)
    for j in np.flatnonzero(~known_all.all(axis=0)):
        known = known_all[:, j]
        k = np.flatnonzero(known)
        if k.size == 0:
            missing.append(int(j))
            P[:, j] = np.nan  # partial samples alone are not data
            continue
        holes = t[~known]
        P[holes, j] = _interpolate(k, P[k, j], holes)
        spans = frame_spans(~known)
        report.append(f"filled {len(spans)} gap{'s' if len(spans) != 1 else ''} in {labels[j]} "
                      f"({describe_spans(spans)})")
    if missing:
        report.append("no data in any frame for " + ", ".join(labels[j] for j in missing)
                      + " (kept at the reference/rest rotation)")
    return P, report, missing


def frame_spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """[(first, last)] inclusive frame ranges where the [T] bool ``mask`` is True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist()))


def describe_spans(spans: list[tuple[int, int]], shown: int = 4) -> str:
    """'frames 3-7, 12' for [(3, 7), (12, 12)]; after ``shown`` spans the rest are counted."""
    words = [f"{a}" if a == b else f"{a}-{b}" for a, b in spans[:shown]]
    more = len(spans) - shown
    frames = sum(b - a + 1 for a, b in spans)
    text = ("frame " if frames == 1 else "frames ") + ", ".join(words)
    return text + (f" and {more} more gaps, {frames} frames in all" if more > 0 else "")


def _interpolate(k: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Hermite interpolation of samples ``values`` [n,3] at frames ``k`` [n] onto frames ``t``."""
    n = k.size
    if n == 1:
        return np.broadcast_to(values[0], (t.size, 3))
    kf = k.astype(np.float64)
    slope = np.empty_like(values)  # d value / d frame at every known sample
    slope[0] = (values[1] - values[0]) / (kf[1] - kf[0])
    slope[-1] = (values[-1] - values[-2]) / (kf[-1] - kf[-2])
    if n > 2:  # derivative of the parabola through each sample and its known neighbours
        hl = (kf[1:-1] - kf[:-2])[:, None]
        hr = (kf[2:] - kf[1:-1])[:, None]
        slope[1:-1] = (hl * hl * (values[2:] - values[1:-1]) + hr * hr * (values[1:-1] - values[:-2])) / (
            hl * hr * (hl + hr))
    i = np.clip(np.searchsorted(k, t) - 1, 0, n - 2)  # interval [k[i], k[i+1]]
    h = (kf[i + 1] - kf[i])[:, None]
    s = np.clip((t - kf[i])[:, None] / h, 0.0, 1.0)  # clipping holds the edge values outside
    s2, s3 = s * s, s * s * s
    out = ((2 * s3 - 3 * s2 + 1) * values[i] + (s3 - 2 * s2 + s) * h * slope[i]
           + (-2 * s3 + 3 * s2) * values[i + 1] + (s3 - s2) * h * slope[i + 1])
    return out


# =============================================================================== npz
def _load_npz(path: Path, report: list[str] | None = None) -> Tracks:
    name = path.name
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise Pose2RotError(f"cannot read tracks file '{path}': {e.strerror or e}") from None
    if magic.startswith(b"\x80"):
        raise Pose2RotError(f"{name}: holds a pickled Python object; pose2rot never loads pickles "
                            "(np.load with allow_pickle=False): save plain arrays with np.savez")
    if magic == b"\x93NUMPY":
        raise Pose2RotError(f"{name}: holds a single array (np.save), not named arrays; write the tracks with "
                            "np.savez(path, positions=..., joint_names=..., parents=..., rest_positions=...)")
    if not magic.startswith(b"PK"):
        raise Pose2RotError(f"{name}: not an .npz file (expected a zip archive written by np.savez)"
                            + (": the file is empty" if not magic else ""))
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise Pose2RotError(f"{name}: not a readable .npz file ({e}); the file may be truncated") from None
    data: dict[str, np.ndarray] = {}
    with archive:
        ignored = [k for k in archive.files if k not in _KNOWN]
        for key in archive.files:
            if key in ignored:
                continue
            try:
                data[key] = archive[key]
            except ValueError as e:
                if "allow_pickle" in str(e):
                    raise Pose2RotError(f"{name}: {key} is stored as Python objects (a pickle), which pose2rot "
                                        "never loads (allow_pickle=False); save it as a plain numeric or string "
                                        "array, e.g. np.asarray(names, dtype=str)") from None
                raise Pose2RotError(f"{name}: array {key} is damaged and cannot be read ({e})") from None
            except (OSError, EOFError, zipfile.BadZipFile) as e:
                raise Pose2RotError(f"{name}: array {key} is damaged and cannot be read ({e})") from None
    if ignored and report is not None:
        report.append(f"{name}: ignored unknown arrays: {', '.join(ignored)}")
    absent = [k for k in _REQUIRED if k not in data]
    if absent:
        raise Pose2RotError(f"{name}: missing key{'s' if len(absent) > 1 else ''} {', '.join(absent)} "
                            f"(the file has: {', '.join(sorted(data)) or 'nothing'})")

    positions = _numeric(data, "positions", name)
    joint_names = data["joint_names"]
    if joint_names.dtype.kind not in "US" or joint_names.ndim != 1:
        raise Pose2RotError(f"{name}: joint_names must be a 1-D string array, got {_shape(joint_names)} of "
                            f"{joint_names.dtype}")
    names = [_text(n) for n in joint_names]
    J = len(names)
    if J == 0:
        raise Pose2RotError(f"{name}: joint_names is empty: the tracks need at least one joint")
    if positions.ndim != 3 or positions.shape[1:] != (J, 3):
        raise Pose2RotError(f"{name}: positions is {_shape(positions)} but joint_names has {J} names "
                            f"(expected [T,{J},3])")
    T = positions.shape[0]
    parents = data["parents"]
    if parents.dtype.kind not in "iu" or parents.shape != (J,):
        raise Pose2RotError(f"{name}: parents must be {J} integers (one per joint name, -1 for the root), "
                            f"got {_shape(parents)} of {parents.dtype}")
    rest = _numeric(data, "rest_positions", name)
    if rest.shape != (J, 3):
        raise Pose2RotError(f"{name}: rest_positions is {_shape(rest)} but joint_names has {J} names "
                            f"(expected [{J},3])")
    try:
        skeleton = Skeleton.from_any_order(names, parents.astype(np.int64), rest)
    except Pose2RotError as e:
        raise Pose2RotError(f"{name}: {e}") from None
    order = skeleton.caller_order
    inv = np.empty_like(order)
    inv[order] = np.arange(J)

    fps = 30.0
    if "fps" in data:
        fps_arr = _numeric(data, "fps", name)
        if fps_arr.size != 1:
            raise Pose2RotError(f"{name}: fps must be a single number, got {_shape(fps_arr)}")
        fps = float(fps_arr.reshape(()))
    up_axis = "y"
    if "up_axis" in data:
        up = data["up_axis"]
        if up.dtype.kind not in "US" or up.size != 1:
            raise Pose2RotError(f"{name}: up_axis must be the string 'y' or 'z'")
        up_axis = _text(up.reshape(()))

    ref_frame = None
    if "reference_frame" in data:
        rf = data["reference_frame"]
        if rf.dtype.kind not in "iu" or rf.size != 1:
            raise Pose2RotError(f"{name}: reference_frame must be one integer frame index, got {_shape(rf)} "
                                f"of {rf.dtype}")
        ref_frame = int(rf.reshape(()))
    ref_rot = None
    if "reference_quaternions" in data:
        q = _numeric(data, "reference_quaternions", name)
        if q.shape != (J, 4):
            raise Pose2RotError(f"{name}: reference_quaternions is {_shape(q)} but joint_names has {J} names "
                                f"(expected [{J},4], w,x,y,z)")
        if not np.isfinite(q).all() or (np.linalg.norm(q, axis=-1) < 1e-8).any():
            raise Pose2RotError(f"{name}: reference_quaternions has NaN or zero-length quaternions")
        ref_rot = quat_to_matrix(q[order])

    end_kw: dict = {}
    end_keys = [k for k in ("end_positions", "end_parents", "end_rest_offsets") if k in data]
    if end_keys and len(end_keys) < 3:
        absent = [k for k in ("end_positions", "end_parents", "end_rest_offsets") if k not in data]
        raise Pose2RotError(f"{name}: {', '.join(end_keys)} given without {', '.join(absent)}; "
                            "End Sites need all three")
    if end_keys:
        epar = data["end_parents"]
        if epar.dtype.kind not in "iu" or epar.ndim != 1:
            raise Pose2RotError(f"{name}: end_parents must be a 1-D integer array, got {_shape(epar)} of "
                                f"{epar.dtype}")
        K = epar.shape[0]
        ep = _numeric(data, "end_positions", name)
        if ep.shape != (T, K, 3):
            raise Pose2RotError(f"{name}: end_positions is {_shape(ep)} but positions has {T} frames and "
                                f"end_parents {K} entries (expected [{T},{K},3])")
        eoff = _numeric(data, "end_rest_offsets", name)
        if eoff.shape != (K, 3):
            raise Pose2RotError(f"{name}: end_rest_offsets is {_shape(eoff)}, expected [{K},3]")
        if K and (epar.min() < 0 or epar.max() >= J):
            raise Pose2RotError(f"{name}: end_parents must be joint indices in 0..{J - 1}")
        end_kw = dict(end_positions=ep, end_parents=inv[epar.astype(np.int64)], end_rest_offsets=eoff)
        if "end_names" in data:
            en = data["end_names"]
            if en.dtype.kind not in "US" or en.shape != (K,):
                raise Pose2RotError(f"{name}: end_names is {_shape(en)}, expected {K} strings")
            end_kw["end_names"] = tuple(_text(x) for x in en)

    conf = None
    if "confidence" in data:
        conf = _numeric(data, "confidence", name)
        if conf.shape != (T, J):
            raise Pose2RotError(f"{name}: confidence is {_shape(conf)}, expected [{T},{J}] (frames, joints)")
        conf = conf[:, order]

    try:
        return Tracks(skeleton=skeleton, positions=positions[:, order], fps=fps, up_axis=up_axis,
                      reference_frame=ref_frame, reference_rotations=ref_rot, confidence=conf, **end_kw)
    except Pose2RotError as e:
        raise Pose2RotError(f"{name}: {e}") from None


def _numeric(data: dict, key: str, name: str) -> np.ndarray:
    a = data[key]
    if a.dtype.kind not in "fiu":
        raise Pose2RotError(f"{name}: {key} must be numeric, got {a.dtype}")
    return a.astype(np.float64)


def _text(x) -> str:
    """A string array element as str (bytes are decoded as UTF-8, else Latin-1)."""
    x = x.item() if isinstance(x, np.ndarray) else x
    if isinstance(x, bytes):
        try:
            return x.decode("utf-8")
        except UnicodeDecodeError:
            return x.decode("latin-1")
    return str(x)


def _shape(a: np.ndarray) -> str:
    return "[" + ",".join(str(s) for s in a.shape) + "]"


# =============================================================================== csv
def _load_csv(path: Path, clip: BvhClip, report: list[str] | None) -> Tracks:
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise Pose2RotError(f"cannot read CSV file '{path}': {e.strerror or e}") from None
    if b"\0" in raw[:4096]:
        raise Pose2RotError(f"{name}: not a CSV file: it holds binary data, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # spreadsheet exports on Windows
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ","  # a header without commas but with ';' or tabs sets the separator
    if "," not in first and (";" in first or "\t" in first):
        delimiter = ";" if first.count(";") >= first.count("\t") else "\t"
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    line_of = [i + 1 for i, r in enumerate(rows) if any(c.strip() for c in r)]
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise Pose2RotError(f"{name}: empty CSV file")
    header = [c.strip() for c in rows[0]]
    body = rows[1:]
    if not body:
        raise Pose2RotError(f"{name}: the CSV has a header but no frames")
    for r, line in zip(body, line_of[1:]):
        if len(r) != len(header):
            raise Pose2RotError(f"{name}: line {line}: {len(r)} cells but the header has {len(header)} columns")

    skip = 1 if header[0].lower() in ("frame", "time") else 0
    sk = clip.skeleton
    end_names = list(clip.end_names)
    known = {n: ("joint", j) for j, n in enumerate(sk.names)}
    known.update({n: ("end", k) for k, n in enumerate(end_names) if n not in known})
    columns: dict[str, dict[str, int]] = {}
    unknown: list[str] = []
    for c, col in enumerate(header[skip:], start=skip):
        base, dot, comp = col.rpartition(".")
        if not dot or comp.lower() not in ("x", "y", "z", "conf"):
            raise Pose2RotError(f"{name}: column '{col}' is not '<joint>.x', '<joint>.y', '<joint>.z' or "
                                "'<joint>.conf'")
        if base not in known:
            if base not in unknown:
                unknown.append(base)
            continue
        comps = columns.setdefault(base, {})
        if comp.lower() in comps:
            raise Pose2RotError(f"{name}: column '{col}' appears twice")
        comps[comp.lower()] = c
    if unknown:
        hints = [f"'{u}' -> '{m[0]}'" for u in unknown
                 for m in [difflib.get_close_matches(u, list(known), n=1, cutoff=0.6)] if m]
        raise Pose2RotError(f"{name}: unknown joint names in CSV (not in the skeleton {Path(clip.name).name}): "
                            + ", ".join(f"'{u}'" for u in unknown[:10])
                            + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
                            + "; joint names must match exactly"
                            + (f" (close matches: {', '.join(hints[:5])})" if hints else ""))
    for base, comps in columns.items():
        absent = [a for a in "xyz" if a not in comps]
        if absent:
            raise Pose2RotError(f"{name}: joint '{base}' has no column {', '.join(f'{base}.{a}' for a in absent)}")

    root = sk.names[0]
    if root not in columns:
        raise Pose2RotError(f"{name}: no columns for the root joint '{root}' of {Path(clip.name).name} "
                            f"({root}.x, {root}.y, {root}.z): the root position places the whole clip")
    # empty cells are missing; the frame/time column is not used
    cells = np.asarray([["nan" if i < skip or not c.strip() else c.strip() for i, c in enumerate(r)] for r in body],
                       dtype=str)
    try:
        values = cells.astype(np.float64)
    except ValueError:
        r, c = _first_bad_cell(cells)
        raise Pose2RotError(f"{name}: line {line_of[1 + r]}: column '{header[c]}' holds '{cells[r, c][:40]}', "
                            "which is not a number (leave the cell empty for a missing value)") from None
    T, J = values.shape[0], sk.num_joints
    positions = np.full((T, J, 3), np.nan)
    confidence = None
    end_positions = np.full((T, len(end_names), 3), np.nan)
    has_conf = any("conf" in comps for comps in columns.values())
    if has_conf:
        confidence = np.ones((T, J))
    for base, comps in columns.items():
        kind, idx = known[base]
        xyz = values[:, [comps["x"], comps["y"], comps["z"]]]
        if kind == "joint":
            positions[:, idx] = xyz
            if "conf" in comps:
                confidence[:, idx] = values[:, comps["conf"]]
        else:
            end_positions[:, idx] = xyz
    absent_joints = [n for n in sk.names if n not in columns]
    if absent_joints and report is not None:
        report.append(f"{name}: no columns for {len(absent_joints)} rig joint"
                      f"{'s' if len(absent_joints) != 1 else ''} (treated as missing): " + ", ".join(absent_joints))
    end_cols = [k for k, n in enumerate(end_names) if n in columns]
    end_kw: dict = {}
    if end_cols:
        end_kw = dict(end_positions=end_positions[:, end_cols], end_parents=clip.end_parents[end_cols],
                      end_rest_offsets=clip.end_offsets[end_cols], end_names=tuple(end_names[k] for k in end_cols))
    return Tracks(skeleton=sk, positions=positions, fps=clip.fps, up_axis="y", confidence=confidence,
                  rotation_orders=tuple(clip.orders), **end_kw)


def _first_bad_cell(cells: np.ndarray) -> tuple[int, int]:
    for r in range(cells.shape[0]):
        for c in range(cells.shape[1]):
            try:
                float(cells[r, c])
            except ValueError:
                return r, c
    return 0, 0
