"""Named point sets: markerless landmarks, text-to-motion joints, another skeleton's joints.

A :class:`PointSet` is ``positions [T,P,3]`` (NaN = missing) with point names, fps, the up axis of
the data and optional confidence [T,P]. Loaders (:func:`load_points`):

- ``.npy`` ``[T,P,3]`` with a layout (``humanml3d22``, ``mediapipe33``, ...; see pose2rot_core.layouts);
- a FreeMoCap recording folder (``output_data/mediapipe_body_3d_xyz.npy`` [T,33,3], and
  ``mediapipe_right_hand_3d_xyz.npy`` / ``mediapipe_left_hand_3d_xyz.npy`` [T,21,3] when present);
- ``.npz`` with ``positions`` [T,P,3] and ``point_names`` [P] (optional ``fps`` or another of
  :data:`FPS_KEYS`, ``up_axis``, ``confidence`` [T,P]), or a pose2rot tracks file (its joints and bone
  tips become points); other arrays are named in the notes, not read;
- ``.csv`` (or ``.tsv``) with ``<point>.x``, ``<point>.y``, ``<point>.z`` columns (optional ``<point>.conf`` and a
  leading ``frame`` or ``time`` column; a ``time`` column in seconds gives the fps);
- ``.bvh``: the joint positions and End Sites (``<joint>_end``) of another skeleton.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .errors import Pose2RotError, missing_file
from .axes import AXES, axis_change, nearest_axis
from .layouts import Layout, named_layout
from .tracks import check_confidence_scale, usable_rate
from .wording import WARNING_PREFIX

FREEMOCAP_BODY = "mediapipe_body_3d_xyz.npy"
FREEMOCAP_HANDS = ("mediapipe_right_hand_3d_xyz.npy", "mediapipe_left_hand_3d_xyz.npy")
#: frame rate of files that carry none and have no layout
DEFAULT_FPS = 30.0
#: a coordinate whose spread is below this fraction of the point cloud's extent is "constant"
FLAT_FRACTION = 1e-6
#: image coordinates (pixels) span more than this while a third value stays within 0..1 (a score)
PIXEL_EXTENT = 20.0
#: points of MediaPipe Holistic in one array: 33 body, 21 right-hand, 21 left-hand, 468 face (older
#: FreeMoCap's mediaPipeSkel_3d.npy); the first 75 are layout freemocap's
HOLISTIC_POINTS = 543


@dataclass
class PointSet:
    """positions [T,P,3] float64 (NaN = missing) in the file's axes, ``up`` the signed up axis
    ("y", "z", "-y", ...), names [P], fps, optional confidence [T,P] in 0..1, layout when known;
    ``first_frame``: the number users know the first frame by (see Tracks); ``keyed`` [T]: the
    frames where every point is a key rather than interpolated between keys (see Tracks.keyed;
    None: every frame, as every frame a key becomes)."""

    names: tuple[str, ...]
    positions: np.ndarray
    fps: float
    up: str = "y"
    confidence: np.ndarray | None = None
    layout: Layout | None = None
    source: str = ""
    first_frame: int = 0
    keyed: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.confidence is not None:
            check_confidence_scale(np.asarray(self.confidence, np.float64), self.names, self.first_frame,
                                   self.source or "points")
        if self.keyed is not None and np.all(self.keyed):  # keys on every frame tell no frame between keys
            self.keyed = None

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    def oriented(self, up: str = "y") -> np.ndarray:
        """Positions [T,P,3] turned so the data's up axis is ``up`` ("y" or "z")."""
        return self.positions @ axis_change(self.up, up).T

    def frames(self, start: int, stop: int) -> "PointSet":
        conf = None if self.confidence is None else self.confidence[start:stop]
        keyed = None if self.keyed is None else self.keyed[start:stop]
        return replace(self, positions=self.positions[start:stop], confidence=conf, keyed=keyed,
                       first_frame=self.first_frame + start)


