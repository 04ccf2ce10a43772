"""Reading and writing joint-position tracks (.npz, .csv, .bvh), checking and filling gaps in them.

Readers by file suffix: :data:`READERS` (``.npz``: tracks_npz, ``.csv``: tracks_csv, ``.bvh``: the
clip's FK positions). A new format is a reader ``(path, skeleton BVH clip or None, report, fps or
None) -> Tracks`` in that table (fps: the frame rate to take instead of the file's), with why it
needs a skeleton BVH (None when it carries its own skeleton).

The ``.npz`` tracks file (loaded with ``allow_pickle=False``):
- ``positions`` float [T,J,3], NaN = missing; ``joint_names`` str [J]; ``parents`` int [J]
  (-1 = root; joints in any order); ``rest_positions`` float [J,3] (global, BVH style);
- optional: ``fps`` scalar, ``up_axis`` "y" (default) or "z", ``reference_frame`` int,
  ``reference_quaternions`` [J,4] (w,x,y,z local rotations of the reference pose),
  ``end_positions`` [T,K,3], ``end_parents`` int [K] (joint index in the file's order),
  ``end_rest_offsets`` [K,3], ``end_names`` str [K], ``confidence`` [T,J] in 0..1;
- other arrays are ignored (with a note); object arrays are refused, never unpickled.

CSV (tracks_csv): one row per frame, columns ``<joint>.x``, ``<joint>.y``, ``<joint>.z`` (and optional
``<joint>.conf``); the rig (rest pose, parents, fps) comes from a BVH file.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .bvh import BvhClip, read_bvh
from .errors import Pose2RotError, broken_link, missing_file, write_whole
from .rotations import matrix_to_quat
from .stacks import any_axis
from .tracks import Tracks, rate_replaced, whole_frame
from .tracks_csv import RATELESS_FPS, SUFFIXES as CSV_SUFFIXES, load_csv
from .tracks_npz import load_npz


def at_fps(tracks: Tracks, fps: float | None, report: list[str] | None = None, name: str = "") -> Tracks:
    """``tracks`` (of the file ``name``) at ``fps`` frames per second (None: as they are), noted in
    ``report`` where that replaces another rate they have (tracks.rate_replaced)."""
    if report is not None:
        report += rate_replaced(name, tracks.fps, fps)
    return tracks if fps is None else replace(tracks, fps=fps)


#: suffix -> (reader(path, rig clip or None, report, fps or None), why the format needs a rig BVH; None:
#: it has its own). An .npz file's stored rate is not read where fps is given: it may be missing or wrong
READERS: dict[str, tuple[Callable[[Path, BvhClip | None, list[str] | None, float | None], Tracks], str | None]] = {
    ".npz": (lambda path, _clip, report, fps: load_npz(path, report, fps), None),
    **{suffix: (lambda path, clip, report, fps: load_csv(path, clip, report, fps),
                f"a {suffix[1:].upper()} file holds only positions") for suffix in CSV_SUFFIXES},
    ".bvh": (lambda path, _clip, report, fps: at_fps(tracks_from_bvh(read_bvh(path)), fps, report, path.name), None),
}
#: points that a layout names (.npy: pointsets.load_points with a layouts.LAYOUTS entry)
POINT_SUFFIXES = (".npy",)
#: every file suffix that Import Tracks and the batch read: the tracks formats (READERS), then points
FILE_SUFFIXES = (*READERS, *POINT_SUFFIXES)
#: every input that pose2rot solve reads, in its words (README "Inputs"; cli_layouts.is_point_set)
READABLE = ("give tracks (.npz; .csv or .tsv with --skeleton RIG.bvh; .bvh, its joint positions) or points (.npy "
            "with --layout NAME; a FreeMoCap recording folder; a point set .npz or .csv with --layout NAME or "
            "--skeleton RIG.bvh --map MAP.json)")


# =============================================================================== public API
def load_tracks(path: str | Path, skeleton_bvh: str | Path | BvhClip | None = None,
                report: list[str] | None = None, fps: float | None = None) -> Tracks:
    """Load tracks from ``.npz``, ``.csv`` (needs ``skeleton_bvh`` for the rig: a BVH file, or the clip
    already read from one) or ``.bvh``.

    report: optional list that receives notes (e.g. rig joints with no CSV columns). fps: the frame
    rate to take instead of the file's (see READERS); None: the file's.
    """
    path = tracks_source(path, skeleton_bvh)
    reader = READERS[path.suffix.lower()][0]
    rig = skeleton_bvh if skeleton_bvh is None or isinstance(skeleton_bvh, BvhClip) else read_bvh(skeleton_bvh)
    return reader(path, rig, report, fps)


def tracks_source(path: str | Path, skeleton_bvh: str | Path | BvhClip | None = None) -> Path:
    """``path`` as a Path, once it is an existing tracks file given with a rig BVH ``skeleton_bvh``
    exactly when its format needs one (see READERS)."""
    path = tracks_path(path)
    suffix = path.suffix.lower()
    needs_rig = READERS[suffix][1]
    if skeleton_bvh is not None and needs_rig is None:
        raise Pose2RotError(f"{path.name}: a {suffix} tracks file carries its own skeleton: leave out the rig BVH "
                            "(--skeleton) to solve on it, or put its motion on that rig through a bone map "
                            f"(--map MAP.json, made by: pose2rot map --skeleton RIG.bvh --source {path.name} "
                            "--out MAP.json)")
    if skeleton_bvh is None and needs_rig is not None:
        raise Pose2RotError(f"{path.name}: {needs_rig}; give the rig as a BVH file (its rest pose, parents and "
                            "fps) along with it (--skeleton RIG.bvh)")
    return path


def tracks_path(path: str | Path) -> Path:
    """``path`` as a Path, once it is known to be an existing file of a known tracks format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise Pose2RotError(f"tracks path '{path}' is a directory, not a tracks file ({', '.join(READERS)}) or a "
                            "FreeMoCap recording (output_data/mediapipe_body_3d_xyz.npy); give the file itself")
    if not path.is_file() and (suffix in READERS or broken_link(path)):   # a link that leads nowhere: said first
        raise missing_file(path, "tracks")
    if suffix not in READERS:
        raise Pose2RotError(f"{path.name}: unknown tracks format '{suffix}'; {READABLE}")
    return path


