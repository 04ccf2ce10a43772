"""Reading ``.npz`` tracks files (``np.load`` with ``allow_pickle=False``); see tracks_io for the layout.
The archive reader, :func:`read_archive`, also serves point-set files (pointsets).

Every array is checked by one table, :data:`ARRAYS`: its kind (numbers, whole numbers, text) and its
shape in the sizes of the file (T frames, J joints, K end sites). A file is read in three steps:
the archive (never a pickle), the arrays against the table, then the Tracks in internal joint order.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Collection

import numpy as np

from .errors import Pose2RotError, read_bytes
from .fk import bone_turn
from .rotations import quat_to_matrix
from .skeleton import Skeleton
from .tracks import Tracks, rate_replaced, usable_rate

REQUIRED = ("positions", "joint_names", "parents", "rest_positions")
#: key -> (kind, shape): kind "number", "integer" or "text"; shape entries are sizes ("T", "J", "K")
#: or fixed numbers, () for a single value. Checked in this order: the sizes J, T and K come from
#: joint_names, positions and end_parents.
ARRAYS: dict[str, tuple[str, tuple]] = {
    "joint_names": ("text", ("J",)),
    "positions": ("number", ("T", "J", 3)),
    "end_parents": ("integer", ("K",)),
    "parents": ("integer", ("J",)),
    "rest_positions": ("number", ("J", 3)),
    "fps": ("number", ()),
    "up_axis": ("text", ()),
    "reference_frame": ("integer", ()),
    "reference_quaternions": ("number", ("J", 4)),
    "end_positions": ("number", ("T", "K", 3)),
    "end_rest_offsets": ("number", ("K", 3)),
    "end_names": ("text", ("K",)),
    "confidence": ("number", ("T", "J")),
}
END_SITE_KEYS = ("end_positions", "end_parents", "end_rest_offsets")
#: kind -> (dtype kinds accepted, words for an array, words for one value)
_KINDS = {"number": ("fiu", "numeric", "number"), "integer": ("iu", "whole numbers", "whole number"),
          "text": ("US", "strings", "string")}
#: where each size comes from, for messages
_SIZE_SOURCES = {"J": "{} names in joint_names", "K": "{} entries in end_parents", "T": "{} frames in positions"}


def load_npz(path: Path, report: list[str] | None = None, fps: float | None = None) -> Tracks:
    """Tracks from an ``.npz`` file (joints in any order; see tracks_io), at ``fps`` frames per
    second instead of the file's own when given."""
    keys: list[str] = []
    data = read_archive(path, ARRAYS, report, keys=keys)
    if fps is not None:
        own = data.get("fps")
        if report is not None and own is not None and own.size == 1 and own.dtype.kind in "fiu":
            report += rate_replaced(path.name, float(own.reshape(())), fps)
        data["fps"] = np.asarray(float(fps))
    return tracks_from_archive(data, path.name, keys)


def tracks_from_archive(data: dict[str, np.ndarray], name: str, keys: list[str] | None = None) -> Tracks:
    """Tracks from the arrays of an ``.npz`` archive (keys of :data:`ARRAYS`; others are ignored) of the
    file ``name``, checked against the table; ``keys``: every key of the file, for messages."""
    data = {k: v for k, v in data.items() if k in ARRAYS}
    absent = [k for k in REQUIRED if k not in data]
    if absent:
        keys = sorted(keys or data)
        solved = " (a solution written by pose2rot solve? Tracks hold positions)" if "quaternions" in keys else ""
        if "positions" in keys and not {"parents", "rest_positions"} & set(keys):
            solved = ("; points without a skeleton? give their layout (--layout NAME) or put them on a rig through a "
                      "bone map (--skeleton RIG.bvh --map MAP.json)")
        raise Pose2RotError(f"{name}: missing key{'s' if len(absent) > 1 else ''} {', '.join(absent)} "
                            f"(the file has: {', '.join(keys) or 'nothing'}){solved}")
    if bool(set(END_SITE_KEYS) & set(data)) and not set(END_SITE_KEYS) <= set(data):
        given = [k for k in END_SITE_KEYS if k in data]
        raise Pose2RotError(f"{name}: {', '.join(given)} given without "
                            f"{', '.join(k for k in END_SITE_KEYS if k not in data)}; End Sites need all three")
    if "fps" in data:
        _check_fps(data["fps"], name)
    arrays = _checked_arrays(data, name)
    try:
        return _tracks(arrays)
    except Pose2RotError as e:
        raise Pose2RotError(f"{name}: {e}") from None


#: how to write tracks, for the message about a single np.save array
TRACKS_EXAMPLE = "np.savez(path, positions=..., joint_names=..., parents=..., rest_positions=...)"