# ----------------------------------------------------------------------------- loading
def load_points(path: str | Path, layout: Layout | None = None, up: str | None = None,
                fps: float | None = None, report: list[str] | None = None, check: bool = True) -> PointSet:
    """Read a point set (see the module docstring). ``up``: the data's up axis (a signed axis or
    "auto"; default: the file's own, else found from the hips and shoulders, else "y"); ``fps``
    overrides the file's (default: the file's, else the layout's, else 30). ``check``: run
    :func:`check_points` (leave it to the caller who cuts frames first)."""
    path = Path(path)
    if path.is_dir():
        points = _load_freemocap(path, layout, report)
    elif not path.is_file():
        raise missing_file(path, "point set")
    else:
        from .tracks_csv import SUFFIXES as CSV_SUFFIXES

        suffix = path.suffix.lower()
        loaders = {".npy": _load_npy, ".npz": _load_npz, **dict.fromkeys(CSV_SUFFIXES, _load_csv), ".bvh": _load_bvh}
        if suffix not in loaders:
            raise Pose2RotError(f"{path.name}: unknown points format '{suffix}'; use .npy (with a layout), .npz, "
                                ".csv (.tsv), .bvh or a FreeMoCap folder")
        points = loaders[suffix](path, layout, report)
    if layout is None and points.layout is None and (layout := named_layout(points.names)) is not None:
        if report is not None:
            report.append(f"{points.source}: its points are those of layout {layout.name}, by name: read as that layout")
    if layout is not None and points.layout is None:
        points = _apply_layout(points, layout)
    points = replace(points, up=_resolve_up(points, up, report), fps=_resolve_fps(points, fps, report))
    if check:
        check_points(points)
    return points


class LayoutWanted(Pose2RotError):
    """A .npy point set read without a layout: its bare numbers do not say which point is which."""


class LayoutUnfit(Pose2RotError):
    """A point set read as a layout whose points it lacks, or a FreeMoCap recording as another layout."""


def _load_npy(path: Path, layout: Layout | None, report: list[str] | None) -> PointSet:
    data = _read_npy(path)
    if layout is None:
        raise LayoutWanted(f"{path.name}: a .npy file holds bare numbers; say what its points are with --layout"
                            f"{_layouts_for_shape(data.shape)})")
    return PointSet(names=layout.points, positions=_layout_shape(data, layout, path.name),
                    fps=0.0, up=layout.up, layout=layout, source=path.name)


def _layouts_for_shape(shape: tuple) -> str:
    """" (its [T,22,3] has 22 points a frame: --layout humanml3d22" for an array of ``shape``: the
    layouts whose point count it fits, as [T,P,3] or, where one alone fits, in an arrangement
    _shape_hint knows (with how to save it as [T,P,3]); every layout's count where none fits. The
    caller closes the parenthesis."""
    from .layouts import LAYOUTS

    text = "[" + ",".join(str(s) for s in shape) + "]"
    if len(shape) == 3 and shape[2] == 3:
        fits = [name for name, other in LAYOUTS.items() if other.num_points == shape[1]]
        if fits:
            return f" (its {text} has {shape[1]} points a frame: {' or '.join('--layout ' + n for n in fits)}"
        if shape[1] in SMPL_FAMILY:
            layout = LAYOUTS["smpl24" if SMPL_FAMILY[shape[1]][1] == 24 else "humanml3d22"]
            return f" (its {text} has {shape[1]} points a frame, no layout's count; " + \
                _smpl_family_hint(shape[1], layout)[2:-1] + f", then --layout {layout.name}"
    hints = {name: _shape_hint(shape, other) for name, other in LAYOUTS.items()}
    fits = [name for name, hint in hints.items() if hint and not hint.startswith(" (its ")]
    if len(fits) == 1:
        P = LAYOUTS[fits[0]].num_points
        return (f" (its {text} fits --layout {fits[0]}, {P} points a frame, once saved as [T,{P},3]; "
                + hints[fits[0]][2:-1])
    counts = ", ".join(f"{name} {other.num_points}" for name, other in LAYOUTS.items())
    return f" (its {text} fits no layout's point count, [T,P,3] with P of a layout: {counts}"