def tracks_from_bvh(clip: BvhClip, reference_frame: int | None = None,
                    frame_name: str = "reference frame", as_rig: bool = True) -> Tracks:
    """A BVH clip's FK joint positions (and End Sites) as tracks on its own skeleton.

    With ``reference_frame`` the clip's local rotations of that frame become the reference pose
    (``frame_name``: what an error calls that frame, e.g. the command line's flag). as_rig: the
    skeleton will be solved (its OFFSETs must spread the joints); False: only the points are read.
    A clip of one frame that gives no rate ('Frame Time: 0') takes RATELESS_FPS, which then only
    sets the frame time of the files written from it.
    """
    check_has_motion(clip)
    if as_rig:
        clip.check_rest_pose()
    ref_rot = None
    if reference_frame is not None:
        reference_frame = whole_frame(reference_frame, f"{clip.name}: {frame_name}")
        if not 0 <= reference_frame < clip.num_frames:
            raise Pose2RotError(f"{clip.name}: {frame_name} {reference_frame} is outside the clip "
                                f"(0..{clip.num_frames - 1})")
        ref_rot = clip.rotations[reference_frame]
    has_ends = len(clip.end_parents) > 0
    G, P = clip.forward()
    return Tracks(
        skeleton=clip.skeleton, positions=P, fps=clip.fps or RATELESS_FPS, up_axis="y",
        reference_frame=reference_frame, reference_rotations=ref_rot,
        end_positions=clip.end_site_positions((G, P)) if has_ends else None,
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
    write_whole(path, "tracks", lambda f: np.savez_compressed(f, **out), binary=True)


def check_root(tracks: Tracks) -> None:
    """Raise when the root joint has no position in any frame (nothing can place the clip)."""
    if np.isnan(tracks.positions[:, 0]).any(axis=-1).all():
        from .placeholders import MIN_CONFIDENCE

        name = tracks.skeleton.names[0]
        why = ""
        if tracks.confidence is not None and (tracks.confidence[:, 0] < MIN_CONFIDENCE).all():
            why = f" (its confidence is below {MIN_CONFIDENCE:g} in every frame, and such samples count as missing)"
        raise Pose2RotError(f"root joint '{name}' has no data in any frame{why}: the root position places the whole "
                            f"clip; add a track for '{name}' or use a rig whose root is tracked")


def fill_gaps(positions: np.ndarray, names: Sequence[str] | None = None, first_frame: int = 0, *,
              shown: tuple[int, int] | None = None) -> tuple[np.ndarray, list[str], list[int]]:
    """Fill missing samples (NaN) in [T,J,3] tracks (notes count frames from ``first_frame`` and name
    only the gaps in the frames ``shown``, see shown_only).

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
    known_all = ~any_axis(np.isnan(P))  # [T,J]
    report: list[str] = []
    missing: list[int] = []
    t = np.arange(T)
    by_spans: dict[tuple, list[str]] = {}  # tracks with the same gaps (a lost hand and its fingers) share a line
    for j in np.flatnonzero(~known_all.all(axis=0)):
        known = known_all[:, j]
        k = np.flatnonzero(known)
        if k.size == 0:
            missing.append(int(j))
            P[:, j] = np.nan  # partial samples alone are not data
            continue
        holes = t[~known]
        P[holes, j] = hermite_interpolate(k, P[k, j], holes)
        spans = tuple(frame_spans(shown_only(~known, shown)))
        if spans:
            by_spans.setdefault(spans, []).append(labels[j])
    for spans, tracks in by_spans.items():
        report.append(f"filled {len(spans)} gap{'s' if len(spans) != 1 else ''} in {describe_names(tracks)} "
                      f"({describe_spans(list(spans), first_frame=first_frame)})")
    if missing:
        report.append(no_data_note([labels[j] for j in missing]))
    return P, report, missing


#: how no_data_note ends: what the solve does with such a joint's rotation
KEPT_AT_REFERENCE = " (kept at the reference/rest rotation)"


def no_data_note(labels: Sequence[str]) -> str:
    """The note for joints (``labels``, quoted names) with no data in any frame."""
    return "no data in any frame for " + describe_names(list(labels), 8, "joint") + KEPT_AT_REFERENCE


def check_has_motion(clip: BvhClip) -> None:
    """Raise unless ``clip`` has frames (a BVH of a rig alone has none: nothing to solve)."""
    if clip.num_frames == 0:
        raise Pose2RotError(f"{clip.name}: the clip has no motion ('Frames: 0'); there is nothing to solve")


def shown_only(mask: np.ndarray, shown: tuple[int, int] | None) -> np.ndarray:
    """``mask`` [T,...] (bool, over the frames of a clip) with the frames outside ``shown`` = [start,
    stop) cleared (None: ``mask`` itself). A solve of part of a clip (solve's frames=) reads all of it,
    and its notes name only the frames it returns, which are those the user sees."""
    if shown is None:
        return mask
    out = np.zeros_like(mask)
    out[shown[0]:shown[1]] = mask[shown[0]:shown[1]]
    return out


def frame_spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """[(first, last)] inclusive frame ranges where the [T] bool ``mask`` is True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist()))