def read_archive(path: Path, known: Collection[str], report: list[str] | None = None, what: str = "tracks",
                 example: str = TRACKS_EXAMPLE, keys: list[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` archive at ``path`` whose keys are ``known`` (others are noted in
    ``report``); never unpickles. what / example: what the file holds and how to write one, for
    messages; ``keys``: filled with every key of the file."""
    name = path.name
    raw = read_bytes(path, what)
    _check_magic(raw[:6], name, what, example)
    try:
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise Pose2RotError(f"{name}: not a readable .npz file ({e}); the file may be truncated") from None
    with archive:
        if keys is not None:
            keys.extend(archive.files)
        ignored = [k for k in archive.files if k not in known]
        data = {key: _array(archive, key, name) for key in archive.files if key in known}
    if ignored and report is not None:
        report.append(f"{name}: ignored unknown arrays: {', '.join(ignored)}")
    return data


def _check_magic(magic: bytes, name: str, what: str, example: str) -> None:
    """Refuse pickles, single np.save arrays and anything that is not a zip archive, by the first
    bytes ``magic`` of the file ``name`` (holding ``what``, written as ``example``)."""
    if magic.startswith(b"\x80"):
        raise Pose2RotError(f"{name}: holds a pickled Python object; pose2rot never loads pickles "
                            "(np.load with allow_pickle=False): save plain arrays with np.savez")
    if magic == b"\x93NUMPY":
        raise Pose2RotError(f"{name}: holds a single array (np.save), not named arrays; write the {what} with "
                            f"{example}")
    if not magic.startswith(b"PK"):
        raise Pose2RotError(f"{name}: not an .npz file (expected a zip archive written by np.savez)"
                            + (": the file is empty" if not magic else ""))


def _array(archive, key: str, name: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise Pose2RotError(f"{name}: {key} is stored as Python objects (a pickle), which pose2rot "
                                "never loads (allow_pickle=False); save it as a plain numeric or string "
                                "array, e.g. np.asarray(names, dtype=str)") from None
        raise Pose2RotError(f"{name}: array {key} is damaged and cannot be read ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise Pose2RotError(f"{name}: array {key} is damaged and cannot be read ({e})") from None


def _checked_arrays(data: dict[str, np.ndarray], name: str) -> dict:
    """Every array checked against ARRAYS, in its order (sizes from joint_names, positions and
    end_parents), as float64 numbers, int64 whole numbers, or Python str (single values unwrapped)."""
    sizes: dict[str, int] = {}
    return {key: _checked(data[key], key, sizes, name) for key in ARRAYS if key in data}


def _checked(a: np.ndarray, key: str, sizes: dict[str, int], name: str):
    kind, shape = ARRAYS[key]
    codes, words, word = _KINDS[kind]
    if kind == "integer" and a.dtype.kind == "f":
        a = _whole_floats(a, key, name)
    if a.dtype.kind not in codes:
        raise Pose2RotError(f"{name}: {key} must be {words if shape else 'a ' + word}, got {a.dtype}")
    if not shape:
        if a.size != 1:
            raise Pose2RotError(f"{name}: {key} must be a single {word}, got {_shape(a)}")
        a = a.reshape(())
    elif len(shape) != a.ndim or any(isinstance(s, int) and s != n or s in sizes and sizes[s] != n
                                     for s, n in zip(shape, a.shape)):
        want = ",".join(str(sizes.get(s, s)) for s in shape)
        known = [_SIZE_SOURCES[s].format(sizes[s]) for s in dict.fromkeys(shape) if s in sizes]
        raise Pose2RotError(f"{name}: {key} is {_shape(a)}, expected [{want}]"
                            + (f" ({'; '.join(known)})" if known else ""))
    else:
        sizes.update({s: n for s, n in zip(shape, a.shape) if isinstance(s, str)})
    if kind == "text":
        return as_text(a) if a.ndim == 0 else [as_text(x) for x in a]
    if a.dtype == np.float16 and np.isinf(a).any():
        raise float16_overflow(a, key, name)
    return a.astype(np.float64 if kind == "number" else np.int64)


def float16_overflow(a: np.ndarray, key: str, name: str) -> Pose2RotError:
    """The error for the float16 array ``a`` (``key`` of the file ``name``; "": a .npy file's one array)
    that holds an infinity: float16 stores any number past 65504 so (millimetres across a room)."""
    at = [int(i) for i in np.argwhere(np.isinf(a))[0]]
    value, array = (f"{key}{at}", key) if key else (f"the value at {at}", "the array")
    return Pose2RotError(f"{name}: {value} is infinite: {array} is stored as float16, which makes any number past "
                         f"{float(np.finfo(np.float16).max):g} infinite; store it as float32 or float64")


def _whole_floats(a: np.ndarray, key: str, name: str) -> np.ndarray:
    """A float array ``a`` of whole numbers (np.loadtxt's parents, -1.0 for the root) as int64; one
    with a fraction, NaN or infinity is refused, naming the first such value."""
    bad = ~np.isfinite(a) | (np.round(a) != a) | (np.abs(a) > 2 ** 53)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        what = f"whole numbers, got {a[at]:g} at {list(at)}" if at else f"a whole number, got {a[at]:g}"
        raise Pose2RotError(f"{name}: {key} must be {what}; write it as integers (np.asarray({key}, dtype=int))")
    return a.astype(np.int64)


def _check_fps(fps: np.ndarray, name: str) -> None:
    """Refuse an ``fps`` entry of one value that is no frame rate (0, negative, NaN or infinite, so small
    that no frame time holds its inverse, or text: an exporter's 'unknown' or a number written as a
    string), saying how to give the rate."""
    if fps.size != 1:
        return  # the table names the shape
    value = fps.reshape(())[()]
    if fps.dtype.kind in "fiu" and usable_rate(value):
        return
    if fps.dtype.kind in "US":
        shown = f"the text '{as_text(fps.reshape(()))}'"
    else:
        shown = f"{value:.4g}" if fps.dtype.kind in "fiu" else f"{value!r} ({fps.dtype})"
    raise Pose2RotError(f"{name}: its fps is {shown}, which is no frame rate: give the clip's frames per second "
                        "with --fps F (command line), or write them into the file as a number "
                        "(np.savez(..., fps=30.0)), or leave fps out for 30")


def _tracks(arrays: dict) -> Tracks:
    """Tracks in internal order from checked arrays (joints may come in any order)."""
    names = arrays["joint_names"]
    if not names:
        raise Pose2RotError("joint_names is empty: the tracks need at least one joint")
    rest = arrays["rest_positions"]
    if len(names) > 1 and not np.ptp(rest, axis=0).any():
        raise Pose2RotError(f"rest_positions puts all {len(names)} joints at one point {rest[0].tolist()}: the rest "
                            "pose gives the rig its bone lengths, the roll of its bones and the height that every % "
                            "is of; write the rig's rest pose (global joint positions), or the positions of one "
                            "frame where every joint is tracked")
    skeleton = Skeleton.from_any_order(names, arrays["parents"], arrays["rest_positions"])
    order = skeleton.caller_order
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    ref_rot = None
    if "reference_quaternions" in arrays:
        q = arrays["reference_quaternions"]
        if not np.isfinite(q).all() or (np.linalg.norm(q, axis=-1) < 1e-8).any():
            raise Pose2RotError("reference_quaternions has NaN or zero-length quaternions")
        ref_rot = quat_to_matrix(q[order])
        frame = arrays.get("reference_frame")
        if frame is not None and 0 <= int(frame) < len(arrays["positions"]):
            _check_quaternion_order(skeleton, q[order], arrays["positions"][int(frame)][order])
    ends: dict = {}
    if "end_parents" in arrays:
        epar = arrays["end_parents"]
        if len(epar) and (epar.min() < 0 or epar.max() >= len(names)):
            raise Pose2RotError(f"end_parents must be joint indices in 0..{len(names) - 1}")
        ends = dict(end_positions=arrays["end_positions"], end_parents=inv[epar],
                    end_rest_offsets=arrays["end_rest_offsets"], end_names=tuple(arrays.get("end_names", ())))
    conf = arrays.get("confidence")
    return Tracks(skeleton=skeleton, positions=arrays["positions"][:, order], fps=float(arrays.get("fps", 30.0)),
                  up_axis=arrays.get("up_axis", "y"), reference_frame=arrays.get("reference_frame"),
                  reference_rotations=ref_rot, confidence=None if conf is None else conf[:, order], **ends)


def _check_quaternion_order(skeleton: Skeleton, q: np.ndarray, points: np.ndarray) -> None:
    """Refuse reference quaternions ``q`` [J,4] (internal order) written x, y, z, w: their pose
    misses the bones' directions at the reference frame (``points`` [J,3]) where the same numbers
    read w last would fit them."""
    as_given, w_last = (bone_turn(skeleton, quat_to_matrix(x), points) for x in (q, np.roll(q, 1, axis=-1)))
    if as_given > 20.0 and w_last < 2.0:
        raise Pose2RotError(f"reference_quaternions: their pose is {as_given:.0f} degrees off the tracks at the "
                            "reference frame on average, but fits them read with w last: write them w, x, y, z "
                            "(scipy's as_quat() gives x, y, z, w)")


def as_text(x) -> str:
    """A string array element as str (bytes, as np.savez writes a dtype S array, are decoded as UTF-8,
    else Latin-1)."""
    x = x.item() if isinstance(x, np.ndarray) else x
    if isinstance(x, bytes):
        try:
            return x.decode("utf-8")
        except UnicodeDecodeError:
            return x.decode("latin-1")
    return str(x)


def _shape(a: np.ndarray) -> str:
    return "[" + ",".join(str(s) for s in a.shape) + "]"