def _read_npy(path: Path) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e) or "pickle" in str(e).lower():
            raise Pose2RotError(f"{path.name}: holds pickled Python objects, which pose2rot never loads; "
                                f"save a plain float array with np.save{_pickled_hint(path)}") from None
        raise Pose2RotError(f"{path.name}: not a readable .npy file ({e})") from None
    except (OSError, EOFError) as e:
        raise Pose2RotError(f"{path.name}: not a readable .npy file ({e})") from None
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "fiu":
        raise Pose2RotError(f"{path.name}: expected a numeric array, got {getattr(data, 'dtype', type(data))}")
    if data.dtype == np.float16 and np.isinf(data).any():
        from .tracks_npz import float16_overflow

        raise float16_overflow(data, "", path.name)
    return data.astype(np.float64)


def _pickled_hint(path: Path) -> str:
    """How to save one clip of the pickled .npy at ``path`` when its bytes name MDM's results
    (a dict of 'motion' [samples,22,3,frames] and each sample's 'lengths', whose frames past its
    length are padding), else ''. The pickle is never loaded: only the key names are looked for."""
    try:
        raw = path.read_bytes()[:1 << 20]
    except OSError:
        return ""
    if b"motion" in raw and b"lengths" in raw:
        return (" (this looks like MDM's results.npy: save one sample, cut to its length, with "
                "d = np.load(path, allow_pickle=True).item(); "
                "np.save('clip.npy', d['motion'][i].transpose(2, 0, 1)[:d['lengths'][i]]))")
    return ""


def _layout_shape(data: np.ndarray, layout: Layout, name: str) -> np.ndarray:
    """Check ``data`` is [T,P,3] with P the layout's point count (one clear line otherwise)."""
    P = layout.num_points
    shape = "[" + ",".join(str(s) for s in data.shape) + "]"
    if data.ndim == 3 and data.shape[1] == P and data.shape[2] == 2:
        raise Pose2RotError(f"{name}: {shape} holds 2-D image coordinates; pose2rot needs 3-D positions [T,{P},3] "
                            "(lift the 2-D keypoints with a 3-D pose model first)")
    if data.ndim != 3 or data.shape[1:] != (P, 3):
        raise Pose2RotError(f"{name} is {shape} but layout {layout.name} has {P} points: expected [T,{P},3]"
                            + _shape_hint(data.shape, layout))
    if data.shape[0] == 0:
        raise Pose2RotError(f"{name}: the array has 0 frames; there is nothing to solve")
    return data