def describe_spans(spans: list[tuple[int, int]], shown: int = 4, first_frame: int = 0) -> str:
    """'frames 3-7, 12' for [(3, 7), (12, 12)] (frames counted from ``first_frame``); after
    ``shown`` spans the rest are counted."""
    words = [f"{a + first_frame}" if a == b else f"{a + first_frame}-{b + first_frame}" for a, b in spans[:shown]]
    more = len(spans) - shown
    frames = sum(b - a + 1 for a, b in spans)
    text = ("frame " if frames == 1 else "frames ") + ", ".join(words)
    return text + (f" and {more} more gaps, {frames} frames in all" if more > 0 else "")


def describe_names(labels: list[str], shown: int = 4, noun: str = "track") -> str:
    """Labels joined for a sentence ('a' / 'a', 'b' and 'c'); past ``shown`` the rest are counted
    ("... and 5 more tracks", with ``noun``)."""
    if len(labels) == 1:
        return labels[0]
    if len(labels) <= shown:
        return ", ".join(labels[:-1]) + " and " + labels[-1]
    more = len(labels) - shown
    return ", ".join(labels[:shown]) + f" and {more} more {noun}{'s' if more != 1 else ''}"


def hermite_interpolate(k: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Hermite interpolation of samples ``values`` [n,3] at frames ``k`` [n] (ascending) onto frames
    ``t``, with tangents from the parabola through each sample and its neighbours (see fill_gaps)."""
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