def _shape_hint(shape: tuple, layout: Layout) -> str:
    """How to turn an array of ``shape`` that holds the points of ``layout`` in another arrangement
    into [T,P,3] (the text-to-motion tools' own outputs, a score beside each point, MediaPipe
    Holistic's points in one array), else which layout its shape fits; '' when neither is clear."""
    P = layout.num_points
    if len(shape) == 3 and shape[1:] == (P, 4):
        return (" (x, y, z and a fourth value per point, as MediaPipe's visibility or a detector's score: save "
                "data[..., :3], or a point set .npz of positions=data[..., :3], confidence=data[..., 3] and "
                "point_names)")
    if len(shape) == 3 and shape[1:] == (HOLISTIC_POINTS, 3):
        return (f" ({HOLISTIC_POINTS} points: MediaPipe Holistic's 33 body, 21 right-hand, 21 left-hand and 468 face "
                "points, as older FreeMoCap saves mediaPipeSkel_3d.npy: save data[:, :75] for layout freemocap, "
                "or data[:, :33] for mediapipe33)")
    if len(shape) == 2 and shape[1] == 12 * P - 1:  # root 4, local positions and 6-D rotations, velocities, feet 4
        return (f" (this looks like HumanML3D's motion features of {P} joints, new_joint_vecs: 12 x {P} - 1 values "
                f"a frame, not positions; give the joint positions, new_joints/*.npy [T,{P},3], or recover them "
                "with HumanML3D's recover_from_ric)")
    if shape[-3:] == (P, 3, shape[-1]) and len(shape) in (3, 4):
        one = "motion[0]" if len(shape) == 4 else "motion"
        return (f" (this looks like [points,3,frames], as MDM saves motion: use {one}.transpose(2, 0, 1), "
                "and of an MDM sample only its first lengths[i] frames: the rest is padding)")
    if len(shape) == 4 and shape[2:] == (P, 3):
        return _extra_axis_hint(shape)
    if len(shape) == 2 and shape[1] == 3 * P:
        return f" (flattened: save motion.reshape({shape[0]}, {P}, 3))"
    if len(shape) == 3 and shape[2] == 3 and layout.name == "freemocap" and shape[1] == 33:
        return " (a FreeMoCap body file holds the 33 MediaPipe points: give the recording folder, or --layout mediapipe33)"
    if len(shape) == 3 and shape[2] == 3 and shape[1] in SMPL_FAMILY:
        return _smpl_family_hint(shape[1], layout)
    if len(shape) == 3 and shape[2] == 3:
        from .layouts import LAYOUTS

        fits = [n for n, other in LAYOUTS.items() if other.num_points == shape[1]]
        return f" (its {shape[1]} points fit layout {' or '.join(fits)})" if fits else ""
    return ""


#: joint counts of the SMPL family's arrays -> (model, the first joints in SMPL order that a layout reads):
#: SMPL 24 (45 from the smplx package, with 21 landmarks), SMPL-H 52 (73), SMPL-X 55 (127, 144 with the
#: face contour); after the 22 body joints SMPL has its two hands, SMPL-H and SMPL-X jaw, eyes or fingers
SMPL_FAMILY = {45: ("SMPL", 24), 52: ("SMPL-H", 22), 73: ("SMPL-H", 22), 55: ("SMPL-X", 22), 127: ("SMPL-X", 22),
               144: ("SMPL-X", 22)}


def _extra_axis_hint(shape: tuple) -> str:
    """How to take one clip of a [clips,T,P,3] batch or one person of [T,people,P,3] (``shape``)."""
    if shape[0] == 1:
        return " (one clip in a batch: save motion[0])"
    if shape[1] == 1:
        return " (one person on an axis of people: save motion[:, 0])"
    return (f" (an extra axis: save one clip of a batch [clips,T,{shape[2]},3] as motion[i], or one person of "
            f"[T,people,{shape[2]},3] as motion[:, i])")


def _smpl_family_hint(count: int, layout: Layout) -> str:
    """Which first joints of a SMPL-family array of ``count`` joints to save, for which layout."""
    model, first = SMPL_FAMILY[count]
    name = "smpl24" if first == 24 and layout.name == "smpl24" else "humanml3d22"
    keep = 24 if name == "smpl24" else 22
    hands = "" if model == "SMPL" else ", and those after them are not the hands of smpl24"
    other = "" if name == layout.name else f" and give --layout {name}"
    return f" ({model}'s {count} joints begin with the {keep} of layout {name}{hands}: save motion[:, :{keep}]{other})"


def freemocap_body(path: Path) -> Path | None:
    """The body file of the FreeMoCap recording at ``path`` (the recording folder or its output_data
    folder), or None when ``path`` is not one."""
    for body in (path / "output_data" / FREEMOCAP_BODY, path / FREEMOCAP_BODY):
        if body.is_file():
            return body
    return None


def is_freemocap_folder(path: Path) -> bool:
    """True for a FreeMoCap recording folder (or its output_data folder)."""
    return freemocap_body(path) is not None


def _load_freemocap(folder: Path, layout: Layout | None, report: list[str] | None) -> PointSet:
    from .layouts import get_layout

    body_path = freemocap_body(folder)
    if body_path is None:
        raise Pose2RotError(f"'{folder}' is not a FreeMoCap recording: it has no output_data/{FREEMOCAP_BODY} "
                            "(give the recording folder or its output_data folder)")
    if layout is not None and layout.name not in ("freemocap", "mediapipe33"):
        raise LayoutUnfit(f"'{folder}' is a FreeMoCap recording (MediaPipe points); layout {layout.name} does "
                            "not fit it (give --layout freemocap, or no layout)")
    full = get_layout("freemocap")
    body = _layout_shape(_read_npy(body_path), get_layout("mediapipe33"), body_path.name)
    parts = [body]
    for name in FREEMOCAP_HANDS:
        hand_path = body_path.parent / name
        hand = _read_npy(hand_path) if hand_path.is_file() else None
        if hand is not None and hand.shape != (body.shape[0], 21, 3):
            raise Pose2RotError(f"{name} is [{','.join(map(str, hand.shape))}] but the body has "
                                f"{body.shape[0]} frames: expected [{body.shape[0]},21,3]")
        missing = "no" if hand is None else "only zeros in" if not np.nan_to_num(hand).any() else ""
        if missing:  # a hand never detected is written as zeros: no data, as a missing file
            hand = np.full((body.shape[0], 21, 3), np.nan)
            if report is not None:
                report.append(f"{folder.name}: {missing} {name}; that hand keeps the rig's reference pose")
        parts.append(hand)
    return PointSet(names=full.points, positions=np.concatenate(parts, axis=1), fps=0.0, up=full.up,
                    layout=full, source=folder.name)


#: the keys a point set .npz gives its frame rate under, as the tools that write them spell it (AMASS:
#: mocap_framerate, or mocap_frame_rate in its SMPL-X releases)
FPS_KEYS = ("fps", "framerate", "frame_rate", "mocap_framerate", "mocap_frame_rate")
#: the arrays of a point set .npz (with joint_names and no point_names it is a tracks file, read as tracks
#: with the arrays of tracks_npz.ARRAYS)
POINT_ARRAYS = ("positions", "point_names", "up_axis", "confidence", "joint_names") + FPS_KEYS


def _load_npz(path: Path, layout: Layout | None, report: list[str] | None) -> PointSet:
    from .tracks_npz import ARRAYS, as_text, float16_overflow, read_archive, tracks_from_archive

    keys: list[str] = []
    data = read_archive(path, set(POINT_ARRAYS) | set(ARRAYS), what="point set",
                        example="np.savez(path, positions=..., point_names=...)", keys=keys)
    tracks = "point_names" not in data and "joint_names" in data
    ignored = [k for k in keys if k not in (ARRAYS if tracks else POINT_ARRAYS)]
    if ignored and report is not None:
        report.append(f"{path.name}: arrays not read: {', '.join(ignored)}")
    if tracks:
        return tracks_as_points(tracks_from_archive(data, path.name), path.name)
    if "positions" not in data:
        raise Pose2RotError(f"{path.name}: no 'positions' array (a point set needs positions [T,P,3] and "
                            f"point_names [P]; the file has: {', '.join(keys) or 'nothing'})")
    pos = data["positions"]
    if pos.dtype.kind not in "fiu":
        raise Pose2RotError(f"{path.name}: positions must be numeric, got {pos.dtype}")
    if pos.dtype == np.float16 and np.isinf(pos).any():
        raise float16_overflow(pos, "positions", path.name)
    pos = pos.astype(np.float64)
    if "point_names" in data:
        names = data["point_names"]
        if names.dtype.kind not in "US" or names.ndim != 1:
            raise Pose2RotError(f"{path.name}: point_names must be a 1-D string array")
        names = tuple(as_text(n) for n in names)
        _refuse_repeated_names(names, path.name)
    elif layout is not None:
        names = layout.points
    else:
        raise Pose2RotError(f"{path.name}: no point_names; add them or give a layout")
    if pos.ndim != 3 or pos.shape[1:] != (len(names), 3):
        raise Pose2RotError(f"{path.name}: positions is [{','.join(map(str, pos.shape))}] but there are "
                            f"{len(names)} point names (expected [T,{len(names)},3])")
    return PointSet(names=names, positions=pos, fps=_npz_fps(data, path.name), up=_npz_up(data, path.name),
                    confidence=_npz_confidence(data, pos.shape[:2], path.name), source=path.name)


def _refuse_repeated_names(names: tuple[str, ...], file: str) -> None:
    """One line naming the first point name given twice (its data would replace the other's)."""
    first: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in first:
            raise Pose2RotError(f"{file}: point_names holds '{n}' twice (columns {first[n]} and {i}); give every "
                                "point its own name")
        first[n] = i


def _npz_fps(data: dict, name: str) -> float:
    """The frame rate of a point set .npz under any of :data:`FPS_KEYS` (0: none); several keys must agree."""
    rates = {}
    for key in (k for k in FPS_KEYS if k in data):
        fps = data[key]
        if fps.dtype.kind not in "fiu" or fps.size != 1 or not usable_rate(fps.reshape(())):
            raise Pose2RotError(f"{name}: {key} must be one positive number (frames per second) whose frame time "
                                "1/fps a number holds")
        rates[key] = float(fps.reshape(()))
    if len(set(rates.values())) > 1:
        raise Pose2RotError(f"{name}: the frame rates disagree ({', '.join(f'{k} {v:g}' for k, v in rates.items())}); "
                            "keep the one that is right")
    return next(iter(rates.values()), 0.0)


def _npz_up(data: dict, name: str) -> str:
    if "up_axis" not in data:
        return ""
    from .tracks_npz import as_text

    up = data["up_axis"]
    text = as_text(up.reshape(())).strip().lower() if up.dtype.kind in "US" and up.size == 1 else ""
    if text not in AXES:
        raise Pose2RotError(f"{name}: up_axis must be one of {', '.join(AXES)}")
    return text


def _npz_confidence(data: dict, shape: tuple[int, int], name: str) -> np.ndarray | None:
    if "confidence" not in data:
        return None
    conf = data["confidence"]
    if conf.dtype.kind not in "fiu" or conf.shape != shape:
        got = f"{conf.dtype} {list(conf.shape)}" if conf.dtype.kind not in "fiu" else str(list(conf.shape))
        raise Pose2RotError(f"{name}: confidence must be numbers [{shape[0]},{shape[1]}] (frames, points), got {got}")
    return conf.astype(np.float64)  # outside 0..1: refused by PointSet


def tracks_as_points(tracks, source: str = "") -> PointSet:
    """The joints (and bone tips) of pose2rot tracks as a point set."""
    names, pos = list(tracks.skeleton.names), tracks.positions
    if tracks.has_ends:
        names += list(tracks.end_names)
        pos = np.concatenate([pos, tracks.end_positions], axis=1)
    return PointSet(names=tuple(names), positions=pos, fps=tracks.fps, up=tracks.up_axis, source=source)


def _load_bvh(path: Path, layout: Layout | None, report: list[str] | None) -> PointSet:
    from .bvh import read_bvh
    from .tracks_io import tracks_from_bvh

    return tracks_as_points(tracks_from_bvh(read_bvh(path), as_rig=False), path.name)


def _load_csv(path: Path, layout: Layout | None, report: list[str] | None) -> PointSet:
    from .tracks_csv import read_csv_points

    table = read_csv_points(path)
    return PointSet(names=tuple(table.names), positions=table.positions, fps=table.fps, up="",
                    confidence=table.confidence, source=path.name, first_frame=table.first_frame)


def _apply_layout(points: PointSet, layout: Layout) -> PointSet:
    """Points ordered as ``layout`` (by name), its up axis where the file has none."""
    index = {n: i for i, n in enumerate(points.names)}
    absent = [p for p in layout.points if p not in index]
    if absent:
        raise LayoutUnfit(f"{points.source}: layout {layout.name} needs points the file lacks: "
                            + ", ".join(absent[:8]) + (" ..." if len(absent) > 8 else ""))
    order = [index[p] for p in layout.points]
    conf = None if points.confidence is None else points.confidence[:, order]
    return replace(points, names=layout.points, positions=points.positions[:, order], confidence=conf,
                   up=points.up or layout.up, layout=layout)


def _resolve_fps(points: PointSet, fps: float | None, report: list[str] | None) -> float:
    """The frame rate: ``fps`` when given, else the file's, else the layout's usual one, else
    DEFAULT_FPS; one assumed is said in ``report``, with how to give the clip's own."""
    if fps is not None:
        if not usable_rate(fps):
            raise Pose2RotError(f"--fps must be a positive number of frames per second (one whose frame time "
                                f"1/fps a number holds), got {fps:.4g}")
        return float(fps)
    if points.fps:
        return points.fps
    layout = points.layout
    assumed = layout.fps if layout is not None else DEFAULT_FPS
    if report is not None:
        whose = f"layout {layout.name}'s usual rate" if layout is not None else "pose2rot's default"
        report.append(f"{points.source}: the file gives no frame rate: read at {assumed:g} fps ({whose}); give the "
                      "clip's own rate with fps='N' if it differs (3-D poses from a video keep the video's rate)")
    return assumed


# ----------------------------------------------------------------------------- axes
def _resolve_up(points: PointSet, up: str | None, report: list[str] | None) -> str:
    """The signed up axis: ``up`` when given, else the file's, else found from the anatomy, else "y"."""
    choice = (up or points.up or "auto").strip().lower()
    if choice != "auto":
        if choice not in AXES:
            raise Pose2RotError(f"up axis must be one of auto, {', '.join(AXES)}; got '{choice}'")
        found = detect_up(points)
        if found not in (None, choice) and report is not None:
            bvh = points.source.lower().endswith(".bvh")
            said = "--up-axis" if up else "a BVH file's up axis" if bvh else "the file's up_axis"
            fix = "leave it out" if up else "give --up-axis auto"   # the file's own: nothing to leave out
            report.append(f"{WARNING_PREFIX}{points.source}: {said} is {choice}, but its hips-to-shoulders "
                          f"direction points along {found}: the body would lie or stand on its head; {fix} to "
                          f"have it found, or --up-axis {found}")
        return choice
    found = detect_up(points)
    if report is not None:
        report.append(f"{points.source}: up axis {found or 'y'}"
                      + (" (from the hips and shoulders)" if found else " (assumed: no hips and shoulders)"))
    return found or "y"


#: a body part within this cosine of an axis (45 degrees) tells that the axis is up or down
UPRIGHT = float(np.sqrt(0.5))


def legs_up(points: PointSet, upright: float) -> str | None:
    """The signed coordinate axis opposite the mean direction from the hips to the ankles (by canonical
    name, as :func:`detect_up`), where that direction lies within the cosine ``upright`` (> 0) of it:
    legs point down on two feet and on four; None without named legs or where they lie along the ground."""
    where = _by_canonical_name(points)
    legs = [(where[f"{s}_hip"], where[f"{s}_ankle"]) for s in ("left", "right")
            if f"{s}_hip" in where and f"{s}_ankle" in where]
    if not legs:
        return None
    P = points.positions
    return _axis_along(-np.concatenate([P[:, a] - P[:, h] for h, a in legs]), upright)


def detect_up(points: PointSet, upright: float = 0.0) -> str | None:
    """The signed coordinate axis nearest the mean direction from the hips to the shoulders (by canonical
    name: the layout's, else automap's for the point names), or None when those points are missing or
    at one place, or when that direction is further from the axis than the cosine ``upright`` (a
    quadruped's trunk lies along its body, not up)."""
    where = _by_canonical_name(points)
    need = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")
    if not all(n in where for n in need):
        return None
    P = points.positions
    hips = 0.5 * (P[:, where["left_hip"]] + P[:, where["right_hip"]])
    shoulders = 0.5 * (P[:, where["left_shoulder"]] + P[:, where["right_shoulder"]])
    return _axis_along(shoulders - hips, upright)   # hips and shoulders at one place: a lost detection


def _by_canonical_name(points: PointSet) -> dict[str, int]:
    """{canonical name: index} of the points: the layout's canonical names, else automap's for the
    point names (``lThigh``, ``LeftUpLeg``, ``thigh.L`` -> ``left_hip``, as a map reads them), else a
    point's own name (``left_hip``)."""
    if points.layout is not None:
        canonical = points.layout.canonical
    else:
        from .automap import canonical_names

        canonical = canonical_names(points.names, [-1] * len(points.names))[0]
    return {canonical.get(n, n): i for i, n in enumerate(points.names)}


def _axis_along(vectors: np.ndarray, upright: float) -> str | None:
    """The signed axis nearest the mean direction of ``vectors`` [N,3] (those of no length or NaN left
    out), where it lies within the cosine ``upright`` of it; None without any vector or beyond it."""
    length = np.linalg.norm(vectors, axis=1)
    ok = np.isfinite(length) & (length > 0)
    if not ok.any():
        return None
    name, cosine = nearest_axis((vectors[ok] / length[ok, None]).mean(axis=0))
    return name if cosine >= upright else None


def by_anatomy(skeleton, positions: np.ndarray) -> PointSet:
    """The joints [T,J,3] of ``skeleton`` as points, which legs_up and detect_up read by their
    anatomical names (automap's canonical names: ``left_hip``, ...)."""
    return PointSet(tuple(skeleton.names), positions, DEFAULT_FPS)


# ----------------------------------------------------------------------------- checks
def check_points(points: PointSet) -> None:
    """Raise (one line) for no frames, infinite values, no data at all, or 2-D coordinates in 3-D."""
    P, name = points.positions, points.source or "points"
    if P.shape[0] == 0:
        raise Pose2RotError(f"{name}: the point set has 0 frames; there is nothing to solve")
    samples = P.reshape(-1, 3) if np.isfinite(P).all() else _known_samples(points, name)
    columns = np.ascontiguousarray(samples.T)            # [3,N]: along rows the reductions are fast
    extent = columns.max(axis=1) - columns.min(axis=1)
    flat = extent <= FLAT_FRACTION * max(float(extent.max()), 1e-12)
    if len(samples) > 2 and flat.any() and not flat.all():
        axis = "xyz"[int(np.argmax(flat))]
        raise Pose2RotError(f"{name}: every {axis} is the same: these look like 2-D image coordinates; pose2rot needs "
                            "3-D positions (lift the 2-D keypoints with a 3-D pose model first)")
    third = columns[2]
    if extent[:2].max() > PIXEL_EXTENT and third.min() >= 0.0 and third.max() <= 1.0:
        raise Pose2RotError(f"{name}: x and y span {extent[:2].max():.4g} units while every z lies in 0..1: "
                            "these look like 2-D image coordinates with a score (x, y, confidence); pose2rot "
                            "needs 3-D positions")


def _known_samples(points: PointSet, name: str) -> np.ndarray:
    """[N,3] the points' known positions; raise (one line) for infinite values or no position at
    all. Frames without any (the person out of view, frames a tracker dropped) are gaps, filled as
    any other."""
    P = points.positions
    if np.isinf(P).any():
        t, p = np.argwhere(np.isinf(P).any(-1))[0]
        raise Pose2RotError(f"{name}: point '{points.names[p]}' is infinite at frame {t + points.first_frame}; "
                            "mark missing values with NaN")
    known = np.isfinite(P).all(-1)
    if not known.any():
        raise Pose2RotError(f"{name}: every value is NaN: there are no positions at all")
    return P[known]
